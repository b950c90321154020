import { describe, expect, it } from 'vitest'
import { impostorScores, passes, thresholdsAtFar } from '../../../src/core/evaluation/far-thresholds'
import { verificationAccuracy } from '../../../src/core/evaluation/verification-accuracy'

describe('FAR thresholds', () => {
  it('accepts at most FAR x M impostor scores above the threshold', () => {
    const scores = Float32Array.from({ length: 100000 }, (_, i) => i / 100000)
    const t = thresholdsAtFar(scores)
    for (const { far, threshold } of t) {
      const accepted = scores.filter((s) => s > threshold).length
      expect(accepted).toBeLessThanOrEqual(far * scores.length)
      expect(accepted).toBeGreaterThanOrEqual(far * scores.length - 1)
    }
    expect(t.map((x) => x.far)).toEqual([1e-2, 1e-3, 1e-4])
    expect(t[0].threshold).toBeLessThan(t[1].threshold)
    expect(passes(0.9995, t)).toEqual([true, true, false])
  })

  it('refuses a FAR finer than the impostor population supports', () => {
    expect(() => thresholdsAtFar(new Float32Array(5000))).toThrow(/FAR 0.0001 needs at least 10000 impostor pairs, have 5000/)
  })

  it('scores exactly the different-identity pairs', () => {
    const t = [[1, 0], [0, 1], [1, 1], [1, 0]]
    const scores = impostorScores(t, ['a', 'b', 'a', 'c'])
    // pairs (0,1) (0,3) (1,2) (1,3) (2,3): (0,2) is same identity
    expect(scores).toHaveLength(5)
    expect(Array.from(scores).map((x) => Math.round(x * 1000) / 1000)).toEqual([0, 1, 0.707, 0, 0.707])
  })

  it('verification accuracy is 1 for separable scores and no better than chance for identical ones', () => {
    const sep = Array.from({ length: 40 }, (_, i) => ({ score: i % 2 ? 0.8 : 0.1, same: i % 2 === 1 }))
    expect(verificationAccuracy(sep).accuracy).toBe(1)
    const flat = Array.from({ length: 40 }, (_, i) => ({ score: 0.5, same: i % 2 === 1 }))
    expect(verificationAccuracy(flat).accuracy).toBeLessThanOrEqual(0.5)
  })
})
