// The paper's occlusion figure (Križaj et al., Fig. 11): which parts of the aligned face the
// template depends on, and what the decoder makes of a face with its eyes or mouth hidden.
import type { RgbImage } from '../imaging/image-io'

export interface Box {
  x: number
  y: number
  width: number
  height: number
}

/** Mid grey: a masked patch carries no edge or colour the encoder could read. */
const FILL = 128

/** A copy of the face with the box painted grey. */
export function maskBox(face: RgbImage, box: Box): RgbImage {
  const data = Uint8Array.from(face.data)
  const x0 = Math.max(0, Math.round(box.x))
  const y0 = Math.max(0, Math.round(box.y))
  const x1 = Math.min(face.width, Math.round(box.x + box.width))
  const y1 = Math.min(face.height, Math.round(box.y + box.height))
  for (let y = y0; y < y1; y++) data.fill(FILL, (y * face.width + x0) * 3, (y * face.width + x1) * 3)
  return { data, width: face.width, height: face.height }
}

/** Square patches of side `patch` every `stride` pixels, covering the frame edge to edge. */
export function patchGrid(width: number, height: number, patch: number, stride: number): Box[] {
  if (!Number.isInteger(patch) || patch < 1 || patch > Math.min(width, height))
    throw new RangeError(`patch must be between 1 and ${Math.min(width, height)} pixels`)
  if (!Number.isInteger(stride) || stride < 1) throw new RangeError('stride must be 1 pixel or more')
  const starts = (size: number): number[] => {
    const s: number[] = []
    for (let v = 0; v + patch <= size; v += stride) s.push(v)
    if (s[s.length - 1] + patch < size) s.push(size - patch)
    return s
  }
  return starts(height).flatMap((y) => starts(width).map((x) => ({ x, y, width: patch, height: patch })))
}

/** Per pixel, the mean sensitivity of the patches covering it (the map drawn over the face). */
export function pixelSensitivity(width: number, height: number, boxes: Box[], values: number[]): Float32Array {
  const sum = new Float32Array(width * height)
  const count = new Uint16Array(width * height)
  boxes.forEach((b, i) => {
    for (let y = b.y; y < b.y + b.height; y++) {
      for (let x = b.x; x < b.x + b.width; x++) {
        sum[y * width + x] += values[i]
        count[y * width + x]++
      }
    }
  })
  return sum.map((s, i) => (count[i] ? s / count[i] : 0))
}

/** Blue → cyan → yellow → red for 0..1. */
function heatColour(t: number): [number, number, number] {
  const stops: [number, number, number][] = [
    [0, 0, 160],
    [0, 200, 255],
    [255, 230, 0],
    [220, 0, 0]
  ]
  const p = Math.max(0, Math.min(1, t)) * (stops.length - 1)
  const i = Math.min(stops.length - 2, Math.floor(p))
  const f = p - i
  return [0, 1, 2].map((c) => Math.round(stops[i][c] + (stops[i + 1][c] - stops[i][c]) * f)) as [number, number, number]
}

/** The map, scaled to its own maximum, blended over the face at `alpha`. */
export function heatmapOverlay(face: RgbImage, sensitivity: Float32Array, alpha = 0.55): RgbImage {
  let max = 0
  for (const v of sensitivity) max = Math.max(max, v)
  const data = new Uint8Array(face.data.length)
  for (let i = 0; i < sensitivity.length; i++) {
    const c = heatColour(max > 0 ? sensitivity[i] / max : 0)
    for (let k = 0; k < 3; k++) data[i * 3 + k] = Math.round((1 - alpha) * face.data[i * 3 + k] + alpha * c[k])
  }
  return { data, width: face.width, height: face.height }
}

/**
 * Boxes over both eyes and over the mouth from the five alignment points (left eye, right eye,
 * nose, left and right mouth corner): in an aligned crop the landmarks sit on those points.
 */
export function featureBoxes(points: [number, number][]): { eyes: Box; mouth: Box } {
  const [le, re, , lm, rm] = points
  const eyeGap = Math.hypot(re[0] - le[0], re[1] - le[1])
  const eyeY = (le[1] + re[1]) / 2
  const mouthY = (lm[1] + rm[1]) / 2
  const mouthWidth = rm[0] - lm[0]
  return {
    eyes: { x: le[0] - 0.45 * eyeGap, y: eyeY - 0.3 * eyeGap, width: re[0] - le[0] + 0.9 * eyeGap, height: 0.6 * eyeGap },
    mouth: { x: lm[0] - 0.3 * mouthWidth, y: mouthY - 0.3 * eyeGap, width: 1.6 * mouthWidth, height: 0.6 * eyeGap }
  }
}
