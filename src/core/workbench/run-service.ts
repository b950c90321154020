import { readFileSync } from 'node:fs'
import type { EncoderScore, GenerationRecord, JobProgress, MethodInfo, ReconstructionCandidate, ReconstructionRecord, ModelManifest, ReconstructionRunSummary, ResultRecord, RunRecord, TemplateRecord } from '../../shared/types'
import type { StartRunInput } from '../../shared/ipc-contract'
import { ValidationError } from '../../shared/validation'
import type { CaseStore } from '../cases/case-store'
import { encodeVector } from '../cases/vector-blob'
import { sha256Hex } from '../fs/sha256'
import type { InferenceEngine } from '../engine/inference-engine'
import { scoreAcrossEncoders, skippedScore } from '../evaluation/cross-encoder-scoring'
import { encodePng, type RgbImage } from '../imaging/image-io'
import { chwToImage } from '../imaging/image-tensor'
import { comparisonStrip } from '../imaging/comparison-strip'
import type { JobQueue, ProgressUpdate } from '../jobs/job-queue'
import { getMethod, listMethods, resolveParameters } from '../methods/method-registry'
import type { TargetTemplate } from '../methods/reconstruction-method'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import { resolvedModel } from '../models/remote-model'
import type { CaseService } from './case-service'
import type { FaceService } from './face-service'

/** Aligned ground-truth crops kept in memory (about 37 kB each), so a template's is computed once. */
const CROP_CACHE_LIMIT = 256

export interface InversionRequest {
  template: TargetTemplate
  method: string
  parameters: Record<string, unknown>
  seed: number
  signal?: AbortSignal
  progress?: (update: ProgressUpdate) => void
  groundTruth?: RgbImage | null
  sameIdentity?: RgbImage[]
  /** Score under these encoders only (a queue worker scores under the owner's); default every registered encoder. */
  scoringEncoderIds?: string[]
}

export interface InversionResult {
  method: string
  parameters: Record<string, number | string>
  seed: number
  modelSha256s: Record<string, string>
  softwareVersion: string
  queries: number
  seconds: number
  similarity: number
  image: RgbImage
  png: Uint8Array
  trace: GenerationRecord[]
  scores: EncoderScore[]
  summary: Record<string, unknown>
  startedAt: string
  finishedAt: string
  executionProvider: string
  templateVectorSha256: string
  models: Record<string, { id: string; sha256: string }>
  /** The candidates the method chose among (ALSUV's top k), each as a PNG. */
  candidates: (Omit<ReconstructionCandidate, 'imageSha256'> & { png: Uint8Array })[]
}

/** What is stored and written as result.json: everything needed to reproduce and audit the run. */
export function inversionRecord(r: InversionResult): ReconstructionRecord {
  return {
    method: r.method,
    parameters: r.parameters,
    seed: r.seed,
    modelSha256s: r.modelSha256s,
    softwareVersion: r.softwareVersion,
    queries: r.queries,
    seconds: r.seconds,
    similarity: r.similarity,
    scores: r.scores,
    summary: r.summary,
    trace: r.trace,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    executionProvider: r.executionProvider,
    templateVectorSha256: r.templateVectorSha256,
    models: r.models,
    // Where the record is stored with its images (a case run), the caller fills in their sha256.
    candidates: r.candidates.map(({ latent, seen, validation, picked }) => ({ latent, seen, validation, picked, imageSha256: null }))
  }
}

