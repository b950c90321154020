import type Database from 'better-sqlite3'
import { statSync } from 'node:fs'
import type { AuditEntry } from '../../shared/types'
import type { BlobStore } from './blob-store'
import { sha256Hex } from './blob-store'
import { canonicalJson } from './canonical-json'
import type { CaseRow, ImageRow, ModelRow, ResultRow, RunRow, TemplateRow } from './case-rows'

/** A disagreement between the audit log and the case's rows or files, with the entry that says otherwise. */
export interface ContentProblem {
  seq: number | null
  message: string
}

type Expected = { seq: number; fields: Record<string, unknown> }
type Obj = Record<string, unknown>

const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null)
const short = (id: string): string => (id.length > 12 ? `${id.slice(0, 12)}…` : id)
const parse = (json: string | null): unknown => (json === null ? null : JSON.parse(json))

/**
 * Replays the audit log into the state it describes (which case details, images, templates,
 * models, runs and results exist, and what each recorded hash is), then checks the database
 * rows and the content store against it: an edited vector, result, run status or parameter,
 * case detail, or a blob changed or deleted, is reported with the entry it contradicts.
 * `quick` (the check a case gets when it is opened) checks each blob's presence and size
 * instead of re-hashing its bytes; everything else is the same.
 */
export function verifyCaseContents(db: Database.Database, blobs: BlobStore, log: AuditEntry[], options: { quick?: boolean } = {}): ContentProblem[] {
  const problems: ContentProblem[] = []
  const flag = (seq: number | null, message: string): void => void problems.push({ seq, message })
  let caseInfo: Expected | null = null
  const images = new Map<string, Expected>()
  const templates = new Map<string, Expected>()
  const models = new Map<string, Expected>()
  const runs = new Map<string, Expected>()
  const results = new Map<string, Expected>()

  for (const e of log) {
    const d = e.details as Obj
    switch (e.action) {
      case 'case.create':
        caseInfo = { seq: e.seq, fields: { id: d.id, name: d.name, number: d.number, examiner: d.examiner, notes: d.notes } }
        break
      case 'case.update': {
        const fields: Obj = { ...(caseInfo?.fields ?? {}) }
        for (const [k, c] of Object.entries(d.changes as Record<string, { to: unknown }>)) fields[k] = c.to
        caseInfo = { seq: e.seq, fields }
        break
      }
      case 'image.add':
        images.set(d.sha256 as string, { seq: e.seq, fields: d })
        break
      case 'template.add':
        templates.set(d.id as string, { seq: e.seq, fields: d })
        break
      case 'template.delete':
        templates.delete(d.id as string)
        break
      case 'model.add':
        models.set(`${d.id as string}@${d.sha256 as string}`, { seq: e.seq, fields: d })
        break
      case 'run.create':
        runs.set(d.id as string, { seq: e.seq, fields: { ...d, status: 'queued', startedAt: null, finishedAt: null, seconds: null, error: null, summary: null } })
        break
      case 'run.update': {
        const run = runs.get(d.id as string)
        if (!run) flag(e.seq, `entry ${e.seq} updates run ${short(d.id as string)}, which no entry created`)
        else {
          // The entry's own id and previousStatus are not run fields; the rest are the changes.
          const changes = Object.fromEntries(Object.entries(d).filter(([k]) => k !== 'id' && k !== 'previousStatus'))
          runs.set(d.id as string, { seq: e.seq, fields: { ...run.fields, ...changes } })
        }
        break
      }
      case 'result.add':
        results.set(d.id as string, { seq: e.seq, fields: d })
        break
    }
  }

  const rows = <T>(sql: string): T[] => db.prepare(sql).all() as T[]
  const extra = (what: string, id: string): void => flag(null, `${what} ${short(id)} is in the database but no audit entry added it`)

  const info = db.prepare('SELECT * FROM case_info').get() as CaseRow | undefined
  if (caseInfo && info) {
    for (const key of ['id', 'name', 'number', 'examiner', 'notes'] as const) {
      if (!same(info[key], caseInfo.fields[key])) flag(caseInfo.seq, `case ${key} is ${JSON.stringify(info[key])}, but entry ${caseInfo.seq} recorded ${JSON.stringify(caseInfo.fields[key])}`)
    }
  }

  const seen = new Set<string>()
  for (const row of rows<ImageRow>('SELECT * FROM images')) {
    seen.add(row.sha256)
    const x = images.get(row.sha256)
    if (!x) {
      extra('image', row.sha256)
      continue
    }
    for (const [col, key] of [['mime', 'mime'], ['width', 'width'], ['height', 'height'], ['original_name', 'originalName']] as const) {
      if (!same(row[col], x.fields[key])) flag(x.seq, `image ${short(row.sha256)}: ${key} differs from entry ${x.seq}`)
    }
  }
  for (const [sha, x] of images) {
    if (!seen.has(sha)) flag(x.seq, `image ${short(sha)} added by entry ${x.seq} is missing from the database`)
    if (!blobs.has(sha)) flag(x.seq, `the file of image ${short(sha)} (entry ${x.seq}) is missing from the content store`)
    else if (options.quick) {
      const size = statSync(blobs.path(sha)).size
      if (x.fields.bytes !== undefined && size !== x.fields.bytes) flag(x.seq, `the file of image ${short(sha)} has ${size} bytes, entry ${x.seq} recorded ${String(x.fields.bytes)}`)
    } else {
      const bytes = blobs.read(sha)
      if (sha256Hex(bytes) !== sha) flag(x.seq, `the file of image ${short(sha)} (entry ${x.seq}) no longer hashes to its name: it was altered`)
      else if (x.fields.bytes !== undefined && bytes.byteLength !== x.fields.bytes) flag(x.seq, `the file of image ${short(sha)} has ${bytes.byteLength} bytes, entry ${x.seq} recorded ${String(x.fields.bytes)}`)
    }
  }

  seen.clear()
  const templateColumns = [
    ['label', 'label'],
    ['encoder_id', 'encoderId'],
    ['encoder_sha256', 'encoderSha256'],
    ['dimension', 'dimension'],
    ['origin', 'origin'],
    ['source_file_sha256', 'sourceFileSha256'],
    ['image_sha256', 'imageSha256']
  ] as const
  for (const row of rows<TemplateRow>('SELECT * FROM templates')) {
    seen.add(row.id)
    const x = templates.get(row.id)
    if (!x) {
      extra('template', row.id)
      continue
    }
    if (sha256Hex(row.vector) !== x.fields.vectorSha256) flag(x.seq, `template ${short(row.id)}: its vector differs from the one entry ${x.seq} recorded`)
    for (const [col, key] of templateColumns) if (!same(row[col], x.fields[key])) flag(x.seq, `template ${short(row.id)}: ${key} differs from entry ${x.seq}`)
  }
  for (const [id, x] of templates) if (!seen.has(id)) flag(x.seq, `template ${short(id)} added by entry ${x.seq} is missing, with no entry deleting it`)

  seen.clear()
  for (const row of rows<ModelRow>('SELECT * FROM models')) {
    const key = `${row.id}@${row.sha256}`
    seen.add(key)
    const x = models.get(key)
    if (!x) extra('model reference', row.id)
    else if (row.role !== x.fields.role || sha256Hex(Buffer.from(row.manifest)) !== x.fields.manifestSha256) flag(x.seq, `model reference ${row.id}: its manifest differs from entry ${x.seq}`)
  }
  for (const [key, x] of models) if (!seen.has(key)) flag(x.seq, `model reference ${key.split('@')[0]} added by entry ${x.seq} is missing`)

  seen.clear()
  for (const row of rows<RunRow>('SELECT * FROM runs')) {
    seen.add(row.id)
    const x = runs.get(row.id)
    if (!x) {
      extra('run', row.id)
      continue
    }
    const actual: Obj = {
      method: row.method,
      parameters: parse(row.parameters),
      seed: row.seed,
      modelSha256s: parse(row.model_sha256s),
      softwareVersion: row.software_version,
      templateId: row.template_id,
      status: row.status,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
      seconds: row.seconds,
      error: row.error,
      summary: parse(row.summary)
    }
    // Runs created before owners were recorded have none in their entry.
    if ('owner' in x.fields) actual.owner = row.owner
    for (const [key, value] of Object.entries(actual)) if (!same(value, x.fields[key])) flag(x.seq, `run ${short(row.id)}: ${key} differs from what entry ${x.seq} recorded`)
  }
  for (const [id, x] of runs) if (!seen.has(id)) flag(x.seq, `run ${short(id)} created by entry ${x.seq} is missing`)

  seen.clear()
  for (const row of rows<ResultRow>('SELECT * FROM results')) {
    seen.add(row.id)
    const x = results.get(row.id)
    if (!x) {
      extra('result', row.id)
      continue
    }
    if (sha256Hex(Buffer.from(row.data)) !== x.fields.dataSha256) flag(x.seq, `result ${short(row.id)}: its data differs from what entry ${x.seq} recorded`)
    if (row.run_id !== x.fields.runId || row.kind !== x.fields.kind || !same(row.image_sha256, x.fields.imageSha256)) flag(x.seq, `result ${short(row.id)}: run, kind or image differ from entry ${x.seq}`)
  }
  for (const [id, x] of results) if (!seen.has(id)) flag(x.seq, `result ${short(id)} added by entry ${x.seq} is missing`)
  return problems
}
