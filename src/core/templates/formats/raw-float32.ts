// Raw little-endian float32 (.bin, .f32, .raw, .dat): no header, so the content has to look
// like template values, and only the encoder's dimension says how to split it into rows.

import { unlabelledRows, type Extracted } from '../template-checks'

// Real templates are O(1) to O(100) in magnitude (exact zeros occur after ReLU). Requiring
// values in that band rejects text and most non-float binaries, which decode to values like
// 1e+24 or 1e-35. Canonical NaN/Infinity bit patterns are let through so a genuine float32
// file containing a NaN is reported as NON_FINITE rather than as an unknown format.
export function looksLikeFloat32(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length % 4 !== 0) return false
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let o = 0; o < bytes.length; o += 4) {
    const v = view.getFloat32(o, true)
    if (Number.isFinite(v)) {
      const a = Math.abs(v)
      if (a !== 0 && (a < 1e-30 || a > 1e6)) return false
    } else {
      const bits = view.getUint32(o, true) & 0x7fffffff
      if (bits !== 0x7fc00000 && bits !== 0x7f800000) return false
    }
  }
  return true
}

/**
 * Raw little-endian float64 of template-like values, which read as float32 give garbage (every
 * other float32 is the low half of a double, often a tiny denormal or zero): told apart so the
 * error can say what the file is instead of importing noise.
 */
export function looksLikeFloat64(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length % 8 !== 0) return false
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let nonZero = 0
  let lowWordsZero = true
  for (let o = 0; o < bytes.length; o += 8) {
    const v = view.getFloat64(o, true)
    if (!Number.isFinite(v)) return false
    const a = Math.abs(v)
    if (a !== 0 && (a < 1e-30 || a > 1e6)) return false
    if (a !== 0) nonZero++
    if (view.getUint32(o, true) !== 0) lowWordsZero = false
  }
  // Doubles with short mantissas (0.5, 1.25) read as float32 too: a zero at every even place gives them away.
  return nonZero > 0 && (lowWordsZero || !looksLikeFloat32(bytes))
}

export function extractBin(bytes: Uint8Array, expectedDim?: number): Extracted {
  const count = bytes.length / 4
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const all = new Float32Array(count)
  for (let i = 0; i < count; i++) all[i] = view.getFloat32(i * 4, true)
  // Raw floats carry no shape: split into rows only when the encoder's dimension says how.
  const d = expectedDim !== undefined && count % expectedDim === 0 ? expectedDim : count
  const n = count / d
  return unlabelledRows(all, n, d, { byteOrder: 'little-endian', layout: n === 1 ? 'single' : 'rows' })
}
