import sharp from 'sharp'

/** Interleaved 8-bit RGB pixels. */
export interface RgbImage {
  data: Uint8Array
  width: number
  height: number
}

export class ImageDecodeError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ImageDecodeError'
  }
}

const MAX_IMAGE_BYTES = 64 * 1024 * 1024
const MAX_PIXELS = 100_000_000

export interface DecodedImage extends RgbImage {
  /** The container format sharp found in the bytes (jpeg, png, webp, ...). */
  format: string
  mime: string
}

/** Decodes any sharp-readable image to RGB, honouring EXIF orientation. */
export async function decodeImage(bytes: Uint8Array, label = 'image'): Promise<DecodedImage> {
  if (bytes.byteLength === 0) throw new ImageDecodeError(`${label} is empty`)
  if (bytes.byteLength > MAX_IMAGE_BYTES) {
    throw new ImageDecodeError(`${label} is ${(bytes.byteLength / 1048576).toFixed(0)} MiB; the limit is 64 MiB`)
  }
  let format: string | undefined
  try {
    const meta = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).metadata()
    format = meta.format
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: 'error' })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true })
    if (info.channels !== 3) throw new Error(`unexpected channel count ${info.channels}`)
    return {
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      format: format ?? 'unknown',
      mime: `image/${format === 'jpg' ? 'jpeg' : format}`
    }
  } catch (err) {
    if (err instanceof ImageDecodeError) throw err
    const reason = (err as Error).message.split('\n')[0]
    throw new ImageDecodeError(
      format ? `${label} is a damaged ${format} image: ${reason}` : `${label} is not a readable image (${reason})`
    )
  }
}

export async function encodePng(img: RgbImage): Promise<Uint8Array> {
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .png({ compressionLevel: 6 })
    .toBuffer()
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}

export async function resizeRgb(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const buf = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer()
  return { data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), width, height }
}

export function cropRgb(img: RgbImage, x: number, y: number, w: number, h: number): RgbImage {
  const out = new Uint8Array(w * h * 3)
  for (let r = 0; r < h; r++) {
    const sy = Math.min(img.height - 1, Math.max(0, y + r))
    for (let c = 0; c < w; c++) {
      const sx = Math.min(img.width - 1, Math.max(0, x + c))
      const si = (sy * img.width + sx) * 3
      const di = (r * w + c) * 3
      out[di] = img.data[si]
      out[di + 1] = img.data[si + 1]
      out[di + 2] = img.data[si + 2]
    }
  }
  return { data: out, width: w, height: h }
}
