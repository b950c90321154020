import type { ModelManifest, ModelRole } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { assertSha256, sha256Hex } from './blob-store'
import { isPlainObject, jsonObject, requireText } from './case-input'
import type { ModelRef } from './case-records'
import { modelFromRow, type ModelRow } from './case-rows'
import type { CaseWriter } from './case-writer'

const MODEL_ROLES: readonly ModelRole[] = ['encoder', 'generator', 'decoder', 'detector', 'landmarker']

/** The models the case depends on, each with its manifest as it was when first referenced. */
export class ModelRefRepository {
  constructor(private readonly writer: CaseWriter) {}

  /** Records that the case depends on this model; referencing the same id and hash again is a no-op. */
  add(manifest: ModelManifest): ModelRef {
    if (!isPlainObject(manifest)) throw new ValidationError('model manifest must be a plain object')
    const id = requireText(manifest.id, 'model id')
    assertSha256(manifest.sha256, 'model sha256')
    if (!MODEL_ROLES.includes(manifest.role)) throw new ValidationError(`model role must be one of ${MODEL_ROLES.join(', ')}, got ${JSON.stringify(manifest.role)}`)
    const manifestJson = jsonObject(manifest, 'model manifest')
    return this.writer.write('model.add', (db, at) => {
      const existing = db.prepare('SELECT * FROM models WHERE id = ? AND sha256 = ?').get(id, manifest.sha256) as ModelRow | undefined
      if (existing) return { result: modelFromRow(existing), details: null }
      db.prepare('INSERT INTO models (id, sha256, role, manifest, added_at) VALUES (?, ?, ?, ?, ?)').run(id, manifest.sha256, manifest.role, manifestJson, at)
      const ref: ModelRef = { id, sha256: manifest.sha256, role: manifest.role, manifest: JSON.parse(manifestJson) as ModelManifest, addedAt: at }
      return { result: ref, details: { id, sha256: manifest.sha256, role: manifest.role, manifestSha256: sha256Hex(Buffer.from(manifestJson)) } }
    })
  }

  list(): ModelRef[] {
    return this.writer.read((db) => db.prepare('SELECT * FROM models ORDER BY added_at, rowid').all() as ModelRow[]).map(modelFromRow)
  }
}
