import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InferenceEngine } from '../../src/core/engine/inference-engine'
import { randomizedPca, symmetricEigen } from '../../src/core/priors/randomized-pca'
import { eigenfaceGeneratorModel, type EigenfacePrior } from '../../src/core/priors/eigenface-prior'
import { SeededRandom } from '../../src/core/random/seeded-random'
import { toFloat16Bits } from '../../src/core/models/onnx-builder'

describe('eigenface prior maths', () => {
  let engine: InferenceEngine
  beforeAll(() => {
    engine = new InferenceEngine({ providers: ['cpu'] })
  })
  afterAll(async () => engine.close())

  it('Jacobi eigen-decomposition reproduces a known symmetric matrix', () => {
    const a = Float64Array.from([4, 1, 2, 1, 3, 0, 2, 0, 5])
    const { values, vectors } = symmetricEigen(a, 3)
    for (let c = 0; c < 3; c++) {
      for (let r = 0; r < 3; r++) {
        let av = 0
        for (let j = 0; j < 3; j++) av += a[r * 3 + j] * vectors[j * 3 + c]
        expect(av).toBeCloseTo(values[c] * vectors[r * 3 + c], 9)
      }
    }
    expect([...values].reduce((x, y) => x + y, 0)).toBeCloseTo(12, 9)
  })

  it('randomized PCA finds the planted variances of low-rank data', async () => {
    const n = 600, d = 48, k = 4
    const rng = new SeededRandom(7)
    const sigmas = [5, 3, 2, 1]
    const basis = Array.from({ length: k }, () => Float64Array.from({ length: d }, () => rng.normal()))
    // Orthonormalise the planted directions so their variances are exactly sigma².
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < i; j++) {
        let dot = 0
        for (let r = 0; r < d; r++) dot += basis[i][r] * basis[j][r]
        for (let r = 0; r < d; r++) basis[i][r] -= dot * basis[j][r]
      }
      const norm = Math.hypot(...basis[i])
      for (let r = 0; r < d; r++) basis[i][r] /= norm
    }
    const x = new Float32Array(n * d)
    for (let s = 0; s < n; s++) for (let c = 0; c < k; c++) {
      const z = rng.normal() * sigmas[c]
      for (let r = 0; r < d; r++) x[s * d + r] += z * basis[c][r]
    }
    for (let i = 0; i < x.length; i++) x[i] += rng.normal() * 0.01
    const mean = new Float64Array(d)
    for (let s = 0; s < n; s++) for (let r = 0; r < d; r++) mean[r] += x[s * d + r] / n
    for (let s = 0; s < n; s++) for (let r = 0; r < d; r++) x[s * d + r] -= mean[r]
    const pca = await randomizedPca(engine, x, n, d, k, { seed: 3 })
    for (let c = 0; c < k; c++) {
      expect(Math.sqrt(pca.variances[c]) / sigmas[c]).toBeGreaterThan(0.85)
      expect(Math.sqrt(pca.variances[c]) / sigmas[c]).toBeLessThan(1.15)
      let dot = 0
      for (let r = 0; r < d; r++) dot += pca.components[c * d + r] * basis[c][r]
      expect(Math.abs(dot)).toBeGreaterThan(0.99)
    }
    expect(pca.variances.reduce((a, b) => a + b, 0) / pca.totalVariance).toBeGreaterThan(0.99)
  })

  it('float16 conversion rounds like IEEE half precision', () => {
    expect(Array.from(toFloat16Bits(Float32Array.from([0, 1, -2, 0.5, 65504, 1e-8, Infinity])))).toEqual([0, 0x3c00, 0xc000, 0x3800, 0x7bff, 0, 0x7c00])
  })

  it('the exported generator computes mean + Σ z σ u, upsampled to 112x112 and clipped to [0, 1]', async () => {
    const size = 8, k = 3, d = 3 * size * size
    const rng = new SeededRandom(11)
    const prior: EigenfacePrior = {
      size,
      mean: Float32Array.from({ length: d }, () => 0.25 + rng.uniform() * 0.5),
      components: Float32Array.from({ length: k * d }, () => rng.normal() / Math.sqrt(d)),
      variances: Float64Array.from([0.04, 0.01, 0.0025]),
      totalVariance: 0.06,
      explained: 0.9,
      count: 10,
      datasets: []
    }
    await engine.load('tiny-prior', eigenfaceGeneratorModel(prior))
    const z = Float32Array.from([0, 0, 0, 40, -40, 0])
    const { outputs } = await engine.run('tiny-prior', { z: { data: z, dims: [2, k] } })
    const img = outputs.image
    expect(img.dims).toEqual([2, 3, 112, 112])
    // z = 0: a constant-colour region of the mean upsampled stays the mean (fp16 tolerance).
    const plane = 112 * 112
    const centreOfPixel = (c: number, py: number, px: number): number => c * plane + Math.floor((py + 0.5) * 14) * 112 + Math.floor((px + 0.5) * 14)
    expect(img.data[centreOfPixel(1, 3, 4)]).toBeCloseTo(prior.mean[size * size + 3 * size + 4], 2)
    const second = img.data.subarray(3 * plane)
    expect(Math.min(...second)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...second)).toBeLessThanOrEqual(1)
    expect(second.some((v) => v === 0 || v === 1)).toBe(true)
  })
})
