// Exact load-time graph rewrites: pattern-based, so they apply to any model a user registers,
// not only the bundled ones. Each rewrite replaces a subgraph with one that computes the same
// values (bit for bit, or up to float32 rounding where a fold changes the summation order) in
// ops that ONNX Runtime's CPU provider keeps in its blocked (NCHWc) layout and fuses.
import { create } from '@bufbuild/protobuf'
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  NodeProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto
} from 'onnx-buf'

/** The rewrites, each switchable (UNVEIL_GRAPH_REWRITES, or the loader's option). */
export const REWRITES = ['prelu', 'bn-fold', 'clip'] as const
export type RewriteName = (typeof REWRITES)[number]

/**
 * How PRelu is expressed (BN = per-channel BatchNormalization with mean 0, variance 1, epsilon 0,
 * i.e. x * scale + bias, which ORT turns into a blocked depthwise 1x1 Conv):
 * 'relu-neg': Relu(y) + BN(Relu(BN(y, -1)), -a), bit-exact; 'neg-sum': y + BN(Relu(BN(y, -1)), 1-a),
 * one rounding, and ORT fuses it into two blocked passes (Conv+Relu, Conv+Sum) with no standalone
 * Relu; 'bn-sum': BN(Relu(y), 1-a) + BN(y, a), as the issue suggests; 'mul-add': Relu(y)*(1-a) + y*a.
 */
export type PreluForm = 'relu-neg' | 'neg-sum' | 'bn-sum' | 'mul-add'

export interface RewriteOptions {
  enabled: ReadonlySet<RewriteName>
  preluForm: PreluForm
}

export interface RewriteReport {
  /** PRelu nodes replaced (per-channel ones by the chosen form, uniform slopes by LeakyRelu). */
  prelu: number
  /** BatchNormalization nodes folded into the Conv before them. */
  bnFolded: number
  /** Max(x, lo) / Min(x, hi) chains with constant bounds turned into Clip or Relu. */
  clip: number
}

export function noRewrites(): RewriteOptions {
  return { enabled: new Set(), preluForm: 'neg-sum' }
}

/**
 * Rewrites from the environment: UNVEIL_GRAPH_REWRITES unset or 'all' (every rewrite),
 * 'none' or '0', or a comma list of names (prelu, bn-fold, clip, fuse); UNVEIL_PRELU_FORM
 * picks the PRelu form.
 */
export function rewritesFromEnv(env: NodeJS.ProcessEnv = process.env): RewriteOptions {
  const v = (env.UNVEIL_GRAPH_REWRITES ?? 'all').trim()
  // neg-sum measured fastest (npm run bench -- pipeline, "PRelu forms"); relu-neg is bit-exact.
  const form = (env.UNVEIL_PRELU_FORM ?? 'neg-sum') as PreluForm
  if (v === '' || v === 'all' || v === '1') return { enabled: new Set(REWRITES), preluForm: form }
  if (v === 'none' || v === '0') return { enabled: new Set(), preluForm: form }
  const names = v.split(',').map((s) => s.trim())
  return { enabled: new Set(REWRITES.filter((r) => names.includes(r))), preluForm: form }
}

/** Whether generator and encoder may be merged into one graph (rewrite 'fuse'). */
export function fusionFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.UNVEIL_GRAPH_REWRITES ?? 'all').trim()
  if (v === '' || v === 'all' || v === '1') return true
  if (v === 'none' || v === '0') return false
  return v.split(',').map((s) => s.trim()).includes('fuse')
}

// ---------------------------------------------------------------------------------------------
// Tensor helpers

export function floatValues(t: TensorProto): Float32Array | null {
  if (t.dataType !== TensorProto_DataType.FLOAT) return null
  if (t.rawData.length > 0) {
    const copy = new Uint8Array(t.rawData)
    return new Float32Array(copy.buffer, 0, copy.byteLength >> 2)
  }
  return Float32Array.from(t.floatData)
}

export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(data).buffer) })
}

function attrFloat(name: string, f: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f })
}

function attrInt(name: string, i: number): AttributeProto {
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(i) })
}

function makeNode(opType: string, input: string[], output: string[], name: string, attribute: AttributeProto[] = []): NodeProto {
  return create(NodeProtoSchema, { opType, input, output, name, attribute })
}

function attr(n: NodeProto, name: string): AttributeProto | undefined {
  return n.attribute.find((a) => a.name === name)
}

