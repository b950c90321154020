import sharp from 'sharp'
import type { InferenceEngine } from '../engine/inference-engine'
import type { PreparedModel } from '../models/model-loader'
import { imageToChw } from '../imaging/image-tensor'
import type { RgbImage } from '../imaging/image-io'

const SIZE = 64

/** 68-point (iBUG) indices averaged into the five alignment points. */
const FIVE_FROM_68: number[][] = [
  [37, 38, 40, 41], // left eye
  [43, 44, 46, 47], // right eye
  [30], // nose tip
  [48, 60], // left mouth corner
  [54, 64] // right mouth corner
]

/** The square crop the landmark model was trained on: side = box height, centred on the box. */
export function landmarkCrop(box: [number, number, number, number], width: number, height: number): { x: number; y: number; side: number } {
  const side = Math.max(8, Math.round(Math.min(box[3] - box[1], width, height)))
  const cx = (box[0] + box[2]) / 2
  const cy = (box[1] + box[3]) / 2
  const x = Math.round(Math.min(Math.max(0, cx - side / 2), width - side))
  const y = Math.round(Math.min(Math.max(0, cy - side / 2), height - side))
  return { x, y, side }
}

/** Five alignment points (image coordinates) for a detected face, from the 68-point model. */
export async function fivePointLandmarks(
  engine: InferenceEngine,
  model: PreparedModel,
  img: RgbImage,
  box: [number, number, number, number],
  signal?: AbortSignal
): Promise<[number, number][]> {
  const { x, y, side } = landmarkCrop(box, img.width, img.height)
  const crop = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .extract({ left: x, top: y, width: side, height: side })
    .resize(SIZE, SIZE, { fit: 'fill' })
    .raw()
    .toBuffer()
  const { manifest } = model.entry
  const input = imageToChw({ data: crop, width: SIZE, height: SIZE }, 'GRAY', manifest.input.normalisation!)
  const { outputs } = await engine.run(model.key, { [manifest.input.name]: { data: input, dims: [1, 1, SIZE, SIZE] } }, { signal })
  const pts = outputs[manifest.output.name]?.data
  if (!pts || pts.length !== 136) throw new Error(`landmarker '${manifest.id}' returned ${pts?.length ?? 0} values, expected 136`)
  return FIVE_FROM_68.map((idx) => {
    let px = 0, py = 0
    for (const i of idx) {
      px += pts[i * 2] * side + x
      py += pts[i * 2 + 1] * side + y
    }
    return [px / idx.length, py / idx.length] as [number, number]
  })
}
