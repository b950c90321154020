import type { TemplateRecord } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { assertSha256, sha256Hex } from './blob-store'
import { canonicalJson } from './canonical-json'
import { requireText } from './case-input'
import { templateFromRow, type TemplateRow } from './case-rows'
import type { CaseWriter } from './case-writer'
import type { ImageRepository } from './image-repository'
import { validateTemplate } from './template-validation'
import { encodeVector } from './vector-blob'

/** Templates of the case, each with its encoder, source file and (for enrolments) ground-truth image. */
export class TemplateRepository {
  constructor(
    private readonly writer: CaseWriter,
    private readonly images: ImageRepository
  ) {}

  /** Validates and stores the template. The vector is kept as float32, so it reads back rounded to float32. */
  add(t: TemplateRecord): TemplateRecord {
    validateTemplate(t)
    if (t.imageSha256 !== null) assertSha256(t.imageSha256, 'template imageSha256')
    const vector = encodeVector(t.vector)
    this.writer.write('template.add', (db) => {
      if (db.prepare('SELECT 1 FROM templates WHERE id = ?').get(t.id)) throw new ValidationError(`template ${t.id} already exists in this case`)
      if (t.imageSha256 !== null) this.images.requireStored(t.imageSha256, 'template imageSha256')
      db.prepare(
        `INSERT INTO templates (id, label, encoder_id, encoder_sha256, dimension, norm, vector, origin, format,
           source_file_sha256, source_file_name, image_sha256, face, subject, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
      ).run(
        t.id,
        t.label,
        t.encoderId,
        t.encoderSha256,
        t.dimension,
        t.norm,
        vector,
        t.origin,
        t.format,
        t.sourceFileSha256,
        t.sourceFileName,
        t.imageSha256,
        t.face ? canonicalJson(t.face) : null,
        t.subject?.trim() || null,
        t.createdAt
      )
      return {
        result: undefined,
        details: {
          id: t.id,
          label: t.label,
          encoderId: t.encoderId,
          encoderSha256: t.encoderSha256,
          dimension: t.dimension,
          origin: t.origin,
          sourceFileSha256: t.sourceFileSha256,
          imageSha256: t.imageSha256,
          vectorSha256: sha256Hex(vector)
        }
      }
    })
    return this.get(t.id) as TemplateRecord
  }

  get(id: string): TemplateRecord | null {
    const row = this.writer.read((db) => db.prepare('SELECT * FROM templates WHERE id = ?').get(id) as TemplateRow | undefined)
    return row ? templateFromRow(row) : null
  }

  list(): TemplateRecord[] {
    return this.writer.read((db) => db.prepare('SELECT * FROM templates ORDER BY created_at, rowid').all() as TemplateRow[]).map(templateFromRow)
  }

  /** Refused while runs refer to the template: they are the provenance of its results. */
  delete(id: string): void {
    requireText(id, 'template id')
    this.writer.write('template.delete', (db) => {
      const row = db.prepare('SELECT * FROM templates WHERE id = ?').get(id) as TemplateRow | undefined
      if (!row) throw new ValidationError(`template ${id} does not exist in this case`)
      const { n } = db.prepare('SELECT COUNT(*) AS n FROM runs WHERE template_id = ?').get(id) as { n: number }
      if (n > 0) throw new ValidationError(`template ${id} is used by ${n} run(s) and cannot be deleted`)
      db.prepare('DELETE FROM templates WHERE id = ?').run(id)
      return {
        result: undefined,
        details: { id, label: row.label, encoderId: row.encoder_id, sourceFileSha256: row.source_file_sha256, vectorSha256: sha256Hex(row.vector) }
      }
    })
  }
}