export function defaultOpset(model: ModelProto): number {
  const o = model.opsetImport.find((x) => x.domain === '' || x.domain === 'ai.onnx')
  return o ? Number(o.version) : 1
}

/** Index of a graph: constants (initializers and Constant nodes), producers and consumers. */
class GraphIndex {
  readonly constants = new Map<string, TensorProto>()
  readonly initializer = new Map<string, TensorProto>()
  readonly producer = new Map<string, NodeProto>()
  readonly consumers = new Map<string, NodeProto[]>()
  readonly outputs: Set<string>
  private counter = 0
  private readonly names = new Set<string>()

  constructor(readonly g: GraphProto) {
    for (const t of g.initializer) {
      this.constants.set(t.name, t)
      this.initializer.set(t.name, t)
      this.names.add(t.name)
    }
    for (const n of g.node) {
      for (const o of n.output) {
        this.producer.set(o, n)
        this.names.add(o)
      }
      for (const i of n.input) {
        if (!i) continue
        const list = this.consumers.get(i) ?? []
        list.push(n)
        this.consumers.set(i, list)
      }
      if (n.opType === 'Constant' && n.domain === '') {
        const v = attr(n, 'value')
        if (v?.t) this.constants.set(n.output[0], v.t)
      }
    }
    for (const i of g.input) this.names.add(i.name)
    this.outputs = new Set(g.output.map((o) => o.name))
  }

  fresh(base: string): string {
    let name: string
    do name = `${base}__rw${this.counter++}`
    while (this.names.has(name))
    this.names.add(name)
    return name
  }

  consumerCount(name: string): number {
    return (this.consumers.get(name)?.length ?? 0) + (this.outputs.has(name) ? 1 : 0)
  }

  /** Float values of a constant input, or null. */
  floats(name: string | undefined): Float32Array | null {
    if (!name) return null
    const t = this.constants.get(name)
    return t ? floatValues(t) : null
  }

  dims(name: string): number[] | null {
    const t = this.constants.get(name)
    return t ? t.dims.map(Number) : null
  }

  addInitializer(base: string, dims: number[], data: Float32Array): string {
    const name = this.fresh(base)
    const t = floatTensor(name, dims, data)
    this.g.initializer.push(t)
    this.constants.set(name, t)
    this.initializer.set(name, t)
    return name
  }
}

/** Conv whose output is 4-D NCHW (2-D kernel) and has output channel count C, or null. */
function conv2dChannels(index: GraphIndex, n: NodeProto | undefined): number | null {
  if (!n || n.opType !== 'Conv' || n.domain !== '') return null
  const w = index.dims(n.input[1])
  if (!w || w.length !== 4) return null
  return w[0]
}

// ---------------------------------------------------------------------------------------------
// PRelu

/** Per-channel slope of a PRelu on an NCHW tensor with C channels, or null if not of that shape. */
function perChannelSlope(index: GraphIndex, slopeName: string, channels: number): Float32Array | null {
  const values = index.floats(slopeName)
  const dims = index.dims(slopeName)
  if (!values || !dims) return null
  if (values.length === 1) return new Float32Array(channels).fill(values[0])
  const shape = dims.join('x')
  // Broadcasting onto [N, C, H, W]: [C, 1, 1] and [1, C, 1, 1] are per channel.
  if (values.length === channels && (shape === `${channels}x1x1` || shape === `1x${channels}x1x1`)) return values
  return null
}

