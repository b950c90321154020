// Checks every template passes, whatever format it came in (and every export, so exports
// always re-import): same dimension throughout, the encoder's dimension, finite float32 values,
// not all zeros. Also the shape every format reader hands to them.

import { TemplateFormatError } from './template-errors'

/** What a format reader extracted from a file, before the checks below. */
export interface Extracted {
  vectors: ArrayLike<number>[]
  /** One description per vector for error messages ("template 0", "template 2 (line 3)"). */
  where: string[]
  labels: (string | null)[]
  encoderId: string | null
  encoderSha256: string | null
  meta: Record<string, unknown>
}

export const SHA256_HEX = /^[0-9a-f]{64}$/i

export const templateWhere = (n: number): string[] => Array.from({ length: n }, (_, i) => `template ${i}`)

/** A flat C-order array as `n` unlabelled templates of `d` values (formats without labels or encoder: npy, raw float32). */
export function unlabelledRows(data: Float32Array | Float64Array, n: number, d: number, meta: Record<string, unknown>): Extracted {
  return {
    vectors: Array.from({ length: n }, (_, i) => data.subarray(i * d, (i + 1) * d)),
    where: templateWhere(n),
    labels: new Array<null>(n).fill(null),
    encoderId: null,
    encoderSha256: null,
    meta
  }
}

function describeValue(x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return String(x)
  return `${x}, outside the float32 range`
}

export function validateVectors(sources: ArrayLike<number>[], where: string[], expectedDim?: number, expectedEncoder?: string): Float32Array[] {
  if (sources.length === 0) throw new TemplateFormatError('EMPTY', 'file contains no templates')
  const d = sources[0].length
  sources.forEach((v, i) => {
    if (v.length === 0) throw new TemplateFormatError('EMPTY', `${where[i]} has no values`)
    if (v.length !== d) throw new TemplateFormatError('RAGGED', `${where[i]} has ${v.length} values but ${where[0]} has ${d}`)
  })
  if (expectedDim !== undefined && d !== expectedDim) {
    const subject = sources.length === 1 ? 'template has' : `templates have`
    const encoder = expectedEncoder ? `encoder ${expectedEncoder}` : 'the expected encoder'
    throw new TemplateFormatError('WRONG_DIMENSION', `${subject} ${d} values but ${encoder} produces ${expectedDim}`)
  }
  return sources.map((v, i) => {
    const out = new Float32Array(d)
    let nonZero = false
    for (let j = 0; j < d; j++) {
      const x = v[j]
      const f = Math.fround(x)
      if (!Number.isFinite(f)) throw new TemplateFormatError('NON_FINITE', `${where[i]}, value ${j} is ${describeValue(x)}`)
      if (f !== 0) nonZero = true
      out[j] = f
    }
    // A zero template has no direction: every cosine against it is undefined.
    if (!nonZero) throw new TemplateFormatError('ZERO_VECTOR', `${where[i]} is all zeros`)
    return out
  })
}
