import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { VerificationRecord } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import { alignForModel, findFaces } from '../imaging/face-finder'
import { decodeImage, type RgbImage } from '../imaging/image-io'
import { encodeAlignedFaces } from '../models/face-encoder'
import type { PreparedModel } from '../models/model-loader'
import type { FacePair } from '../datasets/lfw-pairs'
import { cosine } from '../templates/vector-math'
import { verificationAccuracy } from './verification-accuracy'

export interface VerificationInput {
  imagesDir: string
  pairs: FacePair[]
  datasetLabel: string
}

export interface VerificationProgress {
  done: number
  total: number
  phase: 'align' | 'encode'
}

export interface VerificationOutcome extends VerificationRecord {
  /** Images where no face was detected; they were aligned by a fixed central crop instead. */
  undetected: string[]
}

/**
 * Fallback for a photo whose face the detector misses: LFW's deep-funneled images are
 * centred, so the ArcFace points scaled into the central region are a fair alignment.
 */
function centredLandmarks(img: RgbImage): [number, number][] {
  const points: [number, number][] = [[104, 113], [146, 113], [125, 138], [107, 156], [145, 156]]
  return points.map(([x, y]) => [(x * img.width) / 250, (y * img.height) / 250])
}

/** Measures an encoder's verification accuracy on face pairs (LFW protocol, 10 folds). */
export async function measureVerification(
  engine: InferenceEngine,
  models: { detector: PreparedModel; landmarker: PreparedModel; encoder: PreparedModel },
  input: VerificationInput,
  options: { signal?: AbortSignal; onProgress?: (p: VerificationProgress) => void } = {}
): Promise<VerificationOutcome> {
  const t0 = performance.now()
  const names = [...new Set(input.pairs.flatMap((p) => [p.a, p.b]))]
  const aligned: RgbImage[] = []
  const undetected: string[] = []
  for (let i = 0; i < names.length; i++) {
    options.signal?.throwIfAborted()
    const img = await decodeImage(readFileSync(join(input.imagesDir, names[i])), names[i])
    const faces = await findFaces(engine, models.detector, models.landmarker, img, options.signal)
    const face = faces[0] ?? { box: [0, 0, img.width, img.height] as [number, number, number, number], score: 0, landmarks: centredLandmarks(img) }
    if (!faces[0]) undetected.push(names[i])
    aligned.push(alignForModel(img, face, models.encoder.entry.manifest))
    options.onProgress?.({ done: i + 1, total: names.length, phase: 'align' })
  }
  const vectors = await encodeAlignedFaces(engine, models.encoder, aligned, {
    signal: options.signal,
    onBatch: (done, total) => options.onProgress?.({ done, total, phase: 'encode' })
  })
  const byName = new Map(names.map((n, i) => [n, vectors[i]]))
  const scored = input.pairs.map((p) => ({ score: cosine(byName.get(p.a)!, byName.get(p.b)!), same: p.same }))
  const acc = verificationAccuracy(scored)
  return {
    dataset: input.datasetLabel,
    pairs: input.pairs.length,
    accuracy: acc.accuracy,
    threshold: acc.threshold,
    genuineMean: acc.genuineMean,
    impostorMean: acc.impostorMean,
    measuredAt: new Date().toISOString(),
    seconds: (performance.now() - t0) / 1000,
    undetected
  }
}
