import type { EvaluationQueueStatus } from '../../shared/evaluation-types'
import { isObject } from '../../shared/validation'
import type { QueueAddress } from './queue-connection'

export type QueueNotice = { kind: 'completed'; jobId: string } | { kind: 'failed'; jobId: string; reason: string }

/**
 * What the owner of a queued evaluation knows of its jobs while they run: which are still out,
 * the notices (finished, failed) waiting to be handled, live progress, workers and throughput.
 */
export class QueuedEvaluation<P> {
  private readonly outstandingIds: Set<string>
  private readonly inbox: QueueNotice[] = []
  private wake: (() => void) | null = null
  private readonly live = new Map<string, { worker: string; attemptKey: string; step: number; totalSteps: number }>()
  private readonly doneBy = new Map<string, number>()
  private connectedNow: string[] = []
  private done: number
  private stalledJobs = 0
  private readonly startedMs = performance.now()
  private firstMs: number | null = null
  private storedHere = 0

  constructor(
    private readonly address: QueueAddress,
    private readonly jobs: Map<string, P>,
    doneBefore: number,
    private readonly total: number
  ) {
    this.outstandingIds = new Set(jobs.keys())
    this.done = doneBefore
  }

  attempt(jobId: string): P | undefined {
    return this.outstandingIds.has(jobId) ? this.jobs.get(jobId) : undefined
  }

  finished(): boolean {
    return this.outstandingIds.size === 0
  }

  outstanding(): string[] {
    return [...this.outstandingIds]
  }

  completed(jobId: string): void {
    if (this.outstandingIds.has(jobId)) this.notify({ kind: 'completed', jobId })
  }

  failed(jobId: string, reason: string): void {
    if (this.outstandingIds.has(jobId)) this.notify({ kind: 'failed', jobId, reason })
  }

  stalled(jobId: string): void {
    if (!this.outstandingIds.has(jobId)) return
    this.stalledJobs++
    this.live.delete(jobId)
  }

  progress(jobId: string, data: unknown): void {
    if (!this.outstandingIds.has(jobId) || !isObject(data)) return
    const { worker, attemptKey, step, totalSteps } = data
    if (typeof worker !== 'string' || typeof attemptKey !== 'string' || typeof step !== 'number' || typeof totalSteps !== 'number') return
    this.live.set(jobId, { worker, attemptKey, step, totalSteps })
  }

  connected(workers: string[]): void {
    this.connectedNow = workers
  }

  /** A job's result was handled: stored, or found already stored (`wrote` false). */
  stored(jobId: string, worker: string, wrote: boolean): void {
    if (!this.outstandingIds.delete(jobId)) return
    this.live.delete(jobId)
    this.done++
    this.storedHere++
    this.firstMs ??= performance.now()
    if (wrote) this.doneBy.set(worker, (this.doneBy.get(worker) ?? 0) + 1)
  }

  /** The next notice, or null when none came within `timeoutMs`. */
  async next(timeoutMs: number): Promise<QueueNotice | null> {
    if (this.inbox.length === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.wake = null
          resolve()
        }, timeoutMs)
        this.wake = () => {
          clearTimeout(timer)
          this.wake = null
          resolve()
        }
      })
    }
    return this.inbox.shift() ?? null
  }

  status(): EvaluationQueueStatus {
    const names = new Set([...this.connectedNow, ...this.doneBy.keys()])
    // A job whose worker is gone shows until the queue puts it back (its lock expires).
    const live = [...this.live.values()].filter((j) => this.connectedNow.includes(j.worker))
    const activeBy = new Map<string, number>()
    for (const j of live) activeBy.set(j.worker, (activeBy.get(j.worker) ?? 0) + 1)
    const minutes = (performance.now() - this.startedMs) / 60_000
    return {
      url: this.address.display,
      workers: [...names].sort().map((name) => ({ name, connected: this.connectedNow.includes(name), done: this.doneBy.get(name) ?? 0, active: activeBy.get(name) ?? 0 })),
      done: this.done,
      total: this.total,
      perMinute: this.firstMs === null || minutes <= 0 ? null : this.storedHere / minutes,
      active: live.map(({ attemptKey, worker, step, totalSteps }) => ({ attemptKey, worker, step, totalSteps })),
      stalled: this.stalledJobs
    }
  }

  private notify(n: QueueNotice): void {
    this.inbox.push(n)
    this.wake?.()
  }
}
