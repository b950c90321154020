import type { InferenceEngine } from '../engine/inference-engine'
import { encodeAlignedFaces } from '../faces/face-encoder'
import type { RgbImage } from '../imaging/image-io'
import { chwToImage } from '../imaging/image-tensor'
import { generateFaces } from '../models/face-generator'
import type { PreparedModel } from '../models/model-loader'
import { cosine } from '../templates/vector-math'

export interface DecodedTemplates {
  images: RgbImage[]
  /** Each decoded face encoded again by the same encoder. */
  templates: Float32Array[]
  /** Cosine of each decoded face's template (under the same encoder) to the template decoded. */
  fidelity: number[]
}

/**
 * Decodes templates with a DFD decoder in one batch and encodes the faces again, so each
 * picture comes with how close the decoder got to what it was asked to show.
 */
export async function decodeTemplates(
  engine: InferenceEngine,
  decoder: PreparedModel,
  encoder: PreparedModel,
  vectors: ArrayLike<number>[],
  signal?: AbortSignal
): Promise<DecodedTemplates> {
  const [, , h, w] = decoder.entry.manifest.output.shape
  const planar = await generateFaces(
    engine,
    decoder,
    vectors.map((v) => Float32Array.from(v)),
    signal
  )
  const images = planar.map((chw) => chwToImage(chw, w, h))
  const again = await encodeAlignedFaces(engine, encoder, images, { signal })
  return { images, templates: again, fidelity: again.map((t, i) => cosine(t, vectors[i])) }
}
