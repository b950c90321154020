import type { ModelEntry } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import { patchModel, type PatchOptions, type PatchReport } from './onnx-patch'
import type { ModelRegistry } from './model-registry'
import { fusionFromEnv, rewritesFromEnv, type RewriteOptions } from './graph-rewrites'
import { generateFaces } from './face-generator'
import { planarToModelInput } from '../imaging/image-tensor'
import { FUSED_INPUT, FUSED_OUTPUT, fuseGeneratorEncoder } from './pipeline-fusion'
import { ModelTrial } from './model-trial'
import type { ModelManifest } from '../../shared/types'
import { DEFAULT_REMOTE_MAX_BATCH, connectRemote, remoteModelUrl } from './remote-model'

export interface PreparedModel {
  entry: ModelEntry
  /** Engine key: the sha256 of the file as registered (patching happens in memory). */
  key: string
  /** Largest batch one engine call may take (1 when the batch could not be freed safely). */
  maxBatch: number
  patch: PatchReport
}

const TRIAL_TOLERANCE = 1e-4

/** A generator and an encoder merged into one graph: latents in, templates out. */
export interface FusedPipeline {
  key: string
  generator: PreparedModel
  encoder: PreparedModel
  input: string
  output: string
  latentDim: number
  maxBatch: number
}

export interface LoaderOptions {
  /** Exact graph rewrites (default: UNVEIL_GRAPH_REWRITES, all on); false for none. */
  rewrites?: RewriteOptions | false
  /** Merge generator and encoder into one graph for searches (default: on unless UNVEIL_GRAPH_REWRITES leaves out 'fuse'). */
  fuse?: boolean
  /** Isolated, time-limited trial of user models before the engine loads them (default: one per loader). */
  trial?: ModelTrial
}

function staticSampleDims(entry: ModelEntry): number[] {
  const dims = entry.manifest.input.shape.slice(1)
  if (dims.some((d) => d < 1)) {
    throw new Error(`model '${entry.manifest.id}' has a dynamic input size ${JSON.stringify(entry.manifest.input.shape)}; give fixed sizes in its manifest`)
  }
  return dims
}

function pseudoRandom(n: number, seed: number): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 32 - 0.5
  }
  return out
}

/**
 * Loads registry models into an engine, patched for batching. A freed batch is trusted only
 * after a trial: two samples run together must match the same samples run one by one.
 */
