import { describe, it, expect } from 'vitest'
import { cosine, dot, l2norm, mean, normalise } from '../../../src/core/templates/vector-math'
import { randomTemplate } from './helpers'

describe('dot and l2norm', () => {
  it('computes the dot product of mixed array types', () => {
    expect(dot([1, 2, 3], new Float32Array([4, -5, 6]))).toBe(12)
  })

  it('throws on length mismatch', () => {
    expect(() => dot([1, 2], [1, 2, 3])).toThrow('dot: vectors differ in length (2 vs 3)')
  })

  it('computes the Euclidean norm', () => {
    expect(l2norm([3, 4])).toBe(5)
    expect(l2norm(new Float32Array([0, 0, 0]))).toBe(0)
    expect(l2norm([])).toBe(0)
  })

  it('neither overflows nor underflows on extreme magnitudes', () => {
    expect(l2norm([3e200, 4e200])).toBeCloseTo(5e200, -190)
    expect(l2norm([3e-200, 4e-200]) / 1e-200).toBeCloseTo(5, 12)
  })

  it('propagates NaN and Infinity', () => {
    expect(l2norm([1, NaN])).toBeNaN()
    expect(l2norm([Infinity, 1, -Infinity])).toBe(Infinity)
  })
})

describe('normalise', () => {
  it('returns a unit-length float32 copy in the same direction', () => {
    const v = [3, 0, -4]
    const n = normalise(v)
    expect(n).toBeInstanceOf(Float32Array)
    expect(Array.from(n)).toEqual([Math.fround(0.6), 0, Math.fround(-0.8)])
    expect(l2norm(n)).toBeCloseTo(1, 6)
    expect(v).toEqual([3, 0, -4])
  })

  it('refuses a zero vector', () => {
    expect(() => normalise([0, 0])).toThrow('cannot normalise a zero vector')
  })
})

describe('cosine', () => {
  it('is 1 for the same direction, -1 for opposite, 0 for orthogonal', () => {
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12)
    expect(cosine([1, 2, 3], [-1, -2, -3])).toBeCloseTo(-1, 12)
    expect(cosine([1, 0], [0, 5])).toBe(0)
  })

  it('matches the textbook formula', () => {
    const a = [1, 2, 3]
    const b = [4, 5, 6]
    expect(cosine(a, b)).toBeCloseTo(32 / (Math.sqrt(14) * Math.sqrt(77)), 12)
    expect(cosine([1, 1], [1, 0])).toBeCloseTo(Math.SQRT1_2, 12)
  })

  it('is scale invariant and symmetric on real-sized templates', () => {
    const a = randomTemplate(512, 1)
    const b = randomTemplate(512, 2)
    const scaled = a.map((x) => x * 37)
    expect(cosine(a, b)).toBeCloseTo(cosine(scaled, b), 6)
    expect(cosine(a, b)).toBe(cosine(b, a))
    expect(cosine(a, b)).toBeCloseTo(dot(normalise(a), normalise(b)), 6)
    expect(Math.abs(cosine(a, b))).toBeLessThan(0.2) // independent random vectors are near-orthogonal
  })

  it('never leaves [-1, 1], so acos() stays defined', () => {
    const a = new Float32Array(512).fill(0.1)
    expect(cosine(a, a)).toBeLessThanOrEqual(1)
    expect(Number.isNaN(Math.acos(cosine(a, a)))).toBe(false)
  })

  it('throws on length mismatch and on a zero vector', () => {
    expect(() => cosine([1, 2, 3], new Float32Array(2))).toThrow('cosine: vectors differ in length (3 vs 2)')
    expect(() => cosine([0, 0], [1, 1])).toThrow('cosine: undefined for a zero vector')
  })
})

describe('mean', () => {
  it('averages element-wise', () => {
    expect(Array.from(mean([[1, 2], new Float32Array([3, 6])]))).toEqual([2, 4])
  })

  it('throws on no vectors and on length mismatch', () => {
    expect(() => mean([])).toThrow('mean: no vectors given')
    expect(() => mean([[1, 2], [1]])).toThrow('mean: vector 1 has length 1, vector 0 has 2')
  })
})
