// Ops that only move values: the gradient moves dy back (Reshape to the input's shape, the
// inverse Transpose, Split for Concat, Concat for Split, Pad for Slice, Slice for Pad).
import { attrInt, attrInts, attrString } from '../onnx-ir'
import { RuleContext, type GradRule } from '../rule-context'

const INT64_BIG = 2 ** 62

const reshapeLike: GradRule = (c, [dy]) => [c.e.one('Reshape', [dy!, c.e.one('Shape', [c.input(0)])]), ...c.node.input.slice(1).map(() => null)]

const transpose: GradRule = (c, [dy]) => {
  const rank = c.rank(c.input(0))
  const perm = attrInts(c.node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i)
  const inverse = new Array<number>(rank)
  perm.forEach((p, i) => (inverse[p] = i))
  return [c.e.one('Transpose', [dy!], { perm: inverse })]
}

const concat: GradRule = (c, [dy]) => {
  const rank = c.rank(c.output(0))
  const axis = RuleContext.normAxes([attrInt(c.node, 'axis', 0)], rank)[0]
  const inputs = c.node.input
  const dims = inputs.map((x) => c.shape(x)[axis])
  const sizes = dims.every((d) => d >= 0)
    ? c.e.ints(dims)
    : c.e.one('Concat', inputs.map((x) => c.e.one('Slice', [c.e.one('Shape', [x]), c.e.ints([axis]), c.e.ints([axis + 1])])), { axis: 0 })
  const parts = c.e.op('Split', [dy!, sizes], { axis }, inputs.length)
  return inputs.map((x, i) => (c.active(x) ? parts[i] : null))
}

const split: GradRule = (c, dys) => {
  const rank = c.rank(c.input(0))
  const axis = RuleContext.normAxes([attrInt(c.node, 'axis', 0)], rank)[0]
  const parts = c.node.output.map((y, i) => dys[i] ?? c.e.one('ConstantOfShape', [c.e.one('Shape', [y])], { value: { tensor: c.zeroTensor(c.dtype(y)) } }))
  return [c.e.one('Concat', parts, { axis }), ...c.node.input.slice(1).map(() => null)]
}

const slice: GradRule = (c, [dy]) => {
  const x = c.input(0)
  const xs = c.shape(x)
  const rank = xs.length
  let starts: number[], ends: number[], axes: number[], steps: number[]
  if (c.opsetOf >= 10) {
    starts = c.constValue(1, 'starts')
    ends = c.constValue(2, 'ends')
    axes = c.has(3) ? c.constValue(3, 'axes') : starts.map((_, i) => i)
    steps = c.has(4) ? c.constValue(4, 'steps') : starts.map(() => 1)
  } else {
    starts = attrInts(c.node, 'starts') ?? []
    ends = attrInts(c.node, 'ends') ?? []
    axes = attrInts(c.node, 'axes') ?? starts.map((_, i) => i)
    steps = starts.map(() => 1)
  }
  if (steps.some((s) => s !== 1)) c.refuse('it slices with a step other than 1')
  const pads = new Array(2 * rank).fill(0)
  RuleContext.normAxes(axes, rank).forEach((a, i) => {
    const dim = xs[a]
    const full = starts[i] === 0 && ends[i] >= INT64_BIG / 2
    if (dim < 0) {
      if (!full) c.refuse('it slices an axis whose size depends on the batch')
      return
    }
    const clamp = (v: number): number => Math.min(dim, Math.max(0, v < 0 ? v + dim : v))
    const s = clamp(starts[i])
    const e = Math.max(s, clamp(ends[i]))
    pads[a] = s
    pads[a + rank] = dim - e
  })
  const ys = c.shape(c.output(0))
  for (let a = 0; a < rank; a++) if (xs[a] >= 0 && ys[a] >= 0 && xs[a] - pads[a] - pads[a + rank] !== ys[a]) c.refuse('its slice does not match the measured output shape')
  const dx = pads.every((p) => p === 0) ? dy! : c.e.one('Pad', [dy!, c.e.ints(pads)], { mode: 'constant' })
  return [dx, ...c.node.input.slice(1).map(() => null)]
}

const pad: GradRule = (c, [dy]) => {
  const x = c.input(0)
  const rank = c.rank(x)
  const mode = attrString(c.node, 'mode', 'constant')
  if (mode !== 'constant') c.refuse(`it pads in '${mode}' mode`)
  let pads: number[]
  if (c.opsetOf >= 11) {
    const given = c.constValue(1, 'pads')
    const axes = c.has(3) ? RuleContext.normAxes(c.constValue(3, 'axes'), rank) : null
    if (axes) {
      pads = new Array(2 * rank).fill(0)
      axes.forEach((a, i) => ((pads[a] = given[i]), (pads[a + rank] = given[i + axes.length])))
    } else pads = given
  } else pads = attrInts(c.node, 'pads') ?? new Array(2 * rank).fill(0)
  const dx = pads.every((p) => p === 0) ? dy! : c.e.one('Pad', [dy!, c.e.ints(pads.map((p) => -p))], { mode: 'constant' })
  return [dx, ...c.node.input.slice(1).map(() => null)]
}

const expand: GradRule = (c, [dy]) => [c.unbroadcast(dy!, c.output(0), c.input(0)), null]

export const SHAPE_RULES: Record<string, GradRule> = {
  Reshape: reshapeLike,
  Flatten: reshapeLike,
  Squeeze: reshapeLike,
  Unsqueeze: reshapeLike,
  Transpose: transpose,
  Concat: concat,
  Split: split,
  Slice: slice,
  Pad: pad,
  Expand: expand
}
