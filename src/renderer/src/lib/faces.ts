import type { DetectedFace } from '@shared/types'

/** Boxes are [x1, y1, x2, y2] in image pixels. */
export function boxArea(box: DetectedFace['box']): number {
  return Math.max(0, box[2] - box[0]) * Math.max(0, box[3] - box[1])
}

/** Index of the largest face: the one preselected for enrolment (core also lists it first). */
export function largestFaceIndex(faces: DetectedFace[]): number {
  let best = -1
  let bestArea = -1
  faces.forEach((f, i) => {
    const a = boxArea(f.box)
    if (a > bestArea) {
      best = i
      bestArea = a
    }
  })
  return best
}

export interface ThumbCrop {
  /** Rendered size of the whole image, in CSS pixels. */
  width: number
  height: number
  /** Offset of the image inside the square thumbnail. */
  left: number
  top: number
}

/** How to place an image in a size×size square so that the face box (plus margin) fills it. */
export function thumbCrop(
  box: [number, number, number, number],
  imageWidth: number,
  imageHeight: number,
  size: number,
  margin = 0.25
): ThumbCrop {
  const w = box[2] - box[0]
  const h = box[3] - box[1]
  const side = Math.max(w, h) * (1 + 2 * margin)
  const scale = size / Math.max(1, side)
  const cx = (box[0] + box[2]) / 2
  const cy = (box[1] + box[3]) / 2
  return {
    width: imageWidth * scale,
    height: imageHeight * scale,
    left: size / 2 - cx * scale,
    top: size / 2 - cy * scale
  }
}
