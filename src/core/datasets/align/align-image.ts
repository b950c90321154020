import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { InferenceEngine } from '../../engine/inference-engine'
import { sha256Hex } from '../../fs/sha256'
import { alignFace, ARCFACE_112 } from '../../imaging/alignment'
import { decodeImage, ImageDecodeError, type RgbImage } from '../../imaging/image-io'
import type { PreparedModel } from '../../models/model-loader'
import type { DatasetLayout } from '../dataset-layout'
import type { CropWriter } from './crop-writer'
import type { ResumeState } from './align-resume'
import { ALIGNED_SIZE, type Outcome } from './aligned-manifest'
import { detectWithContext, subjectFace } from './subject-face'

/** What aligning any image of the run needs. */
export interface AlignImageContext {
  engine: InferenceEngine
  detector: PreparedModel
  landmarker: PreparedModel
  layout: DatasetLayout
  resume: ResumeState
  crops: CropWriter
}

const round2 = (v: number): number => Math.round(v * 100) / 100

/**
 * Step 3: one photo to its crop `file` (see subjectFace for which face), or the reason it has
 * none. An unchanged photo whose crop an earlier run wrote is kept as it was.
 */
export async function alignImage(ctx: AlignImageContext, rel: string, file: string, signal: AbortSignal): Promise<Outcome> {
  const { engine, detector, landmarker, layout } = ctx
  const fail = (reason: string): Outcome => ({ failure: { source: rel, reason } })
  let bytes: Uint8Array
  try {
    bytes = new Uint8Array(readFileSync(join(layout.imagesDir, rel)))
  } catch (err) {
    return fail(`unreadable image: ${(err as Error).message}`)
  }
  const sourceSha256 = sha256Hex(bytes)
  const earlier = ctx.resume.earlierCrop(rel, sourceSha256, file)
  if (earlier) {
    // The identity is looked up afresh: an edited identity file must not need a re-alignment.
    return { item: { ...earlier, identity: layout.identityOf(rel) }, skipped: true }
  }
  let img: RgbImage
  try {
    img = await decodeImage(bytes, rel)
  } catch (err) {
    if (err instanceof ImageDecodeError) return fail(`unreadable image: ${err.message}`)
    throw err
  }
  const { faces, padded } = await detectWithContext(engine, detector, landmarker, img, signal)
  const face = subjectFace(faces, img.width, img.height)
  if (!face) return fail('no face detected')
  let crop: RgbImage
  try {
    crop = alignFace(img, face.landmarks, ARCFACE_112, ALIGNED_SIZE)
  } catch (err) {
    return fail(`alignment failed: ${(err as Error).message}`)
  }
  await ctx.crops.write(file, crop)
  return {
    item: {
      file,
      source: rel,
      sourceSha256,
      identity: layout.identityOf(rel),
      landmarks: face.landmarks.map(([x, y]) => [round2(x), round2(y)] as [number, number]),
      box: face.box.map(round2) as [number, number, number, number],
      score: Math.round(face.score * 10000) / 10000,
      faces: faces.length,
      padded
    },
    skipped: false
  }
}
