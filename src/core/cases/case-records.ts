export type { ResultRecord } from '../../shared/types'
import type { CaseInfo, ModelManifest, ModelRole, RunRecord } from '../../shared/types'

// Records a case holds beyond the shared ones in src/shared/types.ts, and the inputs of its writes.

export type CaseUpdate = Partial<Pick<CaseInfo, 'name' | 'number' | 'examiner' | 'notes'>>

export interface ImageMeta {
  mime: string
  width: number
  height: number
  originalName?: string | null
}

/** A model the case's templates or runs depend on, with the manifest as it was when referenced. */
export interface ModelRef {
  id: string
  sha256: string
  role: ModelRole
  manifest: ModelManifest
  addedAt: string
}

export interface RunCreateInput {
  method: string
  parameters?: Record<string, unknown>
  seed?: number | null
  modelSha256s?: Record<string, string>
  softwareVersion: string
  templateId?: string | null
}

export type RunPatch = Partial<Pick<RunRecord, 'status' | 'startedAt' | 'finishedAt' | 'seconds' | 'error' | 'summary'>>

export interface ResultInput {
  runId: string
  kind: string
  /** Any JSON value. */
  data: unknown
  imageSha256?: string | null
}

