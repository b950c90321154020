import { readFileSync } from 'node:fs'
import type { DetectedFace, ModelManifest } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import { alignForModel, findFaces } from './face-finder'
import { decodeImage, type RgbImage } from '../imaging/image-io'
import type { PreparedModel } from '../models/model-loader'

/**
 * Fallback for a photo whose face the detector misses: LFW's deep-funneled images are
 * centred, so the five points at their usual place in a 250x250 frame are a fair alignment.
 */
function centredLandmarks(img: RgbImage): [number, number][] {
  const points: [number, number][] = [[104, 113], [146, 113], [125, 138], [107, 156], [145, 156]]
  return points.map(([x, y]) => [(x * img.width) / 250, (y * img.height) / 250])
}

export interface AlignedSet {
  faces: RgbImage[]
  /** Files where no face was detected (aligned by the centred fallback instead). */
  undetected: string[]
}

/** Detects, landmarks and aligns the largest face of each photo for an encoder. */
export async function alignPhotos(
  engine: InferenceEngine,
  detector: PreparedModel,
  landmarker: PreparedModel,
  manifest: ModelManifest,
  files: string[],
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}
): Promise<AlignedSet> {
  const faces: RgbImage[] = []
  const undetected: string[] = []
  for (let i = 0; i < files.length; i++) {
    options.signal?.throwIfAborted()
    const img = await decodeImage(readFileSync(files[i]), files[i])
    const found = await findFaces(engine, detector, landmarker, img, options.signal)
    const face: DetectedFace = found[0] ?? { box: [0, 0, img.width, img.height], score: 0, landmarks: centredLandmarks(img) }
    if (!found[0]) undetected.push(files[i])
    faces.push(alignForModel(img, face, manifest))
    options.onProgress?.(i + 1, files.length)
  }
  return { faces, undetected }
}
