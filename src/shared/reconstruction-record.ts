// Reads a stored reconstruction result defensively: ResultRecord.data crosses the bridge as
// `unknown`, and a result written by another version of the software must still open, with
// what it lacks given as null or empty.
import type { EncoderScore, FarThreshold, GenerationRecord, ReconstructionCandidate, ReconstructionRecord, ResolvedModel, ResultRecord, ScoreThresholds } from './types'

/** A reconstruction as a case holds it: the record plus where it is stored. */
export interface StoredReconstruction extends ReconstructionRecord {
  resultId: string
  imageSha256: string | null
}

type Obj = Record<string, unknown>

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v)
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null)
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null)
const numbers = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => num(x) !== null) : [])
const bools = (v: unknown): boolean[] | null => (Array.isArray(v) ? v.map((x) => x === true) : null)

function thresholdsOf(v: unknown): ScoreThresholds | null {
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
    },
    // Only results written since searches mark their encoders carry it.
    ...(v.usedInSearch === 'seen' || v.usedInSearch === 'validation' ? { usedInSearch: v.usedInSearch } : {}),
    ...(typeof v.error === 'string' ? { error: v.error } : {})
  }
}

export function scoresOf(v: unknown): EncoderScore[] {
  return Array.isArray(v) ? v.map(scoreOf).filter((s): s is EncoderScore => s !== null) : []
}

function traceOf(v: unknown): GenerationRecord[] {
  if (!Array.isArray(v)) return []
  return v.flatMap((r): GenerationRecord[] => {
    if (!isObj(r)) return []
    const [thread, generation, best, mean, queries, seconds] = [r.thread, r.generation, r.best, r.mean, r.queries, r.seconds].map(num)
    if (thread === null || generation === null || best === null || mean === null || queries === null || seconds === null) return []
    return [{ thread, generation, best, mean, queries, seconds }]
  })
}

function candidatesOf(v: unknown): ReconstructionCandidate[] {
  if (!Array.isArray(v)) return []
  return v.flatMap((c): ReconstructionCandidate[] => {
    if (!isObj(c)) return []
    const latent = num(c.latent)
    const seen = num(c.seen)
    return latent === null || seen === null ? [] : [{ latent, seen, validation: num(c.validation), picked: c.picked === true, imageSha256: str(c.imageSha256) }]
  })
}

function remoteOf(v: unknown): ResolvedModel['remote'] | undefined {
  if (!isObj(v) || typeof v.url !== 'string' || typeof v.model !== 'string') return undefined
  return { url: v.url, model: v.model, version: str(v.version), versions: Array.isArray(v.versions) ? v.versions.filter((x): x is string => typeof x === 'string') : [] }
}

function modelsOf(v: unknown): Record<string, ResolvedModel> {
  if (!isObj(v)) return {}
  return Object.fromEntries(
    Object.entries(v).flatMap(([role, m]) => {
      if (!isObj(m) || typeof m.id !== 'string' || typeof m.sha256 !== 'string') return []
      const remote = remoteOf(m.remote)
      return [[role, remote ? { id: m.id, sha256: m.sha256, remote } : { id: m.id, sha256: m.sha256 }]]
    })
  )
}

function stringRecord(v: unknown): Record<string, string> {
  if (!isObj(v)) return {}
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'))
}

/** Any value read as a reconstruction record (missing pieces as null or empty). */
export function readReconstructionRecord(data: unknown): ReconstructionRecord {
  const d = isObj(data) ? data : {}
  return {
    method: str(d.method),
    parameters: isObj(d.parameters) ? d.parameters : {},
    seed: num(d.seed),
    modelSha256s: stringRecord(d.modelSha256s),
    softwareVersion: str(d.softwareVersion),
    queries: num(d.queries),
    seconds: num(d.seconds),
    similarity: num(d.similarity),
    scores: scoresOf(d.scores),
    summary: isObj(d.summary) ? d.summary : {},
    trace: traceOf(d.trace),
    startedAt: str(d.startedAt),
    finishedAt: str(d.finishedAt),
    executionProvider: str(d.executionProvider),
    templateVectorSha256: str(d.templateVectorSha256),
    models: modelsOf(d.models),
    candidates: candidatesOf(d.candidates)
  }
}

/** The reconstruction among a run's results, or null when the run stored none. */
export function reconstructionOf(results: readonly ResultRecord[]): StoredReconstruction | null {
  const record = results.find((r) => r.kind === 'reconstruction')
  if (!record) return null
  return { resultId: record.id, imageSha256: record.imageSha256, ...readReconstructionRecord(record.data) }
}

/** Decisions of one score at each FAR of its thresholds, keyed by the FAR as text ("0.001"). */
export function decisionsByFar(score: EncoderScore): Record<string, { threshold: number; target: boolean | null; typeI: boolean | null; typeII: boolean[] }> {
  return Object.fromEntries(
    (score.thresholds?.fars ?? []).map((f, i) => [
      String(f.far),
      { threshold: f.threshold, target: score.pass.target?.[i] ?? null, typeI: score.pass.typeI?.[i] ?? null, typeII: score.pass.typeII.map((row) => row[i]) }
    ])
  )
}
