import type { ImageRecord } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { BlobStore, assertSha256, sha256Hex } from './blob-store'
import { optionalText } from './case-input'
import type { ImageMeta } from './case-records'
import { imageFromRow, type ImageRow } from './case-rows'
import type { CaseWriter } from './case-writer'

const MIME_EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/tiff': 'tif'
}

function mimeExtension(mime: string): string {
  return MIME_EXTENSIONS[mime] ?? 'bin'
}

/** Images of the case: a row each in `images`, the bytes in the content-addressed blob store. */
export class ImageRepository {
  constructor(
    private readonly writer: CaseWriter,
    private readonly blobs: BlobStore
  ) {}

  /** Stores the image by content hash; adding identical bytes again returns the existing record. */
  add(bytes: Uint8Array, meta: ImageMeta): ImageRecord {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength === 0) throw new ValidationError('image bytes must be a non-empty Uint8Array')
    if (!meta || typeof meta !== 'object') throw new ValidationError('image metadata must be an object')
    if (typeof meta.mime !== 'string' || !/^image\/[a-z0-9.+-]+$/.test(meta.mime)) {
      throw new ValidationError(`image mime must look like "image/png", got ${JSON.stringify(meta.mime)}`)
    }
    for (const side of ['width', 'height'] as const) {
      if (!Number.isInteger(meta[side]) || meta[side] < 1) throw new ValidationError(`image ${side} must be a positive integer, got ${String(meta[side])}`)
    }
    const originalName = optionalText(meta.originalName, 'image originalName')
    const sha256 = sha256Hex(bytes)
    const existing = this.get(sha256)
    // The blob is written (atomically) before the row, so a committed row always has its file;
    // a crash in between leaves only an unreferenced blob, which the next add reuses.
    this.blobs.put(bytes, mimeExtension(existing?.mime ?? meta.mime))
    if (existing) return existing

    return this.writer.write('image.add', (db, at) => {
      const again = this.get(sha256)
      if (again) return { result: again, details: null }
      db.prepare('INSERT INTO images (sha256, mime, width, height, original_name, added_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        sha256,
        meta.mime,
        meta.width,
        meta.height,
        originalName,
        at
      )
      const record: ImageRecord = { sha256, mime: meta.mime, width: meta.width, height: meta.height, originalName, addedAt: at }
      return { result: record, details: { sha256, mime: meta.mime, width: meta.width, height: meta.height, originalName, bytes: bytes.byteLength } }
    })
  }

  get(sha256: string): ImageRecord | null {
    assertSha256(sha256, 'image sha256')
    const row = this.writer.read((db) => db.prepare('SELECT * FROM images WHERE sha256 = ?').get(sha256) as ImageRow | undefined)
    return row ? imageFromRow(row) : null
  }

  /** Absolute path of the stored image file. */
  path(sha256: string): string {
    if (!this.get(sha256)) throw new ValidationError(`image ${sha256} is not in this case`)
    return this.blobs.path(sha256)
  }

  list(): ImageRecord[] {
    return this.writer.read((db) => db.prepare('SELECT * FROM images ORDER BY added_at, rowid').all() as ImageRow[]).map(imageFromRow)
  }

  /** Throws unless the image is in the case: records may only point at stored images. */
  requireStored(sha256: string, what: string): void {
    if (!this.get(sha256)) throw new ValidationError(`${what} ${sha256} is not an image in this case; add the image first`)
  }
}
