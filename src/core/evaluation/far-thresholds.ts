import { normalise } from '../templates/vector-math'

export const STANDARD_FARS = [1e-2, 1e-3, 1e-4] as const

export interface FarThreshold {
  far: number
  /** Scores strictly above this are accepted; at most `far` of impostor scores are. */
  threshold: number
}

/** Cosine scores of every pair of templates whose identities differ. */
export function impostorScores(templates: ArrayLike<number>[], identities: string[]): Float32Array {
  if (templates.length !== identities.length) throw new Error('one identity per template is needed')
  const unit = templates.map((t) => normalise(t))
  const n = unit.length
  let count = 0
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (identities[i] !== identities[j]) count++
  const scores = new Float32Array(count)
  let k = 0
  for (let i = 0; i < n; i++) {
    const a = unit[i]
    for (let j = i + 1; j < n; j++) {
      if (identities[i] === identities[j]) continue
      const b = unit[j]
      let dot = 0
      for (let d = 0; d < a.length; d++) dot += a[d] * b[d]
      scores[k++] = dot
    }
  }
  return scores
}

/**
 * Decision thresholds at the given false accept rates: the smallest threshold such that at
 * most far x M of the M impostor scores lie above it.
 */
export function thresholdsAtFar(impostors: Float32Array, fars: readonly number[] = STANDARD_FARS): FarThreshold[] {
  if (impostors.length === 0) throw new Error('no impostor scores')
  const sorted = Float32Array.from(impostors).sort()
  return fars.map((far) => {
    const minPairs = Math.ceil(1 / far)
    if (sorted.length < minPairs) throw new Error(`FAR ${far} needs at least ${minPairs} impostor pairs, have ${sorted.length}`)
    const allowed = Math.floor(far * sorted.length)
    // Index of the highest impostor score that must be rejected.
    return { far, threshold: sorted[sorted.length - 1 - allowed] }
  })
}

export function passes(score: number, thresholds: FarThreshold[]): boolean[] {
  return thresholds.map((t) => score > t.threshold)
}