function rewritePrelu(model: ModelProto, index: GraphIndex, form: PreluForm): number {
  const g = model.graph!
  const opset = defaultOpset(model)
  const out: NodeProto[] = []
  let count = 0
  for (const n of g.node) {
    if (n.opType !== 'PRelu' || n.domain !== '') {
      out.push(n)
      continue
    }
    const [x, slopeName] = n.input
    const channels = conv2dChannels(index, index.producer.get(x))
    const a = channels ? perChannelSlope(index, slopeName, channels) : null
    if (!a || !channels) {
      out.push(n)
      continue
    }
    const y = n.output[0]
    const base = n.name || y
    count++
    if (a.every((v) => v === a[0])) {
      // One slope: LeakyRelu computes the same and fuses into the Conv.
      out.push(makeNode('LeakyRelu', [x], [y], base, [attrFloat('alpha', a[0])]))
      continue
    }
    const zeros = new Float32Array(channels)
    const ones = new Float32Array(channels).fill(1)
    const zero = index.addInitializer(`${base}_zero`, [channels], zeros)
    const one = index.addInitializer(`${base}_one`, [channels], ones)
    // Mean 0, variance 1, epsilon 0: the BatchNormalization is exactly x * scale + bias.
    const bn = (input: string, scale: Float32Array, output: string, tag: string): NodeProto => {
      const s = index.addInitializer(`${base}_${tag}`, [channels], scale)
      const attrs = [attrFloat('epsilon', 0)]
      if (opset < 7) attrs.push(attrInt('is_test', 1))
      return makeNode('BatchNormalization', [input, s, zero, zero, one], [output], `${base}_${tag}_bn`, attrs)
    }
    const relu = index.fresh(`${base}_relu`)
    if (form !== 'neg-sum') out.push(makeNode('Relu', [x], [relu], `${base}_relu`))
    if (form === 'relu-neg') {
      // PRelu(y) = Relu(y) + (-a) * Relu(-y): for y > 0 the second term is 0, for y < 0 the first
      // is, and -a * -y is a * y exactly: bit-identical to PRelu.
      const neg = index.fresh(`${base}_neg`)
      const negRelu = index.fresh(`${base}_negrelu`)
      const scaled = index.fresh(`${base}_scaled`)
      out.push(bn(x, Float32Array.from(a, () => -1), neg, 'minus'))
      out.push(makeNode('Relu', [neg], [negRelu], `${base}_negrelu`))
      out.push(bn(negRelu, Float32Array.from(a, (v) => -v), scaled, 'slope'))
      out.push(makeNode('Add', [relu, scaled], [y], `${base}_sum`))
    } else if (form === 'neg-sum') {
      // PRelu(y) = y + (1-a) * Relu(-y).
      const neg = index.fresh(`${base}_neg`)
      const negRelu = index.fresh(`${base}_negrelu`)
      const scaled = index.fresh(`${base}_scaled`)
      out.push(bn(x, Float32Array.from(a, () => -1), neg, 'minus'))
      out.push(makeNode('Relu', [neg], [negRelu], `${base}_negrelu`))
      out.push(bn(negRelu, Float32Array.from(a, (v) => 1 - v), scaled, 'slope'))
      out.push(makeNode('Add', [scaled, x], [y], `${base}_sum`))
    } else if (form === 'bn-sum') {
      // PRelu(y) = (1-a) * Relu(y) + a * y.
      const p = index.fresh(`${base}_pos`)
      const q = index.fresh(`${base}_lin`)
      out.push(bn(relu, Float32Array.from(a, (v) => 1 - v), p, 'pos'))
      out.push(bn(x, a, q, 'lin'))
      out.push(makeNode('Add', [p, q], [y], `${base}_sum`))
    } else {
      const p = index.fresh(`${base}_pos`)
      const q = index.fresh(`${base}_lin`)
      const s1 = index.addInitializer(`${base}_s1`, [channels, 1, 1], Float32Array.from(a, (v) => 1 - v))
      const s2 = index.addInitializer(`${base}_s2`, [channels, 1, 1], a)
      out.push(makeNode('Mul', [relu, s1], [p], `${base}_mulpos`))
      out.push(makeNode('Mul', [x, s2], [q], `${base}_mullin`))
      out.push(makeNode('Add', [p, q], [y], `${base}_sum`))
    }
  }
  g.node = out
  return count
}

// ---------------------------------------------------------------------------------------------
// BatchNormalization folded into the Conv before it

