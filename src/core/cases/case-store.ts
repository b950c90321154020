import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { userInfo } from 'node:os'
import { join, resolve } from 'node:path'
import type Database from 'better-sqlite3'
import type {
  AuditEntry,
  AuditVerification,
  CaseCreateInput,
  CaseInfo,
  ImageRecord,
  ModelManifest,
  RunRecord,
  TemplateRecord
} from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { removeStaleTempFiles } from '../fs/atomic-write'
import { AuditLog, type AuditHead } from './audit-log'
import { BlobStore } from './blob-store'
import { CaseInfoRepository } from './case-info-repository'
import { optionalText, requireText } from './case-input'
import type { CaseUpdate, ImageMeta, ModelRef, ResultInput, ResultRecord, RunCreateInput, RunPatch } from './case-records'
import { CaseWriter, openDatabase } from './case-writer'
import { verifyCaseContents } from './case-verification'
import { EvaluationRepository } from './evaluation-repository'
import { ExportRepository } from './export-repository'
import { ImageRepository } from './image-repository'
import { migrate, schemaVersion } from './migrations'
import { ModelRefRepository } from './model-ref-repository'
import { ResultRepository } from './result-repository'
import { RunRepository } from './run-repository'
import { TemplateRepository } from './template-repository'

export type { CaseUpdate, ImageMeta, ModelRef, ResultInput, ResultRecord, RunCreateInput, RunPatch } from './case-records'

export const CASE_DB_FILE = 'case.db'
export const AUDIT_HEAD_FILE = 'audit-head.json'
export const BLOBS_DIR = 'blobs'

/**
 * What a writer killed mid-write leaves: its temp files (anchor, blob), and a blob it had stored
 * when the transaction that would have added its row and audit entry never committed. Blobs are
 * only stored inside an immediate transaction, so once this holds the write lock no live writer
 * is half-way; a blob that neither a row nor any audit entry names was never part of the case.
 * One an entry names stays: its row was deleted behind the store's back, for verify to report.
 */
function removeKilledWriterLeftovers(db: Database.Database, dir: string): void {
  removeStaleTempFiles(dir)
  const root = join(dir, BLOBS_DIR)
  if (existsSync(root)) for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) removeStaleTempFiles(join(root, e.name))
  const stored = new BlobStore(root).list()
  const rows = new Set((db.prepare('SELECT sha256 FROM images').all() as { sha256: string }[]).map((r) => r.sha256))
  const unrowed = stored.filter((b) => !rows.has(b.sha256))
  if (unrowed.length === 0) return
  const named = db.prepare('SELECT 1 FROM audit_log WHERE instr(details, ?) > 0 LIMIT 1')
  db.transaction(() => {
    const still = new Set((db.prepare('SELECT sha256 FROM images').all() as { sha256: string }[]).map((r) => r.sha256))
    for (const b of unrowed) if (!still.has(b.sha256) && !named.get(b.sha256)) rmSync(b.path, { force: true })
  }).immediate()
}

export interface CaseStoreOptions {
  /** Who is recorded in the audit log; defaults to the case's examiner beside the OS user ("A. Examiner (OS user ann)"). */
  actor?: string
  /** Clock for timestamps (tests pin it). */
  now?: () => Date
}

function defaultActor(): string {
  try {
    return userInfo().username
  } catch {
    // userInfo() throws when the uid has no passwd entry (common in containers).
    return process.env.USER ?? process.env.USERNAME ?? 'unknown'
  }
}

/**
 * One case folder: `case.db` (SQLite, WAL), `blobs/` (content-addressed images) and
 * `audit-head.json` (the audit anchor). Every change is one transaction that also appends
 * the audit entry describing it: the repositories below make their changes only through the
 * one CaseWriter, which owns both. This class opens and creates cases and keeps the public
 * methods the Workbench, the jobs and the CLI use.
 */
export class CaseStore {
  readonly dir: string
  private readonly writer: CaseWriter
  private readonly audit: AuditLog
  private readonly caseInfo: CaseInfoRepository
  private readonly images: ImageRepository
  private readonly templates: TemplateRepository
  private readonly models: ModelRefRepository
  private readonly runs: RunRepository
  private readonly results: ResultRepository
  private readonly blobs: BlobStore
  /** Evaluations (leak assessments) and the runs they made. */
  readonly evaluations: EvaluationRepository
  /** Reports and export bundles made from the case: each leaves an audit entry with its sha256. */
  readonly exports: ExportRepository
  /** The quick verification, once made (integrity()). */
  private checked: AuditVerification | null = null

