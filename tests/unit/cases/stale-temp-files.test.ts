import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CaseStore } from '../../../src/core/cases/case-store'
import { PNG_BYTES, newCase, track } from './fixtures'

// Found by the kill suite: a CLI killed during an atomic write leaves its temp file (the audit
// anchor's, or a blob's) in the case folder. Opening the case removes those of ended processes.
describe('temp files of killed writers', () => {
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
})
