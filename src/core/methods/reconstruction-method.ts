import type { MethodInfo, TemplateRecord } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import type { RgbImage } from '../imaging/image-io'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import type { ProgressUpdate } from '../jobs/job-queue'

export interface MethodContext {
  engine: InferenceEngine
  registry: ModelRegistry
  loader: ModelLoader
  template: TemplateRecord
  /** Parameters after validation against the method's parameter specs, defaults filled in. */
  parameters: Record<string, number | string>
  seed: number
  signal: AbortSignal
  progress(update: ProgressUpdate): void
}

export interface MethodOutput {
  /** The reconstruction, aligned in the target encoder's frame. */
  image: RgbImage
  /** Cosine similarity between the target template and the reconstruction's template. */
  similarity: number
  /** sha256 of every model the method used, by role or id. */
  modelSha256s: Record<string, string>
  summary: Record<string, unknown>
}

/** Every reconstruction method implements this; a new method is one file plus a registration. */
export interface ReconstructionMethod {
  info: MethodInfo
  /** Steps the progress bar starts with (a method may revise it while running). */
  totalSteps(parameters: Record<string, number | string>): number
  run(ctx: MethodContext): Promise<MethodOutput>
}
