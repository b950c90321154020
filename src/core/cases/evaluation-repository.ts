import { randomUUID } from 'node:crypto'
import type { EvaluationMetrics, EvaluationRecord, EvaluationRunLink, EvaluationSpec, EvaluationStatus } from '../../shared/evaluation-types'
import { ValidationError } from '../../shared/validation'
import { sha256Hex } from './blob-store'
import { jsonObject, optionalText, requireText } from './case-input'
import type { CaseWriter } from './case-writer'

interface EvaluationRow {
  id: string
  spec: string
  spec_sha256: string
  status: EvaluationStatus
  job_run_id: string | null
  metrics: string | null
  error: string | null
  created_at: string
  updated_at: string
}

interface EvaluationRunRow {
  evaluation_id: string
  attempt_key: string
  method: string
  subject: string
  run_id: string
  added_at: string
}

const STATUSES: readonly EvaluationStatus[] = ['running', 'succeeded', 'failed', 'cancelled']

function fromRow(row: EvaluationRow): EvaluationRecord {
  return {
    id: row.id,
    spec: JSON.parse(row.spec) as EvaluationSpec,
    specSha256: row.spec_sha256,
    status: row.status,
    jobRunId: row.job_run_id,
    metrics: row.metrics === null ? null : (JSON.parse(row.metrics) as EvaluationMetrics),
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at
  }
}

function linkFromRow(row: EvaluationRunRow): EvaluationRunLink {
  return { evaluationId: row.evaluation_id, attemptKey: row.attempt_key, method: row.method, subject: row.subject, runId: row.run_id, addedAt: row.added_at }
}

export interface EvaluationPatch {
  status?: EvaluationStatus
  jobRunId?: string | null
  metrics?: EvaluationMetrics | null
  error?: string | null
}

/** Evaluations: a spec (what was asked), a status, the runs made for it, and the metrics once computed. */
export class EvaluationRepository {
  constructor(private readonly writer: CaseWriter) {}

  create(spec: EvaluationSpec): EvaluationRecord {
    const specJson = jsonObject(spec, 'evaluation spec')
    const specSha256 = sha256Hex(Buffer.from(specJson))
    const id = randomUUID()
    this.writer.write('evaluation.create', (db, at) => {
      db.prepare("INSERT INTO evaluations (id, spec, spec_sha256, status, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)").run(id, specJson, specSha256, at, at)
      return { result: undefined, details: { id, specSha256, spec: JSON.parse(specJson) } }
    })
    return this.get(id)!
  }

  /** The newest evaluation with exactly this spec (canonical JSON), to resume it. */
  findBySpec(spec: EvaluationSpec): EvaluationRecord | null {
    const specSha256 = sha256Hex(Buffer.from(jsonObject(spec, 'evaluation spec')))
    const row = this.writer.read((db) => db.prepare('SELECT * FROM evaluations WHERE spec_sha256 = ? ORDER BY created_at DESC, rowid DESC LIMIT 1').get(specSha256) as EvaluationRow | undefined)
    return row ? fromRow(row) : null
  }

  update(id: string, patch: EvaluationPatch): EvaluationRecord {
    requireText(id, 'evaluation id')
    const columns: Record<string, unknown> = {}
    if (patch.status !== undefined) {
      if (!STATUSES.includes(patch.status)) throw new ValidationError(`evaluation status must be one of ${STATUSES.join(', ')}`)
      columns.status = patch.status
    }
    if (patch.jobRunId !== undefined) columns.job_run_id = optionalText(patch.jobRunId, 'evaluation jobRunId')
    if (patch.metrics !== undefined) columns.metrics = patch.metrics === null ? null : jsonObject(patch.metrics, 'evaluation metrics')
    if (patch.error !== undefined) columns.error = optionalText(patch.error, 'evaluation error')
    this.writer.write('evaluation.update', (db, at) => {
      if (!db.prepare('SELECT 1 FROM evaluations WHERE id = ?').get(id)) throw new ValidationError(`evaluation ${id} does not exist in this case`)
      const keys = Object.keys(columns)
      if (keys.length === 0) return { result: undefined, details: null }
      db.prepare(`UPDATE evaluations SET ${keys.map((k) => `${k} = @${k}`).join(', ')}, updated_at = @at WHERE id = @id`).run({ ...columns, at, id })
      const details: Record<string, unknown> = { id, ...patch }
      // The metrics are large; the audit entry records their hash.
      if (typeof columns.metrics === 'string') details.metrics = { sha256: sha256Hex(Buffer.from(columns.metrics)) }
      return { result: undefined, details }
    })
    return this.get(id)!
  }

  addRun(link: Omit<EvaluationRunLink, 'addedAt'>): EvaluationRunLink {
    for (const k of ['evaluationId', 'attemptKey', 'method', 'subject', 'runId'] as const) requireText(link[k], `evaluation run ${k}`)
    return this.writer.write('evaluation.run', (db, at) => {
      if (!db.prepare('SELECT 1 FROM runs WHERE id = ?').get(link.runId)) throw new ValidationError(`run ${link.runId} is not a run in this case`)
      db.prepare('INSERT INTO evaluation_runs (evaluation_id, attempt_key, method, subject, run_id, added_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        link.evaluationId,
        link.attemptKey,
        link.method,
        link.subject,
        link.runId,
        at
      )
      return { result: { ...link, addedAt: at }, details: { ...link } }
    })
  }

  get(id: string): EvaluationRecord | null {
    const row = this.writer.read((db) => db.prepare('SELECT * FROM evaluations WHERE id = ?').get(id) as EvaluationRow | undefined)
    return row ? fromRow(row) : null
  }

  list(): EvaluationRecord[] {
    return this.writer.read((db) => db.prepare('SELECT * FROM evaluations ORDER BY created_at, rowid').all() as EvaluationRow[]).map(fromRow)
  }

  runs(evaluationId: string): EvaluationRunLink[] {
    return this.writer.read((db) => db.prepare('SELECT * FROM evaluation_runs WHERE evaluation_id = ? ORDER BY added_at, rowid').all(evaluationId) as EvaluationRunRow[]).map(linkFromRow)
  }
}
