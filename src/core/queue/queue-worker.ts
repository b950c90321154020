import { hostname } from 'node:os'
import { Worker } from 'bullmq'
import { EVALUATION_QUEUE } from './evaluation-job'
import { connectionOptions, probeQueue, type QueueAddress } from './queue-connection'

export interface QueueWorkerOptions {
  address: QueueAddress
  /**
   * The processor module (default export `(job, token, signal) => result`). It runs in child
   * processes (BullMQ's sandbox), one per concurrent job, so inference and everything else a
   * job does never holds up this process's event loop, which renews the jobs' locks.
   */
  processorFile: string
  concurrency: number
  /** How long a job's lock lasts without renewal: a worker that dies loses its job after this (renewed at half of it). */
  lockMs: number
  /** Environment of the processor processes (library folder, threads). */
  env: NodeJS.ProcessEnv
}

export interface QueueWorkerEvents {
  active(jobId: string): void
  completed(jobId: string, seconds: number): void
  failed(jobId: string, reason: string): void
  error(message: string): void
}

/** Tells the processor processes the name of the worker they serve (results carry it). */
export const WORKER_NAME_ENV = 'UNVEIL_QUEUE_WORKER'

/** This worker's name as other machines see it: host and process id. */
export function workerName(): string {
  return `${hostname().replace(/[^\w.-]+/g, '_')}/${process.pid}`
}

/** Connects (one-line error when the queue does not answer) and starts taking evaluation jobs. */
export async function startQueueWorker(options: QueueWorkerOptions, on: QueueWorkerEvents): Promise<{ name: string; close(): Promise<void> }> {
  await probeQueue(options.address)
  const name = workerName()
  const started = new Map<string, number>()
  const worker = new Worker(EVALUATION_QUEUE, options.processorFile, {
    connection: { url: options.address.url, ...connectionOptions() },
    name,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: Math.max(500, Math.round(options.lockMs / 2)),
    // A job is retried after its worker died; twice more is allowed before it counts as failing the workers.
    maxStalledCount: 2,
    useWorkerThreads: false,
    workerForkOptions: { env: { ...options.env, [WORKER_NAME_ENV]: name } }
  })
  worker.on('active', (job) => {
    started.set(job.id!, performance.now())
    on.active(job.id!)
  })
  worker.on('completed', (job) => {
    on.completed(job.id!, (performance.now() - (started.get(job.id!) ?? performance.now())) / 1000)
    started.delete(job.id!)
  })
  worker.on('failed', (job, err) => {
    if (job) started.delete(job.id!)
    on.failed(job?.id ?? '?', err.message.split('\n')[0])
  })
  worker.on('error', (err) => on.error(err.message.split('\n')[0]))
  await worker.waitUntilReady()
  return { name, close: () => worker.close() }
}
