import { randomUUID } from 'node:crypto'
import type { RunRecord, RunStatus } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { canonicalJson } from './canonical-json'
import { isPlainObject, jsonObject, optionalText, optionalTimestamp, requireText } from './case-input'
import type { RunCreateInput, RunPatch } from './case-records'
import { runFromRow, type RunRow } from './case-rows'
import type { CaseWriter } from './case-writer'
import { RUN_OWNER } from './run-owner'

const RUN_PATCH_KEYS = ['status', 'startedAt', 'finishedAt', 'seconds', 'error', 'summary'] as const

/** Finished runs are the record of what happened; they never change again. */
const RUN_TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['queued', 'running', 'failed', 'cancelled'],
  running: ['running', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: []
}

/** The patch as column values; throws on a field that cannot be patched or a bad value. */
function patchColumns(patch: RunPatch): Record<string, unknown> {
  const columns: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue
    switch (key as (typeof RUN_PATCH_KEYS)[number]) {
      case 'status':
        if (typeof value !== 'string' || !Object.hasOwn(RUN_TRANSITIONS, value)) throw new ValidationError(`run status must be one of ${Object.keys(RUN_TRANSITIONS).join(', ')}, got ${JSON.stringify(value)}`)
        columns.status = value
        break
      case 'startedAt':
        columns.started_at = optionalTimestamp(value, 'run startedAt')
        break
      case 'finishedAt':
        columns.finished_at = optionalTimestamp(value, 'run finishedAt')
        break
      case 'seconds':
        if (value !== null && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
          throw new ValidationError(`run seconds must be a finite number ≥ 0 or null, got ${String(value)}`)
        }
        columns.seconds = value
        break
      case 'error':
        columns.error = optionalText(value, 'run error')
        break
      case 'summary':
        columns.summary = value === null ? null : jsonObject(value, 'run summary')
        break
      default:
        throw new ValidationError(`run field "${key}" cannot be updated (allowed: ${RUN_PATCH_KEYS.join(', ')})`)
    }
  }
  return columns
}

/** Reconstruction runs: created queued, moved on by the job queue, frozen once finished. */
export class RunRepository {
  constructor(private readonly writer: CaseWriter) {}

  /** Creates a run in status `queued`, owned by this process. */
  create(input: RunCreateInput): RunRecord {
    if (!input || typeof input !== 'object') throw new ValidationError('run input must be an object')
    const method = requireText(input.method, 'run method')
    const softwareVersion = requireText(input.softwareVersion, 'run softwareVersion')
    const parameters = jsonObject(input.parameters ?? {}, 'run parameters')
    const modelSha256s = input.modelSha256s ?? {}
    if (!isPlainObject(modelSha256s) || Object.values(modelSha256s).some((v) => typeof v !== 'string')) {
      throw new ValidationError('run modelSha256s must map names to sha256 strings')
    }
    const seed = input.seed ?? null
    if (seed !== null && !Number.isSafeInteger(seed)) throw new ValidationError(`run seed must be an integer or null, got ${String(seed)}`)
    const templateId = input.templateId ?? null
    if (templateId !== null) requireText(templateId, 'run templateId')

    const id = randomUUID()
    this.writer.write('run.create', (db, at) => {
      if (templateId !== null && !db.prepare('SELECT 1 FROM templates WHERE id = ?').get(templateId)) {
        throw new ValidationError(`run templateId ${templateId} is not a template in this case`)
      }
      db.prepare(
        `INSERT INTO runs (id, method, status, parameters, seed, model_sha256s, software_version, template_id, created_at, owner)
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?)`
      ).run(id, method, parameters, seed, canonicalJson(modelSha256s), softwareVersion, templateId, at, RUN_OWNER)
      return {
        result: undefined,
        details: { id, method, parameters: JSON.parse(parameters), seed, modelSha256s, softwareVersion, templateId, owner: RUN_OWNER }
      }
    })
    return this.get(id) as RunRecord
  }

  /** Moves a run on: queued → running | failed | cancelled, running → succeeded | failed | cancelled. */
  update(id: string, patch: RunPatch): RunRecord {
    requireText(id, 'run id')
    if (!isPlainObject(patch)) throw new ValidationError('run patch must be an object')
    const columns = patchColumns(patch)

    this.writer.write('run.update', (db) => {
      const current = db.prepare('SELECT status FROM runs WHERE id = ?').get(id) as { status: RunStatus } | undefined
      if (!current) throw new ValidationError(`run ${id} does not exist in this case`)
      const next = (columns.status as RunStatus | undefined) ?? current.status
      if (!RUN_TRANSITIONS[current.status].includes(next)) {
        throw new ValidationError(
          RUN_TRANSITIONS[current.status].length === 0
            ? `run ${id} is already ${current.status}; finished runs cannot change`
            : `run ${id} cannot go from ${current.status} to ${next}`
        )
      }
      const keys = Object.keys(columns)
      if (keys.length === 0) return { result: undefined, details: null }
      // Column names come from the fixed switch in patchColumns, never from the caller.
      db.prepare(`UPDATE runs SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...columns, id })
      const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined))
      return { result: undefined, details: { id, previousStatus: current.status, ...changes } }
    })
    return this.get(id) as RunRecord
  }

  get(id: string): RunRecord | null {
    const row = this.writer.read((db) => db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined)
    return row ? runFromRow(row) : null
  }

  list(): RunRecord[] {
    return this.writer.read((db) => db.prepare('SELECT * FROM runs ORDER BY created_at, rowid').all() as RunRow[]).map(runFromRow)
  }
}
