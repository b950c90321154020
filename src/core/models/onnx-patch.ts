import { fromBinary, toBinary } from '@bufbuild/protobuf'
import {
  ModelProtoSchema,
  TensorProto_DataType,
  type ModelProto,
  type TensorProto,
  type ValueInfoProto
} from 'onnx-buf'
import { refuseExternalData } from './external-data'
import { applyRewrites, rewritesFromEnv, type RewriteOptions, type RewriteReport } from './graph-rewrites'
import { OnnxModelError } from './onnx-errors'

/** Smallest positive normal float32: anything non-zero below it is a denormal. */
const FLT_MIN = 1.1754943508222875e-38
const BATCH_PARAM = 'batch'

export interface PatchReport {
  /** Denormal float32 weights set to zero. */
  denormalsFlushed: number
  /** Inputs and outputs whose first dimension became the symbolic 'batch'. */
  batchDimsFreed: string[]
  /** Constant Reshape targets whose fixed leading 1 became 0 (copy the batch dimension). */
  reshapesFixed: number
  /** Exact graph rewrites applied (graph-rewrites.ts); absent when none were enabled. */
  rewrites?: RewriteReport
}

export interface PatchedModel {
  bytes: Uint8Array
  report: PatchReport
}

export { OnnxModelError }

export function parseModel(bytes: Uint8Array, label = 'model'): ModelProto {
  let model: ModelProto
  try {
    model = fromBinary(ModelProtoSchema, bytes)
  } catch (err) {
    throw new OnnxModelError(`${label} is not a valid ONNX file: ${(err as Error).message}`)
  }
  if (!model.graph || model.graph.node.length === 0) {
    throw new OnnxModelError(`${label} is not a valid ONNX file: it has no graph nodes`)
  }
  refuseExternalData(model, label)
  return model
}

export interface TensorSignature {
  name: string
  /** Static dimensions as numbers; symbolic or unknown ones as -1. */
  shape: number[]
  elemType: number
}

function signatureOf(vi: ValueInfoProto): TensorSignature {
  const t = vi.type?.value
  if (!t || vi.type?.value.case !== 'tensorType') return { name: vi.name, shape: [], elemType: 0 }
  const tensor = vi.type.value.value
  const shape = (tensor.shape?.dim ?? []).map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : -1))
  return { name: vi.name, shape, elemType: tensor.elemType }
}

/** The model's real inputs (initializers listed as inputs by old exporters excluded) and outputs. */
export function modelSignature(model: ModelProto): { inputs: TensorSignature[]; outputs: TensorSignature[] } {
  const g = model.graph!
  const inits = new Set(g.initializer.map((t) => t.name))
  return {
    inputs: g.input.filter((i) => !inits.has(i.name)).map(signatureOf),
    outputs: g.output.map(signatureOf)
  }
}

function flushTensorDenormals(t: TensorProto): number {
  if (t.dataType !== TensorProto_DataType.FLOAT) return 0
  let flushed = 0
  if (t.rawData.length > 0) {
    // rawData may be an unaligned view into the file buffer: copy to get an aligned Float32Array.
    const copy = new Uint8Array(t.rawData)
    const values = new Float32Array(copy.buffer, 0, copy.byteLength >> 2)
    for (let i = 0; i < values.length; i++) {
      const v = values[i]
      if (v !== 0 && Math.abs(v) < FLT_MIN) {
        values[i] = 0
        flushed++
      }
    }
    if (flushed > 0) t.rawData = copy
  } else {
    for (let i = 0; i < t.floatData.length; i++) {
      const v = t.floatData[i]
      if (v !== 0 && Math.abs(v) < FLT_MIN) {
        t.floatData[i] = 0
        flushed++
      }
    }
  }
  return flushed
}

function freeBatchDim(vi: ValueInfoProto): boolean {
  if (vi.type?.value.case !== 'tensorType') return false
  const dims = vi.type.value.value.shape?.dim
  if (!dims || dims.length === 0) return false
  const first = dims[0]
  if (first.value.case === 'dimValue' && Number(first.value.value) === 1) {
    first.value = { case: 'dimParam', value: BATCH_PARAM }
    return true
  }
  return false
}

