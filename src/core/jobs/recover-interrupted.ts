import type { CaseStore } from '../cases/case-store'

export const INTERRUPTED_ERROR = 'interrupted (application closed)'

/**
 * Marks runs that a crash or forced quit left `queued` or `running` as failed, so the case
 * never shows work as in progress that nothing is doing. Call when a case is opened, before
 * this process enqueues jobs for it (and not while another process is running jobs on it).
 * Returns the ids of the runs it marked.
 */
export function recoverInterrupted(caseStore: CaseStore, now: () => Date = () => new Date()): string[] {
  const recovered: string[] = []
  for (const run of caseStore.listRuns()) {
    if (run.status !== 'running' && run.status !== 'queued') continue
    caseStore.updateRun(run.id, { status: 'failed', finishedAt: now().toISOString(), error: INTERRUPTED_ERROR })
    recovered.push(run.id)
  }
  return recovered
}
