import { randomUUID } from 'node:crypto'
import { ValidationError } from '../../shared/validation'
import { assertSha256, sha256Hex } from './blob-store'
import { jsonValue, requireText } from './case-input'
import type { ResultInput, ResultRecord } from './case-records'
import { resultFromRow, type ResultRow } from './case-rows'
import type { CaseWriter } from './case-writer'
import type { ImageRepository } from './image-repository'

/** What runs produced: scores, provenance and, where there is one, the reconstructed image. */
export class ResultRepository {
  constructor(
    private readonly writer: CaseWriter,
    private readonly images: ImageRepository
  ) {}

  add(input: ResultInput): ResultRecord {
    if (!input || typeof input !== 'object') throw new ValidationError('result input must be an object')
    const runId = requireText(input.runId, 'result runId')
    const kind = requireText(input.kind, 'result kind')
    if (input.data === undefined) throw new ValidationError('result data must be a JSON value')
    const data = jsonValue(input.data, 'result data')
    const imageSha256 = input.imageSha256 ?? null
    if (imageSha256 !== null) assertSha256(imageSha256, 'result imageSha256')

    const id = randomUUID()
    return this.writer.write('result.add', (db, at) => {
      if (!db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId)) throw new ValidationError(`result runId ${runId} is not a run in this case`)
      if (imageSha256 !== null) this.images.requireStored(imageSha256, 'result imageSha256')
      db.prepare('INSERT INTO results (id, run_id, kind, data, image_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, runId, kind, data, imageSha256, at)
      const record: ResultRecord = { id, runId, kind, data: JSON.parse(data), imageSha256, createdAt: at }
      return { result: record, details: { id, runId, kind, imageSha256, dataSha256: sha256Hex(Buffer.from(data)) } }
    })
  }

  list(runId: string): ResultRecord[] {
    return this.writer.read((db) => db.prepare('SELECT * FROM results WHERE run_id = ? ORDER BY created_at, rowid').all(runId) as ResultRow[]).map(resultFromRow)
  }
}
