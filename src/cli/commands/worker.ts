import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { serveEvaluationQueue } from '../../core/workbench/workbench'
import { UsageError, integer, parse, printable, required } from '../cli-support'

/** Default lock: a killed worker's job goes back to the queue within about this long. */
const DEFAULT_LOCK_MS = 30_000

/** `unveil worker --queue redis://…`: runs evaluation jobs from the queue until Ctrl-C. */
export async function workerCommand(argv: string[]): Promise<void> {
  const v = parse(argv, { queue: { type: 'string' }, concurrency: { type: 'string' }, 'lock-ms': { type: 'string' } })
  const queueUrl = required(v, 'queue')
  const concurrency = integer(v, 'concurrency', 1)!
  if (concurrency < 1 || concurrency > 64) throw new UsageError('--concurrency must be between 1 and 64')
  const lockMs = integer(v, 'lock-ms', DEFAULT_LOCK_MS)!
  if (lockMs < 500) throw new UsageError('--lock-ms must be 500 or more')
  // Each concurrent job has its own process and inference engine: the cores are shared out among them.
  const threads = process.env.UNVEIL_THREADS ?? String(Math.max(1, Math.floor(availableParallelism() / concurrency)))
  const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} ${line}\n`)
  const worker = await serveEvaluationQueue(
    { queueUrl, concurrency, lockMs, processorFile: fileURLToPath(new URL('./queue-processor.js', import.meta.url)), env: { ...process.env, UNVEIL_THREADS: threads } },
    {
      active: (id) => log(`started ${id}`),
      completed: (id, seconds) => log(`finished ${id} in ${seconds.toFixed(1)} s`),
      failed: (id, reason) => log(`failed ${id}: ${printable(reason)}`),
      error: (message) => log(`queue: ${printable(message)}`)
    }
  )
  log(`worker ${worker.name} on ${worker.url}, ${concurrency} at a time (Ctrl-C stops after the running jobs)`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  log('stopping: waiting for the running jobs')
  await worker.close()
}
