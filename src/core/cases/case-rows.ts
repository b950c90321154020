import type { ImageRecord, ModelManifest, ModelRole, RunRecord, RunStatus, TemplateRecord } from '../../shared/types'
import type { ModelRef, ResultRecord } from './case-records'
import { decodeVector } from './vector-blob'

// Rows as better-sqlite3 returns them (snake_case, JSON as text) and their conversion to records.

export interface CaseRow {
  id: string
  name: string
  number: string | null
  examiner: string | null
  notes: string | null
  created_at: string
}

export interface ImageRow {
  sha256: string
  mime: string
  width: number
  height: number
  original_name: string | null
  added_at: string
}

export interface TemplateRow {
  id: string
  label: string
  encoder_id: string
  encoder_sha256: string
  dimension: number
  norm: number
  vector: Buffer
  origin: TemplateRecord['origin']
  format: TemplateRecord['format']
  source_file_sha256: string
  source_file_name: string | null
  image_sha256: string | null
  face: string | null
  subject: string | null
  created_at: string
}

export interface ModelRow {
  id: string
  sha256: string
  role: ModelRole
  manifest: string
  added_at: string
}

export interface RunRow {
  id: string
  method: string
  status: RunStatus
  parameters: string
  seed: number | null
  model_sha256s: string
  software_version: string
  template_id: string | null
  created_at: string
  started_at: string | null
  finished_at: string | null
  seconds: number | null
  error: string | null
  summary: string | null
  owner: string | null
}

export interface ResultRow {
  id: string
  run_id: string
  kind: string
  data: string
  image_sha256: string | null
  created_at: string
}

export function imageFromRow(row: ImageRow): ImageRecord {
  return { sha256: row.sha256, mime: row.mime, width: row.width, height: row.height, originalName: row.original_name, addedAt: row.added_at }
}

export function templateFromRow(row: TemplateRow): TemplateRecord {
  return {
    id: row.id,
    label: row.label,
    encoderId: row.encoder_id,
    encoderSha256: row.encoder_sha256,
    dimension: row.dimension,
    norm: row.norm,
    vector: decodeVector(row.vector),
    origin: row.origin,
    format: row.format,
    sourceFileSha256: row.source_file_sha256,
    sourceFileName: row.source_file_name,
    imageSha256: row.image_sha256,
    face: row.face ? (JSON.parse(row.face) as TemplateRecord['face']) : null,
    subject: row.subject ?? null,
    createdAt: row.created_at
  }
}

export function modelFromRow(row: ModelRow): ModelRef {
  return { id: row.id, sha256: row.sha256, role: row.role, manifest: JSON.parse(row.manifest) as ModelManifest, addedAt: row.added_at }
}

export function runFromRow(row: RunRow): RunRecord {
  return {
    id: row.id,
    method: row.method,
    status: row.status,
    parameters: JSON.parse(row.parameters) as Record<string, unknown>,
    seed: row.seed,
    modelSha256s: JSON.parse(row.model_sha256s) as Record<string, string>,
    softwareVersion: row.software_version,
    templateId: row.template_id,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    seconds: row.seconds,
    error: row.error,
    summary: row.summary === null ? null : (JSON.parse(row.summary) as Record<string, unknown>),
    owner: row.owner
  }
}

export function resultFromRow(row: ResultRow): ResultRecord {
  return { id: row.id, runId: row.run_id, kind: row.kind, data: JSON.parse(row.data), imageSha256: row.image_sha256, createdAt: row.created_at }
}
