// Static facts about every tensor of a graph, measured rather than inferred: the graph is run
// once at batch 2 and once at batch 3 with every intermediate exposed (only its Shape is
// fetched, plus the values of small tensors that do not depend on the differentiated inputs).
// A dimension that differs between the two runs depends on the batch and is recorded as -1.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { createRequire } from 'node:module'
import { ModelProtoSchema, NodeProtoSchema, ValueInfoProtoSchema, type ModelProto } from 'onnx-buf'
import type * as OrtTypes from 'onnxruntime-node'
import { ORT_TYPES, tensorDims, tensorValues } from './onnx-ir'

export interface TensorFacts {
  /** Dimensions; -1 where the dimension depends on the batch size. */
  shape: number[]
  /** ONNX element type. */
  dtype: number
  /** Values of a small tensor independent of the differentiated inputs and of the batch, else null. */
  value: number[] | null
}

export type GraphFacts = Map<string, TensorFacts>

export const PROBE_BATCHES = [2, 3] as const
const SMALL = 4096

function ort(): typeof OrtTypes {
  // Loaded lazily: the autodiff rules are pure and testable without the native module.
  return createRequire(import.meta.url)('onnxruntime-node') as typeof OrtTypes
}

function seededUniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 32
  }
  return out
}

function toNumbers(t: OrtTypes.Tensor): number[] {
  const d = t.data as ArrayLike<number | bigint>
  return Array.from(d, (x) => Number(x))
}

/**
 * Measures shapes, element types and small constant values of every tensor in `model`.
 * `inputShapes` gives each graph input's dimensions with -1 for the batch; `inactive` names the
 * tensors that do not depend on the differentiated inputs (their small values are recorded).
 */
export async function probeGraph(
  model: ModelProto,
  inputShapes: Record<string, number[]>,
  inactive: Set<string>
): Promise<GraphFacts> {
  const g = model.graph!
  const facts: GraphFacts = new Map()
  const inits = new Set(g.initializer.map((t) => t.name))
  for (const t of g.initializer) {
    facts.set(t.name, { shape: tensorDims(t), dtype: t.dataType, value: tensorDims(t).reduce((a, b) => a * b, 1) <= SMALL ? safeValues(t) : null })
  }
  const names: string[] = []
  const seen = new Set<string>(inits)
  const add = (name: string): void => {
    if (!name || seen.has(name)) return
    seen.add(name)
    names.push(name)
  }
  for (const i of g.input) add(i.name)
  for (const n of g.node) for (const o of n.output) add(o)

  const probe = fromBinary(ModelProtoSchema, toBinary(ModelProtoSchema, model))
  const pg = probe.graph!
  const shapeOf = new Map<string, string>()
  names.forEach((name, k) => {
    const s = `__probe_shape_${k}`
    shapeOf.set(name, s)
    pg.node.push(create(NodeProtoSchema, { opType: 'Shape', name: `__probe_node_${k}`, input: [name], output: [s] }))
    pg.output.push(create(ValueInfoProtoSchema, { name: s }))
    if (!g.output.some((o) => o.name === name) && !g.input.some((i) => i.name === name)) pg.output.push(create(ValueInfoProtoSchema, { name }))
  })
  const ortm = ort()
  const session = await ortm.InferenceSession.create(toBinary(ModelProtoSchema, probe), { executionProviders: ['cpu'], graphOptimizationLevel: 'basic', logSeverityLevel: 3 })
  try {
    const types = new Map<string, string>()
    for (const m of [...session.outputMetadata, ...session.inputMetadata]) if (m.isTensor) types.set(m.name, m.type)
    const runs: { shapes: Map<string, number[]>; values: Map<string, number[]> }[] = []
    for (const b of PROBE_BATCHES) {
      const feeds: Record<string, OrtTypes.Tensor> = {}
      for (const [name, dims] of Object.entries(inputShapes)) {
        const concrete = dims.map((d) => (d < 0 ? b : d))
        const n = concrete.reduce((x, y) => x * y, 1)
        feeds[name] = new ortm.Tensor('float32', seededUniform(n, 17 + n), concrete)
      }
      const shapeOut = await session.run(feeds, [...shapeOf.values()])
      const shapes = new Map<string, number[]>()
      for (const [name, s] of shapeOf) shapes.set(name, toNumbers(shapeOut[s]))
      const small = names.filter((n) => inactive.has(n) && (shapes.get(n) ?? []).reduce((x, y) => x * y, 1) <= SMALL && types.get(n) !== 'string')
      const values = new Map<string, number[]>()
      if (small.length) {
        const out = await session.run(feeds, small)
        for (const n of small) values.set(n, toNumbers(out[n]))
      }
      runs.push({ shapes, values })
    }
    for (const name of names) {
      const [a, b] = runs.map((r) => r.shapes.get(name)!)
      const shape = a.length === b.length ? a.map((d, i) => (d === b[i] ? d : -1)) : a.map(() => -1)
      const va = runs[0].values.get(name)
      const vb = runs[1].values.get(name)
      const value = va && vb && va.length === vb.length && va.every((x, i) => x === vb[i]) ? va : null
      const t = types.get(name)
      facts.set(name, { shape, dtype: t ? ORT_TYPES[t] ?? 0 : 0, value })
    }
  } finally {
    await session.release()
  }
  return facts
}

function safeValues(t: Parameters<typeof tensorValues>[0]): number[] | null {
  try {
    return tensorValues(t)
  } catch {
    return null
  }
}
