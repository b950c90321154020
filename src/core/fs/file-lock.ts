import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { dirname } from 'node:path'
import { randomBytes } from 'node:crypto'
import { removeStaleTempFiles } from './atomic-write'

const WAIT_MS = 10_000
const POLL_MS = 5

interface LockOwner {
  pid: number
  host: string
  nonce: string
  since: string
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readOwner(lockPath: string): LockOwner | null {
  try {
    const o = JSON.parse(readFileSync(lockPath, 'utf8')) as LockOwner
    return typeof o.pid === 'number' ? o : null
  } catch {
    return null
  }
}

function emptyFor(lockPath: string): number {
  try {
    const st = statSync(lockPath)
    return st.size === 0 ? Date.now() - st.mtimeMs : 0
  } catch {
    return 0
  }
}

/**
 * Runs `fn` while holding `<target>.lock`, created with O_EXCL so that one process at a time
 * reads, changes and rewrites `target` (library files shared by the app and CLI processes). A
 * lock left by a process that died on this host is taken over; otherwise the wait ends after
 * `waitMs` (10 s) with an error naming the holder.
 */
export function withFileLock<T>(target: string, fn: () => T, waitMs = WAIT_MS): T {
  const lockPath = `${target}.lock`
  const me: LockOwner = { pid: process.pid, host: hostname(), nonce: randomBytes(8).toString('hex'), since: new Date().toISOString() }
  const deadline = Date.now() + waitMs
  for (;;) {
    let fd: number
    try {
      fd = openSync(lockPath, 'wx')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const owner = readOwner(lockPath)
      // A lock file just created reads as empty for a moment; one empty for seconds was left by a crash.
      if (!owner && emptyFor(lockPath) > 2000) {
        rmSync(lockPath, { force: true })
        continue
      }
      if (owner && owner.host === me.host && !alive(owner.pid)) {
        // Break it only if it is still the dead owner's (another process may have broken it first).
        if (readOwner(lockPath)?.nonce === owner.nonce) rmSync(lockPath, { force: true })
        continue
      }
      if (Date.now() > deadline) {
        const who = owner ? `process ${owner.pid} on ${owner.host} since ${owner.since}` : 'another process'
        throw new Error(`${target} is locked by ${who}; remove ${lockPath} if that process is gone`)
      }
      sleepSync(POLL_MS)
      continue
    }
    try {
      writeSync(fd, JSON.stringify(me))
    } finally {
      closeSync(fd)
    }
    try {
      // A writer killed mid-write (kill -9) left its temp file beside the target; the lock holder clears it.
      removeStaleTempFiles(dirname(target))
      return fn()
    } finally {
      if (readOwner(lockPath)?.nonce === me.nonce) rmSync(lockPath, { force: true })
    }
  }
}
