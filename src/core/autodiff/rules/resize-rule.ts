// Resize of the last two axes with fixed sizes is linear and separable: y = Mh · x · Mwᵀ per
// image, with interpolation matrices computed here exactly as ONNX Runtime samples (linear and
// nearest modes, the common coordinate transformations). The gradient is dx = Mhᵀ · dy · Mw.
import { attrInt, attrString } from '../onnx-ir'
import type { GradRule } from '../rule-context'

type Transform = (o: number, scale: number, inSize: number, outSize: number) => number

const TRANSFORMS: Record<string, Transform> = {
  half_pixel: (o, s) => (o + 0.5) / s - 0.5,
  half_pixel_symmetric: (o, s, i, n) => {
    const adj = n / (s * i)
    const center = i / 2
    const offset = center * (1 - adj)
    return offset + (o + 0.5) / s - 0.5
  },
  pytorch_half_pixel: (o, s, _i, n) => (n > 1 ? (o + 0.5) / s - 0.5 : 0),
  align_corners: (o, _s, i, n) => (n === 1 ? 0 : (o * (i - 1)) / (n - 1)),
  asymmetric: (o, s) => o / s,
  tf_half_pixel_for_nn: (o, s) => (o + 0.5) / s
}

const NEAREST: Record<string, (x: number) => number> = {
  round_prefer_floor: (x) => (x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x)),
  round_prefer_ceil: (x) => Math.round(x),
  floor: Math.floor,
  ceil: Math.ceil
}

/** The [outSize, inSize] matrix of a 1-D resize as ONNX Runtime computes it. */
export function interpolationMatrix(mode: string, transform: string, nearestMode: string, inSize: number, outSize: number, scale: number): Float32Array {
  const t = TRANSFORMS[transform]
  const m = new Float32Array(outSize * inSize)
  for (let o = 0; o < outSize; o++) {
    const x = t(o, scale, inSize, outSize)
    if (mode === 'nearest') {
      const i = Math.min(inSize - 1, Math.max(0, NEAREST[nearestMode](x)))
      m[o * inSize + i] += 1
      continue
    }
    const xc = Math.max(0, Math.min(x, inSize - 1))
    const x1 = Math.min(Math.floor(xc), inSize - 1)
    const x2 = Math.min(x1 + 1, inSize - 1)
    if (x1 === x2) {
      m[o * inSize + x1] += 1
      continue
    }
    m[o * inSize + x1] += x2 - xc
    m[o * inSize + x2] += xc - x1
  }
  return m
}

function transposed(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length)
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) t[k * rows + r] = m[r * cols + k]
  return t
}

const resize: GradRule = (c, [dy]) => {
  const x = c.input(0)
  const mode = attrString(c.node, 'mode', 'nearest')
  const transform = c.opsetOf >= 11 ? attrString(c.node, 'coordinate_transformation_mode', 'half_pixel') : 'asymmetric'
  const nearestMode = attrString(c.node, 'nearest_mode', 'round_prefer_floor')
  if (mode !== 'linear' && mode !== 'nearest') c.refuse(`it resizes in '${mode}' mode`)
  if (!TRANSFORMS[transform]) c.refuse(`it uses coordinate_transformation_mode '${transform}'`)
  if (!NEAREST[nearestMode]) c.refuse(`it uses nearest_mode '${nearestMode}'`)
  if (attrInt(c.node, 'antialias', 0) !== 0) c.refuse('it resizes with antialiasing')
  if (c.node.attribute.some((a) => a.name === 'axes' || a.name === 'keep_aspect_ratio_policy')) {
    if (attrString(c.node, 'keep_aspect_ratio_policy', 'stretch') !== 'stretch') c.refuse('it keeps the aspect ratio')
  }
  const xs = c.shape(x)
  const ys = c.shape(c.output(0))
  const rank = xs.length
  if (rank < 2) c.refuse('its input has fewer than two axes')
  for (let a = 0; a < rank - 2; a++) if (xs[a] !== ys[a]) c.refuse('it resizes an axis other than the last two')
  const [h, w] = c.staticDims(x, rank - 2, 'spatial')
  const [ho, wo] = c.staticDims(c.output(0), rank - 2, 'spatial')
  const scalesIndex = c.opsetOf >= 11 ? 2 : 1
  const given = c.optionalConst(scalesIndex)
  const scales = given && given.length === rank ? given.slice(rank - 2) : [ho / h, wo / w]
  const dtype = c.dtype(x)
  let g = dy!
  if (wo !== w || scales[1] !== 1) {
    const mw = interpolationMatrix(mode, transform, nearestMode, w, wo, scales[1])
    g = c.e.one('MatMul', [g, c.e.constant('resize_w', [wo, w], mw, dtype)])
  }
  if (ho !== h || scales[0] !== 1) {
    const mh = interpolationMatrix(mode, transform, nearestMode, h, ho, scales[0])
    g = c.e.one('MatMul', [c.e.constant('resize_ht', [h, ho], transposed(mh, ho, h), dtype), g])
  }
  return [g, ...c.node.input.slice(1).map(() => null)]
}

export const RESIZE_RULES: Record<string, GradRule> = { Resize: resize, Upsample: resize }
