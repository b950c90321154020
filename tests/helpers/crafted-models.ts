// Hostile encoders built byte by byte (no research data needed): each is a few hundred bytes and
// looks like a 112x112 -> 512 encoder to the manifest check.
import { create, toBinary } from '@bufbuild/protobuf'
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TensorProto_DataLocation,
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto
} from 'onnx-buf'

const F = TensorProto_DataType.FLOAT
const I64 = TensorProto_DataType.INT64

function vi(name: string, dims: (number | string)[], elemType: number = F): ValueInfoProto {
  const dim = dims.map((d) =>
    create(TensorShapeProto_DimensionSchema, { value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d } })
  )
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType, shape: create(TensorShapeProtoSchema, { dim }) }) }
    })
  })
}

function node(op: string, input: string[], output: string, attribute: AttributeProto[] = []): NodeProto {
  return create(NodeProtoSchema, { opType: op, name: output, input, output: [output], attribute })
}

function ints(name: string, values: bigint[], dims = [BigInt(values.length)]): TensorProto {
  return create(TensorProtoSchema, { name, dims, dataType: I64, int64Data: values })
}

/** A tensor whose bytes ONNX Runtime would read from `location` (resolved against the working directory). */
export function externalTensor(name: string, location: string, values = 512): TensorProto {
  return create(TensorProtoSchema, {
    name,
    dims: [1n, BigInt(values)],
    dataType: F,
    dataLocation: TensorProto_DataLocation.EXTERNAL,
    externalData: [
      create(StringStringEntryProtoSchema, { key: 'location', value: location }),
      create(StringStringEntryProtoSchema, { key: 'length', value: String(values * 4) })
    ]
  })
}

/** input [1,3,112,112] -> flatten -> first 512 values, then `tail` nodes from 'v0' to 'output'. */
function encoder(
  name: string,
  tail: NodeProto[],
  initializer: TensorProto[] = [],
  inputDims: (number | string)[] = [1, 3, 112, 112],
  head?: NodeProto
): Uint8Array {
  const graph: GraphProto = create(GraphProtoSchema, {
    name,
    input: [vi('input', inputDims)],
    output: [vi('output', [1, 512])],
    initializer: [ints('starts', [0n]), ints('ends', [512n]), ints('axes', [1n]), ...initializer],
    node: [head ?? node('Flatten', ['input'], 'flat'), node('Slice', ['flat', 'starts', 'ends', 'axes'], 'v0'), ...tail]
  })
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'unveil-tests',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 17n })],
    graph
  })
  return toBinary(ModelProtoSchema, model)
}

/** A working encoder (sin of the first 512 pixels). */
export function workingEncoder(): Uint8Array {
  return encoder('working', [node('Sin', ['v0'], 'output')])
}

/** Its 512-value bias initializer is the first 2 KiB of `location` (e.g. /etc/passwd). */
export function externalInitializerEncoder(location: string): Uint8Array {
  return encoder('external-initializer', [node('Add', ['v0', 'stolen'], 'output')], [externalTensor('stolen', location)])
}

/** The external tensor hides in a Constant node inside a Loop body (one iteration). */
export function externalConstantInLoopEncoder(location: string): Uint8Array {
  const constant = node('Constant', [], 'stolen', [
    create(AttributeProtoSchema, { name: 'value', type: AttributeProto_AttributeType.TENSOR, t: externalTensor('stolen_value', location) })
  ])
  return loopEncoder('external-constant', 1n, [constant, node('Add', ['v_in', 'stolen'], 'v_out')])
}

/** A Loop of 10^15 iterations: loads in milliseconds, never finishes a run. */
export function neverFinishingEncoder(): Uint8Array {
  return loopEncoder('never-finishes', 10n ** 15n, [node('Sin', ['v_in'], 'v_out')])
}

function loopEncoder(name: string, trips: bigint, body: NodeProto[]): Uint8Array {
  const scalar = (n: string, t: number): ValueInfoProto => vi(n, [], t)
  const g = create(GraphProtoSchema, {
    name: 'body',
    node: [node('Identity', ['cond_in'], 'cond_out'), ...body],
    input: [scalar('iter', I64), scalar('cond_in', TensorProto_DataType.BOOL), vi('v_in', [1, 512])],
    output: [scalar('cond_out', TensorProto_DataType.BOOL), vi('v_out', [1, 512])]
  })
  const loop = node('Loop', ['trips', 'keep_going', 'v0'], 'output', [
    create(AttributeProtoSchema, { name: 'body', type: AttributeProto_AttributeType.GRAPH, g })
  ])
  return encoder(
    name,
    [loop],
    [ints('trips', [trips], []), create(TensorProtoSchema, { name: 'keep_going', dims: [], dataType: TensorProto_DataType.BOOL, int32Data: [1] })]
  )
}

/** Declares a free image size but reshapes to 64x64: any 112x112 input fails at run time. */
export function refuses112Encoder(): Uint8Array {
  return encoder(
    'refuses-112',
    [node('Sin', ['v0'], 'output')],
    [ints('shape64', [1n, 3n * 64n * 64n])],
    [1, 3, 'h', 'w'],
    node('Reshape', ['input', 'shape64'], 'flat')
  )
}

/** A manifest for these encoders (112x112 RGB in, 512 values out). */
export function craftedManifest(id: string): Record<string, unknown> {
  return {
    id,
    name: id,
    role: 'encoder',
    embeddingDim: 512,
    input: {
      name: 'input',
      shape: [1, 3, 112, 112],
      layout: 'NCHW',
      colorOrder: 'RGB',
      normalisation: { scale: 255, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }
    },
    output: { name: 'output', shape: [1, 512] },
    licence: 'MIT',
    source: 'test'
  }
}
