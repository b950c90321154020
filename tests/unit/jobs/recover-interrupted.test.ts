import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { CaseStore } from '../../../src/core/cases/case-store'
import { recoverInterrupted } from '../../../src/core/jobs/recover-interrupted'
import { newCase, track } from '../cases/fixtures'

/** Gives a stored run another owner, as if another process had queued it. */
function setOwner(store: CaseStore, runId: string, owner: string): void {
  const db = new Database(join(store.dir, 'case.db'))
  db.prepare('UPDATE runs SET owner = ? WHERE id = ?').run(owner, runId)
  db.close()
}

describe('recoverInterrupted', () => {
  it('marks runs this process no longer runs as failed, naming the process, and nothing else', () => {
    const store = newCase()
    const queued = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    const running = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    store.updateRun(running.id, { status: 'running', startedAt: '2025-01-01T00:00:00.000Z' })
    const done = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    store.updateRun(done.id, { status: 'running' })
    const finished = store.updateRun(done.id, { status: 'succeeded', summary: { ok: true } })
    expect(queued.owner).toBe(`${hostname()}:${process.pid}`)
    store.close()

    const reopened = track(CaseStore.open(store.dir, { actor: 'tester' }))
    const at = new Date('2025-01-02T00:00:00.000Z')
    // This process's queue holds none of them: they are provably not running any more.
    expect(recoverInterrupted(reopened, () => false, () => at).sort()).toEqual([queued.id, running.id].sort())
    const error = `interrupted (process ${process.pid} no longer runs it)`
    for (const id of [queued.id, running.id]) expect(reopened.getRun(id)).toMatchObject({ status: 'failed', error, finishedAt: at.toISOString() })
    expect(reopened.getRun(done.id)).toEqual(finished)
    expect(reopened.auditLog().filter((e) => e.details.error === error)).toHaveLength(2)
    expect(recoverInterrupted(reopened)).toEqual([])
    expect(reopened.verifyAudit().ok).toBe(true)
  })

  it("leaves a live process's runs alone and its own queued jobs too", async () => {
    const store = newCase()
    const other = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    const own = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'])
    try {
      setOwner(store, other.id, `${hostname()}:${child.pid}`)
      expect(recoverInterrupted(store, (id) => id === own.id)).toEqual([])
      expect(store.getRun(other.id)?.status).toBe('queued')
      expect(store.getRun(own.id)?.status).toBe('queued')
      // Another host's process cannot be checked from here: its run is left alone as well.
      setOwner(store, other.id, 'another-host:1')
      expect(recoverInterrupted(store, (id) => id === own.id)).toEqual([])
    } finally {
      child.kill()
    }
  })

  it('says which process ended, and settles a run whose result was stored before the crash as succeeded', () => {
    const store = newCase()
    const lost = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    const almost = store.createRun({ method: 'm', softwareVersion: '0.1.0' })
    store.updateRun(almost.id, { status: 'running' })
    store.addResult({ runId: almost.id, kind: 'reconstruction', data: { similarity: 0.5 } })
    // A pid that existed and has ended.
    const ended = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' })
    const pid = Number(ended.stdout.trim())
    for (const r of [lost, almost]) setOwner(store, r.id, `${hostname()}:${pid}`)
    expect(recoverInterrupted(store).sort()).toEqual([lost.id, almost.id].sort())
    expect(store.getRun(lost.id)).toMatchObject({ status: 'failed', error: `interrupted (process ${pid} ended)` })
    expect(store.getRun(almost.id)?.status).toBe('succeeded')
  })
})
