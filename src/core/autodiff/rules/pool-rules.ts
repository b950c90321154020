// Pooling. Average pooling is linear: its gradient is a depthwise ConvTranspose of dy divided by
// each window's divisor. Max pooling routes dy to the argmax of each window (MaxPool's Indices
// output, scattered back with reduction 'add' so overlapping windows accumulate).
import { DT, attrInt, attrInts, attrString } from '../onnx-ir'
import type { GradRule, RuleContext } from '../rule-context'

interface PoolGeometry {
  kernel: number[]
  strides: number[]
  dilations: number[]
  pads: number[]
  inDims: number[]
  outDims: number[]
}

function poolGeometry(c: RuleContext): PoolGeometry {
  const x = c.input(0)
  const inDims = c.staticDims(x, 2, 'spatial')
  const outDims = c.staticDims(c.output(0), 2, 'spatial')
  const kernel = attrInts(c.node, 'kernel_shape')
  if (!kernel || kernel.length !== inDims.length) c.refuse('it has no kernel_shape matching its input')
  const n = kernel.length
  const strides = attrInts(c.node, 'strides') ?? kernel.map(() => 1)
  const dilations = attrInts(c.node, 'dilations') ?? kernel.map(() => 1)
  const autoPad = attrString(c.node, 'auto_pad', 'NOTSET')
  let pads = attrInts(c.node, 'pads') ?? new Array(2 * n).fill(0)
  if (autoPad !== 'NOTSET') {
    pads = new Array(2 * n).fill(0)
    if (autoPad !== 'VALID')
      for (let i = 0; i < n; i++) {
        const total = Math.max(0, (outDims[i] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - inDims[i])
        const small = Math.floor(total / 2)
        pads[i] = autoPad === 'SAME_UPPER' ? small : total - small
        pads[i + n] = total - pads[i]
      }
  }
  return { kernel, strides, dilations, pads, inDims, outDims }
}

const averagePool: GradRule = (c, [dy]) => {
  const x = c.input(0)
  const g = poolGeometry(c)
  const n = g.kernel.length
  const channels = c.shape(x)[1]
  if (channels < 0) c.refuse('its channel count depends on the batch')
  for (let i = 0; i < n; i++) {
    const floorOut = Math.floor((g.inDims[i] + g.pads[i] + g.pads[i + n] - (g.kernel[i] - 1) * g.dilations[i] - 1) / g.strides[i]) + 1
    if (floorOut !== g.outDims[i]) c.refuse('it uses ceil_mode windows that end past the padding')
  }
  const dtype = c.dtype(x)
  const includePad = attrInt(c.node, 'count_include_pad', 0) === 1 || g.pads.every((p) => p === 0)
  let scaled: string
  if (includePad) {
    scaled = c.e.one('Div', [dy!, c.scalar(g.kernel.reduce((a, b) => a * b, 1), dy!)])
  } else {
    // The divisor of each output is the number of real (unpadded) inputs in its window: a product
    // of per-axis counts.
    const perAxis = g.outDims.map((o, i) =>
      Array.from({ length: o }, (_, k) => {
        let count = 0
        for (let t = 0; t < g.kernel[i]; t++) {
          const p = k * g.strides[i] + t * g.dilations[i] - g.pads[i]
          if (p >= 0 && p < g.inDims[i]) count++
        }
        return count
      })
    )
    const total = g.outDims.reduce((a, b) => a * b, 1)
    const counts = new Float32Array(total)
    for (let flat = 0; flat < total; flat++) {
      let rest = flat
      let prod = 1
      for (let i = n - 1; i >= 0; i--) {
        prod *= perAxis[i][rest % g.outDims[i]]
        rest = Math.floor(rest / g.outDims[i])
      }
      counts[flat] = prod
    }
    scaled = c.e.one('Div', [dy!, c.e.constant('pool_counts', [1, 1, ...g.outDims], counts, dtype)])
  }
  const kernelSize = g.kernel.reduce((a, b) => a * b, 1)
  const ones = c.e.constant('pool_ones', [channels, 1, ...g.kernel], new Float32Array(channels * kernelSize).fill(1), dtype)
  const outputPadding = g.inDims.map((s, i) => s - ((g.outDims[i] - 1) * g.strides[i] - g.pads[i] - g.pads[i + n] + g.dilations[i] * (g.kernel[i] - 1) + 1))
  if (outputPadding.some((p, i) => p < 0 || p >= Math.max(g.strides[i], g.dilations[i]))) c.refuse(`its geometry gives output_padding ${outputPadding.join(',')}`)
  return [
    c.e.one('ConvTranspose', [scaled, ones], { strides: g.strides, dilations: g.dilations, group: channels, kernel_shape: g.kernel, pads: g.pads, output_padding: outputPadding })
  ]
}

const maxPool: GradRule = (c, [dy]) => {
  const x = c.input(0)
  if (attrInt(c.node, 'storage_order', 0) !== 0) c.refuse('it uses column-major storage_order')
  const keep = c.node.attribute.filter((a) => a.name !== 'storage_order')
  const [, indices] = c.e.op('MaxPool', [x], {}, 2)
  // Re-attach the forward node's own attributes to the emitted MaxPool.
  const emitted = c.e.nodes[c.e.nodes.length - 1]
  emitted.attribute = keep
  const size = c.e.one('Reshape', [c.e.one('Size', [x]), c.e.ints([1])])
  const zeros = c.e.one('ConstantOfShape', [size], { value: { tensor: c.zeroTensor(c.dtype(x)) } })
  const flat = c.e.one('ScatterElements', [zeros, c.e.one('Reshape', [indices, c.e.ints([-1])]), c.e.one('Reshape', [dy!, c.e.ints([-1])])], { axis: 0, reduction: 'add' })
  return [c.e.one('Reshape', [flat, c.e.one('Shape', [x])])]
}

const globalAveragePool: GradRule = (c, [dy]) => {
  const x = c.input(0)
  const count = c.e.one('Cast', [c.e.one('Div', [c.e.one('Size', [x]), c.e.one('Size', [c.output(0)])])], { to: c.dtype(x) || DT.FLOAT })
  return [c.e.one('Expand', [c.e.one('Div', [dy!, count]), c.e.one('Shape', [x])])]
}

export const POOL_RULES: Record<string, GradRule> = { AveragePool: averagePool, MaxPool: maxPool, GlobalAveragePool: globalAveragePool }
