import { readFileSync } from 'node:fs'
import type { EvaluationMetrics, EvaluationRecord, EvaluationRunLink, EvaluationSpec } from '../../shared/evaluation-types'
import type { ReconstructionRecord } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import type { CaseStore } from '../cases/case-store'
import type { InferenceEngine } from '../engine/inference-engine'
import { alignedDataset, alignedPhotos, attemptKey, attemptSeed, buildPlan, casePhotos, DEFAULT_MATES_PER_SUBJECT, protocolOf, type EvalPhoto, type EvaluationPlan } from '../evaluation/evaluation-plan'
import { computeMetrics, type DoneAttempt, type EncoderEmbeddings } from '../evaluation/evaluation-metrics'
import { msSsim, psnr, ssim } from '../evaluation/image-quality'
import { encodeAlignedFaces } from '../faces/face-encoder'
import { faceDetectionRate } from '../priors/prior-inspection'
import { decodeImage, encodePng, type RgbImage } from '../imaging/image-io'
import type { JobContext, JobQueue } from '../jobs/job-queue'
import { getMethod, resolveParameters } from '../methods/method-registry'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import type { CaseService } from './case-service'
import { inversionRecord, type RunService } from './run-service'

export interface EvaluationInput {
  caseId: string
  /** An aligned dataset folder (manifest.json); null: the case's templates with subjects. */
  datasetDir: string | null
  /** An LFW-style pair list; null: every subject with at least 2 photos. */
  pairsFile: string | null
  seenEncoderId: string
  methods: { id: string; parameters?: Record<string, unknown> }[]
  /** Encoders to score under; null or empty: every registered encoder. */
  encoderIds?: string[] | null
  /** Sets the query budget of every method that has one. */
  budget?: number | null
  seed: number
  limit?: number | null
  matesPerSubject?: number
}

export interface EvaluationStart {
  evaluation: EvaluationRecord
  /** The job run doing the work. */
  runId: string
  resumed: boolean
  /** Reconstructions already stored by an earlier, interrupted start. */
  alreadyDone: number
  total: number
}

/** What an evaluation's attempt run stores besides the reconstruction record. */
export interface EvaluationAttemptData {
  evaluationId: string
  attemptKey: string
  subject: string
  targetId: string
  targetSource: string | null
  targetSourceSha256: string | null
  mateIds: string[]
  groundTruthSha256: string
  psnr: number
  ssim: number
  msSsim: number
}

/** Round-trip through JSON: PSNR of identical images is Infinity, which JSON cannot hold. */
const finiteOr = (x: number, fallback: number): number => (Number.isFinite(x) ? x : fallback)

