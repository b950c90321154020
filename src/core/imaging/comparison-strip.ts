import sharp from 'sharp'
import type { RgbImage } from './image-io'

/** Images side by side at one height (aspect kept), on black, as a PNG: e.g. photo | aligned truth | reconstruction. */
export async function comparisonStrip(images: (RgbImage | Uint8Array)[], height = 224, gap = 4): Promise<Buffer> {
  if (images.length === 0) throw new Error('a comparison needs at least one image')
  const tiles = await Promise.all(
    images.map((img) =>
      (img instanceof Uint8Array ? sharp(img) : sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }))
        .rotate()
        .resize({ height, kernel: 'nearest' })
        .png()
        .toBuffer({ resolveWithObject: true })
    )
  )
  const width = tiles.reduce((a, t) => a + t.info.width, 0) + gap * (tiles.length - 1)
  let left = 0
  const composite = tiles.map((t) => {
    const placed = { input: t.data, left, top: 0 }
    left += t.info.width + gap
    return placed
  })
  return sharp({ create: { width, height, channels: 3, background: '#000' } }).composite(composite).png().toBuffer()
}
