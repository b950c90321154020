// Builds one-op (or few-op) ONNX models and checks their derived gradients against finite
// differences.
import { fromBinary, toBinary } from '@bufbuild/protobuf'
import { ModelProtoSchema, type ModelProto } from 'onnx-buf'
import { OnnxGraphBuilder } from '../../../src/core/models/onnx-builder'
import { deriveGradientGraph } from '../../../src/core/autodiff/gradient-graph'
import { checkGradientGraph, type GradientCheckReport } from '../../../src/core/autodiff/gradient-check'
import { localRunner } from '../../../src/core/autodiff/graph-runner'
import { weightedSumLoss } from '../../../src/core/autodiff/losses'

export function seeded(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = (s / 2 ** 32 - 0.5) * 2 * scale
  }
  return out
}

export async function checkModel(bytes: Uint8Array, options: { directions?: number; distribution?: 'uniform' | 'normal'; input?: string } = {}): Promise<GradientCheckReport> {
  const graph = await deriveGradientGraph(bytes, { label: 'test model', loss: weightedSumLoss(), wrt: options.input ? [options.input] : undefined })
  const runner = await localRunner(graph.bytes, { threads: 1 })
  try {
    return await checkGradientGraph(graph, runner, { directions: options.directions ?? 3, distribution: options.distribution ?? 'normal', input: options.input })
  } finally {
    await runner.release()
  }
}

/** A model x[dims] → build(b, x) → y. */
export function oneOp(dims: (number | string)[], build: (b: OnnxGraphBuilder, x: string) => string, outDims: (number | string)[] = ['batch'], edit?: (m: ModelProto) => void): Uint8Array {
  const b = new OnnxGraphBuilder()
  const x = b.input('x', dims)
  const y = build(b, x)
  b.node('Identity', [y], {}, 'y')
  b.output('y', outDims)
  const bytes = b.build('op-test')
  if (!edit) return bytes
  const model = fromBinary(ModelProtoSchema, bytes)
  edit(model)
  return toBinary(ModelProtoSchema, model)
}
