import type { RgbImage } from '../imaging/image-io'

// Full-reference image quality of a reconstruction against the aligned original (same size).

function checkSameSize(a: RgbImage, b: RgbImage): void {
  if (a.width !== b.width || a.height !== b.height) throw new Error(`images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`)
}

/** PSNR in dB over the RGB values (peak 255); Infinity for identical images. */
export function psnr(a: RgbImage, b: RgbImage): number {
  checkSameSize(a, b)
  const n = a.width * a.height * 3
  let se = 0
  for (let i = 0; i < n; i++) {
    const d = a.data[i] - b.data[i]
    se += d * d
  }
  const mse = se / n
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse)
}

/** Luma (BT.601) as a float plane. */
export function luma(img: RgbImage): Float64Array {
  const out = new Float64Array(img.width * img.height)
  for (let i = 0; i < out.length; i++) out[i] = 0.299 * img.data[3 * i] + 0.587 * img.data[3 * i + 1] + 0.114 * img.data[3 * i + 2]
  return out
}

function gaussianKernel(size: number, sigma: number): Float64Array {
  const k = new Float64Array(size)
  const c = (size - 1) / 2
  let s = 0
  for (let i = 0; i < size; i++) s += k[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma))
  for (let i = 0; i < size; i++) k[i] /= s
  return k
}

/** Separable 'valid' filtering of a w x h plane. */
function filterValid(x: Float64Array, w: number, h: number, k: Float64Array): { data: Float64Array; w: number; h: number } {
  const n = k.length
  const ow = w - n + 1
  const oh = h - n + 1
  const tmp = new Float64Array(ow * h)
  for (let y = 0; y < h; y++) for (let i = 0; i < ow; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += k[j] * x[y * w + i + j]
    tmp[y * ow + i] = s
  }
  const out = new Float64Array(ow * oh)
  for (let y = 0; y < oh; y++) for (let i = 0; i < ow; i++) {
    let s = 0
    for (let j = 0; j < n; j++) s += k[j] * tmp[(y + j) * ow + i]
    out[y * ow + i] = s
  }
  return { data: out, w: ow, h: oh }
}

const K1 = 0.01
const K2 = 0.03
const L = 255

/** Mean SSIM and mean contrast-structure term on planes (Wang et al. 2004: 11x11 Gaussian window, σ 1.5). */
function ssimPlanes(x: Float64Array, y: Float64Array, w: number, h: number): { ssim: number; cs: number } {
  const size = Math.min(11, w, h)
  const k = gaussianKernel(size, 1.5 * (size / 11))
  const C1 = (K1 * L) ** 2
  const C2 = (K2 * L) ** 2
  const xx = x.map((v) => v * v)
  const yy = y.map((v) => v * v)
  const xy = x.map((v, i) => v * y[i])
  const mx = filterValid(x, w, h, k)
  const my = filterValid(y, w, h, k).data
  const sxx = filterValid(xx, w, h, k).data
  const syy = filterValid(yy, w, h, k).data
  const sxy = filterValid(xy, w, h, k).data
  let ssim = 0
  let cs = 0
  const m = mx.data.length
  for (let i = 0; i < m; i++) {
    const ux = mx.data[i]
    const uy = my[i]
    const vx = Math.max(0, sxx[i] - ux * ux)
    const vy = Math.max(0, syy[i] - uy * uy)
    const cxy = sxy[i] - ux * uy
    const c = (2 * cxy + C2) / (vx + vy + C2)
    cs += c
    ssim += ((2 * ux * uy + C1) / (ux * ux + uy * uy + C1)) * c
  }
  return { ssim: ssim / m, cs: cs / m }
}

/** SSIM on luma. */
export function ssim(a: RgbImage, b: RgbImage): number {
  checkSameSize(a, b)
  return ssimPlanes(luma(a), luma(b), a.width, a.height).ssim
}

function downsample2(x: Float64Array, w: number, h: number): { data: Float64Array; w: number; h: number } {
  const ow = Math.floor(w / 2)
  const oh = Math.floor(h / 2)
  const out = new Float64Array(ow * oh)
  for (let y = 0; y < oh; y++) for (let i = 0; i < ow; i++) out[y * ow + i] = (x[2 * y * w + 2 * i] + x[2 * y * w + 2 * i + 1] + x[(2 * y + 1) * w + 2 * i] + x[(2 * y + 1) * w + 2 * i + 1]) / 4
  return { data: out, w: ow, h: oh }
}

const MS_WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]

/**
 * MS-SSIM on luma (Wang et al. 2003, five scales, 2x2 mean downsampling). At 112x112 the
 * coarsest scale is 7x7, so the window shrinks to the image there. Negative contrast terms
 * are clamped to 0 so the product stays defined.
 */
export function msSsim(a: RgbImage, b: RgbImage): number {
  checkSameSize(a, b)
  let x = { data: luma(a), w: a.width, h: a.height }
  let y = { data: luma(b), w: b.width, h: b.height }
  let out = 1
  for (let s = 0; s < MS_WEIGHTS.length; s++) {
    const r = ssimPlanes(x.data, y.data, x.w, x.h)
    if (s === MS_WEIGHTS.length - 1) out *= Math.max(0, r.ssim) ** MS_WEIGHTS[s]
    else {
      out *= Math.max(0, r.cs) ** MS_WEIGHTS[s]
      x = downsample2(x.data, x.w, x.h)
      y = downsample2(y.data, y.w, y.h)
    }
  }
  return out
}
