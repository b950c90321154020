import sharp from 'sharp'
import type { InferenceEngine } from '../engine/inference-engine'
import type { PreparedModel } from '../models/model-loader'
import { imageToChw } from '../imaging/image-tensor'
import type { RgbImage } from '../imaging/image-io'

export interface FaceBox {
  box: [number, number, number, number]
  score: number
}

const INPUT_W = 320
const INPUT_H = 240
const SCORE_THRESHOLD = 0.6
const NMS_IOU = 0.4

function iou(a: FaceBox['box'], b: FaceBox['box']): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]))
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]))
  const inter = w * h
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
  return union > 0 ? inter / union : 0
}

export function nonMaxSuppression(boxes: FaceBox[], threshold = NMS_IOU): FaceBox[] {
  const sorted = [...boxes].sort((x, y) => y.score - x.score)
  const kept: FaceBox[] = []
  for (const b of sorted) if (kept.every((k) => iou(k.box, b.box) < threshold)) kept.push(b)
  return kept
}

/**
 * The bundled detector (fr_detect): a 320x240 input and, per anchor, a face score and a box
 * already decoded to corners in [0, 1] (the package's own code scales them directly).
 */
export async function detectFaceBoxes(engine: InferenceEngine, model: PreparedModel, img: RgbImage, signal?: AbortSignal): Promise<FaceBox[]> {
  const resized = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(INPUT_W, INPUT_H, { fit: 'fill' })
    .raw()
    .toBuffer()
  const { manifest } = model.entry
  const input = imageToChw({ data: resized, width: INPUT_W, height: INPUT_H }, manifest.input.colorOrder ?? 'RGB', manifest.input.normalisation!)
  const { outputs } = await engine.run(model.key, { [manifest.input.name]: { data: input, dims: [1, 3, INPUT_H, INPUT_W] } }, { signal })
  const scores = outputs.scores?.data
  const boxes = outputs.boxes?.data
  if (!scores || !boxes) throw new Error(`detector '${manifest.id}' did not return 'scores' and 'boxes'`)
  const found: FaceBox[] = []
  const n = scores.length / 2
  for (let i = 0; i < n; i++) {
    const score = scores[i * 2 + 1]
    if (score < SCORE_THRESHOLD) continue
    const x1 = Math.max(0, boxes[i * 4] * img.width)
    const y1 = Math.max(0, boxes[i * 4 + 1] * img.height)
    const x2 = Math.min(img.width, boxes[i * 4 + 2] * img.width)
    const y2 = Math.min(img.height, boxes[i * 4 + 3] * img.height)
    if (x2 - x1 < 4 || y2 - y1 < 4) continue
    found.push({ box: [x1, y1, x2, y2], score })
  }
  return nonMaxSuppression(found)
}
