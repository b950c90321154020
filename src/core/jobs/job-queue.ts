import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { JobProgress, RunRecord, RunStatus } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import type { CaseStore, RunCreateInput, RunPatch } from '../cases/case-store'

export interface ProgressUpdate {
  step: number
  /** Revises the expected number of steps (e.g. a method that stops early). */
  totalSteps?: number
  bestScore?: number | null
  message?: string | null
  /** Method-specific live data passed through to listeners (latest value wins). */
  detail?: Record<string, unknown> | null
}

export interface JobContext {
  runId: string
  /** Aborted by cancel(); the runner should stop and throw (an AbortError, or anything). */
  signal: AbortSignal
  progress(update: ProgressUpdate): void
}

/** What a runner returns: any JSON object, stored with the run as its summary. */
export type JobSummary = object

/** A run as the case stores it, plus how to do the work. */
export interface JobSpec<S extends JobSummary = JobSummary> extends RunCreateInput {
  /**
   * The case the run belongs to and is stored in. Null for work outside any case (measuring a
   * model): such a job queues, reports and cancels alike, but its run record lives only in memory.
   */
  caseStore: CaseStore | null
  totalSteps: number
  /**
   * The work runs on other machines (a queued evaluation's workers) and this process only
   * collects results: the job starts at once and takes no local slot, so local jobs are not held
   * up behind it for as long as the workers take.
   */
  elsewhere?: boolean
  /** Does the work; resolves with the run summary that is stored with the run. */
  run: (ctx: JobContext) => Promise<S | null | void>
}

/** A queued job and its typed outcome: the summary its runner returned, or the reason it did not. */
export interface JobHandle<S extends JobSummary> {
  runId: string
  /** Resolves when the run succeeded; rejects with the run's error when it failed or was cancelled. */
  outcome: Promise<S | null>
}

export interface JobQueueOptions {
  /** Jobs run at the same time; default 1 (inference saturates the accelerator anyway). */
  concurrency?: number
  /** Minimum gap between progress events of one job; default 100 ms (at most ~10/s). */
  progressIntervalMs?: number
  /** Milliseconds clock for timing and ETA (tests pin it); default Date.now. */
  clock?: () => number
}

export type JobQueueEvents = {
  progress: [JobProgress]
  /** The run as stored once it reached succeeded, failed or cancelled. */
  finished: [RunRecord]
}

type FinalStatus = Extract<RunStatus, 'succeeded' | 'failed' | 'cancelled'>

interface Job {
  runId: string
  spec: JobSpec
  status: RunStatus
  step: number
  totalSteps: number
  bestScore: number | null
  message: string | null
  detail: Record<string, unknown> | null
  controller: AbortController
  startedAtMs: number | null
  lastEmitMs: number
  trailing: ReturnType<typeof setTimeout> | null
  /** The run record of a job without a case; case jobs keep theirs in the case. */
  detached: RunRecord | null
  done: Promise<RunRecord>
  resolve(record: RunRecord): void
  reject(err: Error): void
}

/** How many finished jobs wait() still knows about. */
const RECENT_LIMIT = 100

function isAbortError(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError'
}

function checkSteps(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ValidationError(`${what} must be an integer ≥ 0, got ${String(value)}`)
  return value
}

/**
 * Runs reconstruction jobs in order, a few at a time, persisting each job as a run of its case
 * (queued → running → succeeded | failed | cancelled) and reporting progress with an ETA.
 */
export class JobQueue extends EventEmitter<JobQueueEvents> {
  private readonly concurrency: number
  private readonly progressIntervalMs: number
  private readonly clock: () => number
  private readonly jobs = new Map<string, Job>()
  private readonly waiting: Job[] = []
  private readonly recent = new Map<string, Promise<RunRecord>>()
  private active = 0

  constructor(options: JobQueueOptions = {}) {
    super()
    this.concurrency = options.concurrency ?? 1
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new ValidationError(`job concurrency must be an integer ≥ 1, got ${String(options.concurrency)}`)
    this.progressIntervalMs = options.progressIntervalMs ?? 100
    if (!Number.isFinite(this.progressIntervalMs) || this.progressIntervalMs < 0) {
      throw new ValidationError(`progressIntervalMs must be a number ≥ 0, got ${String(options.progressIntervalMs)}`)
    }
    this.clock = options.clock ?? Date.now
  }

