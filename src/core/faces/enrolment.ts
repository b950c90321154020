import type { DetectedFace } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import { alignForModel, findFaces, NoFaceError } from './face-finder'
import type { RgbImage } from '../imaging/image-io'
import { encodeAlignedFaces } from './face-encoder'
import type { PreparedModel } from '../models/model-loader'
import { l2norm } from '../templates/vector-math'

export interface FacePipelineModels {
  detector: PreparedModel
  landmarker: PreparedModel
  encoder: PreparedModel
}

export interface Enrolment {
  vector: Float32Array
  norm: number
  faceIndex: number
  face: DetectedFace
  faces: DetectedFace[]
  aligned: RgbImage
}

/** Computes the template of one face in a photo: the largest by default, any other by index. */
export async function enrolFace(
  engine: InferenceEngine,
  models: FacePipelineModels,
  img: RgbImage,
  faceIndex = 0,
  signal?: AbortSignal
): Promise<Enrolment> {
  const faces = await findFaces(engine, models.detector, models.landmarker, img, signal)
  if (faces.length === 0) throw new NoFaceError('no face was found in the photo')
  if (!Number.isInteger(faceIndex) || faceIndex < 0 || faceIndex >= faces.length) {
    throw new NoFaceError(`face ${faceIndex + 1} was requested but the photo has ${faces.length} face${faces.length === 1 ? '' : 's'}`)
  }
  const face = faces[faceIndex]
  const aligned = alignForModel(img, face, models.encoder.entry.manifest)
  const [vector] = await encodeAlignedFaces(engine, models.encoder, [aligned], { signal })
  return { vector, norm: l2norm(vector), faceIndex, face, faces, aligned }
}
