import { join } from 'node:path'
import type { EngineInfo, ModelEntry, ModelManifest, ThresholdRecord, VerificationRunSummary } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { balancedSubset, readLfwPairs } from '../datasets/lfw-pairs'
import type { InferenceEngine } from '../engine/inference-engine'
import { resolveDataDir } from '../env/data-dir'
import { measureThresholds } from '../evaluation/encoder-thresholds'
import { measureVerification } from '../evaluation/encoder-verification'
import type { JobHandle, JobQueue } from '../jobs/job-queue'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import { registerRemote } from '../models/remote-model'
import type { FaceService } from './face-service'

/** Images whose different-person pairs set each encoder's FAR thresholds (issue: >= 2,000). */
const THRESHOLD_IMAGES = 2000

/** A registered model and the jobs that check an encoder on LFW: verification accuracy and FAR thresholds. */
export interface RegisteredModel {
  entry: ModelEntry
  verification: JobHandle<VerificationRunSummary> | null
  thresholds: JobHandle<ThresholdsRunSummary> | null
}

export type ThresholdsRunSummary = Record<string, ThresholdRecord>

export interface VerifyOptions {
  /** Use a balanced subset of this many pairs (default: all pairs of pairsDevTrain.txt). */
  pairs?: number
}

/** Models: the registry, registration with a trial run, LFW checks and FAR thresholds. */
export class ModelService {
  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader,
    private readonly faces: FaceService,
    private readonly jobs: JobQueue,
    private readonly version: string
  ) {}

  list(): ModelEntry[] {
    return this.registry.list()
  }

  get(id: string): ModelEntry {
    return this.registry.get(id)
  }

  defaults(): ReturnType<ModelRegistry['defaults']> {
    return this.registry.defaults()
  }

  /** Ids of the registered models of a role. */
  ids(role: ModelEntry['manifest']['role']): string[] {
    return this.registry.byRole(role).map((e) => e.manifest.id)
  }

  unregister(id: string): void {
    this.registry.unregister(id)
  }

  async engineInfo(): Promise<EngineInfo> {
    await this.loader.prepare(this.registry.defaults().encoder)
    return this.engine.info()
  }

  /**
   * Registers a user model: manifest checked against the graph, then a trial inference. An
   * encoder's preprocessing is then checked on LFW pairs when the research data is present
   * (a wrong colour order or normalisation still yields vectors, just worse ones); the check's
   * job is returned so callers can follow it.
   */
  async register(modelPath: string | Buffer | null, manifestInput: unknown, options: { verify?: boolean } = {}): Promise<RegisteredModel> {
    if (modelPath === null) return this.registerRemote(manifestInput, options)
    const { manifest, bytes } = this.registry.prepareRegistration(modelPath, manifestInput)
    // Trial first, in a child process with a time limit: nothing is stored unless it passes.
    try {
      await this.loader.trialRun(manifest, bytes)
    } catch (err) {
      throw new ValidationError(`model '${manifest.id}' does not run as its manifest describes: ${(err as Error).message.split('\n')[0].trim()}; nothing was registered`)
    }
    return this.afterRegistration(this.registry.commitRegistration(manifest, bytes), options)
  }

  /**
   * Registers an encoder served over KServe v2 (a manifest with a `remote` block, no file): the
   * server's readiness, metadata and an answer to the fixed probe are checked before anything
   * is stored (remote-model.ts); then the same LFW checks as for a local encoder.
   */
  private async registerRemote(manifestInput: unknown, options: { verify?: boolean }): Promise<RegisteredModel> {
    const checked = this.registry.prepareRemoteRegistration(manifestInput)
    let manifest: ModelManifest
    try {
      manifest = await registerRemote(checked)
    } catch (err) {
      throw new ValidationError(`${(err as Error).message.split('\n')[0].trim()}; nothing was registered`)
    }
    return this.afterRegistration(this.registry.commitRemoteRegistration(manifest), options)
  }

  private afterRegistration(registered: ModelEntry, options: { verify?: boolean }): RegisteredModel {
    const { manifest } = registered
    const measure = (options.verify ?? true) && manifest.role === 'encoder' && resolveDataDir() !== null
    if (!measure) return { entry: registered, verification: null, thresholds: null }
    // An encoder's thresholds are measured now, as a job of their own, so no reconstruction ever waits for them.
    const thresholds = registered.thresholds ? null : this.measureThresholdsJob([manifest.id])
    return { entry: registered, verification: this.verify(manifest.id), thresholds }
  }

  /** Starts a job measuring an encoder on LFW development pairs; the result goes into the registry. */
  verify(modelId: string, options: VerifyOptions = {}): JobHandle<VerificationRunSummary> {
    const entry = this.registry.getWithRole(modelId, 'encoder')
    const data = resolveDataDir()
    if (!data) throw new ValidationError('the LFW data folder is not available (set UNVEIL_DATA to the shared data folder)')
    const lfw = join(data, 'datasets', 'lfw')
    const all = readLfwPairs(join(lfw, 'pairsDevTrain.txt'))
    const pairs = options.pairs ? balancedSubset(all, options.pairs) : all
    return this.jobs.submit<VerificationRunSummary>({
      caseStore: null,
      method: 'verify-encoder',
      parameters: { modelId, pairs: pairs.length, dataset: 'lfw/pairsDevTrain.txt' },
      modelSha256s: { [modelId]: entry.manifest.sha256 },
      softwareVersion: this.version,
      totalSteps: 100,
      run: async (ctx) => {
        const outcome = await measureVerification(
          this.engine,
          await this.faces.pipeline(modelId),
          { imagesDir: join(lfw, 'images'), pairs, datasetLabel: `LFW pairsDevTrain (${pairs.length} pairs)` },
          {
            signal: ctx.signal,
            onProgress: (p) =>
              ctx.progress({
                step: Math.round(p.phase === 'align' ? (p.done / p.total) * 80 : 80 + (p.done / p.total) * 20),
                message: p.phase === 'align' ? `aligning ${p.done}/${p.total}` : `encoding ${p.done}/${p.total}`
              })
          }
        )
        const { undetected, ...record } = outcome
        this.registry.setVerification(modelId, record)
        return { ...record, undetected: undetected.length }
      }
    })
  }

  /**
   * Measures FAR thresholds on LFW for encoders (all the given ones with `remeasure`, else only
   * those without any) and stores them in the registry. Without the research data nothing is
   * measured. Returns each encoder's thresholds, or null where there are none.
   */
  async ensureThresholds(
    encoderIds: string[],
    options: { remeasure?: boolean; signal?: AbortSignal; onProgress?: (done: number, total: number, phase: string) => void } = {}
  ): Promise<Map<string, ThresholdRecord | null>> {
    const missing = encoderIds.filter((id) => options.remeasure || !this.registry.getWithRole(id, 'encoder').thresholds)
    const data = resolveDataDir()
    if (missing.length > 0 && data) {
      const d = this.registry.defaults()
      const records = await measureThresholds(
        this.engine,
        {
          detector: await this.loader.prepare(d.detector),
          landmarker: await this.loader.prepare(d.landmarker),
          encoders: await Promise.all(missing.map((id) => this.loader.prepare(id)))
        },
        join(data, 'datasets', 'lfw', 'images'),
        THRESHOLD_IMAGES,
        { signal: options.signal, onProgress: options.onProgress }
      )
      for (const [id, record] of records) this.registry.setThresholds(id, record)
    }
    return new Map(encoderIds.map((id) => [id, this.registry.get(id).thresholds ?? null]))
  }

  /** The same measurement as a job (progress, cancel), for encoders just registered. */
  measureThresholdsJob(encoderIds: string[], options: { remeasure?: boolean } = {}): JobHandle<ThresholdsRunSummary> {
    for (const id of encoderIds) this.registry.getWithRole(id, 'encoder')
    if (!resolveDataDir()) throw new ValidationError('the LFW data folder is not available (set UNVEIL_DATA to the shared data folder)')
    // Alignment of the 2,000 images is the larger share of the work; encoding follows per encoder.
    const alignShare = 60
    return this.jobs.submit<ThresholdsRunSummary>({
      caseStore: null,
      method: 'measure-thresholds',
      parameters: { encoders: encoderIds.join(','), images: THRESHOLD_IMAGES, dataset: 'lfw' },
      modelSha256s: Object.fromEntries(encoderIds.map((id) => [id, this.registry.get(id).manifest.sha256])),
      softwareVersion: this.version,
      totalSteps: 100,
      run: async (ctx) => {
        const perEncoder = (100 - alignShare) / encoderIds.length
        const records = await this.ensureThresholds(encoderIds, {
          remeasure: options.remeasure ?? true,
          signal: ctx.signal,
          onProgress: (done, total, phase) => {
            const i = encoderIds.findIndex((id) => phase === `encode ${id}`)
            const step = phase === 'align' ? (done / total) * alignShare : alignShare + (Math.max(0, i) + done / total) * perEncoder
            ctx.progress({ step: Math.round(step), message: `thresholds: ${phase} ${done}/${total}` })
          }
        })
        return Object.fromEntries([...records].filter((e): e is [string, ThresholdRecord] => e[1] !== null))
      }
    })
  }
}
