import { describe, expect, it } from 'vitest'
import { copyFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { CaseStore } from '../../../src/core/cases/case-store'
import { PNG_BYTES, newCase, tempDir, template, track } from './fixtures'

// Issue 13, item 5: every way of editing a case behind the store's back is detected by
// verifyAudit (rollback and rewrite with a head kept outside the case).

/** A case with one of everything: photo, template, model reference, finished run and result. */
function populated(): { store: CaseStore; ids: { template: string; run: string; image: string } } {
  const store = newCase()
  const image = store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 4, originalName: 'p.png' })
  store.addTemplate(template({ id: 't1', imageSha256: image.sha256, origin: 'enrolment', format: null }))
  store.addModelRef({ id: 'enc', name: 'Encoder', role: 'encoder', file: 'e.onnx', sha256: 'a'.repeat(64), input: { name: 'x', shape: [-1, 3, 112, 112], layout: 'NCHW' }, output: { name: 'y', shape: [-1, 4] }, embeddingDim: 4, licence: 'MIT', source: 'test' })
  const run = store.createRun({ method: 'ga', parameters: { population: 32 }, seed: 7, softwareVersion: '0.1.0', templateId: 't1' })
  store.updateRun(run.id, { status: 'running', startedAt: '2025-01-01T00:00:00.000Z' })
  store.addResult({ runId: run.id, kind: 'reconstruction', data: { similarity: 0.61, scores: [] }, imageSha256: image.sha256 })
  store.updateRun(run.id, { status: 'succeeded', finishedAt: '2025-01-01T00:01:00.000Z', seconds: 60, summary: { similarity: 0.61 } })
  expect(store.verifyAudit()).toMatchObject({ ok: true })
  return { store, ids: { template: 't1', run: run.id, image: image.sha256 } }
}

function sql(store: CaseStore, statement: string, ...params: unknown[]): void {
  const db = new Database(join(store.dir, 'case.db'))
  // A tamperer need not respect the schema's foreign keys.
  db.pragma('foreign_keys = OFF')
  // Nor the triggers that keep the log append-only: they are in the same file.
  if (/audit_log/.test(statement)) for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'").all() as { name: string }[]) db.exec(`DROP TRIGGER "${t.name}"`)
  db.prepare(statement).run(...params)
  db.close()
}

const blobFile = (store: CaseStore, sha: string): string => {
  const dir = join(store.dir, 'blobs', sha.slice(0, 2))
  return join(dir, readdirSync(dir).find((f) => f.startsWith(sha))!)
}

