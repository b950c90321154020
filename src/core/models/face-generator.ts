import type { InferenceEngine } from '../engine/inference-engine'
import type { PreparedModel } from './model-loader'

/**
 * Runs an image-producing model (a generator on latents, or a decoder on templates); returns
 * planar RGB images in [0, 1] in the aligned frame.
 */
export async function generateFaces(engine: InferenceEngine, generator: PreparedModel, latents: Float32Array[], signal?: AbortSignal): Promise<Float32Array[]> {
  const m = generator.entry.manifest
  const [lo, hi] = m.outputRange ?? [0, 1]
  const images = await engine.runBatched(
    generator.key,
    { name: m.input.name, sampleDims: [m.latentDim ?? latents[0]?.length ?? m.input.shape[1]], samples: latents },
    m.output.name,
    { maxBatch: Math.min(generator.maxBatch, 64), signal }
  )
  if (lo === 0 && hi === 1) return images
  const k = 1 / (hi - lo)
  return images.map((img) => img.map((v) => Math.min(1, Math.max(0, (v - lo) * k))))
}
