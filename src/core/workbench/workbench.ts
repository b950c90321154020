import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { randomUUID } from 'node:crypto'
import type {
  AuditEntry,
  AuditVerification,
  CaseCreateInput,
  CaseInfo,
  EngineInfo,
  ExecutionProvider,
  JobProgress,
  ModelEntry,
  RunRecord,
  TemplateRecord
} from '../../shared/types'
import type { AppInfo, CaseDetail, EnrolOptions, FaceDetectionResult, StartRunInput } from '../../shared/ipc-contract'
import { ValidationError } from '../../shared/validation'
import { CaseStore } from '../cases/case-store'
import { CaseLibrary } from '../cases/case-library'
import { resolveDataDir } from '../env/data-dir'
import { balancedSubset, readLfwPairs } from '../datasets/lfw-pairs'
import { InferenceEngine } from '../engine/inference-engine'
import { measureVerification } from '../evaluation/encoder-verification'
import { findFaces } from '../faces/face-finder'
import { decodeImage, encodePng, type RgbImage } from '../imaging/image-io'
import { chwToImage } from '../imaging/image-tensor'
import { JobQueue, type ProgressUpdate } from '../jobs/job-queue'
import { registerBuiltinMethods } from '../methods/builtin-methods'
import type { GenerationRecord } from '../methods/ga-search'
import type { TargetTemplate } from '../methods/reconstruction-method'
import { measureThresholds } from '../evaluation/encoder-thresholds'
import { scoreAcrossEncoders, type EncoderScore } from '../evaluation/cross-encoder-scoring'
import { recoverInterrupted } from '../jobs/recover-interrupted'
import { getMethod, listMethods, resolveParameters } from '../methods/method-registry'
import { ModelLoader, type PreparedModel } from '../models/model-loader'
import { ModelRegistry } from '../models/model-registry'
import { sha256Hex } from '../fs/sha256'
import { enrolFace, type FacePipelineModels } from '../faces/enrolment'
import { exportTemplatesJson, exportTemplatesNpy, parseTemplateFile } from '../templates/template-codec'
import { l2norm } from '../templates/vector-math'
import { sampleImagePaths } from '../env/sample-images'
import { softwareVersion } from '../env/software-version'
import { GradientGraphCache } from '../autodiff/gradient-cache'
import { checkModelGradients, engineRunnerFactory, type ModelGradientCheckRequest, type ModelGradientCheckResult } from '../autodiff/model-gradient-check'

export interface WorkbenchOptions {
  /** Where the registry, case list and caches live (the app's user-data folder). */
  libraryDir: string
  /** Default parent folder for new cases. */
  caseRoot: string
  providers?: ExecutionProvider[]
  threads?: number
}

/** Images whose different-person pairs set each encoder's FAR thresholds (issue: >= 2,000). */
const THRESHOLD_IMAGES = 2000

export interface InversionRequest {
  template: TargetTemplate
  method: string
  parameters: Record<string, unknown>
  seed: number
  signal?: AbortSignal
  progress?: (update: ProgressUpdate) => void
  groundTruth?: RgbImage | null
  sameIdentity?: RgbImage[]
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
}

/** What is stored and written as result.json: everything needed to reproduce and audit the run. */
export function inversionRecord(r: InversionResult): Record<string, unknown> {
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
    trace: r.trace
  }
}

export interface VerifyOptions {
  /** Use a balanced subset of this many pairs (default: all pairs of pairsDevTrain.txt). */
  pairs?: number
}

/**
 * The application's domain services behind one object: the IPC handlers, the CLI and the
 * end-to-end tests all drive Unveil through it, so they exercise the same code.
 */
export class Workbench {
  readonly version = softwareVersion()
  readonly registry: ModelRegistry
  readonly engine: InferenceEngine
  readonly loader: ModelLoader
  readonly library: CaseLibrary
  readonly jobs: JobQueue
  private readonly stores = new Map<string, CaseStore>()

  private constructor(readonly options: WorkbenchOptions) {
    mkdirSync(options.libraryDir, { recursive: true })
    this.registry = new ModelRegistry(options.libraryDir)
    this.engine = new InferenceEngine({ providers: options.providers, threads: options.threads })
    this.loader = new ModelLoader(this.engine, this.registry)
    this.library = new CaseLibrary(options.libraryDir)
    this.jobs = new JobQueue()
  }