function foldBatchNorm(model: ModelProto, index: GraphIndex): number {
  const g = model.graph!
  const removed = new Set<NodeProto>()
  let count = 0
  for (const bn of g.node) {
    if (bn.opType !== 'BatchNormalization' || bn.domain !== '' || bn.output.length !== 1) continue
    const training = attr(bn, 'training_mode')
    if (training && Number(training.i) !== 0) continue
    const conv = index.producer.get(bn.input[0])
    const channels = conv2dChannels(index, conv)
    if (!conv || !channels || conv.output.length !== 1 || index.consumerCount(conv.output[0]) !== 1) continue
    const wName = conv.input[1]
    const bName = conv.input[2]
    // The weights must be initializers only this Conv reads (they are rewritten in place).
    if (!index.initializer.has(wName) || index.consumerCount(wName) !== 1) continue
    if (bName && (!index.initializer.has(bName) || index.consumerCount(bName) !== 1)) continue
    const [gamma, beta, mean, variance] = bn.input.slice(1, 5).map((i) => index.floats(i))
    const w = index.floats(wName)
    const b = bName ? index.floats(bName) : new Float32Array(channels)
    if (!gamma || !beta || !mean || !variance || !w || !b) continue
    if ([gamma, beta, mean, variance, b].some((v) => v.length !== channels) || w.length % channels !== 0) continue
    const epsAttr = attr(bn, 'epsilon')
    const eps = epsAttr ? epsAttr.f : 1e-5
    const per = w.length / channels
    const w2 = new Float32Array(w.length)
    const b2 = new Float32Array(channels)
    for (let c = 0; c < channels; c++) {
      const s = gamma[c] / Math.sqrt(variance[c] + eps)
      for (let i = 0; i < per; i++) w2[c * per + i] = w[c * per + i] * s
      b2[c] = (b[c] - mean[c]) * s + beta[c]
    }
    const wT = index.initializer.get(wName)!
    wT.rawData = new Uint8Array(w2.buffer)
    wT.floatData = []
    if (bName) {
      const bT = index.initializer.get(bName)!
      bT.rawData = new Uint8Array(b2.buffer)
      bT.floatData = []
      bT.dims = [BigInt(channels)]
    } else {
      conv.input.push(index.addInitializer(`${conv.name || wName}_bias`, [channels], b2))
    }
    // The Conv now writes the BatchNormalization's output.
    conv.output[0] = bn.output[0]
    index.producer.set(bn.output[0], conv)
    removed.add(bn)
    count++
  }
  if (removed.size) g.node = g.node.filter((n) => !removed.has(n))
  return count
}

// ---------------------------------------------------------------------------------------------
// Max / Min with constant scalar bounds -> Clip (or Relu), which fuse into the Conv before them

function scalarOf(index: GraphIndex, name: string): number | null {
  const v = index.floats(name)
  return v && v.length === 1 ? v[0] : null
}

/** Max(x, c) or Min(x, c) with a constant scalar c: [the other input, c], or null. */
function boundOf(index: GraphIndex, n: NodeProto, op: 'Max' | 'Min'): [string, number] | null {
  if (n.opType !== op || n.domain !== '' || n.input.length !== 2) return null
  for (const k of [0, 1]) {
    const c = scalarOf(index, n.input[k])
    if (c !== null && index.floats(n.input[1 - k]) === null) return [n.input[1 - k], c]
  }
  return null
}

function rewriteClip(model: ModelProto, index: GraphIndex): number {
  const g = model.graph!
  const opset = defaultOpset(model)
  const replace = new Map<NodeProto, NodeProto | null>()
  let count = 0
  const clip = (x: string, lo: number, hi: number, y: string, name: string): NodeProto => {
    if (opset < 11) return makeNode('Clip', [x], [y], name, [attrFloat('min', lo), attrFloat('max', hi)])
    const loName = index.addInitializer(`${name}_lo`, [], Float32Array.of(lo))
    const hiName = index.addInitializer(`${name}_hi`, [], Float32Array.of(hi))
    return makeNode('Clip', [x, loName, hiName], [y], name)
  }
  for (const n of g.node) {
    if (replace.has(n)) continue
    const max = boundOf(index, n, 'Max')
    if (max) {
      const [x, lo] = max
      const next = index.consumers.get(n.output[0])
      const min = next?.length === 1 && index.consumerCount(n.output[0]) === 1 ? boundOf(index, next[0], 'Min') : null
      if (min && min[1] >= lo) {
        replace.set(n, null)
        replace.set(next![0], clip(x, lo, min[1], next![0].output[0], n.name || n.output[0]))
      } else if (lo === 0) {
        replace.set(n, makeNode('Relu', [x], [n.output[0]], n.name || n.output[0]))
      } else {
        continue
      }
      count++
    }
  }
  if (replace.size) {
    const out: NodeProto[] = []
    for (const n of g.node) {
      if (!replace.has(n)) out.push(n)
      else if (replace.get(n)) out.push(replace.get(n)!)
    }
    g.node = out
  }
  return count
}

/** Applies the enabled rewrites to a parsed model, in place. */
export function applyRewrites(model: ModelProto, options: RewriteOptions): RewriteReport {
  const report: RewriteReport = { prelu: 0, bnFolded: 0, clip: 0 }
  if (!model.graph) return report
  if (options.enabled.has('bn-fold')) report.bnFolded = foldBatchNorm(model, new GraphIndex(model.graph))
  if (options.enabled.has('clip')) report.clip = rewriteClip(model, new GraphIndex(model.graph))
  if (options.enabled.has('prelu')) report.prelu = rewritePrelu(model, new GraphIndex(model.graph), options.preluForm)
  return report
}
