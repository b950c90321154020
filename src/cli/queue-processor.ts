// The processor of `unveil worker`: BullMQ forks it (its sandbox), one process per concurrent
// job, and keeps it for the jobs that follow. All work happens here, so the worker process's
// event loop stays free to renew the jobs' locks however long a step takes.
import { Workbench, WORKER_NAME_ENV, defaultCaseRoot, defaultLibraryDir } from '../core/workbench/workbench'

interface SandboxedJob {
  data: unknown
  updateProgress(value: object): Promise<void>
}

let workbench: Promise<Workbench> | null = null

// Orphaned by a worker that was killed (kill -9): stop, since nobody renews the job's lock any more.
// The IPC channel closing says so; a parent id that changed (re-parented to init) says so too.
const parent = process.ppid
process.on('disconnect', () => process.exit(1))
setInterval(() => process.ppid !== parent && process.exit(1), 1000).unref()

export default async function process_(job: SandboxedJob, _token: string | undefined, signal?: AbortSignal): Promise<unknown> {
  workbench ??= Workbench.open({ libraryDir: defaultLibraryDir(), caseRoot: defaultCaseRoot() })
  const wb = await workbench
  const name = process.env[WORKER_NAME_ENV] ?? `worker/${process.pid}`
  return wb.queueJobs.process(job.data, name, signal ?? new AbortController().signal, (p) => void job.updateProgress(p).catch(() => undefined))
}