/** Leak assessments: reconstruct every source photo of a dataset with each method and score it under every encoder, as one resumable job. */
export class EvaluationService {
  private readonly active = new Map<string, string>()

  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader,
    private readonly cases: CaseService,
    private readonly runs: RunService,
    private readonly jobs: JobQueue,
    private readonly version: string
  ) {}

  /** Checks the input and resolves it into the spec that identifies the evaluation. */
  spec(input: EvaluationInput): EvaluationSpec {
    const seen = this.registry.getWithRole(input.seenEncoderId, 'encoder')
    if (!seen.thresholds) throw new ValidationError(`seen encoder ${seen.manifest.id} has no FAR thresholds; measure them with unveil models thresholds --model ${seen.manifest.id}`)
    if (!Array.isArray(input.methods) || input.methods.length === 0) throw new ValidationError('choose at least one method')
    const methods = input.methods.map((m) => {
      const method = getMethod(m.id)
      const given: Record<string, unknown> = { ...(m.parameters ?? {}) }
      if (input.budget != null && method.info.parameters.some((p) => p.key === 'budget')) given.budget = input.budget
      return { id: method.info.id, parameters: resolveParameters(method.info, given) }
    })
    const encoderIds = input.encoderIds && input.encoderIds.length > 0 ? input.encoderIds : this.registry.byRole('encoder').map((e) => e.manifest.id)
    for (const id of encoderIds) {
      const e = this.registry.getWithRole(id, 'encoder')
      if (!e.thresholds) throw new ValidationError(`encoder ${id} has no FAR thresholds; measure them (unveil models thresholds --model ${id}) or leave it out with --encoders`)
    }
    if (!Number.isSafeInteger(input.seed) || input.seed < 0) throw new ValidationError('seed must be a whole number ≥ 0')
    const limit = input.limit ?? null
    if (limit !== null && (!Number.isInteger(limit) || limit < 1)) throw new ValidationError('limit must be 1 or more')
    const dataset: EvaluationSpec['dataset'] = input.datasetDir
      ? (() => {
          const d = alignedDataset(input.datasetDir)
          return { kind: 'aligned' as const, dir: d.dir, manifestSha256: d.sha256 }
        })()
      : { kind: 'case', dir: null, manifestSha256: null }
    return {
      dataset,
      protocol: protocolOf(input.pairsFile),
      seenEncoderId: seen.manifest.id,
      methods,
      encoderIds: [...new Set(encoderIds)],
      seed: input.seed,
      limit,
      matesPerSubject: input.matesPerSubject ?? DEFAULT_MATES_PER_SUBJECT
    }
  }

  /** The attempts an evaluation makes. */
  plan(store: CaseStore, spec: EvaluationSpec): EvaluationPlan {
    const photos = spec.dataset.kind === 'aligned' ? alignedPhotos(spec.dataset.dir!, alignedDataset(spec.dataset.dir!).manifest) : casePhotos(store.listTemplates(), spec.seenEncoderId)
    return buildPlan(spec, photos)
  }

  /** Starts the evaluation as a job, or resumes the unfinished one with the same spec. */
  start(input: EvaluationInput): EvaluationStart {
    const store = this.cases.store(input.caseId)
    const spec = this.spec(input)
    const plan = this.plan(store, spec)
    const existing = store.evaluations.findBySpec(spec)
    if (existing && this.active.has(existing.id)) throw new ValidationError(`evaluation ${existing.id} is already running (job ${this.active.get(existing.id)})`)
    // The same spec continues the same evaluation; a finished one only has its metrics recomputed.
    const evaluation = existing ?? store.evaluations.create(spec)
    const done = new Set(store.evaluations.runs(evaluation.id).map((l) => l.attemptKey))
    const pending = spec.methods.flatMap((m) => plan.attempts.map((a) => ({ method: m, attempt: a, key: attemptKey(a, m.id) }))).filter((p) => !done.has(p.key))
    const total = spec.methods.length * plan.attempts.length
    const { runId } = this.jobs.submit({
      caseStore: store,
      method: 'evaluation',
      parameters: { evaluationId: evaluation.id, methods: spec.methods.map((m) => m.id).join(','), attempts: total },
      seed: spec.seed,
      modelSha256s: Object.fromEntries(spec.encoderIds.map((id) => [`encoder:${id}`, this.registry.get(id).manifest.sha256])),
      softwareVersion: this.version,
      templateId: null,
      totalSteps: pending.length + 1,
      run: (ctx) => this.work(ctx, store, evaluation.id, spec, plan, pending, total - pending.length)
    })
    this.active.set(evaluation.id, runId)
    void this.jobs.wait(runId).finally(() => this.active.delete(evaluation.id)).catch(() => undefined)
    return { evaluation: store.evaluations.update(evaluation.id, { status: 'running', jobRunId: runId, error: null }), runId, resumed: evaluation === existing, alreadyDone: total - pending.length, total }
  }

  list(caseId: string): EvaluationRecord[] {
    return this.cases.store(caseId).evaluations.list()
  }

  get(caseId: string, evaluationId: string): EvaluationRecord {
    const e = this.cases.store(caseId).evaluations.get(evaluationId)
    if (!e) throw new ValidationError(`no evaluation ${evaluationId} in this case`)
    return e
  }

  links(caseId: string, evaluationId: string): EvaluationRunLink[] {
    return this.cases.store(caseId).evaluations.runs(evaluationId)
  }

  private async crop(store: CaseStore, photo: EvalPhoto, cache: Map<string, RgbImage>): Promise<RgbImage> {
    let c = cache.get(photo.id)
    if (!c) {
      if (photo.cropFile) c = await decodeImage(new Uint8Array(readFileSync(photo.cropFile)), photo.id)
      else {
        const t = store.getTemplate(photo.templateId!)
        if (!t) throw new Error(`template ${photo.templateId} is no longer in the case`)
        const crop = await this.runs.groundTruthCrop(store, t)
        if (!crop) throw new Error(`template ${t.id} has no photo`)
        c = crop
      }
      cache.set(photo.id, c)
    }
    return c
  }

  private async work(
    ctx: JobContext,
    store: CaseStore,
    evaluationId: string,
    spec: EvaluationSpec,
    plan: EvaluationPlan,
    pending: { method: EvaluationSpec['methods'][number]; attempt: EvaluationPlan['attempts'][number]; key: string }[],
    doneBefore: number
  ): Promise<{ evaluationId: string; attempts: number; subjects: number }> {
    const crops = new Map<string, RgbImage>()
    const seen = await this.loader.prepare(spec.seenEncoderId)
    const total = pending.length + doneBefore
    const perMethod = new Map<string, { seconds: number; n: number; left: number }>()
    for (const p of pending) {
      const m = perMethod.get(p.method.id) ?? { seconds: 0, n: 0, left: 0 }
      m.left++
      perMethod.set(p.method.id, m)
    }
    let step = 0
    try {
      for (const p of pending) {
        if (ctx.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' })
        const t0 = performance.now()
        await this.attempt(ctx, store, evaluationId, spec, p, crops, seen)
        const m = perMethod.get(p.method.id)!
        m.seconds += (performance.now() - t0) / 1000
        m.n++
        m.left--
        step++
        const eta = [...perMethod].map(([id, s]) => `${id} ${s.n ? Math.round((s.seconds / s.n) * s.left) : '?'} s`).join(', ')
        ctx.progress({
          step,
          message: `${doneBefore + step}/${total} reconstructions (${p.method.id} ${p.attempt.subject}); ETA per method: ${eta}`,
          detail: { etaByMethod: Object.fromEntries([...perMethod].map(([id, s]) => [id, s.n ? (s.seconds / s.n) * s.left : null])), done: doneBefore + step, total }
        })
      }
      ctx.progress({ step, message: 'computing metrics' })
      const metrics = await this.metrics(store, evaluationId, spec, plan, crops, ctx.signal)
      store.evaluations.update(evaluationId, { status: 'succeeded', metrics, error: null })
      return { evaluationId, attempts: metrics.attempts, subjects: metrics.subjects }
    } catch (err) {
      const cancelled = ctx.signal.aborted || (err as Error).name === 'AbortError'
      store.evaluations.update(evaluationId, { status: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : (err as Error).message })
      throw err
    }
  }

  private async attempt(
    ctx: JobContext,
    store: CaseStore,
    evaluationId: string,
    spec: EvaluationSpec,
    p: { method: EvaluationSpec['methods'][number]; attempt: EvaluationPlan['attempts'][number]; key: string },
    crops: Map<string, RgbImage>,
    seen: Awaited<ReturnType<ModelLoader['prepare']>>
  ): Promise<void> {
    const { attempt, method } = p
    const truth = await this.crop(store, attempt.target, crops)
    const mates = await Promise.all(attempt.mates.map((m) => this.crop(store, m, crops)))
    const template = attempt.target.templateId ? store.getTemplate(attempt.target.templateId)! : null
    const vector = template ? template.vector : Array.from((await encodeAlignedFaces(this.engine, seen, [truth], { signal: ctx.signal }))[0])
    const seed = attemptSeed(spec.seed, p.key)
    const run = store.createRun({
      method: method.id,
      parameters: method.parameters,
      seed,
      modelSha256s: { target: seen.entry.manifest.sha256 },
      softwareVersion: this.version,
      templateId: template?.id ?? null
    })
    const started = new Date()
    store.updateRun(run.id, { status: 'running', startedAt: started.toISOString() })
    try {
      const result = await this.runs.invert({
        template: { vector, encoderId: seen.entry.manifest.id, encoderSha256: seen.entry.manifest.sha256 },
        method: method.id,
        parameters: method.parameters,
        seed,
        signal: ctx.signal,
        groundTruth: truth,
        sameIdentity: mates
      })
      const gt = store.addImage(await encodePng(truth), { mime: 'image/png', width: truth.width, height: truth.height, originalName: `truth-${attempt.target.id.replace(/[^\w.-]+/g, '_')}` })
      const image = store.addImage(result.png, { mime: 'image/png', width: 112, height: 112, originalName: `${method.id}-${run.id}.png` })
      const data: EvaluationAttemptData = {
        evaluationId,
        attemptKey: p.key,
        subject: attempt.subject,
        targetId: attempt.target.id,
        targetSource: attempt.target.source,
        targetSourceSha256: attempt.target.sourceSha256,
        mateIds: attempt.mates.map((m) => m.id),
        groundTruthSha256: gt.sha256,
        psnr: finiteOr(psnr(result.image, truth), 100),
        ssim: ssim(result.image, truth),
        msSsim: msSsim(result.image, truth)
      }
      store.addResult({ runId: run.id, kind: 'reconstruction', data: { ...inversionRecord(result), evaluation: data }, imageSha256: image.sha256 })
      const finished = new Date()
      store.updateRun(run.id, {
        status: 'succeeded',
        finishedAt: finished.toISOString(),
        seconds: (finished.getTime() - started.getTime()) / 1000,
        summary: { similarity: result.similarity, queries: result.queries, imageSha256: image.sha256, modelSha256s: result.modelSha256s, scores: result.scores, evaluationId }
      })
      store.evaluations.addRun({ evaluationId, attemptKey: p.key, method: method.id, subject: attempt.subject, runId: run.id })
    } catch (err) {
      const cancelled = ctx.signal.aborted || (err as Error).name === 'AbortError'
      store.updateRun(run.id, { status: cancelled ? 'cancelled' : 'failed', finishedAt: new Date().toISOString(), error: cancelled ? null : (err as Error).message })
      throw err
    }
  }

  /** The evaluation's attempts as stored: its runs' reconstruction results. */
  storedAttempts(store: CaseStore, evaluationId: string): { link: EvaluationRunLink; record: ReconstructionRecord & { evaluation: EvaluationAttemptData }; imageSha256: string }[] {
    return store.evaluations.runs(evaluationId).map((link) => {
      const result = store.listResults(link.runId).find((r) => r.kind === 'reconstruction')
      if (!result?.imageSha256) throw new Error(`run ${link.runId} of evaluation ${evaluationId} has no stored reconstruction`)
      return { link, record: result.data as ReconstructionRecord & { evaluation: EvaluationAttemptData }, imageSha256: result.imageSha256 }
    })
  }

  /** Recomputes every figure from what the case stores (the reconstructions' PNGs) and the dataset's photos. */
  private async metrics(store: CaseStore, evaluationId: string, spec: EvaluationSpec, plan: EvaluationPlan, crops: Map<string, RgbImage>, signal: AbortSignal): Promise<EvaluationMetrics> {
    const stored = this.storedAttempts(store, evaluationId)
    const photos = new Map<string, EvalPhoto>()
    for (const a of plan.attempts) for (const p of [a.target, ...a.mates]) photos.set(p.id, p)
    for (const [a, b] of plan.listedImpostors) for (const p of [a, b]) photos.set(p.id, p)
    const photoList = [...photos.values()]
    const photoCrops = []
    for (const p of photoList) photoCrops.push(await this.crop(store, p, crops))
    const reconImages = []
    for (const s of stored) reconImages.push(await decodeImage(new Uint8Array(readFileSync(store.imagePath(s.imageSha256))), s.link.runId))
    const detector = await this.loader.prepare(this.registry.defaults().detector)
    const faces = await faceDetectionRate(this.engine, detector, reconImages, { signal })
    const encoders: EncoderEmbeddings[] = []
    for (const id of spec.encoderIds) {
      const model = await this.loader.prepare(id)
      const pv = await encodeAlignedFaces(this.engine, model, photoCrops, { signal })
      const rv = await encodeAlignedFaces(this.engine, model, reconImages, { signal })
      encoders.push({
        encoderId: id,
        encoderSha256: model.entry.manifest.sha256,
        thresholds: model.entry.thresholds ?? this.registry.get(id).thresholds ?? null,
        photos: new Map(photoList.map((p, i) => [p.id, pv[i]])),
        reconstructions: new Map(stored.map((s, i) => [s.link.attemptKey, rv[i]]))
      })
    }
    const done: DoneAttempt[] = stored.map((s, i) => ({
      key: s.link.attemptKey,
      method: s.link.method,
      subject: s.link.subject,
      targetId: s.record.evaluation.targetId,
      mateIds: s.record.evaluation.mateIds,
      psnr: s.record.evaluation.psnr,
      ssim: s.record.evaluation.ssim,
      msSsim: s.record.evaluation.msSsim,
      validationSha256: s.record.modelSha256s.validation ?? null,
      faceScore: faces.scores[i],
      seconds: s.record.seconds ?? 0,
      queries: s.record.queries ?? 0
    }))
    return computeMetrics({ attempts: plan.attempts, done, methods: spec.methods.map((m) => m.id), seenEncoderId: spec.seenEncoderId, encoders, listedImpostors: plan.listedImpostors })
  }
}
