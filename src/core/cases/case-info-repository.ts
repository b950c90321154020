import { randomUUID } from 'node:crypto'
import type { CaseInfo } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { isPlainObject, optionalText, requireText } from './case-input'
import type { CaseUpdate } from './case-records'
import type { CaseRow } from './case-rows'
import type { CaseWriter } from './case-writer'

const CASE_UPDATE_KEYS = ['name', 'number', 'examiner', 'notes'] as const

/** The case's own fields, as a new case gives them. */
export type CaseFields = Pick<CaseInfo, 'name' | 'number' | 'examiner' | 'notes'>

/** The case's own record (the single `case_info` row) and the counts shown with it. */
export class CaseInfoRepository {
  constructor(
    private readonly writer: CaseWriter,
    private readonly dir: string
  ) {}

  /** Writes the case record of a new case; `fields` are already checked. */
  create(fields: CaseFields): void {
    const { name, number, examiner, notes } = fields
    this.writer.write('case.create', (db, at) => {
      const id = randomUUID()
      db.prepare('INSERT INTO case_info (singleton, id, name, number, examiner, notes, created_at) VALUES (1, ?, ?, ?, ?, ?, ?)').run(
        id,
        name,
        number,
        examiner,
        notes,
        at
      )
      return { result: undefined, details: { id, name, number, examiner, notes } }
    })
  }

  /** The case's examiner, or null (before the case row exists, too). */
  examiner(): string | null {
    const row = this.writer.read((db) => db.prepare('SELECT examiner FROM case_info').get() as { examiner: string | null } | undefined)
    return row?.examiner ?? null
  }

  info(): CaseInfo {
    return this.writer.read((db) => {
      const row = db.prepare('SELECT id, name, number, examiner, notes, created_at FROM case_info').get() as CaseRow
      const counts = db
        .prepare(
          `SELECT (SELECT COUNT(*) FROM templates) AS templates,
                  (SELECT COUNT(*) FROM images) AS images,
                  (SELECT COUNT(*) FROM runs) AS runs`
        )
        .get() as { templates: number; images: number; runs: number }
      return {
        id: row.id,
        dir: this.dir,
        name: row.name,
        number: row.number,
        examiner: row.examiner,
        notes: row.notes,
        createdAt: row.created_at,
        templateCount: counts.templates,
        imageCount: counts.images,
        runCount: counts.runs
      }
    })
  }

  update(fields: CaseUpdate): CaseInfo {
    if (!isPlainObject(fields)) throw new ValidationError('case update must be an object')
    for (const key of Object.keys(fields)) {
      if (!(CASE_UPDATE_KEYS as readonly string[]).includes(key)) throw new ValidationError(`case field "${key}" cannot be updated (allowed: ${CASE_UPDATE_KEYS.join(', ')})`)
    }
    const next: Partial<Record<(typeof CASE_UPDATE_KEYS)[number], string | null>> = {}
    if (fields.name !== undefined) next.name = requireText(fields.name, 'case name').trim()
    if (fields.number !== undefined) next.number = optionalText(fields.number, 'case number')
    if (fields.examiner !== undefined) next.examiner = optionalText(fields.examiner, 'examiner')
    if (fields.notes !== undefined) next.notes = optionalText(fields.notes, 'notes')

    this.writer.write('case.update', (db) => {
      const current = db.prepare('SELECT name, number, examiner, notes FROM case_info').get() as Record<string, string | null>
      const changes: Record<string, { from: string | null; to: string | null }> = {}
      for (const [key, value] of Object.entries(next)) {
        if (current[key] !== value) changes[key] = { from: current[key], to: value ?? null }
      }
      if (Object.keys(changes).length === 0) return { result: undefined, details: null }
      // Column names come from the fixed CASE_UPDATE_KEYS list, never from the caller.
      const sets = Object.keys(changes).map((key) => `${key} = @${key}`)
      db.prepare(`UPDATE case_info SET ${sets.join(', ')}`).run(Object.fromEntries(Object.entries(changes).map(([k, c]) => [k, c.to])))
      return { result: undefined, details: { changes } }
    })
    return this.info()
  }
}
