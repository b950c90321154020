// The latent-search pipeline as ONE ONNX graph: generator → resize into the encoder's frame →
// the encoder's own preprocessing from its manifest (colour order, normalisation) → encoder
// [→ horizontal-flip averaging] → L2 normalisation → cosine to the target (a graph input) →
// loss = −Σ cosine, with d(loss)/d(latents). One run per step for the whole batch of latents.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema, TensorShapeProto_DimensionSchema, type ModelProto } from 'onnx-buf'
import type { ModelManifest } from '../../shared/types'
import { parseModel, patchModel } from '../models/onnx-patch'
import { defaultOpset, opChangedBetween, prefixPart } from './compose'
import { deriveGradientGraph, rewritesBeforeDerivation, type GradientGraph, type LossSpec } from './gradient-graph'
import { DT, Emitter } from './onnx-ir'
import { NotDifferentiableError } from './rule-context'

export const LATENT = 'latent'
export const IMAGE = 'image'
export const EMBEDDING = 'embedding'
export const TARGET = 'target'

export interface PipelinePart {
  bytes: Uint8Array
  manifest: ModelManifest
}

export interface PipelineOptions {
  /** Average the embedding of the face and of its mirror image (ALSUV's flip option). */
  flip?: boolean
  /** Patch the parts as gradient derivation wants them (rewritesBeforeDerivation). */
  forGradients?: boolean
}

function sameAlignment(a: ModelManifest, b: ModelManifest): boolean {
  if (!a.alignment || !b.alignment) return true
  const [wa, ha] = a.alignment.size
  const [wb, hb] = b.alignment.size
  return a.alignment.points.every((p, i) => {
    const q = b.alignment!.points[i]
    return q && Math.abs(p[0] / wa - q[0] / wb) < 1e-3 && Math.abs(p[1] / ha - q[1] / hb) < 1e-3
  })
}

/** The generator and encoder wired into one model: input `latent`, outputs `image` and `embedding`. */
export function searchPipelineModel(generator: PipelinePart, encoder: PipelinePart, options: PipelineOptions = {}): Uint8Array {
  const gm = generator.manifest
  const em = encoder.manifest
  const genLabel = `generator '${gm.id}'`
  const encLabel = `encoder '${em.id}'`
  if (em.input.layout !== 'NCHW' || em.input.shape[1] !== 3) throw new Error(`${encLabel} does not take NCHW RGB images (${JSON.stringify(em.input.shape)})`)
  if (!em.input.normalisation) throw new Error(`${encLabel} has no normalisation in its manifest`)
  if (!sameAlignment(gm, em)) throw new Error(`${genLabel} and ${encLabel} use different alignment templates`)
  const rewrites = options.forGradients ? rewritesBeforeDerivation() : undefined
  const g = parseModel(patchModel(generator.bytes, genLabel, { rewrites }).bytes, genLabel)
  const e = parseModel(patchModel(encoder.bytes, encLabel, { rewrites }).bytes, encLabel)
  const opset = Math.max(defaultOpset(g), defaultOpset(e), 13)
  for (const [m, label] of [[g, genLabel], [e, encLabel]] as [ModelProto, string][]) {
    const changed = opChangedBetween(m.graph!.node, defaultOpset(m), opset)
    if (changed && defaultOpset(m) !== opset) throw new NotDifferentiableError(`${label} uses op ${changed} at opset ${defaultOpset(m)}, which cannot run alongside opset ${opset}; re-export it at opset ${opset}`)
  }
  const taken = new Set<string>()
  const gen = prefixPart({ model: g, prefix: 'gen/', inputs: { [gm.input.name]: LATENT } }, genLabel)
  const bridge = new Emitter('bridge/', taken)
  const encInput = 'bridge/encoder_input'
  const enc = prefixPart({ model: e, prefix: 'enc/', inputs: { [em.input.name]: encInput } }, encLabel)
  const genImage = gen.name(gm.output.name)
  const [, , gh, gw] = gm.output.shape
  const [, , eh, ew] = em.input.shape
  if (gh < 1 || gw < 1 || eh < 1 || ew < 1) throw new Error(`${genLabel} and ${encLabel} need fixed image sizes in their manifests`)

  let img = genImage
  if (gh !== eh || gw !== ew) img = bridge.one('Resize', [img, '', bridge.constant('scales', [4], [1, 1, eh / gh, ew / gw], DT.FLOAT)], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' })
  if (options.flip) {
    // Mirror image by a permutation matrix on the last axis, stacked after the batch.
    const perm = new Float32Array(ew * ew)
    for (let i = 0; i < ew; i++) perm[i * ew + (ew - 1 - i)] = 1
    img = bridge.one('Concat', [img, bridge.one('MatMul', [img, bridge.constant('mirror', [ew, ew], perm, DT.FLOAT)])], { axis: 0 })
  }
  if (em.input.colorOrder === 'BGR') {
    const [r, gr, b] = bridge.op('Split', [img, bridge.ints([1, 1, 1])], { axis: 1 }, 3)
    img = bridge.one('Concat', [b, gr, r], { axis: 1 })
  }
  // Generator range [lo, hi] → 8-bit pixel p = 255 (v − lo)/(hi − lo) → (p/scale − mean_c)/std_c.
  const [lo, hi] = gm.outputRange ?? [0, 1]
  const norm = em.input.normalisation
  const a: number[] = []
  const b: number[] = []
  for (let c = 0; c < 3; c++) {
    const mean = norm.mean.length === 3 ? norm.mean[c] : norm.mean[0]
    const std = norm.std.length === 3 ? norm.std[c] : norm.std[0]
    const k = 255 / ((hi - lo) * norm.scale)
    a.push(k / std)
    b.push((-lo * k - mean) / std)
  }
  bridge.op('Add', [bridge.one('Mul', [img, bridge.constant('norm_scale', [1, 3, 1, 1], a, DT.FLOAT)]), bridge.constant('norm_shift', [1, 3, 1, 1], b, DT.FLOAT)], {}, [encInput])

  const tail = new Emitter('out/', taken)
  let embedding = enc.name(em.output.name)
  if (options.flip) {
    const half = tail.one('Div', [tail.one('Slice', [tail.one('Shape', [embedding]), tail.ints([0]), tail.ints([1])]), tail.ints([2])])
    const [e1, e2] = tail.op('Split', [embedding, tail.one('Concat', [half, half], { axis: 0 })], { axis: 0 }, 2)
    embedding = tail.one('Mul', [tail.one('Add', [e1, e2]), tail.constant('half', [], [0.5], DT.FLOAT)])
  }
  tail.op('Identity', [embedding], {}, [EMBEDDING])
  tail.op('Identity', [genImage], {}, [IMAGE])

  const gInput = g.graph!.input.find((i) => i.name === gm.input.name)!
  const eOutput = e.graph!.output.find((o) => o.name === em.output.name)!
  const gOutput = g.graph!.output.find((o) => o.name === gm.output.name)!
  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'unveil-search-pipeline',
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(opset) })],
    graph: create(GraphProtoSchema, {
      name: `${gm.id}+${em.id}`,
      node: [...gen.nodes, ...bridge.nodes, ...enc.nodes, ...tail.nodes],
      initializer: [...gen.initializers, ...bridge.initializers, ...enc.initializers, ...tail.initializers],
      input: [{ ...gInput, name: LATENT }],
      output: [{ ...eOutput, name: EMBEDDING }, { ...gOutput, name: IMAGE }]
    })
  })
  return toBinary(ModelProtoSchema, model)
}

