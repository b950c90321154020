// The perturbations of the paper's equivariance experiment (Križaj et al., Table 2): an aligned
// crop rotated, shifted or scaled about its centre, as a face detector's error would leave it.
import { ValidationError } from '../../shared/validation'
import { warpAffine, type Affine } from '../imaging/alignment'
import type { RgbImage } from '../imaging/image-io'

export type GeometricKind = 'rotate' | 'translate' | 'scale'

export interface GeometricTransform {
  kind: GeometricKind
  /** Degrees (rotate, counter-clockwise), a fraction of the crop width (translate, to the right), a factor (scale). */
  amount: number
}

/** The paper's set: rotations of ±15° and ±30°, shifts of ±10% and ±20% of the crop, scales 0.5, 0.75, 1.25. */
export const STANDARD_TRANSFORMS: GeometricTransform[] = [
  ...[-30, -15, 15, 30].map((amount) => ({ kind: 'rotate' as const, amount })),
  ...[-0.2, -0.1, 0.1, 0.2].map((amount) => ({ kind: 'translate' as const, amount })),
  ...[0.5, 0.75, 1.25].map((amount) => ({ kind: 'scale' as const, amount }))
]

export const transformName = (t: GeometricTransform): string => `${t.kind}:${t.amount}`

const LIMITS: Record<GeometricKind, (x: number) => boolean> = {
  rotate: (x) => x !== 0 && Math.abs(x) <= 180,
  translate: (x) => x !== 0 && Math.abs(x) < 1,
  scale: (x) => x !== 1 && x >= 0.1 && x <= 4
}
const RANGES: Record<GeometricKind, string> = {
  rotate: 'degrees, non-zero, within ±180',
  translate: 'a non-zero fraction of the crop width, within ±1',
  scale: 'a factor between 0.1 and 4, not 1'
}

/** `rotate:30`, `translate:-0.1`, `scale:0.5`; anything else is refused in one line. */
export function parseTransform(text: string): GeometricTransform {
  const m = /^(rotate|translate|scale):(-?\d+(?:\.\d+)?)$/.exec(text.trim())
  if (!m)
    throw new ValidationError(`unknown transform '${text}'; use rotate:DEGREES, translate:FRACTION or scale:FACTOR (e.g. rotate:30, translate:0.2, scale:0.5)`)
  const kind = m[1] as GeometricKind
  const amount = Number(m[2])
  if (!LIMITS[kind](amount)) throw new ValidationError(`transform '${text}': ${kind} takes ${RANGES[kind]}`)
  return { kind, amount }
}

/** The transform as a 2x3 matrix on pixel coordinates, about the centre of a width x height frame. */
export function transformMatrix(t: GeometricTransform, width: number, height: number): Affine {
  const cx = (width - 1) / 2
  const cy = (height - 1) / 2
  if (t.kind === 'translate') return [1, 0, t.amount * width, 0, 1, 0]
  const s = t.kind === 'scale' ? t.amount : 1
  // Image y points down, so a counter-clockwise turn on screen is a negative angle in maths terms.
  const a = t.kind === 'rotate' ? (-t.amount * Math.PI) / 180 : 0
  const c = s * Math.cos(a)
  const d = s * Math.sin(a)
  return [c, -d, cx - c * cx + d * cy, d, c, cy - d * cx - c * cy]
}

/** The crop under the transform, same size; what moves in from outside the crop is black. */
export function transformCrop(crop: RgbImage, t: GeometricTransform): RgbImage {
  return warpAffine(crop, transformMatrix(t, crop.width, crop.height), crop.width, crop.height)
}
