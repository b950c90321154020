// Convolutions. The input gradient of a Conv is the transposed convolution of its output
// gradient. For stride 1 it is emitted as a Conv with the weights flipped in space and in/out
// channels swapped per group, over dy padded by d(k-1)-p: ONNX Runtime's CPU provider runs that in
// its blocked (NCHWc) kernels, where ConvTranspose (col2im, one GEMM per group) measured several
// times slower, worst for depthwise. Strided ones stay a ConvTranspose with the same weights,
// strides, dilations, groups and pads (output_padding restores rows a strided window never
// reached). The input gradient of a ConvTranspose is a Conv with the same weights. Weights stay frozen.
import { attrInts, attrString, attrInt } from '../onnx-ir'
import type { GradRule, RuleContext } from '../rule-context'

interface Geometry {
  kernel: number[]
  strides: number[]
  dilations: number[]
  pads: number[]
  group: number
}

function geometry(c: RuleContext, spatial: number): Omit<Geometry, 'pads'> {
  const w = c.input(1)
  const kernel = attrInts(c.node, 'kernel_shape') ?? c.staticDims(w, 2, 'kernel')
  if (kernel.length !== spatial) c.refuse('its kernel rank does not match its input')
  return {
    kernel,
    strides: attrInts(c.node, 'strides') ?? kernel.map(() => 1),
    dilations: attrInts(c.node, 'dilations') ?? kernel.map(() => 1),
    group: attrInt(c.node, 'group', 1)
  }
}

function biasGradient(c: RuleContext, dy: string): string | null {
  if (!c.has(2) || !c.active(c.input(2))) return null
  const rank = c.rank(c.output(0))
  return c.reduce('ReduceSum', dy, [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2)], 0)
}

const conv: GradRule = (c, [dy]) => {
  const x = c.input(0)
  if (c.active(c.input(1))) c.refuse('its weights depend on the differentiated input')
  const inDims = c.staticDims(x, 2, 'spatial')
  const outDims = c.staticDims(c.output(0), 2, 'spatial')
  const g = geometry(c, inDims.length)
  const n = inDims.length
  const autoPad = attrString(c.node, 'auto_pad', 'NOTSET')
  let pads = attrInts(c.node, 'pads') ?? new Array(2 * n).fill(0)
  if (autoPad === 'VALID') pads = new Array(2 * n).fill(0)
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array(2 * n).fill(0)
    for (let i = 0; i < n; i++) {
      const total = Math.max(0, (outDims[i] - 1) * g.strides[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - inDims[i])
      const small = Math.floor(total / 2)
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small
      pads[i + n] = total - pads[i]
    }
  }
  const outputPadding = inDims.map((s, i) => s - ((outDims[i] - 1) * g.strides[i] - pads[i] - pads[i + n] + g.dilations[i] * (g.kernel[i] - 1) + 1))
  if (outputPadding.some((p, i) => p < 0 || p >= Math.max(g.strides[i], g.dilations[i]))) c.refuse(`its geometry gives output_padding ${outputPadding.join(',')}`)
  const dx = c.active(x) ? transposedConv(c, dy!, { ...g, pads }, outDims, outputPadding) : null
  return [dx, null, biasGradient(c, dy!)]
}

/** Conv weights [M, C/G, k...] → the weights of the transposed convolution as a Conv: [C, M/G, k...], flipped. */
function transposedWeights(c: RuleContext, w: string, group: number): string {
  const [m, cg, ...kernel] = c.staticDims(w, 0, 'weight')
  const spatial = kernel.map((_, i) => i + 2)
  let t: string
  if (group === 1) t = c.e.one('Transpose', [w], { perm: [1, 0, ...spatial] })
  else if (cg === 1 || m === group) t = c.e.one('Reshape', [w, c.e.ints([group * cg, m / group, ...kernel])])
  else {
    const split = c.e.one('Reshape', [w, c.e.ints([group, m / group, cg, ...kernel])])
    const swapped = c.e.one('Transpose', [split], { perm: [0, 2, 1, ...kernel.map((_, i) => i + 3)] })
    t = c.e.one('Reshape', [swapped, c.e.ints([group * cg, m / group, ...kernel])])
  }
  if (kernel.every((k) => k === 1)) return t
  const big = -(2 ** 62)
  return c.e.one('Slice', [t, c.e.ints(kernel.map(() => -1)), c.e.ints(kernel.map(() => big)), c.e.ints(spatial), c.e.ints(kernel.map(() => -1))])
}

