import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { BlobStore, sha256Hex } from '../../../src/core/cases/blob-store'
import { tempDir } from './fixtures'

const BYTES = new Uint8Array([1, 2, 3, 4, 5])
const SHA = sha256Hex(BYTES)

describe('BlobStore', () => {
  it('stores content under its hash, sharded by the first two hex digits', () => {
    const store = new BlobStore(join(tempDir(), 'blobs'))
    const put = store.put(BYTES, 'png')
    expect(put).toEqual({ sha256: SHA, path: join(store.root, SHA.slice(0, 2), `${SHA}.png`), created: true })
    expect(store.has(SHA)).toBe(true)
    expect(store.path(SHA)).toBe(put.path)
    expect(new Uint8Array(store.read(SHA, { verify: true }))).toEqual(BYTES)
  })

  it('is idempotent for identical content', () => {
    const store = new BlobStore(join(tempDir(), 'blobs'))
    const first = store.put(BYTES, 'png')
    const second = store.put(new Uint8Array(BYTES), 'jpg')
    expect(second).toEqual({ sha256: SHA, path: first.path, created: false })
    expect(readdirSync(join(store.root, SHA.slice(0, 2)))).toEqual([`${SHA}.png`])
  })

  it('never mistakes an interrupted write for a blob, and adds only the finished file', () => {
    const store = new BlobStore(join(tempDir(), 'blobs'))
    const shard = join(store.root, SHA.slice(0, 2))
    mkdirSync(shard, { recursive: true })
    // What a crash mid-write leaves behind: a partial temp file where the blob would go.
    const leftover = `.${SHA}.png.999.abc.tmp`
    writeFileSync(join(shard, leftover), 'partial')
    expect(store.has(SHA)).toBe(false)
    expect(store.put(BYTES, 'png').created).toBe(true)
    expect(new Uint8Array(store.read(SHA, { verify: true }))).toEqual(BYTES)
    expect(readdirSync(shard).sort()).toEqual([leftover, `${SHA}.png`].sort())
  })

  it('detects corrupted content when asked to verify', () => {
    const store = new BlobStore(join(tempDir(), 'blobs'))
    const { path } = store.put(BYTES, 'png')
    writeFileSync(path, 'tampered')
    expect(store.read(SHA).toString()).toBe('tampered')
    expect(() => store.read(SHA, { verify: true })).toThrow(new RegExp(`blob ${SHA} is corrupt`))
  })

  it('rejects malformed hashes and extensions, and names missing blobs', () => {
    const store = new BlobStore(join(tempDir(), 'blobs'))
    expect(() => store.has('xyz')).toThrow(/sha256 must be 64 lowercase hex characters/)
    expect(() => store.put(BYTES, '../png')).toThrow(/blob extension/)
    expect(store.has(SHA)).toBe(false)
    expect(() => store.path(SHA)).toThrow(new RegExp(`blob ${SHA} is not in the store`))
  })
})
