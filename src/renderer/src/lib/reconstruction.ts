// Score-table helpers over the stored reconstruction record (src/shared/types.ts).
import type { EncoderScore } from '@shared/types'

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
