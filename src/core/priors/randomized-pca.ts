import type { InferenceEngine } from '../engine/inference-engine'
import { OnnxGraphBuilder } from '../models/onnx-builder'
import { SeededRandom } from '../random/seeded-random'

export interface PcaResult {
  /** K unit components of length D, row-major K x D, largest variance first. */
  components: Float32Array
  /** Variance along each component (eigenvalue / (N - 1)). */
  variances: Float64Array
  /** Total variance of the centred data (trace of its covariance). */
  totalVariance: number
}

const ROWS_PER_CALL = 1024

/**
 * Computes Y = Xᵀ (X Ω) over row chunks of X: the only O(N·D·k) work, done by ONNX Runtime's
 * GEMM instead of JavaScript loops.
 */
async function gramTimes(engine: InferenceEngine, key: string, x: Float32Array, n: number, d: number, omega: Float32Array, k: number, signal?: AbortSignal): Promise<Float64Array> {
  const y = new Float64Array(d * k)
  for (let start = 0; start < n; start += ROWS_PER_CALL) {
    signal?.throwIfAborted()
    const rows = Math.min(ROWS_PER_CALL, n - start)
    const chunk = x.slice(start * d, (start + rows) * d)
    const { outputs } = await engine.run(key, { x: { data: chunk, dims: [rows, d] }, omega: { data: omega.slice(), dims: [d, k] } }, { signal })
    const part = outputs.y.data
    for (let i = 0; i < part.length; i++) y[i] += part[i]
  }
  return y
}

/** Modified Gram-Schmidt on the k columns of a row-major D x k matrix, in place. */
function orthonormaliseColumns(m: Float64Array, d: number, k: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < k; j++) {
      for (let i = 0; i < j; i++) {
        let dot = 0
        for (let r = 0; r < d; r++) dot += m[r * k + i] * m[r * k + j]
        for (let r = 0; r < d; r++) m[r * k + j] -= dot * m[r * k + i]
      }
      let norm = 0
      for (let r = 0; r < d; r++) norm += m[r * k + j] ** 2
      norm = Math.sqrt(norm) || 1
      for (let r = 0; r < d; r++) m[r * k + j] /= norm
    }
  }
}

/** Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a)
  const v = new Float64Array(n * n)
  for (let i = 0; i < n; i++) v[i * n + i] = 1
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2
    if (off < 1e-22) break
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q]
        if (Math.abs(apq) < 1e-300) continue
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq)
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1))
        const c = 1 / Math.sqrt(t * t + 1)
        const s = t * c
        for (let r = 0; r < n; r++) {
          const mrp = m[r * n + p], mrq = m[r * n + q]
          m[r * n + p] = c * mrp - s * mrq
          m[r * n + q] = s * mrp + c * mrq
        }
        for (let r = 0; r < n; r++) {
          const mpr = m[p * n + r], mqr = m[q * n + r]
          m[p * n + r] = c * mpr - s * mqr
          m[q * n + r] = s * mpr + c * mqr
        }
        for (let r = 0; r < n; r++) {
          const vrp = v[r * n + p], vrq = v[r * n + q]
          v[r * n + p] = c * vrp - s * vrq
          v[r * n + q] = s * vrp + c * vrq
        }
      }
    }
  }
  const values = new Float64Array(n)
  for (let i = 0; i < n; i++) values[i] = m[i * n + i]
  return { values, vectors: v }
}

/**
 * Top-K principal components of the rows of a centred N x D matrix by randomized subspace
 * iteration (Halko, Martinsson & Tropp 2011): K + 32 random directions, `powerIterations`
 * rounds of Xᵀ X, then an exact eigen-decomposition in the small subspace.
 */
export async function randomizedPca(
  engine: InferenceEngine,
  centred: Float32Array,
  n: number,
  d: number,
  k: number,
  options: { seed?: number; powerIterations?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}
): Promise<PcaResult> {
  const l = Math.min(k + 32, d, n)
  const key = `pca-gram-${d}-${l}`
  const g = new OnnxGraphBuilder()
  g.input('x', ['rows', d])
  g.input('omega', [d, l])
  const xo = g.node('MatMul', ['x', 'omega'])
  const xt = g.node('Transpose', ['x'], { perm: [1, 0] })
  g.node('MatMul', [xt, xo], {}, 'y')
  g.output('y', [d, l])
  await engine.load(key, g.build('gram'))

  const rng = new SeededRandom(options.seed ?? 1)
  let basis: Float64Array = new Float64Array(d * l)
  for (let i = 0; i < basis.length; i++) basis[i] = rng.normal()
  const rounds = (options.powerIterations ?? 2) + 1
  for (let round = 0; round < rounds; round++) {
    orthonormaliseColumns(basis, d, l)
    basis = await gramTimes(engine, key, centred, n, d, Float32Array.from(basis), l, options.signal)
    options.onProgress?.(round + 1, rounds + 1)
  }
  orthonormaliseColumns(basis, d, l)
  const projected = await gramTimes(engine, key, centred, n, d, Float32Array.from(basis), l, options.signal)
  options.onProgress?.(rounds + 1, rounds + 1)
  await engine.release(key)
  // B = Qᵀ (Xᵀ X Q): the Gram matrix restricted to the subspace.
  const b = new Float64Array(l * l)
  for (let i = 0; i < l; i++) {
    for (let j = 0; j < l; j++) {
      let s = 0
      for (let r = 0; r < d; r++) s += basis[r * l + i] * projected[r * l + j]
      b[i * l + j] = s
    }
  }
  for (let i = 0; i < l; i++) for (let j = i + 1; j < l; j++) b[i * l + j] = b[j * l + i] = (b[i * l + j] + b[j * l + i]) / 2
  const { values, vectors } = symmetricEigen(b, l)
  const order = Array.from({ length: l }, (_, i) => i).sort((x, y) => values[y] - values[x]).slice(0, k)
  const components = new Float32Array(k * d)
  const variances = new Float64Array(k)
  order.forEach((col, c) => {
    variances[c] = Math.max(0, values[col]) / (n - 1)
    for (let r = 0; r < d; r++) {
      let s = 0
      for (let j = 0; j < l; j++) s += basis[r * l + j] * vectors[j * l + col]
      components[c * d + r] = s
    }
  })
  let total = 0
  for (let i = 0; i < centred.length; i++) total += centred[i] * centred[i]
  return { components, variances, totalVariance: total / (n - 1) }
}
