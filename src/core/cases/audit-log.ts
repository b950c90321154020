import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import type Database from 'better-sqlite3'
import type { AuditEntry, AuditVerification } from '../../shared/types'
import { writeFileAtomic } from '../fs/atomic-write'
import { canonicalJson } from './canonical-json'

export const GENESIS_HASH = '0'.repeat(64)

export interface AuditHead {
  seq: number
  hash: string
}

interface AuditRow {
  seq: number
  at: string
  actor: string
  action: string
  details: string
  prev_hash: string
  hash: string
}

export function auditHash(prevHash: string, entry: Pick<AuditEntry, 'seq' | 'at' | 'actor' | 'action' | 'details'>): string {
  const body = canonicalJson({ seq: entry.seq, at: entry.at, actor: entry.actor, action: entry.action, details: entry.details })
  return createHash('sha256').update(`${prevHash}\n${body}`).digest('hex')
}

/**
 * Append-only, hash-chained log of every change to a case. Each entry's hash covers the
 * previous entry's hash, so editing or removing any entry breaks every link after it; the
 * anchor file (the last committed head, kept outside the database) catches removal of the
 * newest entries, which no later link would otherwise expose.
 */
export class AuditLog {
  constructor(
    private readonly db: Database.Database,
    readonly anchorPath: string
  ) {}

  /** Must run inside the transaction of the write it describes, so both commit or neither. */
  append(actor: string, action: string, details: Record<string, unknown>, at: string): AuditEntry {
    if (!this.db.inTransaction) throw new Error(`audit entry "${action}" must be appended inside the transaction of the write it describes`)
    if (typeof actor !== 'string' || actor.trim() === '') throw new Error('audit actor must be a non-empty string')
    if (typeof action !== 'string' || action.trim() === '') throw new Error('audit action must be a non-empty string')
    // Round-trip through canonical JSON so the hashed details equal what verify() will parse back.
    const detailsJson = canonicalJson(details)
    const storedDetails = JSON.parse(detailsJson) as Record<string, unknown>
    const head = this.head()
    const seq = head ? head.seq + 1 : 1
    const prevHash = head ? head.hash : GENESIS_HASH
    const hash = auditHash(prevHash, { seq, at, actor, action, details: storedDetails })
    this.db
      .prepare('INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(seq, at, actor, action, detailsJson, prevHash, hash)
    return { seq, at, actor, action, details: storedDetails, prevHash, hash }
  }

  /** Records `entry` as the committed head; call only after its transaction has committed. */
  anchor(entry: AuditHead): void {
    writeFileAtomic(this.anchorPath, `${JSON.stringify({ seq: entry.seq, hash: entry.hash })}\n`)
  }

  head(): AuditHead | null {
    const row = this.db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as AuditHead | undefined
    return row ?? null
  }

  entries(): AuditEntry[] {
    return this.rows().map((row) => ({
      seq: row.seq,
      at: row.at,
      actor: row.actor,
      action: row.action,
      details: JSON.parse(row.details) as Record<string, unknown>,
      prevHash: row.prev_hash,
      hash: row.hash
    }))
  }

  verify(): AuditVerification {
    const rows = this.rows()
    const broken = (seq: number, reason: string): AuditVerification => ({ ok: false, entries: rows.length, firstBrokenSeq: seq, reason })
    let expectedSeq = 1
    let prevHash = GENESIS_HASH
    for (const row of rows) {
      if (row.seq !== expectedSeq) {
        return broken(expectedSeq, `entry ${expectedSeq} is missing: the log jumps from ${expectedSeq - 1} to ${row.seq}`)
      }
      if (row.prev_hash !== prevHash) {
        return broken(row.seq, `entry ${row.seq} does not link to entry ${row.seq - 1}: the entry before it was altered, removed or replaced`)
      }
      let details: Record<string, unknown>
      try {
        details = JSON.parse(row.details) as Record<string, unknown>
      } catch {
        return broken(row.seq, `entry ${row.seq} has unreadable details`)
      }
      let hash: string
      try {
        hash = auditHash(row.prev_hash, { seq: row.seq, at: row.at, actor: row.actor, action: row.action, details })
      } catch (err) {
        return broken(row.seq, `entry ${row.seq} cannot be hashed: ${(err as Error).message}`)
      }
      if (hash !== row.hash) return broken(row.seq, `entry ${row.seq} was modified: its content does not match its hash`)
      prevHash = row.hash
      expectedSeq++
    }

    const last = rows.length > 0 ? rows[rows.length - 1].seq : 0
    const anchor = this.readAnchor(rows.length > 0)
    // Without a usable anchor nothing vouches that the log was not cut short after `last`.
    if (typeof anchor === 'string') return broken(last + 1, anchor)
    if (anchor) {
      if (anchor.seq > last) {
        return broken(last + 1, `entries ${last + 1} to ${anchor.seq} are missing: the log ends at ${last} but its recorded head is ${anchor.seq}`)
      }
      // The database may be ahead of the anchor (a crash between commit and anchor write), never behind or different.
      const atAnchor = rows[anchor.seq - 1]
      if (atAnchor.hash !== anchor.hash) {
        return broken(anchor.seq, `entry ${anchor.seq} differs from the recorded head: the log was rewritten from there on`)
      }
    }
    return { ok: true, entries: rows.length, firstBrokenSeq: null, reason: null }
  }

  /** The anchored head, null when there is neither anchor nor log, or a reason string when the anchor is unusable. */
  private readAnchor(hasEntries: boolean): AuditHead | null | string {
    if (!existsSync(this.anchorPath)) {
      return hasEntries ? `the audit head record ${this.anchorPath} is missing` : null
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(this.anchorPath, 'utf8'))
    } catch {
      return `the audit head record ${this.anchorPath} is unreadable`
    }
    const head = parsed as Partial<AuditHead> | null
    if (!head || !Number.isInteger(head.seq) || (head.seq as number) < 1 || typeof head.hash !== 'string') {
      return `the audit head record ${this.anchorPath} is malformed`
    }
    return { seq: head.seq as number, hash: head.hash }
  }

  private rows(): AuditRow[] {
    return this.db.prepare('SELECT seq, at, actor, action, details, prev_hash, hash FROM audit_log ORDER BY seq').all() as AuditRow[]
  }
}
