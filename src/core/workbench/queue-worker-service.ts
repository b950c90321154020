import { UnrecoverableError } from 'bullmq'
import { ValidationError } from '../../shared/validation'
import { decodeImage } from '../imaging/image-io'
import type { ProgressUpdate } from '../jobs/job-queue'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import { readAttemptJob, type AttemptJobData, type AttemptJobProgress, type AttemptJobResult } from '../queue/evaluation-job'
import { parseQueueUrl } from '../queue/queue-connection'
import { startQueueWorker, type QueueWorkerEvents } from '../queue/queue-worker'
import type { EvaluationService } from './evaluation-service'

/** Progress of one job goes to the queue at most this often. */
const PROGRESS_INTERVAL_MS = 500

/** A refusal: the job fails at once with this reason instead of being retried on the same grounds. */
function refuse(message: string): never {
  throw new UnrecoverableError(message)
}

/** The worker's side of distributed evaluations: checks a job against this machine and runs its attempt with the same core as a local evaluation. */
export class QueueWorkerService {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader,
    private readonly evaluations: EvaluationService,
    private readonly version: string
  ) {}

  /** Why this worker cannot run the job (another version, a model it lacks), or null. */
  refusal(job: AttemptJobData): string | null {
    if (job.softwareVersion !== this.version) return `job comes from ${job.softwareVersion}, this worker runs ${this.version}`
    for (const m of job.models) {
      const have = this.registry.list().find((e) => e.manifest.id === m.id)
      if (!have) return `model ${m.id} (sha256 ${m.sha256.slice(0, 12)}…) is not registered on this worker`
      if (have.manifest.sha256 !== m.sha256) return `model ${m.id} here has sha256 ${have.manifest.sha256.slice(0, 12)}…, the job needs ${m.sha256.slice(0, 12)}…`
    }
    return null
  }

  /** Runs one job; `worker` names this worker in the result and progress. */
  async process(data: unknown, worker: string, signal: AbortSignal, report: (p: AttemptJobProgress) => void): Promise<AttemptJobResult> {
    let job: AttemptJobData
    try {
      job = readAttemptJob(data)
    } catch (err) {
      refuse(`malformed job: ${(err as Error).message}`)
    }
    const why = this.refusal(job)
    if (why) refuse(why)
    let last = 0
    const progress = (u: ProgressUpdate): void => {
      const now = performance.now()
      if (now - last < PROGRESS_INTERVAL_MS) return
      last = now
      report({ worker, attemptKey: job.attemptKey, step: u.step, totalSteps: u.totalSteps ?? 0, bestScore: u.bestScore ?? null })
    }
    const truth = await decodeImage(new Uint8Array(Buffer.from(job.groundTruth, 'base64')), 'ground truth')
    const mates = await Promise.all(job.mates.map((m, i) => decodeImage(new Uint8Array(Buffer.from(m, 'base64')), `mate ${i + 1}`)))
    const seen = await this.loader.prepare(job.seenEncoder.id)
    const outcome = await this.evaluations.reconstruct({ method: job.method, seed: job.seed, seen, vector: job.vector, truth, mates, scoringEncoderIds: job.scoringEncoderIds }, signal, progress)
    // A model the method picked itself (a parameter left empty) must be one the owner named too.
    const named = new Set(job.models.map((m) => m.sha256))
    const stray = Object.entries(outcome.record.modelSha256s).find(([, sha]) => !named.has(sha))
    if (stray) refuse(`the method used ${stray[0]} model sha256 ${stray[1].slice(0, 12)}…, which the job does not name`)
    return {
      kind: 'evaluation-attempt-result',
      evaluationId: job.evaluationId,
      attemptKey: job.attemptKey,
      worker,
      png: Buffer.from(outcome.png).toString('base64'),
      record: outcome.record,
      psnr: outcome.psnr,
      ssim: outcome.ssim,
      msSsim: outcome.msSsim,
      startedAt: outcome.startedAt,
      finishedAt: outcome.finishedAt
    }
  }
}

export interface ServeOptions {
  queueUrl: string
  concurrency: number
  lockMs: number
  /** The processor module: it opens a Workbench in each child process and calls QueueWorkerService.process. */
  processorFile: string
  env: NodeJS.ProcessEnv
}

/** Starts an evaluation worker on a queue (the CLI's `unveil worker`); one-line error when the queue does not answer. */
export async function serveEvaluationQueue(options: ServeOptions, on: QueueWorkerEvents): Promise<{ name: string; url: string; close(): Promise<void> }> {
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1 || options.concurrency > 64) throw new ValidationError('concurrency must be between 1 and 64')
  if (!Number.isInteger(options.lockMs) || options.lockMs < 500) throw new ValidationError('the job lock must last at least 500 ms')
  const address = parseQueueUrl(options.queueUrl)
  const w = await startQueueWorker({ address, processorFile: options.processorFile, concurrency: options.concurrency, lockMs: options.lockMs, env: options.env }, on)
  return { ...w, url: address.display }
}