/** Reconstruction runs: methods, inversion with scoring under every encoder, and the job queue. */
export class RunService {
  private readonly crops = new Map<string, RgbImage | null>()

  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader,
    private readonly cases: CaseService,
    private readonly faces: FaceService,
    private readonly jobs: JobQueue,
    private readonly version: string
  ) {}

  methods(): MethodInfo[] {
    return listMethods()
  }

  /**
   * Runs a method on a template and scores the reconstruction with every registered encoder:
   * against the target template, the ground-truth photo (type I) and other photos of the
   * person (type II), each with pass/fail at the encoder's FAR thresholds. Thresholds come
   * from the registry (shipped, or measured when the encoder was registered): a run never
   * measures them, and an encoder without any is scored without pass/fail.
   */
  async invert(request: InversionRequest): Promise<InversionResult> {
    const method = getMethod(request.method)
    const parameters = resolveParameters(method.info, request.parameters)
    const encoders = request.scoringEncoderIds ? request.scoringEncoderIds.map((id) => this.registry.getWithRole(id, 'encoder')) : this.registry.byRole('encoder')
    const startedAt = new Date().toISOString()
    // Every update carries the expected total (a method may revise it), so progress bars can draw.
    let totalSteps = method.totalSteps(parameters)
    const progress = (u: ProgressUpdate): void => {
      totalSteps = u.totalSteps ?? totalSteps
      request.progress?.({ ...u, totalSteps })
    }
    const t0 = performance.now()
    const out = await method.run({
      engine: this.engine,
      registry: this.registry,
      loader: this.loader,
      template: request.template,
      parameters,
      seed: request.seed,
      signal: request.signal ?? new AbortController().signal,
      progress
    })
    const searchSeconds = (performance.now() - t0) / 1000
    // An encoder that cannot load (its trial fails or times out) is reported, not fatal to the run.
    const scorers = await Promise.all(
      encoders.map(async (e) => {
        try {
          return { model: await this.loader.prepare(e.manifest.id), thresholds: e.thresholds ?? null }
        } catch (err) {
          return skippedScore(e.manifest.id, e.manifest.sha256, e.thresholds ?? null, (err as Error).message)
        }
      })
    )
    const scores = await scoreAcrossEncoders(
      this.engine,
      scorers,
      { reconstruction: out.image, target: request.template, groundTruth: request.groundTruth ?? null, sameIdentity: request.sameIdentity ?? [] },
      request.signal
    )
    // Encoders the search itself used are marked, so transfer is read from the others.
    for (const s of scores) s.usedInSearch = s.encoderSha256 === request.template.encoderSha256 ? 'seen' : s.encoderSha256 === out.modelSha256s.validation ? 'validation' : null
    const image = chwToImage(out.image, 112, 112)
    const registered = this.registry.list().map((e) => e.manifest)
    const bySha = new Map(registered.map((m) => [m.sha256, m]))
    // The target's own entry first: another registration may share a remote engine's fingerprint.
    const own = registered.find((m) => m.id === request.template.encoderId)
    const resolve = (role: string, sha256: string): ModelManifest | undefined => (role === 'target' && own?.sha256 === sha256 ? own : bySha.get(sha256))
    const models = Object.fromEntries(
      Object.entries(out.modelSha256s).flatMap(([role, sha256]) => {
        const m = resolve(role, sha256)
        return m ? [[role, resolvedModel(m)]] : []
      })
    )
    return {
      method: method.info.id,
      parameters,
      seed: request.seed,
      modelSha256s: { ...out.modelSha256s, ...Object.fromEntries(encoders.map((e) => [`encoder:${e.manifest.id}`, e.manifest.sha256])) },
      softwareVersion: this.version,
      queries: out.queries,
      seconds: searchSeconds,
      similarity: out.similarity,
      image,
      png: await encodePng(image),
      trace: out.trace,
      scores,
      summary: out.summary,
      startedAt,
      finishedAt: new Date().toISOString(),
      executionProvider: this.engine.info().provider,
      templateVectorSha256: sha256Hex(encodeVector(request.template.vector)),
      models,
      candidates: await Promise.all((out.candidates ?? []).map(async ({ image: chw, ...c }) => ({ ...c, png: await encodePng(chwToImage(chw, 112, 112)) })))
    }
  }

  /** The aligned crop of a template's ground-truth photo (the face it was enrolled from), computed once per template. */
  async groundTruthCrop(store: CaseStore, template: TemplateRecord): Promise<RgbImage | null> {
    if (!template.imageSha256) return null
    const key = `${template.id}:${template.encoderSha256}`
    if (!this.crops.has(key)) {
      const crop = await this.faces.alignedFace(new Uint8Array(readFileSync(store.imagePath(template.imageSha256))), undefined, template.encoderId, template.face?.index ?? 0)
      if (this.crops.size >= CROP_CACHE_LIMIT) this.crops.delete(this.crops.keys().next().value!)
      this.crops.set(key, crop)
    }
    return this.crops.get(key)!
  }

  /** Aligned photos of the template's subject other than its own ground truth (type II). */
  async sameSubjectCrops(store: CaseStore, template: TemplateRecord): Promise<RgbImage[]> {
    if (!template.subject) return []
    const others = store.listTemplates().filter((t) => t.subject === template.subject && t.imageSha256 && t.imageSha256 !== template.imageSha256)
    const unique = [...new Map(others.map((t) => [t.imageSha256, t])).values()]
    const crops: RgbImage[] = []
    for (const t of unique) crops.push((await this.groundTruthCrop(store, t))!)
    return crops
  }

  /** Queues a reconstruction of a case template; the run, its image and result are stored in the case. */
  start(input: StartRunInput): RunRecord {
    const store = this.cases.store(input.caseId)
    const method = getMethod(input.method)
    const parameters = resolveParameters(method.info, input.parameters)
    const template = input.templateId ? store.getTemplate(input.templateId) : null
    if (!template) throw new ValidationError('choose a template to reconstruct')
    const { runId } = this.jobs.submit<ReconstructionRunSummary>({
      caseStore: store,
      method: method.info.id,
      parameters,
      seed: input.seed,
      modelSha256s: { target: template.encoderSha256 },
      softwareVersion: this.version,
      templateId: template.id,
      totalSteps: method.totalSteps(parameters),
      run: async (ctx) => {
        const result = await this.invert({
          template: { vector: template.vector, encoderId: template.encoderId, encoderSha256: template.encoderSha256 },
          method: method.info.id,
          parameters,
          seed: input.seed,
          signal: ctx.signal,
          progress: (u) => ctx.progress(u),
          groundTruth: await this.groundTruthCrop(store, template),
          sameIdentity: await this.sameSubjectCrops(store, template)
        })
        // Image and result in one transaction; the run's status follows (a crash in between is
        // recovered as succeeded, since its result is stored: recover-interrupted.ts).
        const image = store.atomically(() => {
          const img = store.addImage(result.png, { mime: 'image/png', width: 112, height: 112, originalName: `${method.info.id}-${ctx.runId}.png` })
          const record = inversionRecord(result)
          record.candidates = result.candidates.map((c, k) => ({
            ...record.candidates[k],
            imageSha256: store.addImage(c.png, { mime: 'image/png', width: 112, height: 112, originalName: `${method.info.id}-${ctx.runId}-candidate-${c.latent}.png` }).sha256
          }))
          store.addResult({ runId: ctx.runId, kind: 'reconstruction', data: record, imageSha256: img.sha256 })
          return img
        })
        return { similarity: result.similarity, queries: result.queries, imageSha256: image.sha256, modelSha256s: result.modelSha256s, scores: result.scores }
      }
    })
    return store.getRun(runId)!
  }

  /** Side by side at one height: e.g. the photo | its aligned crop | the reconstruction (PNG bytes or pixels). */
  comparisonPng(images: (RgbImage | Uint8Array)[]): Promise<Uint8Array> {
    return comparisonStrip(images)
  }

  results(caseId: string, runId: string): ResultRecord[] {
    return this.cases.store(caseId).listResults(runId)
  }

  cancel(runId: string): void {
    if (!this.jobs.cancel(runId)) throw new ValidationError(`run ${runId} is not queued or running`)
  }

  list(): JobProgress[] {
    return this.jobs.list()
  }

  onProgress(listener: (p: JobProgress) => void): () => void {
    this.jobs.on('progress', listener)
    return () => this.jobs.off('progress', listener)
  }
}
