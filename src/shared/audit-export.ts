// The audit log as files an analyst can take away: CSV (one row per entry, details as JSON in
// one column) and JSON. One implementation for the UI's download and `unveil audit log`.
import type { AuditEntry } from './types'

export const AUDIT_CSV_COLUMNS = ['seq', 'at', 'actor', 'action', 'details', 'prevHash', 'hash'] as const

/** RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled. */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

export function auditCsv(entries: readonly AuditEntry[]): string {
  const rows = [AUDIT_CSV_COLUMNS.join(',')]
  for (const e of entries) {
    rows.push([String(e.seq), e.at, e.actor, e.action, JSON.stringify(e.details), e.prevHash, e.hash].map(csvField).join(','))
  }
  return `${rows.join('\r\n')}\r\n`
}

export function auditJson(entries: readonly AuditEntry[]): string {
  return `${JSON.stringify(entries, null, 2)}\n`
}

/** The run an entry is about: run.* entries carry it as details.id, results as details.runId. */
export function auditRunId(entry: AuditEntry): string | null {
  const d = entry.details ?? {}
  if (typeof d.runId === 'string') return d.runId
  if (entry.action.startsWith('run.') && typeof d.id === 'string') return d.id
  return null
}