function int64Values(t: TensorProto): bigint[] {
  if (t.int64Data.length > 0) return [...t.int64Data]
  const copy = new Uint8Array(t.rawData)
  return [...new BigInt64Array(copy.buffer, 0, copy.byteLength >> 3)]
}

function setInt64Values(t: TensorProto, values: bigint[]): void {
  if (t.int64Data.length > 0) {
    t.int64Data = values
  } else {
    t.rawData = new Uint8Array(BigInt64Array.from(values).buffer)
  }
}

/**
 * Exporters often bake the batch size into Reshape targets as [1, -1] or [1, C, ...]; a
 * leading 0 means "copy the input's first dimension", which keeps the batch free.
 */
function fixConstantReshapes(model: ModelProto): number {
  const g = model.graph!
  let fixed = 0
  const constants = new Map<string, TensorProto>()
  for (const t of g.initializer) constants.set(t.name, t)
  for (const n of g.node) {
    if (n.opType !== 'Constant') continue
    const attr = n.attribute.find((a) => a.name === 'value')
    if (attr?.t) constants.set(n.output[0], attr.t)
  }
  for (const n of g.node) {
    if (n.opType !== 'Reshape') continue
    if (n.attribute.some((a) => a.name === 'allowzero' && Number(a.i) === 1)) continue
    const target = constants.get(n.input[1])
    if (!target || target.dataType !== TensorProto_DataType.INT64) continue
    const values = int64Values(target)
    if (values.length >= 2 && values[0] === 1n) {
      values[0] = 0n
      setInt64Values(target, values)
      fixed++
    }
  }
  return fixed
}

export interface PatchOptions {
  freeBatch?: boolean
  flushDenormals?: boolean
  /** Exact graph rewrites (default: from UNVEIL_GRAPH_REWRITES, all on); false for none. */
  rewrites?: RewriteOptions | false
}

/**
 * Prepares a model for batched CPU inference: frees a fixed batch of 1 and zeroes denormal
 * weights (they trap to microcode on many x86 CPUs; measured ~4x slower on Intel for fr_feature),
 * then applies the exact graph rewrites (PRelu in fusable ops, BatchNormalization folded into
 * Conv, Max/Min into Clip).
 */
export function patchModel(bytes: Uint8Array, label = 'model', options: PatchOptions = {}): PatchedModel {
  return patchParsed(parseModel(bytes, label), options)
}

/** patchModel on a parsed model (modified in place); returns its bytes and report. */
export function patchParsed(model: ModelProto, options: PatchOptions = {}): PatchedModel {
  const g = model.graph!
  let denormalsFlushed = 0
  if (options.flushDenormals ?? true) {
    for (const t of g.initializer) denormalsFlushed += flushTensorDenormals(t)
    for (const n of g.node) {
      for (const a of n.attribute) if (a.t) denormalsFlushed += flushTensorDenormals(a.t)
    }
  }
  const inits = new Set(g.initializer.map((t) => t.name))
  const batchDimsFreed: string[] = []
  const freeBatch = options.freeBatch ?? true
  for (const vi of freeBatch ? [...g.input.filter((i) => !inits.has(i.name)), ...g.output] : []) {
    if (freeBatchDim(vi)) batchDimsFreed.push(vi.name)
  }
  // Intermediate shape annotations would contradict the freed batch dimension.
  if (batchDimsFreed.length > 0) g.valueInfo = []
  const reshapesFixed = batchDimsFreed.length > 0 ? fixConstantReshapes(model) : 0
  const report: PatchReport = { denormalsFlushed, batchDimsFreed, reshapesFixed }
  const rewrites = options.rewrites === undefined ? rewritesFromEnv() : options.rewrites
  if (rewrites && rewrites.enabled.size > 0) report.rewrites = applyRewrites(model, rewrites)
  return { bytes: toBinary(ModelProtoSchema, model), report }
}
