// Putting several ONNX graphs into one: every tensor and node of a part gets the part's prefix
// (so two models never collide), chosen inputs and outputs are wired by name, and all parts are
// relabelled to one opset where that does not change what their ops mean.
import type { ModelProto, NodeProto, TensorProto } from 'onnx-buf'
import { create } from '@bufbuild/protobuf'
import { NodeProtoSchema, TensorProtoSchema } from 'onnx-buf'
import { NotDifferentiableError } from './rule-context'

/** Ops whose meaning is unchanged from opset 9 through 21 as used for inference. */
export const OPSET_STABLE = new Set([
  'Conv', 'ConvTranspose', 'PRelu', 'Relu', 'LeakyRelu', 'Elu', 'Sigmoid', 'Tanh', 'Add', 'Sub', 'Mul', 'Div', 'Sum', 'Max', 'Min',
  'Sqrt', 'Exp', 'Log', 'Neg', 'Abs', 'Pow', 'Reciprocal', 'Erf', 'Softplus', 'HardSigmoid', 'BatchNormalization', 'Gemm', 'MatMul',
  'Reshape', 'Flatten', 'Transpose', 'Concat', 'Identity', 'Constant', 'Cast', 'Shape', 'Size', 'GlobalAveragePool', 'MaxPool',
  'AveragePool', 'Gather', 'Expand', 'Where', 'Equal', 'Greater', 'Less', 'Not', 'And', 'Or', 'Floor', 'Ceil', 'ConstantOfShape',
  'LpNormalization', 'InstanceNormalization'
])

/** Ops whose inputs or attributes changed incompatibly at an opset (the version that changed them). */
const CHANGED_AT: Record<number, string[]> = {
  10: ['Slice', 'Upsample', 'Dropout'],
  11: ['Clip', 'Pad', 'Resize', 'Concat', 'Gather', 'Split', 'Squeeze', 'Unsqueeze', 'ReduceSum', 'ReduceMean', 'ReduceL2', 'Softmax'],
  12: ['Dropout'],
  13: ['Squeeze', 'Unsqueeze', 'Split', 'ReduceSum', 'Softmax', 'LogSoftmax', 'Hardmax'],
  18: ['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare', 'Split', 'Pad']
}

export function defaultOpset(model: ModelProto): number {
  const d = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')
  return d ? Number(d.version) : 1
}

/** The first op of `nodes` whose meaning changes between opset `from` and `to`, or null. */
export function opChangedBetween(nodes: NodeProto[], from: number, to: number): string | null {
  for (const n of nodes) {
    if (OPSET_STABLE.has(n.opType)) continue
    if (from < 11) return n.opType
    for (const [v, ops] of Object.entries(CHANGED_AT)) if (Number(v) > from && Number(v) <= to && ops.includes(n.opType)) return n.opType
  }
  return null
}

export interface Part {
  model: ModelProto
  prefix: string
  /** Renames of the part's graph inputs (to wire them to another part's tensors or new inputs). */
  inputs?: Record<string, string>
}

export interface PrefixedPart {
  nodes: NodeProto[]
  initializers: TensorProto[]
  /** The new name of a tensor of the part. */
  name: (original: string) => string
}

/** The part's nodes and initializers with every name prefixed (graph inputs renamed as given). */
export function prefixPart(part: Part, label: string): PrefixedPart {
  const g = part.model.graph!
  const withGraphs = g.node.find((n) => n.attribute.some((a) => a.g || a.graphs.length))
  if (withGraphs) throw new NotDifferentiableError(`${label} uses op ${withGraphs.opType} (a control-flow subgraph), which Unveil cannot differentiate; use --gradients zo`)
  const name = (t: string): string => (t === '' ? '' : part.inputs?.[t] ?? `${part.prefix}${t}`)
  const nodes = g.node.map((n) => create(NodeProtoSchema, { ...n, name: `${part.prefix}${n.name || n.output[0]}`, input: n.input.map(name), output: n.output.map(name) }))
  const initializers = g.initializer.map((t) => create(TensorProtoSchema, { ...t, name: name(t.name) }))
  return { nodes, initializers, name }
}
