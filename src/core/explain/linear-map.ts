// Least-squares linear maps between templates (the paper's equivariance maps) and the ridge
// solver they and the attribute regression share. Float64 throughout: the normal equations of
// a 512-d fit square the condition number, float32 would lose the small eigen-directions.
import { cosine, normalise } from '../templates/vector-math'

/**
 * Cholesky solve of (A + lambda·I) X = B in place of B, for a symmetric positive semi-definite
 * d x d matrix A (row-major) and `cols` right-hand sides; lambda > 0 makes it definite.
 */
export function solveRidge(a: Float64Array, d: number, lambda: number, b: Float64Array, cols: number): Float64Array {
  const l = Float64Array.from(a)
  for (let i = 0; i < d; i++) l[i * d + i] += lambda
  for (let j = 0; j < d; j++) {
    let s = l[j * d + j]
    for (let k = 0; k < j; k++) s -= l[j * d + k] * l[j * d + k]
    if (!(s > 0)) throw new RangeError('ridge system is not positive definite; raise the regularisation')
    const ljj = Math.sqrt(s)
    l[j * d + j] = ljj
    for (let i = j + 1; i < d; i++) {
      let t = l[i * d + j]
      for (let k = 0; k < j; k++) t -= l[i * d + k] * l[j * d + k]
      l[i * d + j] = t / ljj
    }
  }
  const x = Float64Array.from(b)
  // Forward (L y = b), then back (Lᵀ x = y) substitution, all columns in one sweep per row.
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < i; k++) {
      const lik = l[i * d + k]
      if (lik !== 0) for (let c = 0; c < cols; c++) x[i * cols + c] -= lik * x[k * cols + c]
    }
    const lii = l[i * d + i]
    for (let c = 0; c < cols; c++) x[i * cols + c] /= lii
  }
  for (let i = d - 1; i >= 0; i--) {
    for (let k = i + 1; k < d; k++) {
      const lki = l[k * d + i]
      if (lki !== 0) for (let c = 0; c < cols; c++) x[i * cols + c] -= lki * x[k * cols + c]
    }
    const lii = l[i * d + i]
    for (let c = 0; c < cols; c++) x[i * cols + c] /= lii
  }
  return x
}

/** XᵀX (d x d) and XᵀY (d x cols) of row vectors, accumulated in float64. */
export function normalEquations(xs: ArrayLike<number>[], ys: ArrayLike<number>[], cols: number): { xtx: Float64Array; xty: Float64Array } {
  const d = xs[0].length
  const xtx = new Float64Array(d * d)
  const xty = new Float64Array(d * cols)
  for (let n = 0; n < xs.length; n++) {
    const x = xs[n]
    const y = ys[n]
    for (let i = 0; i < d; i++) {
      const xi = x[i]
      if (xi === 0) continue
      const row = i * d
      for (let j = i; j < d; j++) xtx[row + j] += xi * x[j]
      const out = i * cols
      for (let c = 0; c < cols; c++) xty[out + c] += xi * y[c]
    }
  }
  for (let i = 0; i < d; i++) for (let j = 0; j < i; j++) xtx[i * d + j] = xtx[j * d + i]
  return { xtx, xty }
}

/** A square map on templates: `apply(x) = x W` with W row-major d x d. */
export interface LinearMap {
  dim: number
  weights: Float32Array
}

/**
 * Ridge regression of `to` on `from` shrunk towards the identity, min ‖XW − Y‖² + λ‖W − I‖²:
 * with few crops the map stays close to "leave the template alone" instead of collapsing
 * towards zero, and more data moves it only where the data say so.
 */
export function fitTowardsIdentity(normal: { xtx: Float64Array; xty: Float64Array }, dim: number, lambda: number): LinearMap {
  const rhs = Float64Array.from(normal.xty)
  for (let i = 0; i < dim; i++) rhs[i * dim + i] += lambda
  return { dim, weights: Float32Array.from(solveRidge(normal.xtx, dim, lambda, rhs, dim)) }
}

