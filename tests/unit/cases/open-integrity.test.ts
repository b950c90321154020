import { describe, expect, it } from 'vitest'
import { readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { CaseStore } from '../../../src/core/cases/case-store'
import { PNG_BYTES, newCase, template, track } from './fixtures'

// Issue 13 item 5: opening a case runs a quick verification, and a case that fails it takes no
// writes: a write would move the anchor forward over the break and could hide it.

function tamper(store: CaseStore, ...statements: string[]): void {
  const db = new Database(join(store.dir, 'case.db'))
  db.pragma('foreign_keys = OFF')
  for (const s of statements) db.exec(s)
  db.close()
}

function populated(): CaseStore {
  const store = newCase()
  const image = store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 4, originalName: 'p.png' })
  store.addTemplate(template({ id: 't1', imageSha256: image.sha256, origin: 'enrolment', format: null }))
  store.update({ notes: 'last entry' })
  store.close()
  return store
}

const REFUSED = /^case .* failed its integrity check at entry \d+ \(.*\); it takes no changes until examined: unveil audit verify --case ".*"$/

describe('quick verification when a case is opened', () => {
  it('passes on an untouched case and the case stays writable', () => {
    const store = track(CaseStore.open(populated().dir))
    expect(store.integrity()).toMatchObject({ ok: true, entries: 4 })
    store.addTemplate(template({ id: 't2' }))
    expect(store.verifyAudit().ok).toBe(true)
  })

  const scenarios: [string, (s: CaseStore) => void, RegExp][] = [
    [
      'the last audit entry deleted (and the anchor kept)',
      (s) => tamper(s, 'DROP TRIGGER audit_log_no_delete', 'DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)'),
      /anchor|head|entry 4/i
    ],
    [
      'a template vector edited',
      (s) => tamper(s, `UPDATE templates SET vector = X'00000000000000000000000000000000' WHERE id = 't1'`),
      /template t1: its vector differs/
    ],
    [
      'a blob deleted',
      (s) => {
        const shardDir = join(s.dir, 'blobs')
        const shard = readdirSync(shardDir)[0]
        const file = readdirSync(join(shardDir, shard))[0]
        writeFileSync(join(shardDir, shard, file), Buffer.from('shorter'))
      },
      /has 7 bytes|no longer hashes/
    ]
  ]

  it.each(scenarios)('%s: reported at open, every write refused, the log and anchor left as they were', (_name, change, reason) => {
    const closed = populated()
    change(closed)
    const store = track(CaseStore.open(closed.dir))
    const v = store.integrity()
    expect(v.ok).toBe(false)
    expect(v.reason).toMatch(reason)
    const before = { log: store.auditLog().length, head: readFileSync(join(store.dir, 'audit-head.json'), 'utf8') }
    expect(() => store.update({ notes: 'cover it up' })).toThrow(REFUSED)
    expect(() => store.addTemplate(template({ id: 't3' }))).toThrow(REFUSED)
    expect(() => store.addImage(new Uint8Array([1, 2, 3]), { mime: 'image/png', width: 1, height: 1, originalName: 'x.png' })).toThrow(REFUSED)
    expect({ log: store.auditLog().length, head: readFileSync(join(store.dir, 'audit-head.json'), 'utf8') }).toEqual(before)
    store.close()
    // Still visible the next time, to the full verification too.
    const again = track(CaseStore.open(closed.dir))
    expect(again.integrity().ok).toBe(false)
    expect(again.verifyAudit()).toMatchObject({ ok: false, reason: expect.stringMatching(reason) })
  })

  it('re-hashes blob bytes only in the full verification', () => {
    const closed = populated()
    const shardDir = join(closed.dir, 'blobs')
    const shard = readdirSync(shardDir)[0]
    const file = join(shardDir, shard, readdirSync(join(shardDir, shard))[0])
    const bytes = readFileSync(file)
    bytes[bytes.length - 1] ^= 0xff
    writeFileSync(file, bytes)
    const store = track(CaseStore.open(closed.dir))
    expect(store.verifyAudit({ quick: true }).ok).toBe(true)
    expect(store.verifyAudit()).toMatchObject({ ok: false, reason: expect.stringMatching(/no longer hashes to its name/) })
  })
})
