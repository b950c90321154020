import { randomUUID } from 'node:crypto'
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join, resolve } from 'node:path'
import Database from 'better-sqlite3'
import type {
  AuditEntry,
  AuditVerification,
  CaseCreateInput,
  CaseInfo,
  ImageRecord,
  ModelManifest,
  ModelRole,
  RunRecord,
  RunStatus,
  TemplateRecord
} from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { AuditLog } from './audit-log'
import { BlobStore, assertSha256, sha256Hex } from './blob-store'
import { canonicalJson } from './canonical-json'
import { migrate, schemaVersion } from './migrations'
import { validateTemplate } from './template-validation'
import type { CaseUpdate, ImageMeta, ModelRef, ResultInput, ResultRecord, RunCreateInput, RunPatch } from './case-records'
import { imageFromRow, modelFromRow, resultFromRow, runFromRow, templateFromRow } from './case-rows'
import type { CaseRow, ImageRow, ModelRow, ResultRow, RunRow, TemplateRow } from './case-rows'
import { encodeVector } from './vector-blob'

export type { CaseUpdate, ImageMeta, ModelRef, ResultInput, ResultRecord, RunCreateInput, RunPatch } from './case-records'

export const CASE_DB_FILE = 'case.db'
export const AUDIT_HEAD_FILE = 'audit-head.json'
export const BLOBS_DIR = 'blobs'

export interface CaseStoreOptions {
  /** Who is recorded in the audit log; defaults to the OS user name. */
  actor?: string
  /** Clock for timestamps (tests pin it). */
  now?: () => Date
}

const MODEL_ROLES: readonly ModelRole[] = ['encoder', 'generator', 'decoder', 'detector', 'landmarker']
const RUN_PATCH_KEYS = ['status', 'startedAt', 'finishedAt', 'seconds', 'error', 'summary'] as const
const CASE_UPDATE_KEYS = ['name', 'number', 'examiner', 'notes'] as const

/** Finished runs are the record of what happened; they never change again. */
const RUN_TRANSITIONS: Record<RunStatus, readonly RunStatus[]> = {
  queued: ['queued', 'running', 'failed', 'cancelled'],
  running: ['running', 'succeeded', 'failed', 'cancelled'],
  succeeded: [],
  failed: [],
  cancelled: []
}

const MIME_EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/tiff': 'tif'
}

/** What a write did: its return value, and the audit details (null when nothing changed, so nothing is logged). */
interface WriteOutcome<T> {
  result: T
  details: Record<string, unknown> | null
}

function defaultActor(): string {
  try {
    return userInfo().username
  } catch {
    // userInfo() throws when the uid has no passwd entry (common in containers).
    return process.env.USER ?? process.env.USERNAME ?? 'unknown'
  }
}

function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`${what} must be a non-empty string`)
  return value
}