  /** Stores the run (status queued) and schedules it; returns the run id. Bad input throws and queues nothing. */
  enqueue(spec: JobSpec): string {
    if (!spec || typeof spec !== 'object') throw new ValidationError('job spec must be an object')
    if (spec.caseStore !== null && typeof spec.caseStore?.createRun !== 'function') throw new ValidationError('job caseStore must be a CaseStore or null')
    if (typeof spec.run !== 'function') throw new ValidationError('job run must be a function')
    const totalSteps = checkSteps(spec.totalSteps, 'job totalSteps')
    const input = {
      method: spec.method,
      parameters: spec.parameters,
      seed: spec.seed,
      modelSha256s: spec.modelSha256s,
      softwareVersion: spec.softwareVersion,
      templateId: spec.templateId
    }
    const record = spec.caseStore ? spec.caseStore.createRun(input) : this.detachedRun(input)

    let resolve!: (record: RunRecord) => void
    let reject!: (err: Error) => void
    const done = new Promise<RunRecord>((res, rej) => {
      resolve = res
      reject = rej
    })
    // A failed save matters to wait() callers; when there are none it must not surface as an unhandled rejection.
    done.catch(() => undefined)
    const job: Job = {
      runId: record.id,
      spec,
      status: 'queued',
      step: 0,
      totalSteps,
      bestScore: null,
      message: null,
      detail: null,
      controller: new AbortController(),
      startedAtMs: null,
      lastEmitMs: Number.NEGATIVE_INFINITY,
      trailing: null,
      detached: spec.caseStore ? null : record,
      done,
      resolve,
      reject
    }
    this.jobs.set(job.runId, job)
    this.waiting.push(job)
    this.emitProgress(job)
    // Start on a microtask so the caller has the run id before the runner's first progress.
    queueMicrotask(() => this.pump())
    return job.runId
  }

  /** Aborts a running job or drops a queued one; false if the run is not active in this queue. */
  cancel(runId: string): boolean {
    const job = this.jobs.get(runId)
    if (!job) return false
    if (job.status === 'queued') {
      this.waiting.splice(this.waiting.indexOf(job), 1)
      this.complete(job, 'cancelled', null, null)
      return true
    }
    job.controller.abort()
    return true
  }

  /** Progress of every queued and running job, in the order they were enqueued. */
  list(): JobProgress[] {
    return [...this.jobs.values()].map((job) => this.snapshot(job))
  }

  /** The stored run once the job has finished; rejects if its final state could not be saved. */
  /** Enqueues like enqueue(), keeping the summary typed as the runner returns it. */
  submit<S extends JobSummary>(spec: JobSpec<S>): JobHandle<S> {
    let summary: S | null = null
    const runId = this.enqueue({ ...spec, run: async (ctx) => (summary = (await spec.run(ctx)) ?? null) })
    const outcome = this.wait(runId).then((record) => {
      if (record.status !== 'succeeded') throw new Error(record.error ?? `run ${record.status}`)
      return summary
    })
    // Callers that only follow progress never read the outcome; a failure must not go unhandled.
    outcome.catch(() => undefined)
    return { runId, outcome }
  }

  wait(runId: string): Promise<RunRecord> {
    const pending = this.jobs.get(runId)?.done ?? this.recent.get(runId)
    return pending ?? Promise.reject(new Error(`run ${runId} is not known to this job queue`))
  }

