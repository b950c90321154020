import { SeededRandom } from '../random/seeded-random'

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054

export interface Interval {
  low: number
  high: number
  /** How the interval was obtained: 'wilson', 'rule-of-three' (0 successes), 'bootstrap'. */
  method: 'wilson' | 'rule-of-three' | 'bootstrap'
}

/** A proportion with its counts and 95% intervals (binomial and, where subjects are known, subject-level bootstrap). */
export interface Proportion {
  successes: number
  trials: number
  /** Distinct subjects the trials came from. */
  subjects: number
  rate: number | null
  /** Wilson score interval; rule-of-three upper bound [0, 3/n] when there are no successes. */
  interval: Interval | null
  /** Percentile interval over subjects resampled with replacement (null with fewer than 2 subjects). */
  bootstrap: Interval | null
}

/** Wilson score interval for k successes in n trials. */
export function wilsonInterval(k: number, n: number, z = Z95): Interval {
  if (!Number.isInteger(k) || !Number.isInteger(n) || n <= 0 || k < 0 || k > n) throw new Error(`wilson interval needs 0 ≤ k ≤ n, n > 0 (got k=${k}, n=${n})`)
  const p = k / n
  const z2 = z * z
  const denom = 1 + z2 / n
  const centre = (p + z2 / (2 * n)) / denom
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom
  // At k = 0 or k = n one bound is exactly 0 or 1; rounding must not move it.
  return { low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half), method: 'wilson' }
}

/** With no successes in n trials, the 95% upper bound of the rate is about 3/n. */
export function ruleOfThree(n: number): Interval {
  if (!Number.isInteger(n) || n <= 0) throw new Error(`rule of three needs n > 0 (got ${n})`)
  return { low: 0, high: Math.min(1, 3 / n), method: 'rule-of-three' }
}

/** The binomial interval the report shows: rule of three for 0 successes, Wilson otherwise. */
export function binomialInterval(k: number, n: number): Interval | null {
  if (n === 0) return null
  return k === 0 ? ruleOfThree(n) : wilsonInterval(k, n)
}

/** The q-quantile (0..1) of sorted values, linear interpolation between order statistics. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) throw new Error('quantile of no values')
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

export interface SubjectCounts {
  subject: string
  successes: number
  trials: number
}

/**
 * Subject-level bootstrap: subjects are resampled with replacement (their trials stay
 * together, so photos of one person are not treated as independent) and the pooled rate
 * recomputed; the 2.5th and 97.5th percentiles of `reps` resamples. Seeded, so reproducible.
 */
export function subjectBootstrap(groups: SubjectCounts[], reps = 2000, seed = 1): Interval | null {
  const usable = groups.filter((g) => g.trials > 0)
  return usable.length < 2 ? null : pooledRatioBootstrap(usable.map((g) => ({ num: g.successes, den: g.trials })), reps, seed)
}

/** Percentile interval of sum(num)/sum(den) over `reps` seeded resamples of the groups with replacement. */
function pooledRatioBootstrap(groups: { num: number; den: number }[], reps: number, seed: number): Interval {
  const rng = new SeededRandom(seed)
  const ratios = new Float64Array(reps)
  for (let r = 0; r < reps; r++) {
    let num = 0
    let den = 0
    for (let i = 0; i < groups.length; i++) {
      const g = groups[rng.nextUint32() % groups.length]
      num += g.num
      den += g.den
    }
    ratios[r] = num / den
  }
  ratios.sort()
  return { low: quantile(ratios, 0.025), high: quantile(ratios, 0.975), method: 'bootstrap' }
}

/** Pools per-subject counts into a proportion with both intervals. */
export function proportion(groups: SubjectCounts[], options: { reps?: number; seed?: number } = {}): Proportion {
  const successes = groups.reduce((a, g) => a + g.successes, 0)
  const trials = groups.reduce((a, g) => a + g.trials, 0)
  const subjects = new Set(groups.filter((g) => g.trials > 0).map((g) => g.subject)).size
  return {
    successes,
    trials,
    subjects,
    rate: trials > 0 ? successes / trials : null,
    interval: binomialInterval(successes, trials),
    bootstrap: subjectBootstrap(groups, options.reps, options.seed)
  }
}

/** Groups per-trial outcomes by subject. */
export function countBySubject(trials: { subject: string; success: boolean }[]): SubjectCounts[] {
  const by = new Map<string, SubjectCounts>()
  for (const t of trials) {
    const g = by.get(t.subject) ?? { subject: t.subject, successes: 0, trials: 0 }
    g.trials++
    if (t.success) g.successes++
    by.set(t.subject, g)
  }
  return [...by.values()]
}

/** Mean with a subject-level bootstrap interval of the mean (for PSNR/SSIM). */
export interface MeanEstimate {
  mean: number | null
  n: number
  subjects: number
  bootstrap: Interval | null
}

export function meanBySubject(values: { subject: string; value: number }[], reps = 2000, seed = 1): MeanEstimate {
  if (values.length === 0) return { mean: null, n: 0, subjects: 0, bootstrap: null }
  const by = new Map<string, number[]>()
  for (const v of values) by.set(v.subject, [...(by.get(v.subject) ?? []), v.value])
  const groups = [...by.values()].map((xs) => ({ sum: xs.reduce((a, b) => a + b, 0), n: xs.length }))
  const mean = values.reduce((a, v) => a + v.value, 0) / values.length
  const bootstrap = groups.length >= 2 ? pooledRatioBootstrap(groups.map((g) => ({ num: g.sum, den: g.n })), reps, seed) : null
  return { mean, n: values.length, subjects: groups.length, bootstrap }
}
