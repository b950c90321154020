// The paper's aggregation figure (Križaj et al., Fig. 15-16): averaging more photos of one
// subject into a gallery template moves it towards what the photos share, the identity.
import { SeededRandom } from '../random/seeded-random'
import { cosine, mean, normalise } from '../templates/vector-math'

/** Photo counts 1, 2, 5, 10, 20, 50, … up to `available`, and `available` itself. */
export function aggregationLevels(available: number): number[] {
  const levels: number[] = []
  for (let decade = 1; decade <= available; decade *= 10) for (const m of [1, 2, 5]) if (m * decade <= available) levels.push(m * decade)
  if (levels[levels.length - 1] !== available) levels.push(available)
  return levels
}

/** Seeded shuffle of 0..count-1: the first `holdout` are the probes, the rest the gallery in order. */
export function splitHoldout(count: number, holdout: number, seed: number): { gallery: number[]; heldOut: number[] } {
  const order = Array.from({ length: count }, (_, i) => i)
  const rng = new SeededRandom(seed)
  for (let i = count - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return { heldOut: order.slice(0, holdout), gallery: order.slice(holdout) }
}

/** Unit mean of unit templates: every photo weighs the same whatever its template's norm. */
export function averageTemplate(vectors: ArrayLike<number>[]): Float32Array {
  return normalise(mean(vectors.map((v) => normalise(v))))
}

export interface Acceptance {
  accepted: number
  trials: number
  rate: number | null
}

export interface AggregationLevel {
  photos: number
  template: Float32Array
  /** Cosine to each held-out photo's template. */
  genuine: number[]
  meanGenuine: number
  /** Held-out photos accepted at the threshold: the TAR. */
  tar: Acceptance
  /** Impostor photos accepted at the threshold (their empirical FAR). */
  impostors: Acceptance
}

const acceptance = (scores: number[], threshold: number): Acceptance => {
  const accepted = scores.filter((s) => s > threshold).length
  return { accepted, trials: scores.length, rate: scores.length ? accepted / scores.length : null }
}

/** The averaged gallery template at each level, verified against the held-out photos and the impostors. */
export function aggregate(gallery: ArrayLike<number>[], heldOut: ArrayLike<number>[], impostors: ArrayLike<number>[], threshold: number): AggregationLevel[] {
  return aggregationLevels(gallery.length).map((photos) => {
    const template = averageTemplate(gallery.slice(0, photos))
    const genuine = heldOut.map((p) => cosine(template, p))
    return {
      photos,
      template,
      genuine,
      meanGenuine: genuine.reduce((a, b) => a + b, 0) / genuine.length,
      tar: acceptance(genuine, threshold),
      impostors: acceptance(
        impostors.map((p) => cosine(template, p)),
        threshold
      )
    }
  })
}
