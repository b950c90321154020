import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
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
