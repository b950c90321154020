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
  TensorProto_DataType,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto
} from 'onnx-buf'

export const OPSET = 17

type Dim = number | string
type AttrValue = number | number[] | string | { floats: number[] }

function valueInfo(name: string, dims: Dim[], elemType = TensorProto_DataType.FLOAT): ValueInfoProto {
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType,
          shape: create(TensorShapeProtoSchema, {
            dim: dims.map((d) =>
              create(TensorShapeProto_DimensionSchema, {
                value: typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: d }
              })
            )
          })
        })
      }
    })
  })
}

function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'string') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(v) })
  if (Array.isArray(v)) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: v.map(BigInt) })
  if (typeof v === 'object') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: v.floats })
  return Number.isInteger(v)
    ? create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v) })
    : create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: v })
}

/** IEEE half precision from float32, round to nearest even (weights stored at half size). */
export function toFloat16Bits(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length)
  const f = new Float32Array(1)
  const u = new Uint32Array(f.buffer)
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i]
    const x = u[0]
    const sign = (x >>> 16) & 0x8000
    const exp = ((x >>> 23) & 0xff) - 127 + 15
    let mant = x & 0x7fffff
    if (exp >= 31) {
      out[i] = sign | 0x7c00 | (((x >>> 23) & 0xff) === 0xff && mant ? 0x200 : 0)
    } else if (exp <= 0) {
      if (exp < -10) {
        out[i] = sign
      } else {
        mant |= 0x800000
        const shift = 14 - exp
        let h = mant >>> shift
        const rem = mant & ((1 << shift) - 1)
        const half = 1 << (shift - 1)
        if (rem > half || (rem === half && h & 1)) h++
        out[i] = sign | h
      }
    } else {
      let h = sign | (exp << 10) | (mant >>> 13)
      const rem = mant & 0x1fff
      if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++
      out[i] = h
    }
  }
  return out
}

/** A small typed builder for the ONNX graphs Unveil writes itself (priors, linear algebra). */
export class OnnxGraphBuilder {
  private readonly nodes: NodeProto[] = []
  private readonly initializers: TensorProto[] = []
  private readonly inputs: ValueInfoProto[] = []
  private readonly outputs: ValueInfoProto[] = []
  private counter = 0

  input(name: string, dims: Dim[]): string {
    this.inputs.push(valueInfo(name, dims))
    return name
  }

  output(name: string, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dims))
  }

  /** A float32 constant; with `half`, stored as float16 and cast back to float32 in the graph. */
  constant(name: string, dims: number[], data: Float32Array, half = false): string {
    const size = dims.reduce((a, b) => a * b, 1)
    if (size !== data.length) throw new Error(`constant ${name}: ${data.length} values for shape ${dims.join('x')}`)
    if (!half) {
      this.initializers.push(create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT, rawData: new Uint8Array(Float32Array.from(data).buffer) }))
      return name
    }
    const bits = toFloat16Bits(data)
    this.initializers.push(create(TensorProtoSchema, { name: `${name}_f16`, dims: dims.map(BigInt), dataType: TensorProto_DataType.FLOAT16, rawData: new Uint8Array(bits.buffer as ArrayBuffer) }))
    return this.node('Cast', [`${name}_f16`], { to: TensorProto_DataType.FLOAT }, name)
  }

  int64(name: string, values: number[]): string {
    this.initializers.push(create(TensorProtoSchema, { name, dims: [BigInt(values.length)], dataType: TensorProto_DataType.INT64, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) }))
    return name
  }

  floats(name: string, values: number[]): string {
    return this.constant(name, [values.length], Float32Array.from(values))
  }

  /** Adds a node and returns its (first) output name. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? `${op.toLowerCase()}_${this.counter++}`
    this.nodes.push(create(NodeProtoSchema, { opType: op, name: `${op}_${this.counter++}`, input: inputs, output: [out], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) }))
    return out
  }

  build(graphName: string, metadata: Record<string, string> = {}): Uint8Array {
    const model = create(ModelProtoSchema, {
      irVersion: 8n,
      producerName: 'unveil',
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(OPSET) })],
      metadataProps: Object.entries(metadata).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
      graph: create(GraphProtoSchema, { name: graphName, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs })
    })
    return toBinary(ModelProtoSchema, model)
  }
}
