import { hostname } from 'node:os'

/** This process as a run owner: host and pid. */
export const RUN_OWNER = `${hostname()}:${process.pid}`

export type OwnerState = { alive: true } | { alive: false; reason: string }

/**
 * Whether a run's owning process may still be working on it. Gone only when provable: the owner
 * is on this host and its pid no longer exists. A run of another host is left alone (its
 * process cannot be checked from here); a run stored before owners were recorded has none.
 */
export function ownerState(owner: string | null | undefined, isOwnJob: (runId: string) => boolean, runId: string): OwnerState {
  if (!owner) return { alive: false, reason: 'interrupted (application closed)' }
  const cut = owner.lastIndexOf(':')
  const host = owner.slice(0, cut)
  const pid = Number(owner.slice(cut + 1))
  if (host !== hostname() || !Number.isInteger(pid)) return { alive: true }
  // This process owns it: alive exactly when its own queue still has the job.
  if (pid === process.pid) return isOwnJob(runId) ? { alive: true } : { alive: false, reason: `interrupted (process ${pid} no longer runs it)` }
  try {
    process.kill(pid, 0)
    return { alive: true }
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? { alive: true } : { alive: false, reason: `interrupted (process ${pid} ended)` }
  }
}
