import type { ColorOrder, Normalisation } from '../../shared/types'
import type { RgbImage } from './image-io'

/** RGB pixels to one planar (CHW) float sample with the model's colour order and normalisation. */
export function imageToChw(img: RgbImage, colorOrder: ColorOrder, norm: Normalisation): Float32Array {
  const plane = img.width * img.height
  const { data } = img
  if (colorOrder === 'GRAY') {
    const out = new Float32Array(plane)
    const m = norm.mean[0], s = norm.std[0]
    for (let i = 0; i < plane; i++) {
      const g = 0.299 * data[i * 3] + 0.587 * data[i * 3 + 1] + 0.114 * data[i * 3 + 2]
      out[i] = (g / norm.scale - m) / s
    }
    return out
  }
  const out = new Float32Array(plane * 3)
  const order = colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2]
  for (let c = 0; c < 3; c++) {
    const src = order[c]
    const m = norm.mean.length === 3 ? norm.mean[c] : norm.mean[0]
    const s = norm.std.length === 3 ? norm.std[c] : norm.std[0]
    const base = c * plane
    for (let i = 0; i < plane; i++) out[base + i] = (data[i * 3 + src] / norm.scale - m) / s
  }
  return out
}

/** Planar RGB floats in [lo, hi] back to 8-bit interleaved pixels (generator outputs). */
export function chwToImage(chw: Float32Array, width: number, height: number, lo = 0, hi = 1): RgbImage {
  const plane = width * height
  const out = new Uint8Array(plane * 3)
  const k = 255 / (hi - lo)
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane; i++) {
      out[i * 3 + c] = Math.max(0, Math.min(255, Math.round((chw[c * plane + i] - lo) * k)))
    }
  }
  return { data: out, width, height }
}

/**
 * Planar RGB in [0, 1] (a generator's output) to an encoder's planar input, applying the
 * encoder's colour order and normalisation exactly as imageToChw does for 8-bit pixels.
 */
export function planarToModelInput(planar: Float32Array, plane: number, colorOrder: ColorOrder, norm: Normalisation): Float32Array {
  const out = new Float32Array(planar.length)
  const order = colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2]
  for (let c = 0; c < 3; c++) {
    const src = order[c] * plane
    const m = norm.mean.length === 3 ? norm.mean[c] : norm.mean[0]
    const s = norm.std.length === 3 ? norm.std[c] : norm.std[0]
    const k = 255 / norm.scale
    const base = c * plane
    for (let i = 0; i < plane; i++) out[base + i] = (planar[src + i] * k - m) / s
  }
  return out
}