/**
 * The input gradient of a Conv (weights w, geometry g): for stride 1, a Conv over dy padded by
 * d(k-1)-p (dy cropped where that is negative); strided ones stay a ConvTranspose (zero insertion
 * by Pad measured slower than ConvTranspose itself).
 */
function transposedConv(c: RuleContext, dy: string, g: Geometry, outDims: number[], outputPadding: number[]): string {
  const n = outDims.length
  if (g.strides.some((s) => s > 1)) {
    return c.e.one('ConvTranspose', [dy, c.input(1)], { strides: g.strides, dilations: g.dilations, group: g.group, kernel_shape: g.kernel, pads: g.pads, output_padding: outputPadding })
  }
  const reach = g.kernel.map((k, i) => g.dilations[i] * (k - 1))
  const before = reach.map((r, i) => r - g.pads[i])
  const after = reach.map((r, i) => r - g.pads[i + n])
  let x = dy
  if ([...before, ...after].some((p) => p < 0)) {
    const start = before.map((p) => Math.max(0, -p))
    const end = after.map((p, i) => outDims[i] + Math.min(0, p))
    x = c.e.one('Slice', [x, c.e.ints(start), c.e.ints(end), c.e.ints(outDims.map((_, i) => i + 2))])
  }
  const pads = [...before, ...after].map((p) => Math.max(0, p))
  return c.e.one('Conv', [x, transposedWeights(c, c.input(1), g.group)], { dilations: g.dilations, group: g.group, kernel_shape: g.kernel, pads })
}

const convTranspose: GradRule = (c, [dy]) => {
  const x = c.input(0)
  if (c.active(c.input(1))) c.refuse('its weights depend on the differentiated input')
  const inDims = c.staticDims(x, 2, 'spatial')
  const outDims = c.staticDims(c.output(0), 2, 'spatial')
  const g = geometry(c, inDims.length)
  const n = inDims.length
  const autoPad = attrString(c.node, 'auto_pad', 'NOTSET')
  const op = attrInts(c.node, 'output_padding') ?? new Array(n).fill(0)
  let pads = attrInts(c.node, 'pads') ?? new Array(2 * n).fill(0)
  if (attrInts(c.node, 'output_shape') || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER' || autoPad === 'VALID') {
    pads = new Array(2 * n).fill(0)
    for (let i = 0; i < n; i++) {
      const total = g.strides[i] * (inDims[i] - 1) + op[i] + (g.kernel[i] - 1) * g.dilations[i] + 1 - outDims[i]
      const half = Math.floor(total / 2)
      pads[i] = autoPad === 'SAME_UPPER' ? half : total - half
      pads[i + n] = total - pads[i]
    }
  }
  for (let i = 0; i < n; i++) {
    const back = Math.floor((outDims[i] + pads[i] + pads[i + n] - (g.kernel[i] - 1) * g.dilations[i] - 1) / g.strides[i]) + 1
    if (back !== inDims[i] || pads[i] < 0 || pads[i + n] < 0) c.refuse(`its geometry cannot be inverted by a Conv (pads ${pads.join(',')})`)
  }
  const dx = c.active(x)
    ? c.e.one('Conv', [dy!, c.input(1)], { strides: g.strides, dilations: g.dilations, group: g.group, kernel_shape: g.kernel, pads })
    : null
  return [dx, null, biasGradient(c, dy!)]
}

export const CONV_RULES: Record<string, GradRule> = { Conv: conv, ConvTranspose: convTranspose }
