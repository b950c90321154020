import { alignDataset, type AlignDatasetOptions, type AlignedDatasetManifest } from '../datasets/dataset-aligner'
import type { InferenceEngine } from '../engine/inference-engine'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'

/** Research datasets: aligning a photo folder into ArcFace crops with a manifest. */
export class DatasetService {
  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader
  ) {}

  /** Aligns every photo under inDir with the registry's default detector and landmarker; resumable. */
  async align(options: Omit<AlignDatasetOptions, 'engine' | 'detector' | 'landmarker'>): Promise<AlignedDatasetManifest> {
    const d = this.registry.defaults()
    const [detector, landmarker] = await Promise.all([this.loader.prepare(d.detector), this.loader.prepare(d.landmarker)])
    return alignDataset({ ...options, engine: this.engine, detector, landmarker })
  }
}
