// Elementwise ops: broadcasting arithmetic (gradients summed back over broadcast axes) and
// pointwise activations (gradients as masks or closed-form derivatives of the forward output).
import { DT, attrFloat, attrInt } from '../onnx-ir'
import type { GradRule, RuleContext } from '../rule-context'

function mask(c: RuleContext, dy: string, cond: string): string {
  return c.e.one('Where', [cond, dy, c.scalar(0, dy)])
}

const HUGE = 2 ** 127

/**
 * The derivative of a piecewise-linear activation (slope a_c below 0, 1 above) as a float tensor of
 * x's shape, in ops ONNX Runtime keeps in its blocked (NCHWc) layout, so dy · factor stays blocked
 * too (Greater + Where needed two layout reorders per activation): step(x) = HardSigmoid(2^127 ·
 * (2^127 · x)), a depthwise 1x1 Conv with the activation fused (0 for x <= 0, 1 for every positive
 * float, denormals included: the products overflow to inf or clip), then a_c + (1 − a_c) · step as
 * a BatchNormalization. `slope` is a per-channel (or single) constant tensor, a number, or 0 for
 * Relu. Null where x is not a float32 NCHW image with a static channel count, or the slope varies
 * along other axes: the rule then uses Where.
 */
function slopeFactor(c: RuleContext, x: string, slope: string | number): string | null {
  const shape = c.shape(x)
  const channels = shape[1]
  if (shape.length !== 4 || !(channels > 0) || c.dtype(x) !== DT.FLOAT) return null
  let perChannel: string | null = null
  if (typeof slope === 'string') {
    const s = c.shape(slope)
    const aligned = [...new Array(Math.max(0, 4 - s.length)).fill(1), ...s]
    if (aligned.length !== 4 || aligned.some((d, i) => i !== 1 && d !== 1) || (aligned[1] !== 1 && aligned[1] !== channels)) return null
    perChannel = c.e.one('Expand', [c.e.one('Reshape', [slope, c.e.ints([-1])]), c.e.ints([channels])])
  }
  const w = c.e.constant('step_w', [channels, 1, 1, 1], new Float32Array(channels).fill(HUGE), DT.FLOAT)
  const step = c.e.one('HardSigmoid', [c.e.one('Conv', [x, w], { group: channels, kernel_shape: [1, 1] })], { alpha: { float: HUGE }, beta: { float: 0 } })
  if (slope === 0) return step
  const a = perChannel ?? c.e.constant('slope', [channels], new Float32Array(channels).fill(slope as number), DT.FLOAT)
  const zero = c.e.constant('zero', [channels], new Float32Array(channels), DT.FLOAT)
  const one = c.e.constant('one', [channels], new Float32Array(channels).fill(1), DT.FLOAT)
  return c.e.one('BatchNormalization', [step, c.e.one('Sub', [one, a]), a, zero, one], { epsilon: { float: 0 } })
}

/** dy · (the activation's derivative), blocked where slopeFactor applies, else by Where. */
function piecewiseLinear(c: RuleContext, dy: string, slope: string | number): string {
  const factor = slopeFactor(c, c.input(0), slope)
  if (factor) return c.e.one('Mul', [dy, factor])
  if (slope === 0) return mask(c, dy, positive(c))
  const below = typeof slope === 'string' ? c.e.one('Mul', [dy, slope]) : c.e.one('Mul', [dy, c.scalar(slope, dy)])
  return c.e.one('Where', [positive(c), dy, below])
}

/** For each active input i: unbroadcast(f(i)). */
function perInput(c: RuleContext, f: (i: number) => string): (string | null)[] {
  return c.node.input.map((name, i) => (name && c.active(name) ? c.unbroadcast(f(i), c.output(0), name) : null))
}

const add: GradRule = (c, [dy]) => perInput(c, () => dy!)

const sub: GradRule = (c, [dy]) => perInput(c, (i) => (i === 0 ? dy! : c.e.one('Neg', [dy!])))

const mul: GradRule = (c, [dy]) => perInput(c, (i) => c.e.one('Mul', [dy!, c.input(1 - i)]))

const div: GradRule = (c, [dy]) =>
  perInput(c, (i) => (i === 0 ? c.e.one('Div', [dy!, c.input(1)]) : c.e.one('Neg', [c.e.one('Div', [c.e.one('Mul', [dy!, c.output(0)]), c.input(1)])])))

/** Max/Min: the gradient goes to every input equal to the result (ties share it). */
const select: GradRule = (c, [dy]) => perInput(c, (i) => mask(c, dy!, c.e.one('Equal', [c.input(i), c.output(0)])))

const pow: GradRule = (c, [dy]) => {
  if (c.active(c.input(1))) c.refuse('its exponent depends on the differentiated input')
  const x = c.input(0)
  const p = c.input(1)
  const pm1 = c.e.one('Sub', [p, c.e.scalar(1, c.dtype(p))])
  const d = c.e.one('Mul', [c.e.one('Pow', [x, pm1]), c.dtype(p) === c.dtype(x) ? p : c.e.one('Cast', [p], { to: c.dtype(x) })])
  return [c.unbroadcast(c.e.one('Mul', [dy!, d]), c.output(0), x), null]
}

function pointwise(derivative: (c: RuleContext, dy: string) => string): GradRule {
  return (c, [dy]) => [dy ? derivative(c, dy) : null, ...c.node.input.slice(1).map(() => null)]
}

const positive = (c: RuleContext): string => c.e.one('Greater', [c.input(0), c.scalar(0, c.input(0))])

