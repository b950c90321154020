import { join } from 'node:path'
import type { VerificationRecord } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import { alignPhotos } from '../faces/aligned-faces'
import { encodeAlignedFaces } from '../faces/face-encoder'
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

/** Measures an encoder's verification accuracy on face pairs (LFW protocol, 10 folds). */
export async function measureVerification(
  engine: InferenceEngine,
  models: { detector: PreparedModel; landmarker: PreparedModel; encoder: PreparedModel },
  input: VerificationInput,
  options: { signal?: AbortSignal; onProgress?: (p: VerificationProgress) => void } = {}
): Promise<VerificationOutcome> {
  const t0 = performance.now()
  const names = [...new Set(input.pairs.flatMap((p) => [p.a, p.b]))]
  const { faces: aligned, undetected } = await alignPhotos(
    engine,
    models.detector,
    models.landmarker,
    models.encoder.entry.manifest,
    names.map((n) => join(input.imagesDir, n)),
    { signal: options.signal, onProgress: (done, total) => options.onProgress?.({ done, total, phase: 'align' }) }
  )
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
