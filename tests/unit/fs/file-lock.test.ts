import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { withFileLock } from '../../../src/core/fs/file-lock'

describe('library file lock', () => {
  const dir = mkdtempSync(join(tmpdir(), 'unveil-lock-'))

  it('holds <file>.lock while the change runs and removes it afterwards, also on error', () => {
    const target = join(dir, 'a.json')
    expect(withFileLock(target, () => existsSync(`${target}.lock`))).toBe(true)
    expect(existsSync(`${target}.lock`)).toBe(false)
    expect(() =>
      withFileLock(target, () => {
        throw new Error('boom')
      })
    ).toThrow('boom')
    expect(existsSync(`${target}.lock`)).toBe(false)
  })

  it("clears a dead writer's temp file beside the target (kill -9 mid-write), not a live one's", () => {
    const target = join(dir, 'c.json')
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    const stale = join(dir, `.c.json.${dead.stdout}.0123456789ab.tmp`)
    const live = join(dir, `.c.json.${process.pid}.0123456789ab.tmp`)
    writeFileSync(stale, '{"half":')
    writeFileSync(live, '{"half":')
    withFileLock(target, () => writeFileSync(target, '{}'))
    expect(existsSync(stale)).toBe(false)
    expect(existsSync(live)).toBe(true)
  })

  it('takes over a lock left by a process that died', () => {
    const target = join(dir, 'b.json')
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    writeFileSync(`${target}.lock`, JSON.stringify({ pid: Number(dead.stdout), host: hostname(), nonce: 'x', since: '2026-01-01T00:00:00Z' }))
    expect(withFileLock(target, () => 'ran', 1000)).toBe('ran')
    expect(existsSync(`${target}.lock`)).toBe(false)
  })

  it('waits for a live holder, then fails naming it and leaves its lock alone', () => {
    const target = join(dir, 'c.json')
    writeFileSync(`${target}.lock`, JSON.stringify({ pid: process.ppid, host: hostname(), nonce: 'y', since: '2026-01-01T00:00:00Z' }))
    expect(() => withFileLock(target, () => 'ran', 200)).toThrow(
      new RegExp(
        `^${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is locked by process ${process.ppid} on .* since 2026-01-01T00:00:00Z; remove .*\\.lock if that process is gone$`
      )
    )
    expect(existsSync(`${target}.lock`)).toBe(true)
  })
})