  /** Resolves once nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.jobs.size > 0) await Promise.allSettled([...this.jobs.values()].map((job) => job.done))
  }

  private pump(): void {
    for (const job of this.waiting.filter((j) => j.spec.elsewhere)) {
      this.waiting.splice(this.waiting.indexOf(job), 1)
      this.start(job)
    }
    while (this.active < this.concurrency && this.waiting.length > 0) this.start(this.waiting.shift() as Job)
  }

  private start(job: Job): void {
    if (!job.spec.elsewhere) this.active++
    job.status = 'running'
    job.startedAtMs = this.clock()
    try {
      this.save(job, { status: 'running', startedAt: new Date(job.startedAtMs).toISOString() })
    } catch (err) {
      this.complete(job, 'failed', `could not start: ${(err as Error).message}`, null)
      return
    }
    this.emitProgress(job)
    const ctx: JobContext = {
      runId: job.runId,
      signal: job.controller.signal,
      progress: (update) => this.onProgress(job, update)
    }
    Promise.resolve()
      .then(() => job.spec.run(ctx))
      .then(
        (summary) => {
          // A runner that returns after cancel() may hand back partial results; keep them, but the run was cancelled.
          const status: FinalStatus = job.controller.signal.aborted ? 'cancelled' : 'succeeded'
          this.complete(job, status, null, summary ?? null)
        },
        (err: unknown) => {
          if (job.controller.signal.aborted || isAbortError(err)) this.complete(job, 'cancelled', null, null)
          else this.complete(job, 'failed', err instanceof Error ? err.message : String(err), null)
        }
      )
  }

  private onProgress(job: Job, update: ProgressUpdate): void {
    // Late calls (after cancel or completion) are harmless; ignore them rather than throw into the runner.
    if (job.status !== 'running') return
    if (!update || typeof update !== 'object') throw new ValidationError('progress update must be an object')
    const step = checkSteps(update.step, 'progress step')
    const totalSteps = update.totalSteps === undefined ? job.totalSteps : checkSteps(update.totalSteps, 'progress totalSteps')
    if (update.bestScore !== undefined && update.bestScore !== null && (typeof update.bestScore !== 'number' || !Number.isFinite(update.bestScore))) {
      throw new ValidationError(`progress bestScore must be a finite number or null, got ${String(update.bestScore)}`)
    }
    if (update.message !== undefined && update.message !== null && typeof update.message !== 'string') throw new ValidationError('progress message must be a string or null')
    job.step = step
    job.totalSteps = totalSteps
    if (update.bestScore !== undefined) job.bestScore = update.bestScore
    if (update.message !== undefined) job.message = update.message
    if (update.detail !== undefined) job.detail = update.detail

    const sinceLast = this.clock() - job.lastEmitMs
    // Updates with method detail (a chart point, a preview) are each worth delivering; methods
    // send them at most once per generation, so they bypass the throttle.
    if (sinceLast >= this.progressIntervalMs || update.detail !== undefined) {
      this.emitProgress(job)
    } else if (!job.trailing) {
      // Throttled: send the latest state once the interval is up, so a pause after a burst is not left stale.
      job.trailing = setTimeout(() => {
        job.trailing = null
        if (job.status === 'running') this.emitProgress(job)
      }, this.progressIntervalMs - sinceLast)
      job.trailing.unref?.()
    }
  }

  private complete(job: Job, status: FinalStatus, error: string | null, summary: JobSummary | null): void {
    if (job.trailing) clearTimeout(job.trailing)
    job.trailing = null
    const wasRunning = job.status === 'running'
    const endMs = this.clock()
    const finishedAt = new Date(endMs).toISOString()
    const seconds = job.startedAtMs === null ? null : Math.max(0, (endMs - job.startedAtMs) / 1000)

    let finalStatus = status
    let finalError = error
    let record: RunRecord | null = null
    let saveError: Error | null = null
    try {
      record = this.save(job, { status, finishedAt, seconds, error, summary: summary as RunRecord['summary'] })
    } catch (err) {
      saveError = err as Error
      // Most likely the summary is not storable; the run still has to end up finished.
      if (summary !== null) {
        finalStatus = status === 'succeeded' ? 'failed' : status
        finalError = `run summary could not be stored: ${saveError.message}`
        try {
          record = this.save(job, { status: finalStatus, finishedAt, seconds, error: finalError, summary: null })
          saveError = null
        } catch (retryErr) {
          saveError = retryErr as Error
        }
      }
    }

    job.status = finalStatus
    if (finalStatus === 'succeeded' && job.step < job.totalSteps) job.step = job.totalSteps
    if (finalError !== null) job.message = finalError
    this.jobs.delete(job.runId)
    this.recent.set(job.runId, job.done)
    if (this.recent.size > RECENT_LIMIT) this.recent.delete(this.recent.keys().next().value as string)
    if (wasRunning && !job.spec.elsewhere) this.active--

    this.emitProgress(job)
    if (record) {
      this.notify(() => this.emit('finished', record))
      job.resolve(record)
    } else {
      job.reject(new Error(`run ${job.runId} ended ${finalStatus} but that could not be saved: ${(saveError as Error).message}`))
    }
    queueMicrotask(() => this.pump())
  }

  private detachedRun(input: Omit<JobSpec, 'caseStore' | 'totalSteps' | 'run'>): RunRecord {
    for (const field of ['method', 'softwareVersion'] as const) {
      if (typeof input[field] !== 'string' || input[field].trim() === '') throw new ValidationError(`job ${field} must be a non-empty string`)
    }
    if (input.templateId != null) throw new ValidationError('a job without a case cannot refer to a template')
    return {
      id: randomUUID(),
      method: input.method,
      status: 'queued',
      parameters: input.parameters ?? {},
      seed: input.seed ?? null,
      modelSha256s: input.modelSha256s ?? {},
      softwareVersion: input.softwareVersion,
      templateId: null,
      createdAt: new Date(this.clock()).toISOString(),
      startedAt: null,
      finishedAt: null,
      seconds: null,
      error: null,
      summary: null
    }
  }

  /** Stores a status change: in the case for case jobs, in memory for the others. */
  private save(job: Job, patch: RunPatch): RunRecord {
    if (job.spec.caseStore) return job.spec.caseStore.updateRun(job.runId, patch)
    job.detached = { ...(job.detached as RunRecord), ...patch }
    return job.detached
  }

  private snapshot(job: Job): JobProgress {
    return {
      runId: job.runId,
      caseDir: job.spec.caseStore?.dir ?? '',
      status: job.status,
      step: job.step,
      totalSteps: job.totalSteps,
      bestScore: job.bestScore,
      etaSeconds: this.eta(job),
      message: job.message,
      detail: job.detail
    }
  }

  /** Remaining time extrapolated from the mean time per step so far. */
  private eta(job: Job): number | null {
    if (job.status === 'succeeded') return 0
    if (job.status !== 'running' || job.startedAtMs === null || job.step <= 0 || job.totalSteps <= 0) return null
    const elapsed = (this.clock() - job.startedAtMs) / 1000
    return (elapsed / job.step) * Math.max(0, job.totalSteps - job.step)
  }

  private emitProgress(job: Job): void {
    job.lastEmitMs = this.clock()
    const progress = this.snapshot(job)
    this.notify(() => this.emit('progress', progress))
  }

  /** A listener's exception must not leave the queue half-updated; it is rethrown on its own tick instead. */
  private notify(emit: () => void): void {
    try {
      emit()
    } catch (err) {
      setImmediate(() => {
        throw err
      })
    }
  }
}
