import type { EncoderScore, ThresholdRecord } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import type { RgbImage } from '../imaging/image-io'
import { imageToChw, planarToModelInput } from '../imaging/image-tensor'
import type { PreparedModel } from '../models/model-loader'
import { cosine } from '../templates/vector-math'
import { passes } from './far-thresholds'

export interface ScoringInput {
  /** The reconstruction: planar RGB in [0, 1], 112x112, ArcFace-aligned. */
  reconstruction: Float32Array
  target: { vector: ArrayLike<number>; encoderSha256: string }
  /** Aligned crops (per encoder alignment is ArcFace 112x112 for all encoders here). */
  groundTruth: RgbImage | null
  sameIdentity: RgbImage[]
}

async function encodePlanar(engine: InferenceEngine, encoder: PreparedModel, planar: Float32Array[], signal?: AbortSignal): Promise<Float32Array[]> {
  const m = encoder.entry.manifest
  const [, c, h, w] = m.input.shape
  const inputs = planar.map((p) => planarToModelInput(p, h * w, m.input.colorOrder ?? 'RGB', m.input.normalisation!))
  return engine.runBatched(encoder.key, { name: m.input.name, sampleDims: [c, h, w], samples: inputs }, m.output.name, { maxBatch: Math.min(encoder.maxBatch, 64), signal })
}

function rgbToPlanar(img: RgbImage): Float32Array {
  return imageToChw(img, 'RGB', { scale: 255, mean: [0, 0, 0], std: [1, 1, 1] })
}

/** An encoder that could not score the reconstruction: kept in the result with the reason. */
export function skippedScore(encoderId: string, encoderSha256: string | null, thresholds: ThresholdRecord | null, error: string): EncoderScore {
  return { encoderId, encoderSha256, target: null, typeI: null, typeII: [], thresholds, pass: { target: null, typeI: null, typeII: [] }, error: error.split('\n')[0] }
}

/**
 * Scores a reconstruction with every encoder, with pass/fail at each encoder's FAR thresholds.
 * An encoder that fails (or was not loadable: `error`) is skipped and reported, not fatal.
 */
export async function scoreAcrossEncoders(
  engine: InferenceEngine,
  encoders: ({ model: PreparedModel; thresholds: ThresholdRecord | null } | EncoderScore)[],
  input: ScoringInput,
  signal?: AbortSignal
): Promise<EncoderScore[]> {
  const scores: EncoderScore[] = []
  for (const e of encoders) {
    if (!('model' in e)) {
      scores.push(e)
      continue
    }
    const { model, thresholds } = e
    const images = [input.reconstruction, ...(input.groundTruth ? [rgbToPlanar(input.groundTruth)] : []), ...input.sameIdentity.map(rgbToPlanar)]
    let recon: Float32Array
    let refs: Float32Array[]
    try {
      ;[recon, ...refs] = await encodePlanar(engine, model, images, signal)
    } catch (err) {
      if (signal?.aborted) throw err
      scores.push(skippedScore(model.entry.manifest.id, model.entry.manifest.sha256, thresholds, (err as Error).message))
      continue
    }
    const isTarget = model.entry.manifest.sha256 === input.target.encoderSha256
    const target = isTarget ? cosine(input.target.vector, recon) : null
    const typeI = input.groundTruth ? cosine(refs[0], recon) : null
    const typeII = refs.slice(input.groundTruth ? 1 : 0).map((r) => cosine(r, recon))
    const t = thresholds?.fars ?? null
    scores.push({
      encoderId: model.entry.manifest.id,
      encoderSha256: model.entry.manifest.sha256,
      target,
      typeI,
      typeII,
      thresholds,
      pass: {
        target: t && target !== null ? passes(target, t) : null,
        typeI: t && typeI !== null ? passes(typeI, t) : null,
        typeII: t ? typeII.map((s) => passes(s, t)) : []
      }
    })
  }
  return scores
}
