// The stored result of a reconstruction run (ResultRecord.data, core's result.json), read
// defensively: `data` crosses the bridge as `unknown`, and a result written by another
// version of the software must still open, with what it lacks shown as missing.
import type { ResultRecord } from '@shared/types'

export interface FarThreshold {
  far: number
  threshold: number
}

export interface EncoderThresholds {
  dataset: string
  images: number | null
  identities: number | null
  impostorPairs: number | null
  fars: FarThreshold[]
}

export interface EncoderScore {
  encoderId: string
  encoderSha256: string | null
  /** Reconstruction vs the target template: only for the encoder that made the template. */
  target: number | null
  /** Reconstruction vs the ground-truth photo. */
  typeI: number | null
  /** Reconstruction vs other photos of the person. */
  typeII: number[]
  thresholds: EncoderThresholds | null
  /** Decisions aligned with thresholds.fars. */
  pass: { target: boolean[] | null; typeI: boolean[] | null; typeII: boolean[][] }
}

export interface Reconstruction {
  resultId: string
  imageSha256: string | null
  method: string | null
  parameters: Record<string, unknown>
  seed: number | null
  modelSha256s: Record<string, string>
  softwareVersion: string | null
  queries: number | null
  seconds: number | null
  similarity: number | null
  scores: EncoderScore[]
  summary: Record<string, unknown>
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => num(x) !== null) : [])
const bools = (v: unknown): boolean[] | null => (Array.isArray(v) ? v.map((x) => x === true) : null)

function thresholdsOf(v: unknown): EncoderThresholds | null {
  if (!isObj(v) || !Array.isArray(v.fars)) return null
  const fars = v.fars.flatMap((f): FarThreshold[] => {
    if (!isObj(f)) return []
    const far = num(f.far)
    const threshold = num(f.threshold)
    return far === null || threshold === null ? [] : [{ far, threshold }]
  })
  return { dataset: str(v.dataset) ?? '—', images: num(v.images), identities: num(v.identities), impostorPairs: num(v.impostorPairs), fars }
}

function scoreOf(v: unknown): EncoderScore | null {
  if (!isObj(v) || typeof v.encoderId !== 'string') return null
  const pass = isObj(v.pass) ? v.pass : {}
  return {
    encoderId: v.encoderId,
    encoderSha256: str(v.encoderSha256),
    target: num(v.target),
    typeI: num(v.typeI),
    typeII: numbers(v.typeII),
    thresholds: thresholdsOf(v.thresholds),
    pass: {
      target: bools(pass.target),
      typeI: bools(pass.typeI),
      typeII: Array.isArray(pass.typeII) ? pass.typeII.map((row) => bools(row) ?? []) : []
    }
  }
}

export function scoresOf(v: unknown): EncoderScore[] {
  return Array.isArray(v) ? v.map(scoreOf).filter((s): s is EncoderScore => s !== null) : []
}

function stringRecord(v: unknown): Record<string, string> {
  if (!isObj(v)) return {}
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'))
}

/** The reconstruction among a run's results, or null when the run stored none. */
export function reconstructionOf(results: readonly ResultRecord[]): Reconstruction | null {
  const record = results.find((r) => r.kind === 'reconstruction')
  if (!record) return null
  const d = isObj(record.data) ? record.data : {}
  return {
    resultId: record.id,
    imageSha256: record.imageSha256,
    method: str(d.method),
    parameters: isObj(d.parameters) ? d.parameters : {},
    seed: num(d.seed),
    modelSha256s: stringRecord(d.modelSha256s),
    softwareVersion: str(d.softwareVersion),
    queries: num(d.queries),
    seconds: num(d.seconds),
    similarity: num(d.similarity),
    scores: scoresOf(d.scores),
    summary: isObj(d.summary) ? d.summary : {}
  }
}

/** FAR columns of a score table: every FAR any encoder has a threshold for, largest first. */
export function farColumns(scores: readonly EncoderScore[]): number[] {
  const fars = new Set<number>()
  for (const s of scores) for (const f of s.thresholds?.fars ?? []) fars.add(f.far)
  return [...fars].sort((a, b) => b - a)
}

export type Decision = 'pass' | 'fail' | 'partial'

export interface PassChip {
  label: string
  decision: Decision
  /** The comparison spelled out, for the tooltip. */
  detail: string
}

/** Pass/fail chips of one encoder at one FAR; null when the encoder has no threshold there. */
export function passChips(score: EncoderScore, far: number): { threshold: number; chips: PassChip[] } | null {
  const fars = score.thresholds?.fars ?? []
  const i = fars.findIndex((f) => f.far === far)
  if (i < 0) return null
  const threshold = fars[i].threshold
  const t = threshold.toFixed(4)
  const chips: PassChip[] = []
  const single = (label: string, value: number | null, decisions: boolean[] | null): void => {
    if (value === null || !decisions || decisions[i] === undefined) return
    const ok = decisions[i]
    chips.push({ label, decision: ok ? 'pass' : 'fail', detail: `${label} ${value.toFixed(4)} ${ok ? '≥' : '<'} ${t}: ${ok ? 'pass' : 'fail'}` })
  }
  single('Target', score.target, score.pass.target)
  single('Type I', score.typeI, score.pass.typeI)
  const typeII = score.pass.typeII.map((row) => row[i]).filter((d): d is boolean => d !== undefined)
  if (typeII.length > 0) {
    const passed = typeII.filter(Boolean).length
    chips.push({
      label: `Type II ${passed}/${typeII.length}`,
      decision: passed === typeII.length ? 'pass' : passed === 0 ? 'fail' : 'partial',
      detail: `${passed} of ${typeII.length} other photos of the person ≥ ${t}`
    })
  }
  return { threshold, chips }
}

/** A FAR as analysts quote it: 1e-3 → "0.1 %". */
export function formatFar(far: number): string {
  return `${Number((far * 100).toPrecision(3))} %`
}
