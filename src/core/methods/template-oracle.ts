import type { InferenceEngine } from '../engine/inference-engine'
import { planarToModelInput } from '../imaging/image-tensor'
import type { FusedPipeline, PreparedModel } from '../models/model-loader'

/** Largest batch one engine call takes in a search (bench: `npm run bench -- pipeline`). */
export const DEFAULT_BATCH = 64

export class QueryBudgetExceeded extends Error {
  constructor(budget: number) {
    super(`query budget of ${budget} templates is used up`)
    this.name = 'QueryBudgetExceeded'
  }
}

/**
 * The black-box view of a face recognition engine: submit aligned face images, get their
 * templates back. Methods that claim to be black-box receive only this (no weights, no
 * gradients), and every template it returns is counted against the budget.
 */
export class TemplateOracle {
  private used = 0
  private pipeline: FusedPipeline | null = null

  constructor(
    private readonly engine: InferenceEngine,
    private readonly encoder: PreparedModel,
    readonly budget: number = Infinity
  ) {}

  /**
   * Lets the oracle take latents of this generator directly: the generator and this oracle's
   * encoder run as one merged graph (no images cross to the host between them). Queries are
   * counted exactly as for templates(); the caller still sees only templates.
   */
  acceptLatentsOf(pipeline: FusedPipeline | null): void {
    if (pipeline && pipeline.encoder.key !== this.encoder.key) throw new Error('the merged pipeline belongs to another encoder')
    this.pipeline = pipeline
  }

  /** Whether templatesOfLatents() is available (a merged generator + encoder graph is loaded). */
  get acceptsLatents(): boolean {
    return this.pipeline !== null
  }

  /** Templates of the faces the merged pipeline's generator makes from these latents. */
  async templatesOfLatents(latents: Float32Array[], signal?: AbortSignal, maxBatch = DEFAULT_BATCH): Promise<Float32Array[]> {
    const p = this.pipeline
    if (!p) throw new Error('this oracle has no merged generator + encoder pipeline')
    if (this.used + latents.length > this.budget) throw new QueryBudgetExceeded(this.budget)
    const out = await this.engine.runBatched(p.key, { name: p.input, sampleDims: [p.latentDim], samples: latents }, p.output, {
      maxBatch: Math.min(p.maxBatch, maxBatch),
      signal
    })
    this.used += latents.length
    return out
  }

  get queries(): number {
    return this.used
  }

  get remaining(): number {
    return this.budget - this.used
  }

  get encoderSha256(): string {
    return this.encoder.entry.manifest.sha256
  }

  /** Templates of planar RGB [0, 1] images of the encoder's input size (112x112 aligned). */
  async templates(images: Float32Array[], signal?: AbortSignal, maxBatch = DEFAULT_BATCH): Promise<Float32Array[]> {
    if (this.used + images.length > this.budget) throw new QueryBudgetExceeded(this.budget)
    const m = this.encoder.entry.manifest
    const [, c, h, w] = m.input.shape
    const inputs = images.map((img) => planarToModelInput(img, h * w, m.input.colorOrder ?? 'RGB', m.input.normalisation!))
    const out = await this.engine.runBatched(this.encoder.key, { name: m.input.name, sampleDims: [c, h, w], samples: inputs }, m.output.name, {
      maxBatch: Math.min(this.encoder.maxBatch, maxBatch),
      signal
    })
    this.used += images.length
    return out
  }
}
