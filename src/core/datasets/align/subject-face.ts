import type { DetectedFace } from '../../../shared/types'
import type { InferenceEngine } from '../../engine/inference-engine'
import { findFaces } from '../../faces/face-finder'
import type { RgbImage } from '../../imaging/image-io'
import type { PreparedModel } from '../../models/model-loader'

// Finding the face a dataset photo is about: detection with a retry on a padded copy, then the
// choice among the faces found.

/** A copy of `img` with a black border of `pad` pixels on every side. */
export function padImage(img: RgbImage, pad: number): RgbImage {
  const width = img.width + 2 * pad
  const height = img.height + 2 * pad
  const data = new Uint8Array(width * height * 3)
  const row = img.width * 3
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * row, (y + 1) * row), ((y + pad) * width + pad) * 3)
  return { data, width, height }
}

/** Border added, as a fraction of the longer side, when a first detection finds nothing. */
const RETRY_PAD = 0.3
/** Smallest face a retry accepts, as a fraction of the photo's shorter side. */
const RETRY_MIN_FACE = 0.25

/**
 * Faces of `img`, largest first, and whether they were found only with a border added.
 * Pre-cropped datasets (CelebA aligned, UTKFace) frame the face so tightly that the detector
 * misses some (12 of the first 500 of each, all found again once the photo had a 30% border),
 * so a miss is retried that way and the result mapped back to the photo's own coordinates.
 * The retry exists for faces that fill the frame, so it keeps only large ones: in the CelebA
 * misses it also "found" a 12-pixel face in a photo whose face is hidden under a hat.
 */
export async function detectWithContext(
  engine: InferenceEngine,
  detector: PreparedModel,
  landmarker: PreparedModel,
  img: RgbImage,
  signal?: AbortSignal
): Promise<{ faces: DetectedFace[]; padded: boolean }> {
  const faces = await findFaces(engine, detector, landmarker, img, signal)
  if (faces.length > 0) return { faces, padded: false }
  const pad = Math.round(Math.max(img.width, img.height) * RETRY_PAD)
  const minSide = RETRY_MIN_FACE * Math.min(img.width, img.height)
  const clampX = (v: number): number => Math.min(img.width, Math.max(0, v - pad))
  const clampY = (v: number): number => Math.min(img.height, Math.max(0, v - pad))
  const found = await findFaces(engine, detector, landmarker, padImage(img, pad), signal)
  return {
    faces: found
      .filter((f) => Math.min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= minSide)
      .map((f) => ({
        box: [clampX(f.box[0]), clampY(f.box[1]), clampX(f.box[2]), clampY(f.box[3])],
        score: f.score,
        landmarks: f.landmarks.map(([x, y]) => [x - pad, y - pad] as [number, number])
      })),
    padded: true
  }
}

/**
 * The face a dataset photo is about: the largest of those covering the photo's centre, or the
 * largest of all when none does. Face datasets centre their subject (LFW by construction,
 * CelebA and UTKFace by cropping); taking the largest face alone picked a bystander or a false
 * detection in about 17 of 9,525 LFW photos (Elena_de_Chavez_0001 gave Hugo Chavez).
 */
export function subjectFace(faces: DetectedFace[], width: number, height: number): DetectedFace | undefined {
  const cx = width / 2
  const cy = height / 2
  const area = (f: DetectedFace): number => (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])
  const central = faces.filter((f) => f.box[0] <= cx && cx <= f.box[2] && f.box[1] <= cy && cy <= f.box[3])
  const pool = central.length > 0 ? central : faces
  return pool.reduce<DetectedFace | undefined>((best, f) => (!best || area(f) > area(best) ? f : best), undefined)
}
