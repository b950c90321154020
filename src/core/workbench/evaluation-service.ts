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
import type { JobContext, JobQueue, ProgressUpdate } from '../jobs/job-queue'
import { getMethod, resolveParameters } from '../methods/method-registry'
import type { ModelLoader, PreparedModel } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import type { CaseService } from './case-service'
import { EvaluationQueue } from '../queue/evaluation-queue'
import { attemptJobId, jobEvaluationId, readAttemptResult, type AttemptFigures, type AttemptJobData, type AttemptJobResult, type JobModel } from '../queue/evaluation-job'
import { QueuedEvaluation } from '../queue/queued-evaluation'
import { parseQueueUrl } from '../queue/queue-connection'
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
  /** A Redis URL (redis://HOST:PORT): the attempts go to `unveil worker` processes on any machine; null: this process. */
  queueUrl?: string | null
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

/** One attempt of an evaluation: the method and the target photo with its key. */
type PendingAttempt = { method: EvaluationSpec['methods'][number]; attempt: EvaluationPlan['attempts'][number]; key: string }

/** A reconstruction of one attempt with its image-quality figures, made in this process or by a queue worker. */
export interface AttemptOutcome extends AttemptFigures {
  png: Uint8Array
}

/** What reconstructing one attempt needs: models, images, no case. */
export interface AttemptInput {
  method: EvaluationSpec['methods'][number]
  seed: number
  seen: PreparedModel
  /** The target template; null: the ground-truth crop encoded with the seen encoder. */
  vector: number[] | null
  truth: RgbImage
  mates: RgbImage[]
  scoringEncoderIds?: string[]
}

/** One start of an evaluation: what it is and what is left to do. */
interface EvaluationRun {
  store: CaseStore
  evaluationId: string
  spec: EvaluationSpec
  plan: EvaluationPlan
  pending: PendingAttempt[]
  doneBefore: number
  /** Aligned crops decoded so far, by photo id. */
  crops: Map<string, RgbImage>
}

type EvaluationSummary = { evaluationId: string; attempts: number; subjects: number }

