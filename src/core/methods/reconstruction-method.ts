import type { MethodInfo, ReconstructionCandidate } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import type { ProgressUpdate } from '../jobs/job-queue'
import type { GenerationRecord } from './ga-search'

/** What a method may know of the template it inverts. */
export interface TargetTemplate {
  vector: number[]
  encoderId: string
  encoderSha256: string
}

export interface MethodContext {
  engine: InferenceEngine
  registry: ModelRegistry
  loader: ModelLoader
  template: TargetTemplate
  /** Parameters after validation against the method's parameter specs, defaults filled in. */
  parameters: Record<string, number | string>
  seed: number
  signal: AbortSignal
  progress(update: ProgressUpdate): void
}

export interface MethodOutput {
  /** The reconstruction: planar RGB in [0, 1], 112x112 in the ArcFace-aligned frame. */
  image: Float32Array
  /** Cosine similarity between the target template and the reconstruction's template. */
  similarity: number
  /** sha256 of every model the method used, by role or id ('target' is the seen encoder, 'validation' an encoder that picked the result). */
  modelSha256s: Record<string, string>
  queries: number
  /** One row per generation (or batch): thread, generation, best, mean, queries, seconds. */
  trace: GenerationRecord[]
  summary: Record<string, unknown>
  /** Methods that choose among candidates: each with its image (as `image`) and scores, best by the seen encoder first. */
  candidates?: MethodCandidate[]
}

export interface MethodCandidate extends Omit<ReconstructionCandidate, 'imageSha256'> {
  image: Float32Array
}

/** Every reconstruction method implements this; a new method is one file plus a registration. */
export interface ReconstructionMethod {
  info: MethodInfo
  /** Steps the progress bar starts with (a method may revise it while running). */
  totalSteps(parameters: Record<string, number | string>): number
  run(ctx: MethodContext): Promise<MethodOutput>
}