  static async open(options: WorkbenchOptions): Promise<Workbench> {
    registerBuiltinMethods()
    return new Workbench(options)
  }

  appInfo(): AppInfo {
    return {
      version: this.version,
      libraryDir: this.options.libraryDir,
      engine: this.engine.info(),
      sampleAvailable: sampleImagePaths().length > 0,
      defaultCaseRoot: this.options.caseRoot
    }
  }

  async engineInfo(): Promise<EngineInfo> {
    await this.loader.prepare(this.registry.defaults().encoder)
    return this.engine.info()
  }

  // ---- cases ----

  listCases(): CaseInfo[] {
    return this.library.list()
  }

  private store(caseId: string): CaseStore {
    const cached = this.stores.get(caseId)
    if (cached?.isOpen) return cached
    const info = this.library.list().find((c) => c.id === caseId)
    if (!info) throw new ValidationError(`no case with id ${caseId} in the case list`)
    const store = CaseStore.open(info.dir)
    recoverInterrupted(store)
    this.stores.set(caseId, store)
    return store
  }

  createCase(input: CaseCreateInput): CaseInfo {
    const store = CaseStore.create({ ...input, dir: resolve(input.dir) })
    const info = store.info()
    this.stores.set(info.id, store)
    this.library.register(info.dir)
    return info
  }

  openCaseFolder(dir: string): CaseInfo {
    const store = CaseStore.open(resolve(dir))
    recoverInterrupted(store)
    const info = store.info()
    this.stores.set(info.id, store)
    this.library.register(info.dir)
    return info
  }

  caseStore(caseId: string): CaseStore {
    return this.store(caseId)
  }

  getCase(caseId: string): CaseDetail {
    const s = this.store(caseId)
    return { info: s.info(), templates: s.listTemplates(), images: s.listImages(), runs: s.listRuns() }
  }

  private uniqueCaseDir(name: string): string {
    const base = join(this.options.caseRoot, name.replace(/[^\w .-]+/g, '_'))
    let dir = base
    for (let i = 2; existsSync(dir); i++) dir = `${base} (${i})`
    return dir
  }

  /** A case holding the sample photos of @vladmandic/face-api, each enrolled with the default encoder. */
  async createSampleCase(): Promise<CaseDetail> {
    const photos = sampleImagePaths()
    if (photos.length === 0) throw new Error('the sample photos (@vladmandic/face-api) are not installed')
    const info = this.createCase({
      dir: this.uniqueCaseDir('Sample case'),
      name: 'Sample case',
      number: 'SAMPLE-001',
      examiner: null,
      notes: 'Created from the sample photos shipped with @vladmandic/face-api, enrolled with the bundled encoder.'
    })
    const encoderId = this.registry.defaults().encoder
    for (const photo of photos) {
      await this.enrolFromPhoto(info.id, new Uint8Array(readFileSync(photo)), basename(photo), { encoderId, faceIndex: 0 })
    }
    return this.getCase(info.id)
  }

  // ---- faces and templates ----

  async pipeline(encoderId: string): Promise<FacePipelineModels> {
    const d = this.registry.defaults()
    this.registry.getWithRole(encoderId, 'encoder')
    const [detector, landmarker, prepared] = await Promise.all([
      this.loader.prepare(d.detector),
      this.loader.prepare(d.landmarker),
      this.loader.prepare(encoderId)
    ])
    return { detector, landmarker, encoder: prepared }
  }

  async detectFaces(bytes: Uint8Array, name: string): Promise<FaceDetectionResult> {
    const img = await decodeImage(bytes, name)
    const d = this.registry.defaults()
    const faces = await findFaces(this.engine, await this.loader.prepare(d.detector), await this.loader.prepare(d.landmarker), img)
    return { width: img.width, height: img.height, faces }
  }

  /** Enrols one face of a photo; the photo is stored as the template's ground truth. */
  async enrolFromPhoto(caseId: string, bytes: Uint8Array, name: string, options: EnrolOptions): Promise<TemplateRecord> {
    const store = this.store(caseId)
    const img = await decodeImage(bytes, name)
    const models = await this.pipeline(options.encoderId)
    const e = await enrolFace(this.engine, models, img, options.faceIndex)
    const image = store.addImage(bytes, { mime: img.mime, width: img.width, height: img.height, originalName: name })
    store.addModelRef(models.encoder.entry.manifest)
    return store.addTemplate({
      id: randomUUID(),
      label: options.label?.trim() || `${name} #${e.faceIndex + 1}`,
      encoderId: models.encoder.entry.manifest.id,
      encoderSha256: models.encoder.entry.manifest.sha256,
      dimension: e.vector.length,
      norm: e.norm,
      vector: Array.from(e.vector),
      origin: 'enrolment',
      format: null,
      sourceFileSha256: image.sha256,
      sourceFileName: name,
      imageSha256: image.sha256,
      face: { index: e.faceIndex, box: e.face.box, score: e.face.score },
      subject: options.subject?.trim() || null,
      createdAt: new Date().toISOString()
    })
  }

