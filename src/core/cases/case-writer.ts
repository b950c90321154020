import Database from 'better-sqlite3'
import type { AuditLog } from './audit-log'

/** What a write did: its return value, and the audit details (null when nothing changed, so nothing is logged). */
export interface WriteOutcome<T> {
  result: T
  details: Record<string, unknown> | null
}

/** Opens a case database with the settings every connection needs. */
export function openDatabase(file: string, mustExist: boolean): Database.Database {
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
 * The one way into a case's database. Repositories get the connection only inside `read` or
 * `write`, and `write` is the only path that changes anything: it owns the transaction and
 * appends the audit entry in it, so no change can be made without its entry.
 */
export class CaseWriter {
  private connection: Database.Database | null
  /** Depth of atomically() calls; inside one, audit entries wait for the outer commit to be anchored. */
  private depth = 0
  private pendingHead: Parameters<AuditLog['anchor']>[0] | null = null

  constructor(
    private readonly dir: string,
    db: Database.Database,
    private readonly audit: AuditLog,
    /** Who the entry names, asked at each write (the examiner can change). */
    private readonly actor: () => string,
    private readonly now: () => Date,
    /** Throws when the case may not be changed (it failed verification); asked before every write. */
    private readonly guard: () => void = () => undefined
  ) {
    this.connection = db
  }

  get isOpen(): boolean {
    return this.connection !== null
  }

  close(): void {
    this.connection?.close()
    this.connection = null
  }

  read<T>(query: (db: Database.Database) => T): T {
    return query(this.db)
  }

  /**
   * Runs `work` and its audit entry in one immediate transaction (the write lock is taken
   * up front, so checks made inside `work` still hold when it writes), then moves the audit
   * anchor forward once the commit is durable.
   */
  write<T>(action: string, work: (db: Database.Database, at: string) => WriteOutcome<T>): T {
    const db = this.db
    if (this.depth === 0) this.guard()
    const txn = db.transaction(() => {
      const at = this.now().toISOString()
      const outcome = work(db, at)
      const entry = outcome.details ? this.audit.append(this.actor(), action, outcome.details, at) : null
      return { result: outcome.result, entry }
    })
    const { result, entry } = txn.immediate()
    if (entry) {
      if (this.depth > 0) this.pendingHead = entry
      else this.audit.anchor(entry)
    }
    return result
  }

  /**
   * Runs several writes as one transaction: all of them with their audit entries, or none (a
   * crash or error in the middle leaves nothing half-done). Nested writes become savepoints;
   * the anchor moves once, after the outer commit.
   */
  atomically<T>(work: () => T): T {
    const db = this.db
    if (this.depth === 0) this.guard()
    // A rolled-back block's entries are gone: the head to anchor is the one from before it.
    const headBefore = this.pendingHead
    this.depth++
    let result: T
    try {
      result = db.transaction(work).immediate()
    } catch (err) {
      this.pendingHead = headBefore
      throw err
    } finally {
      this.depth--
    }
    if (this.depth === 0 && this.pendingHead) {
      this.audit.anchor(this.pendingHead)
      this.pendingHead = null
    }
    return result
  }

  private get db(): Database.Database {
    if (!this.connection) throw new Error(`case ${this.dir} is closed`)
    return this.connection
  }
}
