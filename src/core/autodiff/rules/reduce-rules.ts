// Reductions and normalisations: ReduceSum/ReduceMean/ReduceL2 spread dy back over the reduced
// axes; LpNormalization (p = 2) and inference BatchNormalization have closed forms.
import { DT, attrFloat, attrInt, attrInts } from '../onnx-ir'
import { RuleContext, type GradRule } from '../rule-context'

/** The reduced axes (normalised) or null for "no-op". */
function reducedAxes(c: RuleContext, axesAsInputFrom: number): number[] | null {
  const x = c.input(0)
  const rank = c.rank(x)
  let axes: number[] | null
  if (c.opsetOf >= axesAsInputFrom) axes = c.has(1) ? c.constValue(1, 'axes') : null
  else axes = attrInts(c.node, 'axes')
  if (!axes || axes.length === 0) {
    if (attrInt(c.node, 'noop_with_empty_axes', 0) === 1) return null
    return Array.from({ length: rank }, (_, i) => i)
  }
  return RuleContext.normAxes(axes, rank)
}

/** dy with the reduced axes present (size 1). */
function keptDims(c: RuleContext, t: string, axes: number[]): string {
  if (attrInt(c.node, 'keepdims', 1) === 1) return t
  return c.e.one('Unsqueeze', [t, c.e.ints(axes)])
}

function reduceRule(kind: 'sum' | 'mean' | 'l2', axesAsInputFrom: number): GradRule {
  return (c, [dy]) => {
    const x = c.input(0)
    const axes = reducedAxes(c, axesAsInputFrom)
    const rest = c.node.input.slice(1).map(() => null)
    if (!axes) return [dy, ...rest]
    const g = keptDims(c, dy!, axes)
    const shape = c.e.one('Shape', [x])
    if (kind === 'sum') return [c.e.one('Expand', [g, shape]), ...rest]
    if (kind === 'mean') {
      const count = c.e.one('Cast', [c.e.one('Div', [c.e.one('Size', [x]), c.e.one('Size', [c.output(0)])])], { to: c.dtype(x) || DT.FLOAT })
      return [c.e.one('Expand', [c.e.one('Div', [g, count]), shape]), ...rest]
    }
    // d||x|| / dx = x / ||x|| (zero where the norm is zero).
    const norm = keptDims(c, c.output(0), axes)
    const safe = c.e.one('Max', [norm, c.scalar(1e-30, x)])
    return [c.e.one('Mul', [x, c.e.one('Div', [g, safe])]), ...rest]
  }
}

const lpNormalization: GradRule = (c, [dy]) => {
  if (attrInt(c.node, 'p', 2) !== 2) c.refuse('it uses the L1 norm')
  const x = c.input(0)
  const y = c.output(0)
  const axis = RuleContext.normAxes([attrInt(c.node, 'axis', -1)], c.rank(x))
  const norm = c.e.one('Max', [c.reduce('ReduceL2', x, axis, 1), c.scalar(1e-30, x)])
  const along = c.reduce('ReduceSum', c.e.one('Mul', [dy!, y]), axis, 1)
  return [c.e.one('Div', [c.e.one('Sub', [dy!, c.e.one('Mul', [y, along])]), norm])]
}

const batchNormalization: GradRule = (c, [dy]) => {
  if (attrInt(c.node, 'training_mode', 0) === 1) c.refuse('it runs in training mode')
  if (c.node.output.slice(1).some((o) => o)) c.refuse('it outputs running statistics (training mode)')
  const x = c.input(0)
  if ([1, 2, 3, 4].some((i) => c.active(c.input(i)))) c.refuse('its statistics depend on the differentiated input')
  const rank = c.rank(x)
  const eps = c.scalar(attrFloat(c.node, 'epsilon', 1e-5), c.input(4))
  const perChannel = c.e.one('Div', [c.input(1), c.e.one('Sqrt', [c.e.one('Add', [c.input(4), eps])])])
  const shaped = c.e.one('Reshape', [perChannel, c.e.ints([-1, ...new Array(Math.max(0, rank - 2)).fill(1)])])
  const typed = c.dtype(c.input(1)) === c.dtype(x) ? shaped : c.e.one('Cast', [shaped], { to: c.dtype(x) })
  return [c.e.one('Mul', [dy!, typed]), null, null, null, null]
}

export const REDUCE_RULES: Record<string, GradRule> = {
  ReduceSum: reduceRule('sum', 13),
  ReduceMean: reduceRule('mean', 18),
  ReduceL2: reduceRule('l2', 18),
  LpNormalization: lpNormalization,
  BatchNormalization: batchNormalization
}
