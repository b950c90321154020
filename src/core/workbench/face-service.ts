import type { FaceDetectionResult } from '../../shared/ipc-contract'
import { ValidationError } from '../../shared/validation'
import type { InferenceEngine } from '../engine/inference-engine'
import { enrolFace, type Enrolment, type FacePipelineModels } from '../faces/enrolment'
import { encodeAlignedFaces } from '../faces/face-encoder'
import { findFaces } from '../faces/face-finder'
import { decodeImage, type DecodedImage, type RgbImage } from '../imaging/image-io'
import type { ModelLoader } from '../models/model-loader'
import type { ModelRegistry } from '../models/model-registry'

/** The face pipeline on photos: detect → landmarks → align → encode, with the registry's default models. */
export class FaceService {
  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry,
    private readonly loader: ModelLoader
  ) {}

  async pipeline(encoderId: string): Promise<FacePipelineModels> {
    const d = this.registry.defaults()
    this.registry.getWithRole(encoderId, 'encoder')
    const [detector, landmarker, encoder] = await Promise.all([this.loader.prepare(d.detector), this.loader.prepare(d.landmarker), this.loader.prepare(encoderId)])
    return { detector, landmarker, encoder }
  }

  async detect(bytes: Uint8Array, name: string): Promise<FaceDetectionResult> {
    const img = await decodeImage(bytes, name)
    const d = this.registry.defaults()
    const faces = await findFaces(this.engine, await this.loader.prepare(d.detector), await this.loader.prepare(d.landmarker), img)
    return { width: img.width, height: img.height, faces }
  }

  /** The template of one face of a photo (the largest by default), with its aligned crop and the decoded photo. */
  async enrol(bytes: Uint8Array, name: string | undefined, encoderId: string, faceIndex = 0, signal?: AbortSignal): Promise<Enrolment & { photo: DecodedImage }> {
    const photo = await decodeImage(bytes, name)
    return { ...(await enrolFace(this.engine, await this.pipeline(encoderId), photo, faceIndex, signal)), photo }
  }

  /**
   * The template of a photo that already is an aligned crop at the encoder's alignment size:
   * no detection, so a crop rotated or shifted on purpose stays as it is.
   */
  async encodeAligned(bytes: Uint8Array, name: string | undefined, encoderId: string, signal?: AbortSignal): Promise<Float32Array> {
    const model = await this.loader.prepare(this.registry.getWithRole(encoderId, 'encoder').manifest.id)
    const [w, h] = model.entry.manifest.alignment?.size ?? [112, 112]
    const crop = await decodeImage(bytes, name)
    if (crop.width !== w || crop.height !== h)
      throw new ValidationError(`${name ?? 'image'} is ${crop.width}x${crop.height}, not an aligned ${w}x${h} crop for ${encoderId}; enrol it without --aligned to detect and align the face`)
    return (await encodeAlignedFaces(this.engine, model, [crop], { signal }))[0]
  }

  /** The crop of one face of a photo as the encoder sees it. */
  async alignedFace(bytes: Uint8Array, name: string | undefined, encoderId: string, faceIndex = 0, signal?: AbortSignal): Promise<RgbImage> {
    return (await this.enrol(bytes, name, encoderId, faceIndex, signal)).aligned
  }
}