  private constructor(dir: string, db: Database.Database, options: CaseStoreOptions) {
    this.dir = dir
    const fixed = options.actor === undefined ? null : requireText(options.actor, 'actor')
    const osUser = defaultActor()
    // Read inside the write's own transaction, so even the creation entry names the examiner.
    const actor = (): string => {
      if (fixed) return fixed
      const examiner = this.caseInfo.examiner()
      return examiner ? `${examiner} (OS user ${osUser})` : osUser
    }
    this.audit = new AuditLog(db, join(dir, AUDIT_HEAD_FILE))
    this.writer = new CaseWriter(dir, db, this.audit, actor, options.now ?? (() => new Date()), () => this.assertWritable())
    this.caseInfo = new CaseInfoRepository(this.writer, dir)
    this.blobs = new BlobStore(join(dir, BLOBS_DIR))
    this.images = new ImageRepository(this.writer, this.blobs)
    this.templates = new TemplateRepository(this.writer, this.images)
    this.models = new ModelRefRepository(this.writer)
    this.runs = new RunRepository(this.writer)
    this.results = new ResultRepository(this.writer, this.images)
    this.evaluations = new EvaluationRepository(this.writer)
    this.exports = new ExportRepository(this.writer)
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
      store.checked = { ok: true, entries: 0, firstBrokenSeq: null, reason: null }
      store.caseInfo.create({ name, number, examiner, notes })
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
      removeKilledWriterLeftovers(db, abs)
      return new CaseStore(abs, db, options)
    } catch (err) {
      db.close()
      throw err
    }
  }

  get isOpen(): boolean {
    return this.writer.isOpen
  }

  close(): void {
    this.writer.close()
  }

  // ---- case ----------------------------------------------------------------------------

  info(): CaseInfo {
    return this.caseInfo.info()
  }

  update(fields: CaseUpdate): CaseInfo {
    return this.caseInfo.update(fields)
  }

  // ---- images --------------------------------------------------------------------------

  /** Stores the image by content hash; adding identical bytes again returns the existing record. */
  /** Several writes as one transaction with their audit entries: all of them, or none. */
  atomically<T>(work: () => T): T {
    return this.writer.atomically(work)
  }

  addImage(bytes: Uint8Array, meta: ImageMeta): ImageRecord {
    return this.images.add(bytes, meta)
  }

  getImage(sha256: string): ImageRecord | null {
    return this.images.get(sha256)
  }

  /** Absolute path of the stored image file. */
  imagePath(sha256: string): string {
    return this.images.path(sha256)
  }

  listImages(): ImageRecord[] {
    return this.images.list()
  }

  // ---- templates -----------------------------------------------------------------------

  /** Validates and stores the template. The vector is kept as float32, so it reads back rounded to float32. */
  addTemplate(t: TemplateRecord): TemplateRecord {
    return this.templates.add(t)
  }

  getTemplate(id: string): TemplateRecord | null {
    return this.templates.get(id)
  }

  listTemplates(): TemplateRecord[] {
    return this.templates.list()
  }

  /** Refused while runs refer to the template: they are the provenance of its results. */
  deleteTemplate(id: string): void {
    this.templates.delete(id)
  }

  // ---- models --------------------------------------------------------------------------

  /** Records that the case depends on this model; referencing the same id and hash again is a no-op. */
  addModelRef(manifest: ModelManifest): ModelRef {
    return this.models.add(manifest)
  }

  listModelRefs(): ModelRef[] {
    return this.models.list()
  }

  // ---- runs ----------------------------------------------------------------------------

  /** Creates a run in status `queued`. */
  createRun(input: RunCreateInput): RunRecord {
    return this.runs.create(input)
  }

  /** Moves a run on: queued → running | failed | cancelled, running → succeeded | failed | cancelled. */
  updateRun(id: string, patch: RunPatch): RunRecord {
    return this.runs.update(id, patch)
  }

  getRun(id: string): RunRecord | null {
    return this.runs.get(id)
  }

  listRuns(): RunRecord[] {
    return this.runs.list()
  }

  // ---- results -------------------------------------------------------------------------

  addResult(input: ResultInput): ResultRecord {
    return this.results.add(input)
  }

  listResults(runId: string): ResultRecord[] {
    return this.results.list(runId)
  }

  // ---- audit ---------------------------------------------------------------------------

  auditLog(): AuditEntry[] {
    return this.audit.entries()
  }

  /**
   * The quick verification (chain, anchor, every row against the log, blobs present with their
   * recorded size; no re-hash of blob bytes) made once when the case is first used, and kept
   * while this process's own writes extend a verified log.
   */
  integrity(): AuditVerification {
    this.checked ??= this.verifyAudit({ quick: true })
    return this.checked
  }

  /**
   * A write to a case that fails verification would move the anchor forward over the break
   * and could hide it: such a case takes no writes until an examiner has looked at it.
   */
  private assertWritable(): void {
    const v = this.integrity()
    if (!v.ok) {
      const at = v.firstBrokenSeq === null ? '' : ` at entry ${v.firstBrokenSeq}`
      throw new ValidationError(`case ${this.dir} failed its integrity check${at} (${v.reason}); it takes no changes until examined: unveil audit verify --case "${this.dir}"`)
    }
  }

  /** The last entry of the audit log, to keep outside the case: `verifyAudit({ expect })` then detects a rollback or rewrite. */
  auditHead(): (AuditHead & { entries: number; at: string }) | null {
    const log = this.audit.entries()
    const last = log.at(-1)
    return last ? { seq: last.seq, hash: last.hash, entries: log.length, at: last.at } : null
  }

  /**
   * The audit chain checked against itself and its anchor, then every hash its entries record
   * recomputed against the rows and the content store (verifyCaseContents). With `expect`, a
   * head kept outside the case, the log must still contain that entry unchanged.
   */
  verifyAudit(options: { expect?: AuditHead; quick?: boolean } = {}): AuditVerification {
    const chain = this.audit.verify()
    if (!chain.ok) return chain
    const log = this.audit.entries()
    const expect = options.expect
    if (expect) {
      const at = log[expect.seq - 1]
      if (!at) return { ...chain, ok: false, firstBrokenSeq: log.length + 1, reason: `the log ends at entry ${log.length}, but the expected head is entry ${expect.seq}: it was rolled back` }
      if (at.hash !== expect.hash) return { ...chain, ok: false, firstBrokenSeq: expect.seq, reason: `entry ${expect.seq} differs from the expected head: the log was rewritten from there on` }
    }
    const problems = this.writer.read((db) => verifyCaseContents(db, this.blobs, log, { quick: options.quick }))
    if (problems.length === 0) return chain
    const first = problems.find((p) => p.seq !== null) ?? problems[0]
    return { ...chain, ok: false, firstBrokenSeq: first.seq, reason: first.message, problems: problems.map((p) => p.message) }
  }
}
