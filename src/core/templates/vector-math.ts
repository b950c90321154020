// Small, allocation-light vector maths for face templates (embedding vectors).
// Sums are accumulated in float64 even for Float32Array input: a 512-d float32 dot product
// summed in float32 drifts in the 4th-5th decimal, which is visible in similarity scores.

/** Anything indexable by number: Float32Array, Float64Array, number[]. */
export type VectorLike = ArrayLike<number>

function assertSameLength(a: VectorLike, b: VectorLike, op: string): void {
  if (a.length !== b.length) {
    throw new RangeError(`${op}: vectors differ in length (${a.length} vs ${b.length})`)
  }
}

export function dot(a: VectorLike, b: VectorLike): number {
  assertSameLength(a, b, 'dot')
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

export function l2norm(v: VectorLike): number {
  // Scaled accumulation, as in BLAS nrm2, so that large values do not overflow to Infinity
  // and tiny ones do not underflow to 0 before the square root.
  let scale = 0
  let ssq = 1
  let infinite = false
  for (let i = 0; i < v.length; i++) {
    const x = Math.abs(v[i])
    if (x === 0) continue
    if (Number.isNaN(x)) return NaN
    if (x === Infinity) {
      infinite = true
      continue
    }
    if (scale < x) {
      ssq = 1 + ssq * (scale / x) * (scale / x)
      scale = x
    } else {
      ssq += (x / scale) * (x / scale)
    }
  }
  if (infinite) return Infinity
  return scale === 0 ? 0 : scale * Math.sqrt(ssq)
}

/** Unit-length copy as float32 (the storage type of templates). A zero vector has no direction, so it throws. */
export function normalise(v: VectorLike): Float32Array {
  const n = l2norm(v)
  if (!Number.isFinite(n)) throw new RangeError(`normalise: vector norm is ${n}`)
  if (n === 0) throw new RangeError('normalise: cannot normalise a zero vector')
  const out = new Float32Array(v.length)
  for (let i = 0; i < v.length; i++) out[i] = v[i] / n
  return out
}

/**
 * Cosine similarity in [-1, 1]. Throws on length mismatch and on a zero vector, whose cosine
 * is undefined: silently returning 0 would look like "unrelated faces" in a report.
 */
export function cosine(a: VectorLike, b: VectorLike): number {
  assertSameLength(a, b, 'cosine')
  const na = l2norm(a)
  const nb = l2norm(b)
  if (na === 0 || nb === 0) throw new RangeError('cosine: undefined for a zero vector')
  let s = 0
  for (let i = 0; i < a.length; i++) s += (a[i] / na) * (b[i] / nb)
  // Rounding can push |s| a hair past 1, which would break acos() and threshold comparisons.
  return Math.max(-1, Math.min(1, s))
}

/** Element-wise mean of equal-length vectors (e.g. averaging several enrolments of one face). */
export function mean(vectors: readonly VectorLike[]): Float32Array {
  if (vectors.length === 0) throw new RangeError('mean: no vectors given')
  const d = vectors[0].length
  const acc = new Float64Array(d)
  vectors.forEach((v, k) => {
    if (v.length !== d) throw new RangeError(`mean: vector ${k} has length ${v.length}, vector 0 has ${d}`)
    for (let i = 0; i < d; i++) acc[i] += v[i]
  })
  const out = new Float32Array(d)
  for (let i = 0; i < d; i++) out[i] = acc[i] / vectors.length
  return out
}
