import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { ThresholdRecord } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import { encodeAlignedFaces } from '../faces/face-encoder'
import type { PreparedModel } from '../models/model-loader'
import { alignPhotos } from '../faces/aligned-faces'
import { impostorScores, thresholdsAtFar } from './far-thresholds'

/** The first `count` LFW images in person order: a fixed, reproducible impostor population. */
export function lfwImageSample(imagesDir: string, count: number): { files: string[]; identities: string[] } {
  const files: string[] = []
  const identities: string[] = []
  for (const person of readdirSync(imagesDir).sort()) {
    for (const file of readdirSync(join(imagesDir, person)).filter((f) => /\.jpe?g$/i.test(f)).sort()) {
      if (files.length >= count) return { files, identities }
      files.push(join(imagesDir, person, file))
      identities.push(person)
    }
  }
  if (files.length < count) throw new Error(`only ${files.length} LFW images found, ${count} requested`)
  return { files, identities }
}

/**
 * Thresholds at FAR 1e-2/1e-3/1e-4 for several encoders from all different-person pairs of
 * the same aligned LFW images (aligned once: every encoder here uses the ArcFace frame).
 */
export async function measureThresholds(
  engine: InferenceEngine,
  models: { detector: PreparedModel; landmarker: PreparedModel; encoders: PreparedModel[] },
  imagesDir: string,
  count: number,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number, phase: string) => void } = {}
): Promise<Map<string, ThresholdRecord>> {
  const { files, identities } = lfwImageSample(imagesDir, count)
  const aligned = await alignPhotos(engine, models.detector, models.landmarker, models.encoders[0].entry.manifest, files, {
    signal: options.signal,
    onProgress: (d, t) => options.onProgress?.(d, t, 'align')
  })
  const out = new Map<string, ThresholdRecord>()
  for (const encoder of models.encoders) {
    const templates = await encodeAlignedFaces(engine, encoder, aligned.faces, {
      signal: options.signal,
      onBatch: (d, t) => options.onProgress?.(d, t, `encode ${encoder.entry.manifest.id}`)
    })
    const impostors = impostorScores(templates, identities)
    out.set(encoder.entry.manifest.id, {
      dataset: `LFW development images (first ${count} in person order)`,
      images: count,
      identities: new Set(identities).size,
      impostorPairs: impostors.length,
      fars: thresholdsAtFar(impostors),
      measuredAt: new Date().toISOString(),
      encoderSha256: encoder.entry.manifest.sha256
    })
  }
  return out
}