/**
 * loss = −Σ_samples cos(embedding_i, target): each latent's gradient is that of its own cosine.
 * Also returns each sample's cosine (`similarity`).
 */
export function cosineLoss(dim: number): LossSpec & { similarity: () => string } {
  let similarity = ''
  return {
    id: `cosine-${dim}`,
    inputs: () => [{ name: TARGET, dims: [1, dim] }],
    build(e: Emitter, outputs: string[]) {
      if (!outputs.includes(EMBEDDING)) throw new Error('the pipeline has no embedding output')
      const en = e.one('LpNormalization', [EMBEDDING], { axis: 1, p: 2 })
      const tn = e.one('LpNormalization', [TARGET], { axis: 1, p: 2 })
      similarity = e.one('ReduceSum', [e.one('Mul', [en, tn]), e.ints([1])], { keepdims: 0 })
      const loss = e.one('Neg', [e.one('ReduceSum', [similarity], { keepdims: 0 })])
      return { loss, outputs: [similarity] }
    },
    similarity: () => similarity
  }
}

export interface SearchPipelineGraph extends GradientGraph {
  /** Output: each latent's cosine similarity to the target. */
  similarity: string
  /** Output: d(loss)/d(latent). */
  latentGradient: string
}

/** Derives the search pipeline's gradient graph (loss, similarities, images, embeddings, d/d latent). */
export async function deriveSearchPipeline(generator: PipelinePart, encoder: PipelinePart, options: PipelineOptions = {}): Promise<SearchPipelineGraph> {
  const dim = encoder.manifest.embeddingDim ?? encoder.manifest.output.shape[1]
  const loss = cosineLoss(dim)
  const model = searchPipelineModel(generator, encoder, { ...options, forGradients: true })
  const graph = await deriveGradientGraph(model, { label: `search pipeline ${generator.manifest.id} → ${encoder.manifest.id}`, loss, wrt: [LATENT], freeBatch: false })
  return { ...graph, similarity: graph.lossOutputs[0], latentGradient: graph.gradients[LATENT] }
}

/**
 * The derived graph with the latent batch fixed at `batch` (the graph then takes only that many
 * latents). With a symbolic batch ONNX Runtime cannot prove a backward tensor and the forward
 * activation it is multiplied by the same shape, so it reorders both out of its blocked layout
 * around every such Mul (94 reorders for fr_feature; 12 with the batch fixed).
 */
export function withFixedBatch(bytes: Uint8Array, batch: number): Uint8Array {
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`batch must be a positive integer (got ${batch})`)
  const model = fromBinary(ModelProtoSchema, bytes)
  const input = model.graph?.input.find((i) => i.name === LATENT)
  const dims = input?.type?.value.case === 'tensorType' ? input.type.value.value.shape?.dim : undefined
  if (!dims?.length) throw new Error(`the graph has no '${LATENT}' input with a batch dimension`)
  dims[0] = create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(batch) } })
  return toBinary(ModelProtoSchema, model)
}