export class ModelLoader {
  private readonly prepared = new Map<string, Promise<PreparedModel>>()
  private readonly fused = new Map<string, Promise<FusedPipeline | null>>()
  /** Patched bytes by engine key, for merging generator and encoder graphs. */
  private readonly patchedBytes = new Map<string, Uint8Array>()
  private readonly rewrites: RewriteOptions | false
  readonly fuse: boolean
  private readonly trial: ModelTrial

  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    options: LoaderOptions = {}
  ) {
    this.rewrites = options.rewrites === undefined ? rewritesFromEnv() : options.rewrites
    this.fuse = options.fuse ?? fusionFromEnv()
    this.trial = options.trial ?? new ModelTrial({ threads: engine.settings.threads })
  }

  /**
   * The isolated trial (model-trial.ts) of a model as this loader would load it: patched the
   * same way. Registration runs it before anything is stored; every load of a user model too.
   */
  trialRun(manifest: ModelManifest, original: Uint8Array): Promise<void> {
    return this.trial.check(manifest, patchModel(original, `model '${manifest.id}'`, { rewrites: this.rewrites }).bytes)
  }

  prepare(id: string): Promise<PreparedModel> {
    const entry = this.registry.get(id)
    const cacheKey = `${id}:${entry.manifest.sha256}`
    let p = this.prepared.get(cacheKey)
    if (!p) {
      p = this.load(entry)
      this.prepared.set(cacheKey, p)
      p.catch(() => this.prepared.delete(cacheKey))
    }
    return p
  }

  private async load(entry: ModelEntry): Promise<PreparedModel> {
    if (entry.manifest.remote) return this.loadRemote(entry)
    const original = this.registry.readModel(entry)
    const label = `model '${entry.manifest.id}'`
    const options: PatchOptions = { rewrites: this.rewrites }
    const patched = patchModel(original, label, options)
    const key = entry.manifest.sha256
    // A user model could hang the shared engine for good; bundled ones are known to run.
    if (!entry.bundled) await this.trial.check(entry.manifest, patched.bytes)
    await this.engine.load(key, patched.bytes)
    this.patchedBytes.set(key, patched.bytes)
    if (patched.report.batchDimsFreed.length === 0) {
      const fixed = entry.manifest.input.shape[0]
      return { entry, key, maxBatch: fixed > 0 ? fixed : 256, patch: patched.report }
    }
    if (await this.batchTrialPasses(entry, key)) return { entry, key, maxBatch: 256, patch: patched.report }
    await this.engine.release(key)
    const unbatched = patchModel(original, label, { ...options, freeBatch: false })
    await this.engine.load(key, unbatched.bytes)
    this.patchedBytes.set(key, unbatched.bytes)
    return { entry, key, maxBatch: 1, patch: unbatched.report }
  }

  /**
   * A remote encoder: its server checked and its probe compared with the registered one
   * (remote-model.ts), then served by the engine under its own key. It never merges with a
   * generator (no graph to merge), so searches take the two-step path.
   */
  private async loadRemote(entry: ModelEntry): Promise<PreparedModel> {
    const client = await connectRemote(entry.manifest)
    // Two entries may reach the same model (the same fingerprint) at other URLs or with other settings.
    const key = `remote:${entry.manifest.id}@${remoteModelUrl(entry.manifest.remote!)}:${entry.manifest.sha256}`
    this.engine.attachRemote(key, client)
    return { entry, key, maxBatch: entry.manifest.remote!.maxBatch ?? DEFAULT_REMOTE_MAX_BATCH, patch: { denormalsFlushed: 0, batchDimsFreed: [], reshapesFixed: 0 } }
  }

  /**
   * Generator and encoder merged into one graph (pipeline-fusion.ts), or null when fusion is
   * off, the graphs cannot be merged, or the merged graph does not reproduce the two-step path
   * (generator, host-side normalisation, encoder) on a trial batch.
   */
  prepareFused(generatorId: string, encoderId: string): Promise<FusedPipeline | null> {
    if (!this.fuse) return Promise.resolve(null)
    const g = this.registry.get(generatorId)
    const e = this.registry.get(encoderId)
    const cacheKey = `${g.manifest.sha256}+${e.manifest.sha256}`
    let p = this.fused.get(cacheKey)
    if (!p) {
      p = this.loadFused(generatorId, encoderId, cacheKey)
      this.fused.set(cacheKey, p)
      p.catch(() => this.fused.delete(cacheKey))
    }
    return p
  }

  private async loadFused(generatorId: string, encoderId: string, key: string): Promise<FusedPipeline | null> {
    const [generator, encoder] = await Promise.all([this.prepare(generatorId), this.prepare(encoderId)])
    const gm = generator.entry.manifest
    const em = encoder.entry.manifest
    const genBytes = this.patchedBytes.get(generator.key)
    const encBytes = this.patchedBytes.get(encoder.key)
    if (!genBytes || !encBytes || !em.input.normalisation || em.input.shape.length !== 4) return null
    const merged = fuseGeneratorEncoder(genBytes, encBytes, {
      generator: { input: gm.input.name, output: gm.output.name, outputRange: gm.outputRange },
      encoder: { input: em.input.name, output: em.output.name, colorOrder: em.input.colorOrder ?? 'RGB', normalisation: em.input.normalisation }
    })
    if ('reason' in merged) return null
    const latentDim = gm.latentDim ?? gm.input.shape[1]
    const pipeline: FusedPipeline = { key: `fused:${key}`, generator, encoder, input: FUSED_INPUT, output: FUSED_OUTPUT, latentDim, maxBatch: Math.min(generator.maxBatch, encoder.maxBatch) }
    try {
      await this.engine.load(pipeline.key, merged.bytes)
    } catch {
      return null
    }
    if (await this.fusedTrialPasses(pipeline)) return pipeline
    await this.engine.release(pipeline.key)
    return null
  }

  /** The merged graph must give the templates of the two-step path (cosine >= 0.9999). */
  private async fusedTrialPasses(p: FusedPipeline): Promise<boolean> {
    const latents = [pseudoRandom(p.latentDim, 3), pseudoRandom(p.latentDim, 4)].map((z) => z.map((v) => v * 3))
    const em = p.encoder.entry.manifest
    const [, c, h, w] = em.input.shape
    try {
      const images = await generateFaces(this.engine, p.generator, latents)
      const inputs = images.map((img) => planarToModelInput(img, h * w, em.input.colorOrder ?? 'RGB', em.input.normalisation!))
      const twoStep = await this.engine.runBatched(p.encoder.key, { name: em.input.name, sampleDims: [c, h, w], samples: inputs }, em.output.name, { maxBatch: Math.min(2, p.maxBatch) })
      const fused = await this.engine.runBatched(p.key, { name: p.input, sampleDims: [p.latentDim], samples: latents }, p.output, { maxBatch: Math.min(2, p.maxBatch) })
      for (let s = 0; s < latents.length; s++) {
        let dot = 0
        let na = 0
        let nb = 0
        for (let i = 0; i < twoStep[s].length; i++) {
          dot += twoStep[s][i] * fused[s][i]
          na += twoStep[s][i] ** 2
          nb += fused[s][i] ** 2
        }
        if (twoStep[s].length !== fused[s].length || !(dot / Math.sqrt(na * nb) >= 0.9999)) return false
      }
      return true
    } catch {
      return false
    }
  }

  private async batchTrialPasses(entry: ModelEntry, key: string): Promise<boolean> {
    const dims = staticSampleDims(entry)
    const size = dims.reduce((a, b) => a * b, 1)
    const a = pseudoRandom(size, 1)
    const b = pseudoRandom(size, 2)
    const input = entry.manifest.input.name
    const output = entry.manifest.output.name
    try {
      const pair = await this.engine.runBatched(key, { name: input, sampleDims: dims, samples: [a, b] }, output, { maxBatch: 2 })
      const singles = await this.engine.runBatched(key, { name: input, sampleDims: dims, samples: [a, b] }, output, { maxBatch: 1 })
      for (let s = 0; s < 2; s++) {
        if (pair[s].length !== singles[s].length) return false
        for (let i = 0; i < pair[s].length; i++) if (Math.abs(pair[s][i] - singles[s][i]) > TRIAL_TOLERANCE) return false
      }
      return true
    } catch {
      return false
    }
  }

  sampleDims(entry: ModelEntry): number[] {
    return staticSampleDims(entry)
  }
}
