import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { ValidationError } from '../../shared/validation'
import { writeFileAtomic } from '../fs/atomic-write'
import { sha256Hex } from '../fs/sha256'

const SHA256_HEX = /^[0-9a-f]{64}$/
const EXTENSION = /^[a-z0-9]{1,10}$/

export { sha256Hex }

export function assertSha256(sha256: string, what = 'sha256'): void {
  if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) {
    throw new ValidationError(`${what} must be 64 lowercase hex characters, got ${JSON.stringify(sha256)}`)
  }
}

export interface BlobPut {
  sha256: string
  path: string
  /** False when identical content was already stored (the existing file is kept). */
  created: boolean
}

/**
 * Content-addressed file store: `<root>/<first 2 hex>/<sha256>.<ext>`. A blob's name is its
 * hash, so stored content never changes and writing the same bytes twice is a no-op.
 */
export class BlobStore {
  constructor(readonly root: string) {}

  put(bytes: Uint8Array, ext: string): BlobPut {
    if (!(bytes instanceof Uint8Array)) throw new ValidationError('blob content must be a Uint8Array')
    if (!EXTENSION.test(ext)) throw new ValidationError(`blob extension must be 1-10 lowercase letters or digits, got ${JSON.stringify(ext)}`)
    const sha256 = sha256Hex(bytes)
    const existing = this.find(sha256)
    if (existing) return { sha256, path: existing, created: false }
    const shard = join(this.root, sha256.slice(0, 2))
    mkdirSync(shard, { recursive: true })
    const path = join(shard, `${sha256}.${ext}`)
    writeFileAtomic(path, bytes)
    return { sha256, path, created: true }
  }

  has(sha256: string): boolean {
    assertSha256(sha256)
    return this.find(sha256) !== null
  }

  /** Absolute path of the stored blob; throws if it is not in the store. */
  path(sha256: string): string {
    assertSha256(sha256)
    const found = this.find(sha256)
    if (!found) throw new Error(`blob ${sha256} is not in the store at ${this.root}`)
    return found
  }

  /** With `verify`, re-hashes the bytes and throws if the file no longer matches its name. */
  read(sha256: string, options: { verify?: boolean } = {}): Buffer {
    const bytes = readFileSync(this.path(sha256))
    if (options.verify) {
      const actual = sha256Hex(bytes)
      if (actual !== sha256) throw new Error(`blob ${sha256} is corrupt: its content hashes to ${actual}`)
    }
    return bytes
  }

  /** Every stored blob (temp files of writes in progress are not blobs). */
  list(): { sha256: string; path: string }[] {
    if (!existsSync(this.root)) return []
    const out: { sha256: string; path: string }[] = []
    for (const shard of readdirSync(this.root, { withFileTypes: true })) {
      if (!shard.isDirectory()) continue
      for (const name of readdirSync(join(this.root, shard.name))) {
        const m = /^([0-9a-f]{64})\./.exec(name)
        if (m) out.push({ sha256: m[1], path: join(this.root, shard.name, name) })
      }
    }
    return out
  }

  private find(sha256: string): string | null {
    const shard = join(this.root, sha256.slice(0, 2))
    if (!existsSync(shard)) return null
    // Temp files start with a dot, so an interrupted write never matches this prefix.
    const name = readdirSync(shard).find((n) => n.startsWith(`${sha256}.`))
    return name ? join(shard, name) : null
  }
}
