import { describe, expect, it } from 'vitest'
import { binomialInterval, countBySubject, meanBySubject, proportion, quantile, ruleOfThree, subjectBootstrap, wilsonInterval } from '../../../src/core/evaluation/statistics'

describe('interval statistics', () => {
  it('Wilson interval matches hand-computed values', () => {
    // 8/10: p = 0.8, z² = 3.8415; centre (0.8 + 0.19208)/1.38415 = 0.71681, half 1.96·√(0.016 + 0.0096)/1.38415 = 0.22657
    const w = wilsonInterval(8, 10)
    expect(w.low).toBeCloseTo(0.4902, 4)
    expect(w.high).toBeCloseTo(0.9433, 4)
    // 1/2: symmetric about 0.5, half = 1.96·√(0.125 + 0.2401)/1.96 = √0.3651·… → [0.0945, 0.9055]
    const h = wilsonInterval(1, 2)
    expect(h.low).toBeCloseTo(0.0945, 4)
    expect(h.high).toBeCloseTo(0.9055, 4)
    // 10/10: the upper bound is 1, the lower n/(n + z²) = 10/13.8415 = 0.7225
    expect(wilsonInterval(10, 10).low).toBeCloseTo(0.7225, 4)
    expect(wilsonInterval(10, 10).high).toBe(1)
  })

  it('uses the rule of three when nothing succeeded', () => {
    expect(ruleOfThree(50)).toEqual({ low: 0, high: 0.06, method: 'rule-of-three' })
    expect(binomialInterval(0, 50)?.method).toBe('rule-of-three')
    expect(binomialInterval(0, 2)?.high).toBe(1)
    expect(binomialInterval(1, 50)?.method).toBe('wilson')
    expect(binomialInterval(0, 0)).toBeNull()
  })

  it('quantile interpolates between order statistics', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.5)).toBe(3)
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5)
    expect(quantile([0, 10], 0.975)).toBeCloseTo(9.75, 10)
  })

  it('bootstraps over subjects, keeping their trials together', () => {
    // Every subject at the same rate: every resample gives that rate.
    const same = [0, 1, 2, 3].map((i) => ({ subject: `s${i}`, successes: 1, trials: 2 }))
    expect(subjectBootstrap(same, 500, 3)).toEqual({ low: 0.5, high: 0.5, method: 'bootstrap' })
    // Two subjects, 1/1 and 0/1: resamples are {1,1}, {1,0}, {0,0}, so the interval spans [0, 1].
    const two = subjectBootstrap([{ subject: 'a', successes: 1, trials: 1 }, { subject: 'b', successes: 0, trials: 1 }], 2000, 5)!
    expect(two.low).toBe(0)
    expect(two.high).toBe(1)
    // Seeded: the same seed gives the same interval.
    const groups = Array.from({ length: 20 }, (_, i) => ({ subject: `s${i}`, successes: i % 3 === 0 ? 1 : 0, trials: 1 }))
    expect(subjectBootstrap(groups, 1000, 9)).toEqual(subjectBootstrap(groups, 1000, 9))
    expect(subjectBootstrap([{ subject: 'only', successes: 1, trials: 3 }])).toBeNull()
  })

  it('pools per-subject counts into a proportion with counts and both intervals', () => {
    const groups = countBySubject([
      { subject: 'a', success: true },
      { subject: 'a', success: false },
      { subject: 'b', success: true },
      { subject: 'c', success: false }
    ])
    expect(groups).toEqual([
      { subject: 'a', successes: 1, trials: 2 },
      { subject: 'b', successes: 1, trials: 1 },
      { subject: 'c', successes: 0, trials: 1 }
    ])
    const p = proportion(groups)
    expect(p).toMatchObject({ successes: 2, trials: 4, subjects: 3, rate: 0.5 })
    expect(p.interval?.method).toBe('wilson')
    expect(p.bootstrap?.method).toBe('bootstrap')
    expect(p.bootstrap!.low).toBeLessThanOrEqual(0.5)
    expect(p.bootstrap!.high).toBeGreaterThanOrEqual(0.5)
  })

  it('means by subject with a bootstrap interval of the mean', () => {
    const m = meanBySubject([
      { subject: 'a', value: 10 },
      { subject: 'a', value: 20 },
      { subject: 'b', value: 30 }
    ])
    expect(m.mean).toBe(20)
    expect(m).toMatchObject({ n: 3, subjects: 2 })
    // Resamples: {a,a} → 15, {a,b} → 20, {b,b} → 30.
    expect(m.bootstrap!.low).toBe(15)
    expect(m.bootstrap!.high).toBe(30)
    expect(meanBySubject([]).mean).toBeNull()
  })
})
