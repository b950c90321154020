// The per-latent similarities a many-latent search (ALSUV) reports each step, read from
// JobProgress.detail (shared LatentSimilaritiesDetail), and their distribution for the live view.
import type { LatentSimilaritiesDetail } from '@shared/types'
import { tracePointFrom } from './trace'

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0

/** The step's latent similarities of a progress event, or null when its detail carries none. */
export function latentSimilaritiesFrom(detail: Record<string, unknown> | null | undefined): LatentSimilaritiesDetail | null {
  const point = tracePointFrom(detail)
  const values = detail?.latentSimilarities
  if (!point || !isInt(detail?.step) || !isInt(detail?.steps) || !Array.isArray(values) || values.length === 0) return null
  if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) return null
  return { ...point, step: detail.step, steps: detail.steps, latentSimilarities: values as number[] }
}

export interface LatentDistribution {
  count: number
  min: number
  median: number
  max: number
  /** Bin edges lo..hi and the number of latents in each of the `bins` equal bins. */
  lo: number
  hi: number
  counts: number[]
}

/**
 * Histogram of the latents' cosines over [lo, hi]: the range of the values widened to whole
 * tenths of `pad`, so the axis moves in steps rather than with every update.
 */
export function latentDistribution(values: readonly number[], bins = 24, pad = 0.05): LatentDistribution | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  const min = sorted[0]
  const max = sorted[sorted.length - 1]
  const mid = sorted.length >> 1
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  const round = (v: number): number => Number(v.toFixed(6))
  const lo = Math.max(-1, round(Math.floor(min / pad) * pad))
  const hi = Math.min(1, Math.max(round(lo + pad), round(Math.ceil(max / pad) * pad)))
  const counts = new Array<number>(bins).fill(0)
  for (const v of sorted) counts[Math.min(bins - 1, Math.max(0, Math.floor(((v - lo) / (hi - lo)) * bins)))]++
  return { count: sorted.length, min, median, max, lo, hi, counts }
}
