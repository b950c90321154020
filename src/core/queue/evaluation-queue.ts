import { Job, Queue, QueueEvents, type JobsOptions } from 'bullmq'
import type { AttemptJobData } from './evaluation-job'
import { EVALUATION_QUEUE } from './evaluation-job'
import { connectionOptions, probeQueue, type QueueAddress } from './queue-connection'

/** A week: a result waits that long for an owner that was away (it resumes the evaluation and finds it); the owner deletes each job once stored. */
const KEEP_SECONDS = 7 * 24 * 3600

/**
 * At-least-once: a job whose worker died (its lock expired) or that failed for a passing reason
 * goes back to the queue; refusals (another version, unknown model) fail at once.
 */
const JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: KEEP_SECONDS },
  removeOnFail: { age: KEEP_SECONDS }
}

export type QueueJobState = 'completed' | 'failed' | 'active' | 'waiting' | 'delayed' | 'prioritized' | 'waiting-children' | 'unknown' | 'missing'

export interface QueueEventHandlers {
  completed(jobId: string): void
  failed(jobId: string, reason: string): void
  progress(jobId: string, data: unknown): void
  stalled(jobId: string): void
}

/** The owner's side of the queue: adds an evaluation's jobs, follows their events, reads their results. */
export class EvaluationQueue {
  private constructor(
    readonly address: QueueAddress,
    private readonly queue: Queue,
    private readonly events: QueueEvents
  ) {}

  /** Connects; an address that does not answer is refused in one line within seconds. */
  static async open(address: QueueAddress, handlers: QueueEventHandlers): Promise<EvaluationQueue> {
    await probeQueue(address)
    const connection = { url: address.url, ...connectionOptions() }
    const queue = new Queue(EVALUATION_QUEUE, { connection })
    const events = new QueueEvents(EVALUATION_QUEUE, { connection })
    // Connection errors are retried by ioredis; unhandled 'error' events would end the process.
    queue.on('error', () => undefined)
    events.on('error', () => undefined)
    events.on('completed', ({ jobId }) => handlers.completed(jobId))
    events.on('failed', ({ jobId, failedReason }) => handlers.failed(jobId, failedReason))
    events.on('progress', ({ jobId, data }) => handlers.progress(jobId, data))
    events.on('stalled', ({ jobId }) => handlers.stalled(jobId))
    // Listening before the jobs are added: no completion can slip between the two.
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()])
    return new EvaluationQueue(address, queue, events)
  }

  /**
   * Adds the jobs that are not in the queue yet (same id: same attempt, added once) and puts
   * failed ones back; returns the ids of those already completed, whose results wait to be read.
   */
  async submit(jobs: { id: string; data: AttemptJobData }[]): Promise<{ completed: string[] }> {
    const completed: string[] = []
    const add: { id: string; data: AttemptJobData }[] = []
    for (const j of jobs) {
      const state = await this.state(j.id)
      if (state === 'completed') completed.push(j.id)
      else if (state === 'failed') await (await Job.fromId(this.queue, j.id))?.retry('failed')
      else if (state === 'missing') add.push(j)
    }
    await this.queue.addBulk(add.map((j) => ({ name: 'attempt', data: j.data, opts: { ...JOB_OPTIONS, jobId: j.id } })))
    return { completed }
  }

  async state(jobId: string): Promise<QueueJobState> {
    const job = await Job.fromId(this.queue, jobId)
    return job ? ((await job.getState()) as QueueJobState) : 'missing'
  }

  /** A finished job's return value and failure reason. */
  async outcome(jobId: string): Promise<{ returnvalue: unknown; failedReason: string | null; attemptsMade: number } | null> {
    const job = await Job.fromId(this.queue, jobId)
    return job ? { returnvalue: job.returnvalue, failedReason: job.failedReason ?? null, attemptsMade: job.attemptsMade } : null
  }

  /** Names of the workers connected to the queue now. */
  async workers(): Promise<string[]> {
    // Each worker connection is named '<queue client>:w:<worker name>' (Redis CLIENT LIST has no spaces in names).
    const clients = (await this.queue.getWorkers()) as { rawname?: string; addr?: string }[]
    return [...new Set(clients.map((c) => (c.rawname?.includes(':w:') ? c.rawname.slice(c.rawname.indexOf(':w:') + 3) : (c.addr ?? '?'))))]
  }

  /** Deletes a finished job once its result is in the case: the crops and the reconstruction it carries should not outlive their use. */
  async remove(jobId: string): Promise<void> {
    await (await Job.fromId(this.queue, jobId))?.remove().catch(() => undefined)
  }

  /** Takes back the jobs no worker has started (cancel); running ones finish and wait for a resume. */
  async withdraw(jobIds: string[]): Promise<void> {
    for (const id of jobIds) {
      const job = await Job.fromId(this.queue, id)
      const state = job ? await job.getState() : null
      if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) await job.remove().catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.events.close(), this.queue.close()])
  }
}