export function applyMap(map: LinearMap, x: ArrayLike<number>): Float32Array {
  const d = map.dim
  if (x.length !== d) throw new RangeError(`the map takes ${d}-d templates, got ${x.length}`)
  const out = new Float64Array(d)
  for (let i = 0; i < d; i++) {
    const xi = x[i]
    if (xi === 0) continue
    const row = i * d
    for (let j = 0; j < d; j++) out[j] += xi * map.weights[row + j]
  }
  return Float32Array.from(out)
}

/** The mapped template at the input's norm, so a decoder sees a template of the size it was trained on. */
export function mapTemplate(map: LinearMap, template: ArrayLike<number>): Float32Array {
  let n = 0
  for (let i = 0; i < template.length; i++) n += template[i] * template[i]
  const mapped = normalise(applyMap(map, normalise(template)))
  return mapped.map((v) => v * Math.sqrt(n))
}

export const meanCosine = (as: ArrayLike<number>[], bs: ArrayLike<number>[]): number => as.reduce((s, a, i) => s + cosine(a, bs[i]), 0) / as.length

/** Relative ridge strengths tried (λ = r · number of training pairs; unit templates make XᵀX/n trace 1). */
export const RIDGE_GRID = [1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3]

export interface MapFit {
  map: LinearMap
  /** λ / training pairs, chosen on the validation split. */
  ridge: number
  lambda: number
  /** Mean cosine of perturbed to original on the validation split, without the map and with it. */
  validation: { pairs: number; identity: number; mapped: number }
  /** Mean squared residual ‖xW − y‖² per training pair, of the final fit on all pairs. */
  trainMse: number
}

/**
 * Validation predictions X_v W for W = (A + λI)⁻¹(B + λI) without forming W: Z = X_v (A + λI)⁻¹
 * takes a solve with one column per validation pair instead of one per dimension.
 */
function validationPredictions(normal: { xtx: Float64Array; xty: Float64Array }, dim: number, lambda: number, val: Float32Array[]): Float32Array[] {
  const m = val.length
  const xvt = new Float64Array(dim * m)
  val.forEach((x, c) => {
    for (let i = 0; i < dim; i++) xvt[i * m + c] = x[i]
  })
  const zt = solveRidge(normal.xtx, dim, lambda, xvt, m)
  return val.map((_, c) => {
    const out = new Float64Array(dim)
    for (let i = 0; i < dim; i++) {
      const z = zt[i * m + c]
      if (z === 0) continue
      const row = i * dim
      for (let j = 0; j < dim; j++) out[j] += z * normal.xty[row + j]
      out[i] += lambda * z
    }
    return Float32Array.from(out)
  })
}

/**
 * Fits the map from `from` (perturbed) to `to` (original) unit templates: λ chosen by the mean
 * cosine on the last `validation` pairs, then refitted on all pairs with that λ.
 */
export function fitMap(from: Float32Array[], to: Float32Array[], validation: number): MapFit {
  const dim = from[0].length
  const cut = from.length - validation
  const train = normalEquations(from.slice(0, cut), to.slice(0, cut), dim)
  const valFrom = from.slice(cut)
  const valTo = to.slice(cut)
  let best = { ridge: RIDGE_GRID[0], score: -Infinity }
  for (const r of RIDGE_GRID) {
    const score = meanCosine(validationPredictions(train, dim, r * cut, valFrom), valTo)
    if (score > best.score) best = { ridge: r, score }
  }
  const held = normalEquations(valFrom, valTo, dim)
  const all = { xtx: train.xtx.map((v, i) => v + held.xtx[i]), xty: train.xty.map((v, i) => v + held.xty[i]) }
  const lambda = best.ridge * from.length
  const map = fitTowardsIdentity(all, dim, lambda)
  let sse = 0
  from.forEach((x, n) => {
    const y = applyMap(map, x)
    for (let j = 0; j < dim; j++) sse += (y[j] - to[n][j]) ** 2
  })
  return {
    map,
    ridge: best.ridge,
    lambda,
    validation: { pairs: validation, identity: meanCosine(valFrom, valTo), mapped: best.score },
    trainMse: sse / from.length
  }
}
