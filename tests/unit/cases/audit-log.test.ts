import { createHash } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { describe, expect, it } from 'vitest'
import { AuditLog, GENESIS_HASH, auditHash } from '../../../src/core/cases/audit-log'
import { AUDIT_HEAD_FILE, CASE_DB_FILE, CaseStore } from '../../../src/core/cases/case-store'
import { migrate } from '../../../src/core/cases/migrations'
import { newCase, PNG_BYTES, template, tempDir, track } from './fixtures'

/** A case with six audit entries. */
function busyCase(): CaseStore {
  const store = newCase()
  store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 3 })
  store.addTemplate(template())
  const run = store.createRun({ method: 'nbnet', softwareVersion: '0.1.0', templateId: 'tpl-1' })
  store.updateRun(run.id, { status: 'running' })
  store.update({ notes: 'checked' })
  return store
}

/** Closes the case, lets `tamper` edit its database with the append-only triggers dropped, and reopens it. */
function tamperWith(store: CaseStore, tamper: (db: Database.Database) => void): CaseStore {
  store.close()
  const db = new Database(join(store.dir, CASE_DB_FILE))
  db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;')
  tamper(db)
  db.close()
  return track(CaseStore.open(store.dir, { actor: 'tester' }))
}

describe('audit log', () => {
  it('chains every change from the genesis hash', () => {
    const store = busyCase()
    const log = store.auditLog()
    expect(log.map((e) => e.action)).toEqual(['case.create', 'image.add', 'template.add', 'run.create', 'run.update', 'case.update'])
    expect(log.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6])
    expect(log[0].prevHash).toBe(GENESIS_HASH)
    log.forEach((entry, i) => {
      if (i > 0) expect(entry.prevHash).toBe(log[i - 1].hash)
      expect(entry.hash).toBe(auditHash(entry.prevHash, entry))
      expect(entry.actor).toBe('tester')
    })
    expect(store.verifyAudit()).toEqual({ ok: true, entries: 6, firstBrokenSeq: null, reason: null })
    expect(JSON.parse(readFileSync(join(store.dir, AUDIT_HEAD_FILE), 'utf8'))).toEqual({ seq: 6, hash: log[5].hash })
  })

  it('hashes prevHash, a newline and the canonical JSON of the entry', () => {
    const hash = auditHash(GENESIS_HASH, { seq: 1, at: 't', actor: 'a', action: 'x', details: { b: 1, a: 2 } })
    const body = '{"action":"x","actor":"a","at":"t","details":{"a":2,"b":1},"seq":1}'
    expect(hash).toBe(createHash('sha256').update(`${'0'.repeat(64)}\n${body}`).digest('hex'))
  })

  it('refuses UPDATE and DELETE through the triggers', () => {
    const store = busyCase()
    store.close()
    const db = new Database(join(store.dir, CASE_DB_FILE))
    expect(() => db.prepare("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").run()).toThrow(/append-only/)
    expect(() => db.prepare('DELETE FROM audit_log WHERE seq = 6').run()).toThrow(/append-only/)
    db.close()
    expect(track(CaseStore.open(store.dir)).verifyAudit().ok).toBe(true)
  })

  it('detects an edited entry', () => {
    const store = tamperWith(busyCase(), (db) => {
      db.prepare(`UPDATE audit_log SET details = '{"sha256":"forged"}' WHERE seq = 2`).run()
    })
    expect(store.verifyAudit()).toMatchObject({ ok: false, entries: 6, firstBrokenSeq: 2, reason: expect.stringMatching(/entry 2 was modified/) })
  })

  it('detects an edited entry whose hash was recomputed, at the next link', () => {
    const original = busyCase()
    const entry = original.auditLog()[2]
    const forged = { ...entry, actor: 'mallory' }
    const store = tamperWith(original, (db) => {
      db.prepare('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 3').run('mallory', auditHash(entry.prevHash, forged))
    })
    expect(store.verifyAudit()).toMatchObject({ ok: false, firstBrokenSeq: 4, reason: expect.stringMatching(/entry 4 does not link to entry 3/) })
  })

  it('detects a deleted middle entry', () => {
    const store = tamperWith(busyCase(), (db) => {
      db.prepare('DELETE FROM audit_log WHERE seq = 3').run()
    })
    expect(store.verifyAudit()).toMatchObject({ ok: false, entries: 5, firstBrokenSeq: 3, reason: expect.stringMatching(/entry 3 is missing/) })
  })

  it('detects a deleted middle entry even when the rest were renumbered', () => {
    const store = tamperWith(busyCase(), (db) => {
      db.prepare('DELETE FROM audit_log WHERE seq = 3').run()
      db.prepare('UPDATE audit_log SET seq = seq - 1 WHERE seq > 3').run()
    })
    expect(store.verifyAudit()).toMatchObject({ ok: false, firstBrokenSeq: 3, reason: expect.stringMatching(/does not link/) })
  })

  it('detects deleted tail entries through the head anchor', () => {
    const store = tamperWith(busyCase(), (db) => {
      db.prepare('DELETE FROM audit_log WHERE seq >= 5').run()
    })
    expect(store.verifyAudit()).toEqual({
      ok: false,
      entries: 4,
      firstBrokenSeq: 5,
      reason: 'entries 5 to 6 are missing: the log ends at 4 but its recorded head is 6'
    })
  })

  it('detects a rewritten tail that no longer matches the anchor', () => {
    const original = busyCase()
    const log = original.auditLog()
    const forged = { ...log[5], actor: 'mallory' }
    const store = tamperWith(original, (db) => {
      db.prepare('UPDATE audit_log SET actor = ?, hash = ? WHERE seq = 6').run('mallory', auditHash(forged.prevHash, forged))
    })
    expect(store.verifyAudit()).toMatchObject({ ok: false, firstBrokenSeq: 6, reason: expect.stringMatching(/differs from the recorded head/) })
  })

  it('reports a missing or damaged anchor', () => {
    const store = busyCase()
    const anchor = join(store.dir, AUDIT_HEAD_FILE)
    rmSync(anchor)
    expect(store.verifyAudit()).toMatchObject({ ok: false, firstBrokenSeq: 7, reason: expect.stringMatching(/audit head record .* is missing/) })
    writeFileSync(anchor, '{"seq": "six"}')
    expect(store.verifyAudit()).toMatchObject({ ok: false, reason: expect.stringMatching(/is malformed/) })
    writeFileSync(anchor, 'not json')
    expect(store.verifyAudit()).toMatchObject({ ok: false, reason: expect.stringMatching(/is unreadable/) })
  })

  it('accepts a database ahead of its anchor (crash between commit and anchor write)', () => {
    const store = busyCase()
    const log = store.auditLog()
    writeFileSync(join(store.dir, AUDIT_HEAD_FILE), JSON.stringify({ seq: 4, hash: log[3].hash }))
    expect(store.verifyAudit().ok).toBe(true)
    store.update({ notes: 'again' })
    expect(JSON.parse(readFileSync(join(store.dir, AUDIT_HEAD_FILE), 'utf8')).seq).toBe(7)
  })

  it('only appends inside a transaction', () => {
    const db = new Database(':memory:')
    migrate(db)
    const log = new AuditLog(db, join(tempDir(), AUDIT_HEAD_FILE))
    expect(() => log.append('me', 'thing.do', {}, new Date().toISOString())).toThrow(/must be appended inside the transaction/)
    db.transaction(() => log.append('me', 'thing.do', { z: 1, a: [2] }, '2025-01-01T00:00:00.000Z'))()
    expect(log.entries()).toEqual([expect.objectContaining({ seq: 1, details: { a: [2], z: 1 } })])
    db.close()
  })
})
