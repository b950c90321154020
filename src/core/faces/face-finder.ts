import type { DetectedFace, ModelManifest } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import type { PreparedModel } from '../models/model-loader'
import { alignFace, ARCFACE_112 } from '../imaging/alignment'
import { detectFaceBoxes } from './face-detector'
import type { RgbImage } from '../imaging/image-io'
import { fivePointLandmarks } from './landmarker'

export class NoFaceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NoFaceError'
  }
}

/** Detects faces with five landmarks each, largest face first (the default subject). */
export async function findFaces(
  engine: InferenceEngine,
  detector: PreparedModel,
  landmarker: PreparedModel,
  img: RgbImage,
  signal?: AbortSignal
): Promise<DetectedFace[]> {
  const boxes = await detectFaceBoxes(engine, detector, img, signal)
  const area = (b: [number, number, number, number]): number => (b[2] - b[0]) * (b[3] - b[1])
  boxes.sort((a, b) => area(b.box) - area(a.box))
  const faces: DetectedFace[] = []
  for (const b of boxes) {
    faces.push({ box: b.box, score: b.score, landmarks: await fivePointLandmarks(engine, landmarker, img, b.box, signal) })
  }
  return faces
}

/** The crop an encoder expects: its manifest's alignment, or ArcFace 112x112 by default. */
export function alignForModel(img: RgbImage, face: DetectedFace, manifest: ModelManifest): RgbImage {
  const a = manifest.alignment ?? { size: [112, 112] as [number, number], points: ARCFACE_112 }
  return alignFace(img, face.landmarks, a.points, a.size)
}