function optionalText(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw new ValidationError(`${what} must be a string or null`)
  return value
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function jsonObject(value: unknown, what: string): string {
  if (!isPlainObject(value)) throw new ValidationError(`${what} must be a plain object`)
  return jsonValue(value, what)
}

function jsonValue(value: unknown, what: string): string {
  try {
    return canonicalJson(value)
  } catch (err) {
    throw new ValidationError(`${what} is not storable as JSON: ${(err as Error).message}`)
  }
}

function optionalTimestamp(value: unknown, what: string): string | null {
  if (value === null) return null
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new ValidationError(`${what} must be an ISO date string or null`)
  return value
}

function mimeExtension(mime: string): string {
  return MIME_EXTENSIONS[mime] ?? 'bin'
}

function openDatabase(file: string, mustExist: boolean): Database.Database {
  // Inside Electron the Node-ABI build cannot load; the app points at an Electron-ABI copy.
  const nativeBinding = process.env.UNVEIL_SQLITE_BINDING || undefined
  const db = new Database(file, { fileMustExist: mustExist, nativeBinding })
  try {
    db.pragma('journal_mode = WAL')
    // Per-connection settings: foreign keys are off by default in SQLite; the timeout lets the
    // app and the CLI share a case without "database is locked" on brief overlaps.
    db.pragma('foreign_keys = ON')
    db.pragma('busy_timeout = 5000')
    return db
  } catch (err) {
    db.close()
    throw err
  }
}

/**
 * One case folder: `case.db` (SQLite, WAL), `blobs/` (content-addressed images) and
 * `audit-head.json` (the audit anchor). Every change is one transaction that also appends
 * the audit entry describing it.
 */
export class CaseStore {
  readonly dir: string
  readonly actor: string
  private readonly now: () => Date
  private readonly audit: AuditLog
  private readonly blobs: BlobStore
  private connection: Database.Database | null

  private constructor(dir: string, db: Database.Database, options: CaseStoreOptions) {
    this.dir = dir
    this.connection = db
    this.actor = options.actor === undefined ? defaultActor() : requireText(options.actor, 'actor')
    this.now = options.now ?? (() => new Date())
    this.audit = new AuditLog(db, join(dir, AUDIT_HEAD_FILE))
    this.blobs = new BlobStore(join(dir, BLOBS_DIR))
  }

  static create(input: CaseCreateInput, options: CaseStoreOptions = {}): CaseStore {
    if (!input || typeof input !== 'object') throw new ValidationError('case input must be an object')
    const dir = resolve(requireText(input.dir, 'case folder'))
    const name = requireText(input.name, 'case name').trim()
    const number = optionalText(input.number, 'case number')
    const examiner = optionalText(input.examiner, 'examiner')
    const notes = optionalText(input.notes, 'notes')
    if (options.actor !== undefined) requireText(options.actor, 'actor')

    const dirExisted = existsSync(dir)
    if (dirExisted && !statSync(dir).isDirectory()) throw new ValidationError(`cannot create a case at ${dir}: it is a file, not a folder`)
    for (const marker of [CASE_DB_FILE, AUDIT_HEAD_FILE]) {
      if (existsSync(join(dir, marker))) throw new ValidationError(`${dir} already holds a case (${marker} exists); open it instead`)
    }

    mkdirSync(dir, { recursive: true })
    const dbFile = join(dir, CASE_DB_FILE)
    let store: CaseStore | null = null
    try {
      const db = openDatabase(dbFile, false)
      store = new CaseStore(dir, db, options)
      migrate(db)
      store.write('case.create', (at) => {
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
      return store
    } catch (err) {
      // Leave no half-made case behind: it would block a retry as "already holds a case".
      store?.close()
      for (const file of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`, join(dir, AUDIT_HEAD_FILE)]) rmSync(file, { force: true })
      if (!dirExisted) rmSync(dir, { recursive: true, force: true })
      throw err
    }
  }

  static open(dir: string, options: CaseStoreOptions = {}): CaseStore {
    const abs = resolve(requireText(dir, 'case folder'))
    if (!existsSync(abs)) throw new ValidationError(`not a case folder: ${abs} does not exist`)
    if (!statSync(abs).isDirectory()) throw new ValidationError(`not a case folder: ${abs} is a file`)
    const dbFile = join(abs, CASE_DB_FILE)
    if (!existsSync(dbFile)) throw new ValidationError(`not a case folder: ${abs} has no ${CASE_DB_FILE}`)
    let db: Database.Database
    try {
      db = openDatabase(dbFile, true)
    } catch (err) {
      throw new ValidationError(`not a case folder: ${dbFile} cannot be opened as a case database (${(err as Error).message})`)
    }
    try {
      // A version-0 file is some other SQLite database; migrating it would write our tables into it.
      if (schemaVersion(db) === 0) throw new ValidationError(`not a case folder: ${dbFile} is not an Unveil case database`)
      migrate(db)
      if (!db.prepare('SELECT 1 FROM case_info').get()) throw new ValidationError(`not a case folder: ${dbFile} has no case record`)
      return new CaseStore(abs, db, options)
    } catch (err) {
      db.close()
      throw err
    }
  }

  get isOpen(): boolean {
    return this.connection !== null
  }

  close(): void {
    this.connection?.close()
    this.connection = null
  }

  // ---- case ----------------------------------------------------------------------------

  info(): CaseInfo {
    const row = this.db.prepare('SELECT id, name, number, examiner, notes, created_at FROM case_info').get() as CaseRow
    const counts = this.db
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

    this.write('case.update', () => {
      const current = this.db.prepare('SELECT name, number, examiner, notes FROM case_info').get() as Record<string, string | null>
      const changes: Record<string, { from: string | null; to: string | null }> = {}
      for (const [key, value] of Object.entries(next)) {
        if (current[key] !== value) changes[key] = { from: current[key], to: value ?? null }
      }
      if (Object.keys(changes).length === 0) return { result: undefined, details: null }
      // Column names come from the fixed CASE_UPDATE_KEYS list, never from the caller.
      const sets = Object.keys(changes).map((key) => `${key} = @${key}`)
      this.db.prepare(`UPDATE case_info SET ${sets.join(', ')}`).run(Object.fromEntries(Object.entries(changes).map(([k, c]) => [k, c.to])))
      return { result: undefined, details: { changes } }
    })
    return this.info()
  }

  // ---- images --------------------------------------------------------------------------

  /** Stores the image by content hash; adding identical bytes again returns the existing record. */
  addImage(bytes: Uint8Array, meta: ImageMeta): ImageRecord {
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
    const existing = this.getImage(sha256)
    // The blob is written (atomically) before the row, so a committed row always has its file;
    // a crash in between leaves only an unreferenced blob, which the next add reuses.
    this.blobs.put(bytes, mimeExtension(existing?.mime ?? meta.mime))
    if (existing) return existing

    return this.write('image.add', (at) => {
      const again = this.getImage(sha256)
      if (again) return { result: again, details: null }
      this.db
        .prepare('INSERT INTO images (sha256, mime, width, height, original_name, added_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(sha256, meta.mime, meta.width, meta.height, originalName, at)
      const record: ImageRecord = { sha256, mime: meta.mime, width: meta.width, height: meta.height, originalName, addedAt: at }
      return { result: record, details: { sha256, mime: meta.mime, width: meta.width, height: meta.height, originalName, bytes: bytes.byteLength } }
    })
  }

  getImage(sha256: string): ImageRecord | null {
    assertSha256(sha256, 'image sha256')
    const row = this.db.prepare('SELECT * FROM images WHERE sha256 = ?').get(sha256) as ImageRow | undefined
    return row ? imageFromRow(row) : null
  }

  /** Absolute path of the stored image file. */
  imagePath(sha256: string): string {
    if (!this.getImage(sha256)) throw new ValidationError(`image ${sha256} is not in this case`)
    return this.blobs.path(sha256)
  }

  listImages(): ImageRecord[] {
    return (this.db.prepare('SELECT * FROM images ORDER BY added_at, rowid').all() as ImageRow[]).map(imageFromRow)
  }

  // ---- templates -----------------------------------------------------------------------

  /** Validates and stores the template. The vector is kept as float32, so it reads back rounded to float32. */
  addTemplate(t: TemplateRecord): TemplateRecord {
    validateTemplate(t)
    if (t.imageSha256 !== null) assertSha256(t.imageSha256, 'template imageSha256')
    const vector = encodeVector(t.vector)
    this.write('template.add', () => {
      if (this.db.prepare('SELECT 1 FROM templates WHERE id = ?').get(t.id)) throw new ValidationError(`template ${t.id} already exists in this case`)
      if (t.imageSha256 !== null && !this.getImage(t.imageSha256)) {
        throw new ValidationError(`template imageSha256 ${t.imageSha256} is not an image in this case; add the image first`)
      }
      this.db
        .prepare(
          `INSERT INTO templates (id, label, encoder_id, encoder_sha256, dimension, norm, vector, origin, format,
             source_file_sha256, source_file_name, image_sha256, face, subject, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
        )
        .run(
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
    return this.getTemplate(t.id) as TemplateRecord
  }

  getTemplate(id: string): TemplateRecord | null {
    const row = this.db.prepare('SELECT * FROM templates WHERE id = ?').get(id) as TemplateRow | undefined
    return row ? templateFromRow(row) : null
  }

  listTemplates(): TemplateRecord[] {
    return (this.db.prepare('SELECT * FROM templates ORDER BY created_at, rowid').all() as TemplateRow[]).map(templateFromRow)
  }

  /** Refused while runs refer to the template: they are the provenance of its results. */
  deleteTemplate(id: string): void {
    requireText(id, 'template id')
    this.write('template.delete', () => {
      const row = this.db.prepare('SELECT * FROM templates WHERE id = ?').get(id) as TemplateRow | undefined
      if (!row) throw new ValidationError(`template ${id} does not exist in this case`)
      const { n } = this.db.prepare('SELECT COUNT(*) AS n FROM runs WHERE template_id = ?').get(id) as { n: number }
      if (n > 0) throw new ValidationError(`template ${id} is used by ${n} run(s) and cannot be deleted`)
      this.db.prepare('DELETE FROM templates WHERE id = ?').run(id)
      return {
        result: undefined,
        details: { id, label: row.label, encoderId: row.encoder_id, sourceFileSha256: row.source_file_sha256, vectorSha256: sha256Hex(row.vector) }
      }
    })
  }

  // ---- models --------------------------------------------------------------------------

  /** Records that the case depends on this model; referencing the same id and hash again is a no-op. */
  addModelRef(manifest: ModelManifest): ModelRef {
    if (!isPlainObject(manifest)) throw new ValidationError('model manifest must be a plain object')
    const id = requireText(manifest.id, 'model id')
    assertSha256(manifest.sha256, 'model sha256')
    if (!MODEL_ROLES.includes(manifest.role)) throw new ValidationError(`model role must be one of ${MODEL_ROLES.join(', ')}, got ${JSON.stringify(manifest.role)}`)
    const manifestJson = jsonObject(manifest, 'model manifest')
    return this.write('model.add', (at) => {
      const existing = this.db.prepare('SELECT * FROM models WHERE id = ? AND sha256 = ?').get(id, manifest.sha256) as ModelRow | undefined
      if (existing) return { result: modelFromRow(existing), details: null }
      this.db.prepare('INSERT INTO models (id, sha256, role, manifest, added_at) VALUES (?, ?, ?, ?, ?)').run(id, manifest.sha256, manifest.role, manifestJson, at)
      const ref: ModelRef = { id, sha256: manifest.sha256, role: manifest.role, manifest: JSON.parse(manifestJson) as ModelManifest, addedAt: at }
      return { result: ref, details: { id, sha256: manifest.sha256, role: manifest.role, manifestSha256: sha256Hex(Buffer.from(manifestJson)) } }
    })
  }

  listModelRefs(): ModelRef[] {
    return (this.db.prepare('SELECT * FROM models ORDER BY added_at, rowid').all() as ModelRow[]).map(modelFromRow)
  }

  // ---- runs ----------------------------------------------------------------------------

  /** Creates a run in status `queued`. */
  createRun(input: RunCreateInput): RunRecord {
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
    this.write('run.create', (at) => {
      if (templateId !== null && !this.db.prepare('SELECT 1 FROM templates WHERE id = ?').get(templateId)) {
        throw new ValidationError(`run templateId ${templateId} is not a template in this case`)
      }
      this.db
        .prepare(
          `INSERT INTO runs (id, method, status, parameters, seed, model_sha256s, software_version, template_id, created_at)
           VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)`
        )
        .run(id, method, parameters, seed, canonicalJson(modelSha256s), softwareVersion, templateId, at)
      return {
        result: undefined,
        details: { id, method, parameters: JSON.parse(parameters), seed, modelSha256s, softwareVersion, templateId }
      }
    })
    return this.getRun(id) as RunRecord
  }

  /** Moves a run on: queued → running | failed | cancelled, running → succeeded | failed | cancelled. */
  updateRun(id: string, patch: RunPatch): RunRecord {
    requireText(id, 'run id')
    if (!isPlainObject(patch)) throw new ValidationError('run patch must be an object')
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

    this.write('run.update', () => {
      const current = this.db.prepare('SELECT status FROM runs WHERE id = ?').get(id) as { status: RunStatus } | undefined
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
      // Column names come from the fixed switch above, never from the caller.
      this.db.prepare(`UPDATE runs SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE id = @id`).run({ ...columns, id })
      const changes = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined))
      return { result: undefined, details: { id, previousStatus: current.status, ...changes } }
    })
    return this.getRun(id) as RunRecord
  }

  getRun(id: string): RunRecord | null {
    const row = this.db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined
    return row ? runFromRow(row) : null
  }

  listRuns(): RunRecord[] {
    return (this.db.prepare('SELECT * FROM runs ORDER BY created_at, rowid').all() as RunRow[]).map(runFromRow)
  }

  // ---- results -------------------------------------------------------------------------

  addResult(input: ResultInput): ResultRecord {
    if (!input || typeof input !== 'object') throw new ValidationError('result input must be an object')
    const runId = requireText(input.runId, 'result runId')
    const kind = requireText(input.kind, 'result kind')
    if (input.data === undefined) throw new ValidationError('result data must be a JSON value')
    const data = jsonValue(input.data, 'result data')
    const imageSha256 = input.imageSha256 ?? null
    if (imageSha256 !== null) assertSha256(imageSha256, 'result imageSha256')

    const id = randomUUID()
    return this.write('result.add', (at) => {
      if (!this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId)) throw new ValidationError(`result runId ${runId} is not a run in this case`)
      if (imageSha256 !== null && !this.getImage(imageSha256)) {
        throw new ValidationError(`result imageSha256 ${imageSha256} is not an image in this case; add the image first`)
      }
      this.db.prepare('INSERT INTO results (id, run_id, kind, data, image_sha256, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(id, runId, kind, data, imageSha256, at)
      const record: ResultRecord = { id, runId, kind, data: JSON.parse(data), imageSha256, createdAt: at }
      return { result: record, details: { id, runId, kind, imageSha256, dataSha256: sha256Hex(Buffer.from(data)) } }
    })
  }

  listResults(runId: string): ResultRecord[] {
    return (this.db.prepare('SELECT * FROM results WHERE run_id = ? ORDER BY created_at, rowid').all(runId) as ResultRow[]).map(resultFromRow)
  }

  // ---- audit ---------------------------------------------------------------------------

  auditLog(): AuditEntry[] {
    return this.audit.entries()
  }

  verifyAudit(): AuditVerification {
    return this.audit.verify()
  }

  private get db(): Database.Database {
    if (!this.connection) throw new Error(`case ${this.dir} is closed`)
    return this.connection
  }

  /**
   * Runs `work` and its audit entry in one immediate transaction (the write lock is taken
   * up front, so checks made inside `work` still hold when it writes), then moves the audit
   * anchor forward once the commit is durable.
   */
  private write<T>(action: string, work: (at: string) => WriteOutcome<T>): T {
    const db = this.db
    const txn = db.transaction(() => {
      const at = this.now().toISOString()
      const outcome = work(at)
      const entry = outcome.details ? this.audit.append(this.actor, action, outcome.details, at) : null
      return { result: outcome.result, entry }
    })
    const { result, entry } = txn.immediate()
    if (entry) this.audit.anchor(entry)
    return result
  }
}
