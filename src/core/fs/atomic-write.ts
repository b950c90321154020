import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'

/**
 * Temp-file name for an atomic write into `dir`. Dot-prefixed and `.tmp`-suffixed so that
 * lookups for real files (which never start with a dot) cannot mistake a half-written file
 * for a finished one.
 */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
}

/**
 * Writes `data` to `target` so that readers see either the old file or the complete new one:
 * the bytes go to a temp file in the same folder (same filesystem, so rename is atomic),
 * are flushed to disk, and only then renamed over the target.
 */
export function writeFileAtomic(target: string, data: Uint8Array | string): void {
  const temp = tempPathFor(target)
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  try {
    const fd = openSync(temp, 'wx')
    try {
      let written = 0
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(temp, target)
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  }
}

const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/

/**
 * Removes the temp files of atomic writes into `dir` whose writing process is gone (killed
 * mid-write, so its finally never ran). A temp file of a live process is left alone; the pid
 * is read from the name, so a process of another host with the same folder open could only
 * lose a temp file to a pid that is not running here (its write then fails, nothing is split).
 * Returns the names removed.
 */
export function removeStaleTempFiles(dir: string): string[] {
  if (!existsSync(dir)) return []
  const removed: string[] = []
  for (const name of readdirSync(dir)) {
    const m = TEMP_NAME.exec(name)
    if (!m || processAlive(Number(m[1]))) continue
    rmSync(join(dir, name), { force: true })
    removed.push(name)
  }
  return removed
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