  /** The aligned crop of an enrolled face, as the encoder saw it (for reports and previews). */
  async alignedCrop(bytes: Uint8Array, encoderId: string, faceIndex = 0): Promise<Uint8Array> {
    const e = await enrolFace(this.engine, await this.pipeline(encoderId), await decodeImage(bytes), faceIndex)
    return encodePng(e.aligned)
  }

  /** Imports every template of a file; all are validated before anything is stored. */
  importTemplates(caseId: string, bytes: Uint8Array, name: string, encoderId: string): TemplateRecord[] {
    const store = this.store(caseId)
    const encoder = this.registry.getWithRole(encoderId, 'encoder')
    const parsed = parseTemplateFile(bytes, { fileName: name, expectedDim: encoder.manifest.embeddingDim, expectedEncoder: encoderId })
    if (parsed.encoderSha256 && parsed.encoderSha256 !== encoder.manifest.sha256) {
      throw new ValidationError(
        `${name} records encoder sha256 ${parsed.encoderSha256.slice(0, 12)}…, but '${encoderId}' is ${encoder.manifest.sha256.slice(0, 12)}…`
      )
    }
    const fileSha = sha256Hex(bytes)
    store.addModelRef(encoder.manifest)
    return parsed.vectors.map((v, i) =>
      store.addTemplate({
        id: randomUUID(),
        label: parsed.labels[i] ?? (parsed.vectors.length > 1 ? `${name} [${i + 1}]` : name),
        encoderId,
        encoderSha256: encoder.manifest.sha256,
        dimension: v.length,
        norm: l2norm(v),
        vector: Array.from(v),
        origin: 'import',
        format: parsed.format,
        sourceFileSha256: fileSha,
        sourceFileName: name,
        imageSha256: null,
        face: null,
        createdAt: new Date().toISOString()
      })
    )
  }

  exportTemplate(caseId: string, templateId: string, format: 'json' | 'npy'): { name: string; bytes: Uint8Array } {
    const t = this.store(caseId).getTemplate(templateId)
    if (!t) throw new ValidationError(`no template ${templateId} in this case`)
    const stem = t.label.replace(/[^\w.-]+/g, '_').replace(/\.(jpe?g|png|json|npy|csv|bin)$/i, '') || 'template'
    if (format === 'npy') return { name: `${stem}.npy`, bytes: exportTemplatesNpy([t.vector]) }
    const json = exportTemplatesJson([
      {
        id: t.id,
        label: t.label,
        vector: t.vector,
        encoderId: t.encoderId,
        encoderSha256: t.encoderSha256,
        provenance: { origin: t.origin, sourceFileSha256: t.sourceFileSha256, sourceFileName: t.sourceFileName, imageSha256: t.imageSha256, createdAt: t.createdAt }
      }
    ])
    return { name: `${stem}.json`, bytes: new TextEncoder().encode(json) }
  }

  deleteTemplate(caseId: string, templateId: string): void {
    this.store(caseId).deleteTemplate(templateId)
  }

  getImage(caseId: string, sha256: string): { mime: string; bytes: Uint8Array } {
    const s = this.store(caseId)
    const rec = s.getImage(sha256)
    if (!rec) throw new ValidationError(`no image ${sha256.slice(0, 12)}… in this case`)
    return { mime: rec.mime, bytes: new Uint8Array(readFileSync(s.imagePath(sha256))) }
  }

  // ---- models ----

  listModels(): ModelEntry[] {
    return this.registry.list()
  }

