// Generator + encoder merged into one ONNX graph: latents in, templates out, with the
// generator's output range mapping and the encoder's input normalisation (colour order, mean,
// std) in the graph, so a search's evaluation is one engine call with no host round-trip of
// the images between two sessions.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import {
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  type GraphProto,
  type ModelProto,
  type NodeProto
} from 'onnx-buf'
import type { ColorOrder, Normalisation } from '../../shared/types'
import { defaultOpset, floatTensor } from './graph-rewrites'

/**
 * Default-domain ops whose semantics (as the patched models use them) do not change from the
 * given opset version up to the newest one, so a graph using only these may be lifted to a
 * newer opset unchanged. Anything else is not merged across opset versions.
 */
const STABLE_SINCE: Record<string, number> = {
  Conv: 1, ConvTranspose: 1, Relu: 6, LeakyRelu: 6, PRelu: 7, Sigmoid: 6, Tanh: 6, Add: 7, Sub: 7, Mul: 7, Div: 7,
  BatchNormalization: 9, Reshape: 5, Flatten: 9, Gemm: 9, MatMul: 9, Max: 8, Min: 8, Clip: 11, Identity: 1,
  GlobalAveragePool: 1, MaxPool: 12, AveragePool: 11, Concat: 4, Transpose: 1, Shape: 15, Slice: 13, Cast: 13,
  Mod: 13, Constant: 13, Resize: 13
}

export interface FusionSpec {
  generator: { input: string; output: string; outputRange?: [number, number] }
  encoder: { input: string; output: string; colorOrder: ColorOrder; normalisation: Normalisation }
}

export const FUSED_INPUT = 'latent'
export const FUSED_OUTPUT = 'template'

/** Why two models cannot be merged, or null. */
function incompatibility(models: ModelProto[], target: number): string | null {
  for (const m of models) {
    const opset = defaultOpset(m)
    if (m.opsetImport.some((o) => o.domain !== '' && o.domain !== 'ai.onnx')) return 'a model uses a non-default operator domain'
    for (const n of m.graph!.node) {
      if (n.attribute.some((a) => a.g || a.graphs.length > 0)) return `${n.opType} has a subgraph`
      if (opset === target) continue
      const since = STABLE_SINCE[n.opType]
      if (since === undefined || opset < since) return `${n.opType} (opset ${opset}) is not known to keep its meaning at opset ${target}`
    }
  }
  return null
}

function prefixGraph(g: GraphProto, prefix: string, keep: Map<string, string>): { nodes: NodeProto[]; inits: GraphProto['initializer'] } {
  const rename = (name: string): string => (name === '' ? '' : keep.get(name) ?? `${prefix}${name}`)
  // Unnamed nodes stay unnamed (ORT refuses duplicate names, and a bare prefix would be one).
  const nodes = g.node.map((n) => create(NodeProtoSchema, { ...n, name: n.name ? `${prefix}${n.name}` : '', input: n.input.map(rename), output: n.output.map(rename) }))
  const inits = g.initializer.map((t) => ({ ...t, name: rename(t.name) }))
  return { nodes, inits }
}

/**
 * Merges a (patched) generator and encoder into one model, or returns the reason it cannot:
 * latent [batch, D] -> generator -> clamp to [0, 1] (only if its range is not [0, 1]) ->
 * per-channel normalisation as a 1x1 Conv -> encoder -> template [batch, E].
 */
export function fuseGeneratorEncoder(generatorBytes: Uint8Array, encoderBytes: Uint8Array, spec: FusionSpec): { bytes: Uint8Array } | { reason: string } {
  const gen = fromBinary(ModelProtoSchema, generatorBytes)
  const enc = fromBinary(ModelProtoSchema, encoderBytes)
  const target = Math.max(defaultOpset(gen), defaultOpset(enc))
  const why = incompatibility([gen, enc], target)
  if (why) return { reason: why }

  const glue: NodeProto[] = []
  const glueInits = [] as GraphProto['initializer']
  const image = 'fusion/image'
  const gParts = prefixGraph(gen.graph!, 'g/', new Map([[spec.generator.input, FUSED_INPUT], [spec.generator.output, image]]))
  let unit = image
  const [lo, hi] = spec.generator.outputRange ?? [0, 1]
  if (lo !== 0 || hi !== 1) {
    // generateFaces: min(1, max(0, (v - lo) / (hi - lo))).
    glueInits.push(floatTensor('fusion/lo', [], Float32Array.of(lo)), floatTensor('fusion/k', [], Float32Array.of(1 / (hi - lo))))
    glueInits.push(floatTensor('fusion/zero', [], Float32Array.of(0)), floatTensor('fusion/one', [], Float32Array.of(1)))
    glue.push(create(NodeProtoSchema, { opType: 'Sub', name: 'fusion/sub', input: [image, 'fusion/lo'], output: ['fusion/shifted'] }))
    glue.push(create(NodeProtoSchema, { opType: 'Mul', name: 'fusion/mul', input: ['fusion/shifted', 'fusion/k'], output: ['fusion/scaled'] }))
    glue.push(create(NodeProtoSchema, { opType: 'Clip', name: 'fusion/clip', input: ['fusion/scaled', 'fusion/zero', 'fusion/one'], output: ['fusion/unit'] }))
    unit = 'fusion/unit'
  }
  // planarToModelInput: out[c] = (in[order[c]] * 255 / scale - mean[c]) / std[c].
  const { normalisation: norm, colorOrder } = spec.encoder
  const order = colorOrder === 'BGR' ? [2, 1, 0] : [0, 1, 2]
  const w = new Float32Array(9)
  const b = new Float32Array(3)
  for (let c = 0; c < 3; c++) {
    const m = norm.mean.length === 3 ? norm.mean[c] : norm.mean[0]
    const s = norm.std.length === 3 ? norm.std[c] : norm.std[0]
    w[c * 3 + order[c]] = 255 / norm.scale / s
    b[c] = -m / s
  }
  glueInits.push(floatTensor('fusion/norm_w', [3, 3, 1, 1], w), floatTensor('fusion/norm_b', [3], b))
  const encIn = 'fusion/encoder_input'
  glue.push(create(NodeProtoSchema, { opType: 'Conv', name: 'fusion/normalise', input: [unit, 'fusion/norm_w', 'fusion/norm_b'], output: [encIn] }))
  const eParts = prefixGraph(enc.graph!, 'e/', new Map([[spec.encoder.input, encIn], [spec.encoder.output, FUSED_OUTPUT]]))

  const genInput = gen.graph!.input.find((i) => i.name === spec.generator.input)
  const encOutput = enc.graph!.output.find((o) => o.name === spec.encoder.output)
  if (!genInput || !encOutput) return { reason: 'generator input or encoder output not found in the graphs' }
  const model = create(ModelProtoSchema, {
    irVersion: gen.irVersion > enc.irVersion ? gen.irVersion : enc.irVersion,
    producerName: 'unveil-fusion',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(target) })],
    graph: create(GraphProtoSchema, {
      name: 'generator_encoder',
      node: [...gParts.nodes, ...glue, ...eParts.nodes],
      initializer: [...gParts.inits, ...glueInits, ...eParts.inits],
      input: [{ ...genInput, name: FUSED_INPUT }],
      output: [{ ...encOutput, name: FUSED_OUTPUT }]
    })
  })
  return { bytes: toBinary(ModelProtoSchema, model) }
}