describe('audit verify detects tampering with the case', () => {
  const scenarios: [string, (store: CaseStore, ids: ReturnType<typeof populated>['ids']) => void, RegExp][] = [
    ['a template vector edited', (s) => sql(s, 'UPDATE templates SET vector = ? WHERE id = ?', Buffer.from(new Float32Array([9, 9, 9, 9]).buffer), 't1'), /template t1: its vector differs/],
    ['a template label edited', (s) => sql(s, "UPDATE templates SET label = 'innocent' WHERE id = 't1'"), /template t1: label differs/],
    ['a template deleted without an entry', (s) => sql(s, "DELETE FROM templates WHERE id = 't1'"), /template t1 added by entry \d+ is missing/],
    ['a template inserted without an entry', (s) => sql(s, "INSERT INTO templates (id, label, encoder_id, encoder_sha256, dimension, norm, vector, origin, format, source_file_sha256, source_file_name, image_sha256, face, subject, created_at) SELECT 'planted', label, encoder_id, encoder_sha256, dimension, norm, vector, origin, format, source_file_sha256, source_file_name, image_sha256, face, subject, created_at FROM templates WHERE id = 't1'"), /template planted is in the database but no audit entry added it/],
    ['a result edited', (s, i) => sql(s, `UPDATE results SET data = '{"similarity":0.99,"scores":[]}' WHERE run_id = ?`, i.run), /result .*: its data differs/],
    ['a run status edited', (s, i) => sql(s, "UPDATE runs SET status = 'failed' WHERE id = ?", i.run), /run .*: status differs/],
    ['run parameters edited', (s, i) => sql(s, `UPDATE runs SET parameters = '{"population":4096}' WHERE id = ?`, i.run), /run .*: parameters differs/],
    ['a run seed edited', (s, i) => sql(s, 'UPDATE runs SET seed = 8 WHERE id = ?', i.run), /run .*: seed differs/],
    ['case details edited', (s) => sql(s, "UPDATE case_info SET examiner = 'Someone Else'"), /case examiner is "Someone Else"/],
    ['a model manifest edited', (s) => sql(s, `UPDATE models SET manifest = '{}' WHERE id = 'enc'`), /model reference enc: its manifest differs/],
    ['a blob altered', (s, i) => writeFileSync(blobFile(s, i.image), Buffer.from('not the photo')), /no longer hashes to its name/],
    ['a blob deleted', (s, i) => rmSync(blobFile(s, i.image)), /missing from the content store/],
    // Beyond the list: the other rows an entry records, and the log itself.
    ['a template encoder sha256 edited', (s) => sql(s, `UPDATE templates SET encoder_sha256 = '${'b'.repeat(64)}' WHERE id = 't1'`), /template t1: .*differs/],
    ['a run deleted without an entry', (s, i) => { sql(s, 'DELETE FROM results WHERE run_id = ?', i.run); sql(s, 'DELETE FROM runs WHERE id = ?', i.run) }, /run .* is missing|result .* is missing/],
    ['a result deleted without an entry', (s, i) => sql(s, 'DELETE FROM results WHERE run_id = ?', i.run), /result .* is missing/],
    ["a result's image reference removed", (s, i) => sql(s, `UPDATE results SET image_sha256 = NULL WHERE run_id = ?`, i.run), /result .*: run, kind or image differ/],
    ['an image row edited', (s, i) => sql(s, "UPDATE images SET original_name = 'other.png' WHERE sha256 = ?", i.image), /image .*differs/],
    ['an audit entry edited', (s) => sql(s, "UPDATE audit_log SET actor = 'someone' WHERE seq = 2"), /entry 2/],
    ['the last audit entries deleted', (s) => sql(s, 'DELETE FROM audit_log WHERE seq > 3'), /anchor|head|entries/],
    ['the anchor deleted', (s) => rmSync(join(s.dir, 'audit-head.json')), /anchor|audit-head/]
  ]

  it.each(scenarios)('%s', (_name, tamper, reason) => {
    const { store, ids } = populated()
    store.close()
    tamper(store, ids)
    const reopened = track(CaseStore.open(store.dir))
    const v = reopened.verifyAudit()
    expect(v.ok).toBe(false)
    expect(v.reason, v.reason ?? undefined).toMatch(reason)
  })

  it('detects a rollback of database and anchor, and a rewritten tail, against a head kept outside the case', () => {
    const { store } = populated()
    store.close()
    const saved = tempDir()
    // Closed, the database is one file (the WAL is checkpointed): what a backup would hold.
    for (const f of ['case.db', 'audit-head.json']) copyFileSync(join(store.dir, f), join(saved, f))
    const later = track(CaseStore.open(store.dir))
    later.update({ notes: 'added after the copy' })
    const head = later.auditHead()!
    expect(head.entries).toBe(head.seq)
    later.close()

    // Rolled back: both files restored from the copy verify on their own, but not against the head.
    for (const f of ['case.db-wal', 'case.db-shm']) rmSync(join(store.dir, f), { force: true })
    for (const f of ['case.db', 'audit-head.json']) copyFileSync(join(saved, f), join(store.dir, f))
    const rolled = track(CaseStore.open(store.dir))
    expect(rolled.verifyAudit().ok).toBe(true)
    expect(rolled.verifyAudit({ expect: head })).toMatchObject({ ok: false, reason: expect.stringMatching(/rolled back/) })

    // Rewritten: the same number of entries, a different last one.
    rolled.update({ notes: 'a different story' })
    expect(rolled.auditHead()!.seq).toBe(head.seq)
    expect(rolled.verifyAudit({ expect: head })).toMatchObject({ ok: false, reason: expect.stringMatching(/rewritten/) })
  })
})
