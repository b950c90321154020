import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { CaseStore } from '../../../src/core/cases/case-store'
import { PNG_BYTES, newCase, track } from './fixtures'

// Found by the kill suite: a CLI killed during an atomic write leaves its temp file (the audit
// anchor's, or a blob's), and one killed before its transaction commits leaves the blob it had
// stored. Opening the case removes both.
describe('leftovers of killed writers', () => {
  it('are removed when the case is opened; a live writer keeps its own', () => {
    const store = newCase()
    const image = store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 4, originalName: 'p.png' })
    store.close()
    const ended = spawnSync(process.execPath, ['-e', '0']).pid!
    const live = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)'])
    try {
      const shard = join(store.dir, 'blobs', image.sha256.slice(0, 2))
      mkdirSync(shard, { recursive: true })
      const dead = [join(store.dir, `.audit-head.json.${ended}.0123456789ab.tmp`), join(shard, `.${image.sha256}.jpg.${ended}.abcdef012345.tmp`)]
      const kept = join(store.dir, `.audit-head.json.${live.pid}.0123456789ab.tmp`)
      for (const f of [...dead, kept]) writeFileSync(f, 'half')
      const reopened = track(CaseStore.open(store.dir))
      expect(dead.filter((f) => existsSync(f))).toEqual([])
      expect(existsSync(kept)).toBe(true)
      expect(reopened.verifyAudit().ok).toBe(true)
    } finally {
      live.kill()
    }
  })

  it('a blob stored by a transaction that never committed is removed; one an audit entry names is kept', () => {
    const store = newCase()
    const kept = store.addImage(PNG_BYTES, { mime: 'image/png', width: 4, height: 4, originalName: 'p.png' })
    store.close()
    // As a writer killed between storing the photo and committing its row leaves it.
    const bytes = Buffer.from('a photo whose row never committed')
    const sha = createHash('sha256').update(bytes).digest('hex')
    mkdirSync(join(store.dir, 'blobs', sha.slice(0, 2)), { recursive: true })
    const orphan = join(store.dir, 'blobs', sha.slice(0, 2), `${sha}.jpg`)
    writeFileSync(orphan, bytes)
    // A row deleted behind the store's back: its blob is evidence for verify, not a leftover.
    const db = new Database(join(store.dir, 'case.db'))
    db.pragma('foreign_keys = OFF')
    db.prepare('DELETE FROM images WHERE sha256 = ?').run(kept.sha256)
    db.close()
    const reopened = track(CaseStore.open(store.dir))
    expect(existsSync(orphan)).toBe(false)
    expect(reopened.verifyAudit()).toMatchObject({ ok: false, reason: expect.stringMatching(/image/) })
    expect(readdirSync(join(store.dir, 'blobs', kept.sha256.slice(0, 2)))).toHaveLength(1)
  })
})
