// Small helpers over the onnx-buf protobuf types: reading attributes and constant tensors, and an
// emitter that appends nodes and initializers with fresh names (the gradient rules write through it).
import { create } from '@bufbuild/protobuf'
import {
  AttributeProtoSchema,
  AttributeProto_AttributeType,
  NodeProtoSchema,
  TensorProtoSchema,
  TensorProto_DataType,
  type AttributeProto,
  type NodeProto,
  type TensorProto
} from 'onnx-buf'
import { toFloat16Bits } from '../models/onnx-builder'

export const DT = TensorProto_DataType

const FLOAT_TYPES = new Set<number>([DT.FLOAT, DT.FLOAT16, DT.DOUBLE, DT.BFLOAT16])

export function isFloatType(t: number): boolean {
  return FLOAT_TYPES.has(t)
}

/** onnxruntime-node's type names to ONNX element types. */
export const ORT_TYPES: Record<string, number> = {
  float32: DT.FLOAT,
  float16: DT.FLOAT16,
  float64: DT.DOUBLE,
  int8: DT.INT8,
  uint8: DT.UINT8,
  int16: DT.INT16,
  uint16: DT.UINT16,
  int32: DT.INT32,
  uint32: DT.UINT32,
  int64: DT.INT64,
  uint64: DT.UINT64,
  bool: DT.BOOL,
  string: DT.STRING
}

export function attr(node: NodeProto, name: string): AttributeProto | undefined {
  return node.attribute.find((a) => a.name === name)
}

export function attrInt(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name)
  return a ? Number(a.i) : fallback
}

export function attrFloat(node: NodeProto, name: string, fallback: number): number {
  const a = attr(node, name)
  return a ? a.f : fallback
}

export function attrInts(node: NodeProto, name: string): number[] | null {
  const a = attr(node, name)
  return a ? a.ints.map(Number) : null
}

export function attrString(node: NodeProto, name: string, fallback: string): string {
  const a = attr(node, name)
  return a ? new TextDecoder().decode(a.s) : fallback
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return s * m * 2 ** -24
  if (e === 31) return m ? NaN : s * Infinity
  return s * (1 + m / 1024) * 2 ** (e - 15)
}

/** The values of a constant tensor as numbers (int64 converted; fine for shapes and small constants). */
export function tensorValues(t: TensorProto): number[] {
  const raw = t.rawData.length > 0 ? new Uint8Array(t.rawData) : null
  switch (t.dataType) {
    case DT.FLOAT:
      return raw ? [...new Float32Array(raw.buffer, 0, raw.byteLength >> 2)] : [...t.floatData]
    case DT.DOUBLE:
      return raw ? [...new Float64Array(raw.buffer, 0, raw.byteLength >> 3)] : [...t.doubleData]
    case DT.INT64:
      return raw ? [...new BigInt64Array(raw.buffer, 0, raw.byteLength >> 3)].map(Number) : t.int64Data.map(Number)
    case DT.INT32:
      return raw ? [...new Int32Array(raw.buffer, 0, raw.byteLength >> 2)] : [...t.int32Data]
    case DT.FLOAT16:
      return raw ? [...new Uint16Array(raw.buffer, 0, raw.byteLength >> 1)].map(halfToFloat) : t.int32Data.map(halfToFloat)
    case DT.BOOL:
    case DT.UINT8:
    case DT.INT8:
      return raw ? [...raw] : [...t.int32Data]
    default:
      throw new Error(`constant tensor ${t.name} has an unsupported element type ${t.dataType}`)
  }
}

export function tensorDims(t: TensorProto): number[] {
  return t.dims.map(Number)
}

type AttrValue = number | number[] | string | { float: number } | { floats: number[] } | { tensor: TensorProto }

function makeAttribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === 'string') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.STRING, s: new TextEncoder().encode(v) })
  if (Array.isArray(v)) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INTS, ints: v.map((x) => BigInt(x)) })
  if (typeof v === 'number') return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.INT, i: BigInt(v) })
  if ('float' in v) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOAT, f: v.float })
  if ('floats' in v) return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.FLOATS, floats: v.floats })
  return create(AttributeProtoSchema, { name, type: AttributeProto_AttributeType.TENSOR, t: v.tensor })
}

/** A tensor of the given element type from numbers (float types and int64/int32/bool). */
export function makeTensor(name: string, dims: number[], values: ArrayLike<number>, dataType: number): TensorProto {
  let rawData: Uint8Array<ArrayBuffer>
  switch (dataType) {
    case DT.FLOAT:
      rawData = new Uint8Array(Float32Array.from(values).buffer)
      break
    case DT.DOUBLE:
      rawData = new Uint8Array(Float64Array.from(values).buffer)
      break
    case DT.FLOAT16:
      rawData = new Uint8Array(toFloat16Bits(Float32Array.from(values)).buffer as ArrayBuffer)
      break
    case DT.INT64:
      rawData = new Uint8Array(BigInt64Array.from(Array.from(values, (x) => BigInt(Math.round(x)))).buffer)
      break
    case DT.INT32:
      rawData = new Uint8Array(Int32Array.from(values).buffer)
      break
    case DT.BOOL:
      rawData = Uint8Array.from(values)
      break
    default:
      throw new Error(`cannot write constants of element type ${dataType}`)
  }
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType, rawData })
}

/**
 * Appends nodes and initializers to a graph under construction; every name it makes is fresh
 * (prefixed), so emitted nodes never collide with the source graph's names.
 */
export class Emitter {
  readonly nodes: NodeProto[] = []
  readonly initializers: TensorProto[] = []
  private counter = 0
  private readonly scalars = new Map<string, string>()

  constructor(private readonly prefix: string, private readonly taken: Set<string>) {}

  fresh(hint: string): string {
    let name: string
    do name = `${this.prefix}${hint}_${this.counter++}`
    while (this.taken.has(name))
    this.taken.add(name)
    return name
  }

  /** Adds a node with `outputs` fresh outputs (or the given names) and returns their names. */
  op(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(type.toLowerCase())) : outputs
    this.nodes.push(create(NodeProtoSchema, { opType: type, name: this.fresh(`n_${type}`), input: inputs, output: outs, attribute: Object.entries(attrs).map(([k, v]) => makeAttribute(k, v)) }))
    return outs
  }

  one(type: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.op(type, inputs, attrs)[0]
  }

  constant(hint: string, dims: number[], values: ArrayLike<number>, dataType: number): string {
    const name = this.fresh(hint)
    this.initializers.push(makeTensor(name, dims, values, dataType))
    return name
  }

  /** A 0-d constant, shared between uses. */
  scalar(value: number, dataType: number): string {
    const key = `${dataType}:${value}`
    let name = this.scalars.get(key)
    if (!name) {
      name = this.constant('c', [], [value], dataType)
      this.scalars.set(key, name)
    }
    return name
  }

  ints(values: number[]): string {
    return this.constant('i', [values.length], values, DT.INT64)
  }
}
