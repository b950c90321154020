import { describe, expect, it } from 'vitest'
import { CaseStore } from '../../../src/core/cases/case-store'
import { INTERRUPTED_ERROR, recoverInterrupted } from '../../../src/core/jobs/recover-interrupted'
import { newCase, track } from '../cases/fixtures'

describe('recoverInterrupted', () => {
  it('marks runs a crash left queued or running as failed, and nothing else', () => {
    const store = newCase()
    const queued = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    const running = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    store.updateRun(running.id, { status: 'running', startedAt: '2025-01-01T00:00:00.000Z' })
    const done = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    store.updateRun(done.id, { status: 'running' })
    const finished = store.updateRun(done.id, { status: 'succeeded', summary: { ok: true } })
    store.close()

    const reopened = track(CaseStore.open(store.dir, { actor: 'tester' }))
    const at = new Date('2025-01-02T00:00:00.000Z')
    expect(recoverInterrupted(reopened, () => at).sort()).toEqual([queued.id, running.id].sort())
    for (const id of [queued.id, running.id]) {
      expect(reopened.getRun(id)).toMatchObject({ status: 'failed', error: INTERRUPTED_ERROR, finishedAt: at.toISOString() })
    }
    expect(reopened.getRun(done.id)).toEqual(finished)
    expect(reopened.auditLog().filter((e) => e.details.error === INTERRUPTED_ERROR)).toHaveLength(2)
    expect(recoverInterrupted(reopened)).toEqual([])
    expect(reopened.verifyAudit().ok).toBe(true)
  })
})
