import type { RgbImage } from './image-io'

/** ArcFace 112x112 five-point template: left eye, right eye, nose tip, mouth corners. */
export const ARCFACE_112: [number, number][] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041]
]

/** 2x3 affine matrix [a, b, tx; c, d, ty] mapping source to destination coordinates. */
export type Affine = [number, number, number, number, number, number]

/**
 * Least-squares similarity transform (rotation, uniform scale, translation) from src to dst
 * points (Umeyama 1991), the transform InsightFace's alignment uses.
 */
export function similarityTransform(src: [number, number][], dst: [number, number][]): Affine {
  const n = src.length
  if (n < 2 || dst.length !== n) throw new Error('similarity transform needs matching point lists of 2 or more')
  let sxm = 0, sym = 0, dxm = 0, dym = 0
  for (let i = 0; i < n; i++) {
    sxm += src[i][0]; sym += src[i][1]; dxm += dst[i][0]; dym += dst[i][1]
  }
  sxm /= n; sym /= n; dxm /= n; dym /= n
  // For 2-D similarity the closed form reduces to two sums: a = s*cos, b = s*sin.
  let num1 = 0, num2 = 0, den = 0
  for (let i = 0; i < n; i++) {
    const sx = src[i][0] - sxm, sy = src[i][1] - sym
    const dx = dst[i][0] - dxm, dy = dst[i][1] - dym
    num1 += sx * dx + sy * dy
    num2 += sx * dy - sy * dx
    den += sx * sx + sy * sy
  }
  if (den === 0) throw new Error('landmarks are degenerate (all at one point)')
  const a = num1 / den
  const b = num2 / den
  return [a, -b, dxm - (a * sxm - b * sym), b, a, dym - (b * sxm + a * sym)]
}

export function invertAffine(m: Affine): Affine {
  const [a, b, tx, c, d, ty] = m
  const det = a * d - b * c
  if (det === 0) throw new Error('affine transform is not invertible')
  const ia = d / det, ib = -b / det, ic = -c / det, id = a / det
  return [ia, ib, -(ia * tx + ib * ty), ic, id, -(ic * tx + id * ty)]
}

/** Bilinear warp of src into an outW x outH image under `m` (src -> dst); outside is black. */
export function warpAffine(src: RgbImage, m: Affine, outW: number, outH: number): RgbImage {
  const inv = invertAffine(m)
  const out = new Uint8Array(outW * outH * 3)
  const { width: w, height: h, data } = src
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const sx = inv[0] * x + inv[1] * y + inv[2]
      const sy = inv[3] * x + inv[4] * y + inv[5]
      const x0 = Math.floor(sx), y0 = Math.floor(sy)
      const fx = sx - x0, fy = sy - y0
      const di = (y * outW + x) * 3
      for (let ch = 0; ch < 3; ch++) {
        let acc = 0
        for (let k = 0; k < 4; k++) {
          const xx = x0 + (k & 1), yy = y0 + (k >> 1)
          if (xx < 0 || yy < 0 || xx >= w || yy >= h) continue
          const wgt = ((k & 1) ? fx : 1 - fx) * ((k >> 1) ? fy : 1 - fy)
          acc += wgt * data[(yy * w + xx) * 3 + ch]
        }
        out[di + ch] = Math.max(0, Math.min(255, Math.round(acc)))
      }
    }
  }
  return { data: out, width: outW, height: outH }
}

export function alignFace(
  img: RgbImage,
  landmarks: [number, number][],
  template: [number, number][] = ARCFACE_112,
  size: [number, number] = [112, 112]
): RgbImage {
  return warpAffine(img, similarityTransform(landmarks, template), size[0], size[1])
}
