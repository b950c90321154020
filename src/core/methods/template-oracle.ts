import type { InferenceEngine } from '../engine/inference-engine'
import { planarToModelInput } from '../imaging/image-tensor'
import type { PreparedModel } from '../models/model-loader'

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

  constructor(
    private readonly engine: InferenceEngine,
    private readonly encoder: PreparedModel,
    readonly budget: number = Infinity
  ) {}

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
  async templates(images: Float32Array[], signal?: AbortSignal, maxBatch = 64): Promise<Float32Array[]> {
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
