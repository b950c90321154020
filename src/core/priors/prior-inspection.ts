// How a face prior looks before any search: seeded samples from its latent distribution, and
// the share of them in which the bundled face detector finds a face (a proxy for "face-like").
import type { InferenceEngine } from '../engine/inference-engine'
import { detectFaceBoxes } from '../faces/face-detector'
import type { RgbImage } from '../imaging/image-io'
import { chwToImage } from '../imaging/image-tensor'
import { generateFaces } from '../models/face-generator'
import { randomLatent } from '../methods/ga-search'
import { SeededRandom } from '../random/seeded-random'
import type { PreparedModel } from '../models/model-loader'

const FRAME = 112

/** `count` images from the generator for latents drawn from N(0, I) with `seed`. */
export async function samplePrior(engine: InferenceEngine, generator: PreparedModel, count: number, seed: number, signal?: AbortSignal): Promise<RgbImage[]> {
  const m = generator.entry.manifest
  const dim = m.latentDim ?? m.input.shape[1]
  const rng = new SeededRandom(seed)
  const latents = Array.from({ length: count }, () => randomLatent(dim, rng))
  const images = await generateFaces(engine, generator, latents, signal)
  return images.map((chw) => chwToImage(chw, FRAME, FRAME))
}

/**
 * Places an aligned crop in the middle of a 4:3 mid-grey canvas twice its width: the detector
 * was trained on faces with context around them, and stretching a tight square crop to its
 * 320x240 input would distort it, so both generated and real crops are shown to it this way.
 */
export function detectorCanvas(img: RgbImage): RgbImage {
  const width = img.width * 2
  const height = Math.round((width * 3) / 4)
  const data = new Uint8Array(width * height * 3).fill(128)
  const x0 = (width - img.width) >> 1
  const y0 = (height - img.height) >> 1
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y0 + y) * width + x0) * 3)
  return { data, width, height }
}

export interface DetectionRate {
  images: number
  detected: number
  rate: number
  /** Mean detector score of the best box, over the images with a face. */
  meanScore: number
  /** Per image: the best box's score, or 0 when no face was found. */
  scores: number[]
}

/** The share of aligned crops in which the detector finds a face overlapping the crop's centre. */
export async function faceDetectionRate(
  engine: InferenceEngine,
  detector: PreparedModel,
  crops: RgbImage[],
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {}
): Promise<DetectionRate> {
  const scores: number[] = []
  for (const crop of crops) {
    const canvas = detectorCanvas(crop)
    const cx = canvas.width / 2
    const cy = canvas.height / 2
    const boxes = await detectFaceBoxes(engine, detector, canvas, options.signal)
    // A box in the grey margin or a corner of the crop is not "the face".
    const central = boxes.filter((b) => b.box[0] < cx && cx < b.box[2] && b.box[1] < cy && cy < b.box[3])
    scores.push(central.length ? Math.max(...central.map((b) => b.score)) : 0)
    options.onProgress?.(scores.length, crops.length)
  }
  const hits = scores.filter((s) => s > 0)
  return {
    images: crops.length,
    detected: hits.length,
    rate: crops.length ? hits.length / crops.length : 0,
    meanScore: hits.length ? hits.reduce((a, b) => a + b, 0) / hits.length : 0,
    scores
  }
}

export interface PriorInspection {
  generatorId: string
  generatorSha256: string
  seed: number
  detection: DetectionRate
  samples: RgbImage[]
}

/** Samples a generator and measures the detector's face rate on the samples. */
export async function inspectPrior(
  engine: InferenceEngine,
  generator: PreparedModel,
  detector: PreparedModel,
  options: { samples: number; seed: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void }
): Promise<PriorInspection> {
  const samples = await samplePrior(engine, generator, options.samples, options.seed, options.signal)
  const detection = await faceDetectionRate(engine, detector, samples, { signal: options.signal, onProgress: options.onProgress })
  return { generatorId: generator.entry.manifest.id, generatorSha256: generator.entry.manifest.sha256, seed: options.seed, detection, samples }
}