const relu = pointwise((c, dy) => piecewiseLinear(c, dy, 0))
const leakyRelu = pointwise((c, dy) => piecewiseLinear(c, dy, attrFloat(c.node, 'alpha', 0.01)))
const prelu: GradRule = (c, [dy]) => {
  if (c.active(c.input(1))) c.refuse('its slope depends on the differentiated input')
  return [piecewiseLinear(c, dy!, c.input(1)), null]
}
const elu = pointwise((c, dy) => c.e.one('Where', [positive(c), dy, c.e.one('Mul', [dy, c.e.one('Add', [c.output(0), c.scalar(attrFloat(c.node, 'alpha', 1), dy)])])]))
const sigmoid = pointwise((c, dy) => {
  const y = c.output(0)
  return c.e.one('Mul', [dy, c.e.one('Mul', [y, c.e.one('Sub', [c.scalar(1, y), y])])])
})
const tanh = pointwise((c, dy) => {
  const y = c.output(0)
  return c.e.one('Mul', [dy, c.e.one('Sub', [c.scalar(1, y), c.e.one('Mul', [y, y])])])
})
const softplus = pointwise((c, dy) => c.e.one('Mul', [dy, c.e.one('Sigmoid', [c.input(0)])]))
const hardSigmoid = pointwise((c, dy) => {
  const alpha = attrFloat(c.node, 'alpha', 0.2)
  const y = c.output(0)
  const inside = c.e.one('And', [c.e.one('Greater', [y, c.scalar(0, y)]), c.e.one('Less', [y, c.scalar(1, y)])])
  return mask(c, c.e.one('Mul', [dy, c.scalar(alpha, dy)]), inside)
})
const hardSwish = pointwise((c, dy) => {
  // y = x * clip(x/6 + 1/2, 0, 1): dy/dx = 0 (x < -3), x/3 + 1/2 (|x| <= 3), 1 (x > 3).
  const x = c.input(0)
  const mid = c.e.one('Add', [c.e.one('Div', [x, c.scalar(3, x)]), c.scalar(0.5, x)])
  const d = c.e.one('Where', [c.e.one('Less', [x, c.scalar(-3, x)]), c.scalar(0, x), c.e.one('Where', [c.e.one('Greater', [x, c.scalar(3, x)]), c.scalar(1, x), mid])])
  return c.e.one('Mul', [dy, d])
})
const clip: GradRule = (c, [dy]) => {
  const x = c.input(0)
  let lo: string | null = null
  let hi: string | null = null
  if (c.opsetOf < 11) {
    const a = c.node.attribute
    if (a.some((t) => t.name === 'min')) lo = c.scalar(attrFloat(c.node, 'min', 0), x)
    if (a.some((t) => t.name === 'max')) hi = c.scalar(attrFloat(c.node, 'max', 0), x)
  } else {
    if (c.has(1)) lo = c.input(1)
    if (c.has(2)) hi = c.input(2)
  }
  if ((lo && c.active(lo)) || (hi && c.active(hi))) c.refuse('its bounds depend on the differentiated input')
  let g = dy!
  if (lo) g = mask(c, g, c.e.one('Not', [c.e.one('Less', [x, lo])]))
  if (hi) g = mask(c, g, c.e.one('Not', [c.e.one('Greater', [x, hi])]))
  return [g, ...c.node.input.slice(1).map(() => null)]
}
const neg = pointwise((c, dy) => c.e.one('Neg', [dy]))
const abs = pointwise((c, dy) => c.e.one('Mul', [dy, c.e.one('Sign', [c.input(0)])]))
const sqrt = pointwise((c, dy) => c.e.one('Div', [dy, c.e.one('Mul', [c.output(0), c.scalar(2, dy)])]))
const exp = pointwise((c, dy) => c.e.one('Mul', [dy, c.output(0)]))
const log = pointwise((c, dy) => c.e.one('Div', [dy, c.input(0)]))
const reciprocal = pointwise((c, dy) => c.e.one('Neg', [c.e.one('Mul', [dy, c.e.one('Mul', [c.output(0), c.output(0)])])]))
const erf = pointwise((c, dy) => {
  const x = c.input(0)
  return c.e.one('Mul', [dy, c.e.one('Mul', [c.scalar(2 / Math.sqrt(Math.PI), x), c.e.one('Exp', [c.e.one('Neg', [c.e.one('Mul', [x, x])])])])])
})
const identity = pointwise((_c, dy) => dy)
const cast: GradRule = (c, [dy]) => {
  const from = c.dtype(c.input(0))
  if (from !== DT.FLOAT && from !== DT.FLOAT16 && from !== DT.DOUBLE && from !== DT.BFLOAT16) return [null]
  return [from === c.dtype(c.output(0)) ? dy : c.e.one('Cast', [dy!], { to: from })]
}
const dropout: GradRule = (c, [dy]) => {
  if (attrInt(c.node, 'training_mode', 0) || (c.has(2) && c.optionalConst(2)?.[0])) c.refuse('it runs in training mode')
  return [dy, ...c.node.input.slice(1).map(() => null)]
}

export const ELEMENTWISE_RULES: Record<string, GradRule> = {
  Add: add,
  Sub: sub,
  Mul: mul,
  Div: div,
  Sum: add,
  Max: select,
  Min: select,
  Pow: pow,
  Relu: relu,
  LeakyRelu: leakyRelu,
  PRelu: prelu,
  Elu: elu,
  Sigmoid: sigmoid,
  Tanh: tanh,
  Softplus: softplus,
  HardSigmoid: hardSigmoid,
  HardSwish: hardSwish,
  Clip: clip,
  Neg: neg,
  Abs: abs,
  Sqrt: sqrt,
  Exp: exp,
  Log: log,
  Reciprocal: reciprocal,
  Erf: erf,
  Identity: identity,
  Dropout: dropout,
  Cast: cast
}