  /**
   * Registers a user model: manifest checked against the graph, then a trial inference. An
   * encoder's preprocessing is then checked on LFW pairs when the research data is present
   * (a wrong colour order or normalisation still yields vectors, just worse ones); the job id
   * is returned so callers can follow it.
   */
  async registerModel(modelPath: string, manifestInput: unknown, options: { verify?: boolean } = {}): Promise<ModelEntry & { verificationJobId?: string }> {
    const { manifest } = this.registry.prepareRegistration(modelPath, manifestInput)
    const entry = this.registry.commitRegistration(manifest, modelPath)
    try {
      const prepared = await this.loader.prepare(entry.manifest.id)
      await this.trialRun(prepared)
    } catch (err) {
      this.registry.unregister(entry.manifest.id)
      throw new ValidationError(`model '${manifest.id}' does not run as its manifest describes: ${(err as Error).message}`)
    }
    const registered = this.registry.get(entry.manifest.id)
    if ((options.verify ?? true) && manifest.role === 'encoder' && resolveDataDir()) {
      return { ...registered, verificationJobId: this.verifyModel(manifest.id) }
    }
    return registered
  }

  private async trialRun(model: PreparedModel): Promise<void> {
    const m = model.entry.manifest
    const dims = this.loader.sampleDims(model.entry)
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5)
    const [out] = await this.engine.runBatched(model.key, { name: m.input.name, sampleDims: dims, samples: [data] }, m.output.name, { maxBatch: 1 })
    const expected = m.role === 'encoder' ? m.embeddingDim! : m.output.shape.slice(1).reduce((a, b) => (b > 0 ? a * b : a), 1)
    if (out.length !== expected) throw new Error(`output '${m.output.name}' has ${out.length} values per sample, expected ${expected}`)
    if (!out.every(Number.isFinite)) throw new Error(`output '${m.output.name}' contains NaN or Inf`)
  }

  /** Starts a job measuring an encoder on LFW development pairs; the result goes into the registry. */
  verifyModel(modelId: string, options: VerifyOptions = {}): string {
    const entry = this.registry.getWithRole(modelId, 'encoder')
    const data = resolveDataDir()
    if (!data) throw new ValidationError('the LFW data folder is not available (set UNVEIL_DATA to the shared data folder)')
    const lfw = join(data, 'datasets', 'lfw')
    const all = readLfwPairs(join(lfw, 'pairsDevTrain.txt'))
    const pairs = options.pairs ? balancedSubset(all, options.pairs) : all
    return this.jobs.enqueue({
      caseStore: null,
      method: 'verify-encoder',
      parameters: { modelId, pairs: pairs.length, dataset: 'lfw/pairsDevTrain.txt' },
      modelSha256s: { [modelId]: entry.manifest.sha256 },
      softwareVersion: this.version,
      totalSteps: 100,
      run: async (ctx) => {
        const models = await this.pipeline(modelId)
        const outcome = await measureVerification(
          this.engine,
          models,
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

  // ---- runs ----

  listMethods(): ReturnType<typeof listMethods> {
    return listMethods()
  }

  /** Thresholds for the given encoders, measuring missing ones on LFW when the data is present. */
  async ensureThresholds(encoderIds: string[], options: { signal?: AbortSignal; onProgress?: (message: string) => void } = {}): Promise<void> {
    const missing = encoderIds.filter((id) => !this.registry.get(id).thresholds)
    const data = resolveDataDir()
    if (missing.length === 0 || !data) return
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
      { signal: options.signal, onProgress: (done, total, phase) => options.onProgress?.(`thresholds: ${phase} ${done}/${total}`) }
    )
    for (const [id, record] of records) this.registry.setThresholds(id, record)
  }

  /**
   * Runs a method on a template and scores the reconstruction with every registered encoder:
   * against the target template, the ground-truth photo (type I) and other photos of the
   * person (type II), each with pass/fail at the encoder's FAR thresholds.
   */
  async invert(request: InversionRequest): Promise<InversionResult> {
    const method = getMethod(request.method)
    const parameters = resolveParameters(method.info, request.parameters)
    const t0 = performance.now()
    const out = await method.run({
      engine: this.engine,
      registry: this.registry,
      loader: this.loader,
      template: request.template,
      parameters,
      seed: request.seed,
      signal: request.signal ?? new AbortController().signal,
      progress: request.progress ?? (() => {})
    })
    const searchSeconds = (performance.now() - t0) / 1000
    const encoderIds = this.registry.byRole('encoder').map((e) => e.manifest.id)
    await this.ensureThresholds(encoderIds, { signal: request.signal, onProgress: (message) => request.progress?.({ step: out.queries, message }) })
    const encoders = await Promise.all(encoderIds.map(async (id) => ({ model: await this.loader.prepare(id), thresholds: this.registry.get(id).thresholds ?? null })))
    const scores = await scoreAcrossEncoders(
      this.engine,
      encoders,
      { reconstruction: out.image, target: request.template, groundTruth: request.groundTruth ?? null, sameIdentity: request.sameIdentity ?? [] },
      request.signal
    )
    const image = chwToImage(out.image, 112, 112)
    return {
      method: method.info.id,
      parameters,
      seed: request.seed,
      modelSha256s: { ...out.modelSha256s, ...Object.fromEntries(encoders.map((e) => [`encoder:${e.model.entry.manifest.id}`, e.model.entry.manifest.sha256])) },
      softwareVersion: this.version,
      queries: out.queries,
      seconds: searchSeconds,
      similarity: out.similarity,
      image,
      png: await encodePng(image),
      trace: out.trace,
      scores,
      summary: out.summary
    }
  }

  /** The aligned crop of a template's ground-truth photo (the face it was enrolled from). */
  async groundTruthCrop(store: CaseStore, template: TemplateRecord): Promise<RgbImage | null> {
    if (!template.imageSha256) return null
    const img = await decodeImage(new Uint8Array(readFileSync(store.imagePath(template.imageSha256))))
    const models = await this.pipeline(template.encoderId)
    return (await enrolFace(this.engine, models, img, template.face?.index ?? 0)).aligned
  }

  /** Aligned photos of the template's subject other than its own ground truth (type II). */
  async sameSubjectCrops(store: CaseStore, template: TemplateRecord): Promise<RgbImage[]> {
    if (!template.subject) return []
    const others = store
      .listTemplates()
      .filter((t) => t.subject === template.subject && t.imageSha256 && t.imageSha256 !== template.imageSha256)
    const unique = [...new Map(others.map((t) => [t.imageSha256, t])).values()]
    const crops: RgbImage[] = []
    for (const t of unique) crops.push((await this.groundTruthCrop(store, t))!)
    return crops
  }

  startRun(input: StartRunInput): RunRecord {
    const store = this.store(input.caseId)
    const method = getMethod(input.method)
    const parameters = resolveParameters(method.info, input.parameters)
    const template = input.templateId ? store.getTemplate(input.templateId) : null
    if (!template) throw new ValidationError('choose a template to reconstruct')
    const runId = this.jobs.enqueue({
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
        const image = store.addImage(result.png, { mime: 'image/png', width: 112, height: 112, originalName: `${method.info.id}-${ctx.runId}.png` })
        const record = inversionRecord(result)
        store.addResult({ runId: ctx.runId, kind: 'reconstruction', data: record, imageSha256: image.sha256 })
        return { similarity: result.similarity, queries: result.queries, imageSha256: image.sha256, modelSha256s: result.modelSha256s, scores: result.scores }
      }
    })
    return store.getRun(runId)!
  }

  listResults(caseId: string, runId: string): ReturnType<CaseStore['listResults']> {
    return this.store(caseId).listResults(runId)
  }

  cancelRun(runId: string): void {
    if (!this.jobs.cancel(runId)) throw new ValidationError(`run ${runId} is not queued or running`)
  }

  listJobs(): JobProgress[] {
    return this.jobs.list()
  }

  onJobProgress(listener: (p: JobProgress) => void): () => void {
    this.jobs.on('progress', listener)
    return () => this.jobs.off('progress', listener)
  }

  auditLog(caseId: string): AuditEntry[] {
    return this.store(caseId).auditLog()
  }

  verifyAudit(caseId: string): AuditVerification {
    return this.store(caseId).verifyAudit()
  }

  async close(): Promise<void> {
    for (const job of this.jobs.list()) this.jobs.cancel(job.runId)
    await this.jobs.idle()
    for (const s of this.stores.values()) if (s.isOpen) s.close()
    this.stores.clear()
    await this.engine.close()
  }

  /** Derives an ONNX model's gradient graph and checks it against finite differences (unveil gradients check). */
  async checkGradients(request: ModelGradientCheckRequest): Promise<ModelGradientCheckResult> {
    const cache = new GradientGraphCache(join(this.options.libraryDir, 'gradient-cache'))
    return checkModelGradients(request, { registry: this.registry, cache, runner: engineRunnerFactory(this.engine) })
  }
}