/** How often a queued evaluation refreshes its worker list and progress while no event comes. */
const QUEUE_TICK_MS = 1000
/** How often it asks for the state of every job still out, in case a completion event was missed. */
const QUEUE_SWEEP_MS = 15_000
/** Jobs built and added at a time: their crops travel inside them. */
const SUBMIT_BATCH = 32

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
    if (input.queueUrl) throw new ValidationError('a queued evaluation starts with startQueued()')
    return this.begin(input, (ctx, run) => this.work(ctx, run))
  }

  /**
   * Starts (or resumes) the evaluation on a queue: one job per attempt for `unveil worker`
   * processes, the results written into the case here as they come back. A queue that does
   * not answer is refused in one line before anything is written.
   */
  async startQueued(input: EvaluationInput): Promise<EvaluationStart> {
    const address = parseQueueUrl(input.queueUrl)
    // Everything the spec checks is refused before the queue is tried.
    this.plan(this.cases.store(input.caseId), this.spec(input))
    const queue = await EvaluationQueue.open(address, this.queueHandlers)
    try {
      return this.begin(input, (ctx, run) => this.workQueued(ctx, run, queue))
    } catch (err) {
      await queue.close()
      throw err
    }
  }

  private begin(input: EvaluationInput, runner: (ctx: JobContext, run: EvaluationRun) => Promise<EvaluationSummary>): EvaluationStart {
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
    const run: EvaluationRun = { store, evaluationId: evaluation.id, spec, plan, pending, doneBefore: total - pending.length, crops: new Map() }
    const { runId } = this.jobs.submit({
      caseStore: store,
      method: 'evaluation',
      parameters: { evaluationId: evaluation.id, methods: spec.methods.map((m) => m.id).join(','), attempts: total, ...(input.queueUrl ? { queue: parseQueueUrl(input.queueUrl).display } : {}) },
      seed: spec.seed,
      modelSha256s: Object.fromEntries(spec.encoderIds.map((id) => [`encoder:${id}`, this.registry.get(id).manifest.sha256])),
      softwareVersion: this.version,
      templateId: null,
      totalSteps: pending.length + 1,
      elsewhere: Boolean(input.queueUrl),
      run: (ctx) => this.finish(ctx, run, runner)
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

  /** Runs the attempts (here or on a queue), then computes the metrics from what the case stores. */
  private async finish(ctx: JobContext, run: EvaluationRun, runner: (ctx: JobContext, run: EvaluationRun) => Promise<EvaluationSummary>): Promise<EvaluationSummary> {
    const { store, evaluationId, spec, plan } = run
    try {
      await runner(ctx, run)
      ctx.progress({ step: run.pending.length, message: 'computing metrics' })
      const metrics = await this.metrics(store, evaluationId, spec, plan, run.crops, ctx.signal)
      store.evaluations.update(evaluationId, { status: 'succeeded', metrics, error: null })
      return { evaluationId, attempts: metrics.attempts, subjects: metrics.subjects }
    } catch (err) {
      const cancelled = ctx.signal.aborted || (err as Error).name === 'AbortError'
      store.evaluations.update(evaluationId, { status: cancelled ? 'cancelled' : 'failed', error: cancelled ? null : (err as Error).message })
      throw err
    }
  }

  private async work(ctx: JobContext, run: EvaluationRun): Promise<EvaluationSummary> {
    const { pending, doneBefore } = run
    const seen = await this.loader.prepare(run.spec.seenEncoderId)
    const total = pending.length + doneBefore
    const perMethod = new Map<string, { seconds: number; n: number; left: number }>()
    for (const p of pending) {
      const m = perMethod.get(p.method.id) ?? { seconds: 0, n: 0, left: 0 }
      m.left++
      perMethod.set(p.method.id, m)
    }
    let step = 0
    for (const p of pending) {
      if (ctx.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' })
      const t0 = performance.now()
      await this.attempt(ctx, run, p, seen)
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
    return { evaluationId: run.evaluationId, attempts: total, subjects: run.plan.attempts.length }
  }

  /** Reconstructs one target and scores it; needs models only, no case, so a queue worker runs it as well. */
  async reconstruct(input: AttemptInput, signal: AbortSignal, progress?: (u: ProgressUpdate) => void): Promise<AttemptOutcome> {
    const { seen, truth } = input
    const vector = input.vector ?? Array.from((await encodeAlignedFaces(this.engine, seen, [truth], { signal }))[0])
    const startedAt = new Date().toISOString()
    const result = await this.runs.invert({
      template: { vector, encoderId: seen.entry.manifest.id, encoderSha256: seen.entry.manifest.sha256 },
      method: input.method.id,
      parameters: input.method.parameters,
      seed: input.seed,
      signal,
      progress,
      groundTruth: truth,
      sameIdentity: input.mates,
      scoringEncoderIds: input.scoringEncoderIds
    })
    return {
      png: result.png,
      record: inversionRecord(result),
      psnr: finiteOr(psnr(result.image, truth), 100),
      ssim: ssim(result.image, truth),
      msSsim: msSsim(result.image, truth),
      startedAt,
      finishedAt: new Date().toISOString()
    }
  }

  private async attempt(ctx: JobContext, run: EvaluationRun, p: PendingAttempt, seen: PreparedModel): Promise<void> {
    const { store } = run
    const truth = await this.crop(store, p.attempt.target, run.crops)
    const mates = await Promise.all(p.attempt.mates.map((m) => this.crop(store, m, run.crops)))
    const template = p.attempt.target.templateId ? store.getTemplate(p.attempt.target.templateId)! : null
    const seed = attemptSeed(run.spec.seed, p.key)
    const row = store.createRun({ method: p.method.id, parameters: p.method.parameters, seed, modelSha256s: { target: seen.entry.manifest.sha256 }, softwareVersion: this.version, templateId: template?.id ?? null })
    store.updateRun(row.id, { status: 'running', startedAt: new Date().toISOString() })
    try {
      const outcome = await this.reconstruct({ method: p.method, seed, seen, vector: template ? template.vector : null, truth, mates }, ctx.signal)
      this.store(run, row.id, p, truth, await encodePng(truth), outcome)
    } catch (err) {
      const cancelled = ctx.signal.aborted || (err as Error).name === 'AbortError'
      store.updateRun(row.id, { status: cancelled ? 'cancelled' : 'failed', finishedAt: new Date().toISOString(), error: cancelled ? null : (err as Error).message })
      throw err
    }
  }

  /** Writes an attempt's images, result and link; synchronous, so no other write of the same attempt can come between the check and these. */
  private store(run: Pick<EvaluationRun, 'store' | 'evaluationId'>, runId: string, p: PendingAttempt, truth: RgbImage, truthPng: Uint8Array, outcome: AttemptOutcome): void {
    const { store, evaluationId } = run
    const { attempt, method } = p
    const gt = store.addImage(truthPng, { mime: 'image/png', width: truth.width, height: truth.height, originalName: `truth-${attempt.target.id.replace(/[^\w.-]+/g, '_')}` })
    const image = store.addImage(outcome.png, { mime: 'image/png', width: 112, height: 112, originalName: `${method.id}-${runId}.png` })
    const data: EvaluationAttemptData = {
      evaluationId,
      attemptKey: p.key,
      subject: attempt.subject,
      targetId: attempt.target.id,
      targetSource: attempt.target.source,
      targetSourceSha256: attempt.target.sourceSha256,
      mateIds: attempt.mates.map((m) => m.id),
      groundTruthSha256: gt.sha256,
      psnr: outcome.psnr,
      ssim: outcome.ssim,
      msSsim: outcome.msSsim
    }
    const r = outcome.record
    store.addResult({ runId, kind: 'reconstruction', data: { ...r, evaluation: data }, imageSha256: image.sha256 })
    store.updateRun(runId, {
      status: 'succeeded',
      finishedAt: outcome.finishedAt,
      seconds: (Date.parse(outcome.finishedAt) - Date.parse(outcome.startedAt)) / 1000,
      summary: { similarity: r.similarity, queries: r.queries, imageSha256: image.sha256, modelSha256s: r.modelSha256s, scores: r.scores, evaluationId }
    })
    store.evaluations.addRun({ evaluationId, attemptKey: p.key, method: method.id, subject: attempt.subject, runId })
  }

  /**
   * The models a queued attempt may use, each pinned by sha256: the seen encoder, the encoders it
   * is scored under (all registered here, as a local run scores) and every model a method
   * parameter names; a parameter left empty lets the method choose, so all models of its role.
   */
  private jobModels(spec: EvaluationSpec): JobModel[] {
    const ids = new Set<string>([spec.seenEncoderId, ...this.registry.byRole('encoder').map((e) => e.manifest.id)])
    for (const m of spec.methods) {
      for (const p of getMethod(m.id).info.parameters) {
        if (p.type !== 'model') continue
        const value = m.parameters[p.key]
        if (typeof value === 'string' && value !== '') ids.add(value)
        else if (p.role) for (const e of this.registry.byRole(p.role)) ids.add(e.manifest.id)
      }
    }
    return [...ids].map((id) => ({ id, sha256: this.registry.get(id).manifest.sha256 }))
  }

  private async imageFile(store: CaseStore, photo: EvalPhoto, crops: Map<string, RgbImage>): Promise<string> {
    // An aligned crop travels as its file; a case photo's crop as a lossless PNG.
    const bytes = photo.cropFile ? readFileSync(photo.cropFile) : await encodePng(await this.crop(store, photo, crops))
    return Buffer.from(bytes).toString('base64')
  }

  private async jobData(run: EvaluationRun, p: PendingAttempt, models: JobModel[]): Promise<AttemptJobData> {
    const { store, spec } = run
    const template = p.attempt.target.templateId ? store.getTemplate(p.attempt.target.templateId) : null
    if (p.attempt.target.templateId && !template) throw new Error(`template ${p.attempt.target.templateId} is no longer in the case`)
    return {
      kind: 'evaluation-attempt',
      softwareVersion: this.version,
      evaluationId: run.evaluationId,
      attemptKey: p.key,
      method: p.method,
      seed: attemptSeed(spec.seed, p.key),
      seenEncoder: models.find((m) => m.id === spec.seenEncoderId)!,
      models,
      scoringEncoderIds: this.registry.byRole('encoder').map((e) => e.manifest.id),
      vector: template ? template.vector : null,
      groundTruth: await this.imageFile(store, p.attempt.target, run.crops),
      mates: await Promise.all(p.attempt.mates.map((m) => this.imageFile(store, m, run.crops)))
    }
  }

  /** Queue events, routed to the queued evaluation whose job they are about. */
  private readonly queued = new Map<string, QueuedEvaluation<PendingAttempt>>()
  private readonly queueHandlers = {
    completed: (jobId: string) => this.queued.get(jobEvaluationId(jobId))?.completed(jobId),
    failed: (jobId: string, reason: string) => this.queued.get(jobEvaluationId(jobId))?.failed(jobId, reason),
    progress: (jobId: string, data: unknown) => this.queued.get(jobEvaluationId(jobId))?.progress(jobId, data),
    stalled: (jobId: string) => this.queued.get(jobEvaluationId(jobId))?.stalled(jobId)
  }

  private async workQueued(ctx: JobContext, run: EvaluationRun, queue: EvaluationQueue): Promise<EvaluationSummary> {
    const total = run.pending.length + run.doneBefore
    const byJob = new Map(run.pending.map((p) => [attemptJobId(run.evaluationId, p.key, attemptSeed(run.spec.seed, p.key)), p]))
    const q = new QueuedEvaluation(queue.address, byJob, run.doneBefore, total)
    this.queued.set(run.evaluationId, q)
    const report = (): void => {
      const status = q.status()
      const rate = status.perMinute === null ? '' : `, ${status.perMinute.toFixed(1)}/min`
      ctx.progress({
        step: status.done - run.doneBefore,
        message: `${status.done}/${total} reconstructions, ${status.active.length} running on ${status.workers.filter((w) => w.connected).length} workers (${queue.address.display})${rate}`,
        detail: { done: status.done, total, queue: status }
      })
    }
    try {
      const models = this.jobModels(run.spec)
      const jobs = [...byJob]
      for (let i = 0; i < jobs.length; i += SUBMIT_BATCH) {
        if (ctx.signal.aborted) break
        const batch = await Promise.all(jobs.slice(i, i + SUBMIT_BATCH).map(async ([id, p]) => ({ id, data: await this.jobData(run, p, models) })))
        const { completed } = await queue.submit(batch)
        // Results that were waiting in the queue (made while no owner listened) are read now.
        for (const id of completed) q.completed(id)
      }
      q.connected(await queue.workers())
      report()
      let swept = performance.now()
      while (!q.finished() && !ctx.signal.aborted) {
        const notice = await q.next(QUEUE_TICK_MS)
        if (notice?.kind === 'completed') await this.ingest(run, queue, q, notice.jobId)
        // A failed attempt that has tries left is back in the queue; only a final failure ends the evaluation.
        else if (notice?.kind === 'failed' && (await queue.state(notice.jobId)) === 'failed') throw new Error(`job ${notice.jobId} (${q.attempt(notice.jobId)?.key}) failed: ${notice.reason}`)
        else if (!notice) {
          q.connected(await queue.workers())
          if (performance.now() - swept > QUEUE_SWEEP_MS) {
            // A completion whose event was missed (the connection dropped meanwhile) is found by asking.
            for (const id of q.outstanding()) if ((await queue.state(id)) === 'completed') q.completed(id)
            swept = performance.now()
          }
        }
        report()
      }
      if (ctx.signal.aborted) throw Object.assign(new Error('cancelled'), { name: 'AbortError' })
      return { evaluationId: run.evaluationId, attempts: total, subjects: run.plan.attempts.length }
    } finally {
      this.queued.delete(run.evaluationId)
      if (!q.finished()) await queue.withdraw(q.outstanding()).catch(() => undefined)
      await queue.close()
    }
  }

  /** Writes a finished job's result into the case; a result already stored (a duplicate delivery) changes nothing. */
  private async ingest(run: EvaluationRun, queue: EvaluationQueue, q: QueuedEvaluation<PendingAttempt>, jobId: string): Promise<void> {
    const p = q.attempt(jobId)
    if (!p) return
    const outcome = await queue.outcome(jobId)
    if (outcome?.failedReason && !outcome.returnvalue) throw new Error(`job ${jobId} (${p.key}) failed: ${outcome.failedReason}`)
    const result = readAttemptResult(outcome?.returnvalue)
    if (!result || result.evaluationId !== run.evaluationId || result.attemptKey !== p.key) throw new Error(`job ${jobId} (${p.key}) returned no result of this attempt`)
    q.stored(jobId, result.worker, await this.storeResult(run, p, result))
    await queue.remove(jobId)
  }

  /**
   * Writes a queue worker's result into the case, as the owner does when it arrives (the result
   * of a job, read back from the queue); false when the attempt is already stored.
   */
  async storeQueuedResult(caseId: string, evaluationId: string, result: AttemptJobResult): Promise<boolean> {
    const store = this.cases.store(caseId)
    const evaluation = this.get(caseId, evaluationId)
    if (result.evaluationId !== evaluationId) throw new ValidationError(`the result belongs to evaluation ${result.evaluationId}, not ${evaluationId}`)
    const plan = this.plan(store, evaluation.spec)
    const p = evaluation.spec.methods.flatMap((m) => plan.attempts.map((a) => ({ method: m, attempt: a, key: attemptKey(a, m.id) }))).find((x) => x.key === result.attemptKey)
    if (!p) throw new ValidationError(`evaluation ${evaluationId} has no attempt ${result.attemptKey}`)
    return this.storeResult({ store, evaluationId, crops: new Map() }, p, result)
  }

  /**
   * Stores one worker result of a queued attempt unless the attempt is already stored: a result
   * is keyed by evaluation, attempt (target and method) and seed (the seed derives from those),
   * so delivering it twice writes nothing the second time. Returns whether it wrote.
   */
  private async storeResult(run: Pick<EvaluationRun, 'store' | 'evaluationId' | 'crops'>, p: PendingAttempt, result: AttemptJobResult): Promise<boolean> {
    const { store, evaluationId } = run
    const truth = await this.crop(store, p.attempt.target, run.crops)
    const truthPng = await encodePng(truth)
    const png = new Uint8Array(Buffer.from(result.png, 'base64'))
    const decoded = await decodeImage(png, `result of ${p.key}`)
    if (decoded.width !== 112 || decoded.height !== 112) throw new Error(`the result of ${p.key} is ${decoded.width}x${decoded.height}, not a 112x112 reconstruction`)
    // No await from here on: the check and the writes are one step of this process.
    if (store.evaluations.runs(evaluationId).some((l) => l.attemptKey === p.key)) return false
    const r = result.record
    const template = p.attempt.target.templateId ? store.getTemplate(p.attempt.target.templateId) : null
    const row = store.createRun({ method: p.method.id, parameters: p.method.parameters, seed: r.seed ?? 0, modelSha256s: { target: r.modelSha256s.target ?? '' }, softwareVersion: r.softwareVersion ?? this.version, templateId: template?.id ?? null })
    store.updateRun(row.id, { status: 'running', startedAt: result.startedAt })
    this.store(run, row.id, p, truth, truthPng, { ...result, png })
    return true
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
    // In plan order, not the order results were stored in: queue workers finish in any order, and the bootstrap resamples by position.
    const order = new Map(spec.methods.flatMap((m) => plan.attempts.map((a) => attemptKey(a, m.id))).map((k, i) => [k, i]))
    const stored = this.storedAttempts(store, evaluationId).sort((a, b) => (order.get(a.link.attemptKey) ?? Infinity) - (order.get(b.link.attemptKey) ?? Infinity))
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
