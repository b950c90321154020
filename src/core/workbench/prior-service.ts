import type { ModelManifest } from '../../shared/types'
import { InferenceEngine } from '../engine/inference-engine'
import { sha256Hex } from '../fs/sha256'
import { contactSheet } from '../imaging/contact-sheet'
import { chwToImage } from '../imaging/image-tensor'
import { randomLatent } from '../methods/ga-search'
import { SeededRandom } from '../random/seeded-random'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'
import { eigenfaceModelCard } from '../priors/eigenface-card'
import { buildEigenfacePrior, eigenfaceGeneratorModel, eigenfaceManifest, type EigenfaceBuildOptions, type EigenfacePrior } from '../priors/eigenface-prior'
import { inspectPrior, type PriorInspection } from '../priors/prior-inspection'

/** Tiles of a prior's contact sheet. */
export const SHEET_TILES = 24

/** A built eigenface prior: the ONNX generator with its manifest, model card and a contact sheet of samples. */
export interface BuiltEigenfacePrior {
  prior: EigenfacePrior
  onnx: Uint8Array
  sha256: string
  manifest: ModelManifest
  card: string
  sheetPng: Uint8Array
}

/** Face priors: building the eigenface prior and inspecting any registered generator. */
export class PriorService {
  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader
  ) {}

  /** Seeded samples of a registered generator: the detector's face rate, and the samples for a contact sheet. */
  async inspect(generatorId: string, options: { samples: number; seed: number; onProgress?: (done: number, total: number) => void }): Promise<PriorInspection> {
    this.registry.getWithRole(generatorId, 'generator')
    const [generator, detector] = await Promise.all([this.loader.prepare(generatorId), this.loader.prepare(this.registry.defaults().detector)])
    return inspectPrior(this.engine, generator, detector, options)
  }

  contactSheet(images: PriorInspection['samples']): Promise<Uint8Array> {
    return contactSheet(images.slice(0, SHEET_TILES))
  }

  /**
   * Builds an eigenface prior from aligned datasets. It runs on a CPU engine of its own: the
   * randomized PCA is GEMMs in ONNX Runtime and the result is not registered yet.
   */
  async buildEigenface(id: string, options: EigenfaceBuildOptions & { command: string }): Promise<BuiltEigenfacePrior> {
    const t0 = performance.now()
    const engine = new InferenceEngine({ providers: ['cpu'] })
    try {
      const prior = await buildEigenfacePrior(engine, options)
      const onnx = eigenfaceGeneratorModel(prior)
      const sha256 = sha256Hex(onnx)
      await engine.load('prior', onnx)
      const sheetPng = await this.sampleSheet(engine, 'prior', prior.variances.length, options.seed ?? 1)
      const card = eigenfaceModelCard(id, prior, sha256, options.command, (performance.now() - t0) / 1000)
      return { prior, onnx, sha256, manifest: eigenfaceManifest(id, `${id}.onnx`, sha256, prior), card, sheetPng }
    } finally {
      await engine.close()
    }
  }

  /** A grid of random prior samples from a model loaded under `key` (not registered yet). */
  private async sampleSheet(engine: InferenceEngine, key: string, latentDim: number, seed: number): Promise<Uint8Array> {
    const rng = new SeededRandom(seed)
    const z = new Float32Array(SHEET_TILES * latentDim)
    for (let i = 0; i < SHEET_TILES; i++) z.set(randomLatent(latentDim, rng), i * latentDim)
    const { outputs } = await engine.run(key, { z: { data: z, dims: [SHEET_TILES, latentDim] } })
    const plane = 3 * 112 * 112
    return contactSheet(Array.from({ length: SHEET_TILES }, (_, i) => chwToImage(outputs.image.data.subarray(i * plane, (i + 1) * plane), 112, 112)))
  }
}
