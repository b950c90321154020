import type { InferenceEngine } from '../engine/inference-engine'
import type { RgbImage } from '../imaging/image-io'
import { imageToChw } from '../imaging/image-tensor'
import type { PreparedModel } from '../models/model-loader'

/** Runs an encoder on aligned face crops (already at the encoder's alignment size). */
export async function encodeAlignedFaces(
  engine: InferenceEngine,
  model: PreparedModel,
  faces: RgbImage[],
  options: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {}
): Promise<Float32Array[]> {
  const { manifest } = model.entry
  const [, c, h, w] = manifest.input.shape
  for (const f of faces) {
    if (f.width !== w || f.height !== h) throw new Error(`encoder '${manifest.id}' needs ${w}x${h} faces, got ${f.width}x${f.height}`)
  }
  const samples = faces.map((f) => imageToChw(f, manifest.input.colorOrder ?? 'RGB', manifest.input.normalisation!))
  const out = await engine.runBatched(
    model.key,
    { name: manifest.input.name, sampleDims: [c, h, w], samples },
    manifest.output.name,
    { maxBatch: Math.min(model.maxBatch, 64), signal: options.signal, onBatch: options.onBatch }
  )
  const dim = manifest.embeddingDim
  for (const v of out) {
    if (dim && v.length !== dim) throw new Error(`encoder '${manifest.id}' returned ${v.length} values, its manifest says ${dim}`)
  }
  return out
}
