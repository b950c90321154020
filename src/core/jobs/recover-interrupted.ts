import type { CaseStore } from '../cases/case-store'
import { ownerState } from '../cases/run-owner'

/**
 * Settles runs left `queued` or `running` whose owning process is provably gone (crash, forced
 * quit): a run that stored its reconstruction before the crash is marked succeeded (its result
 * is complete); any other is marked failed, saying which process ended. Runs another live
 * process owns are left alone, so opening a case elsewhere never breaks its runs. Returns the
 * ids of the runs it settled.
 */
export function recoverInterrupted(caseStore: CaseStore, isOwnJob: (runId: string) => boolean = () => false, now: () => Date = () => new Date()): string[] {
  const recovered: string[] = []
  for (const run of caseStore.listRuns()) {
    if (run.status !== 'running' && run.status !== 'queued') continue
    const state = ownerState(run.owner, isOwnJob, run.id)
    if (state.alive) continue
    const finishedAt = now().toISOString()
    const stored = run.status === 'running' && caseStore.listResults(run.id).some((r) => r.kind === 'reconstruction')
    caseStore.updateRun(run.id, stored ? { status: 'succeeded', finishedAt } : { status: 'failed', finishedAt, error: state.reason })
    recovered.push(run.id)
  }
  return recovered
}
