import sharp from 'sharp'
import type { RgbImage } from './image-io'

/** Tiles equally sized images into one PNG grid, row by row, on black. */
export async function contactSheet(images: RgbImage[], columns = 8): Promise<Buffer> {
  if (images.length === 0) throw new Error('a contact sheet needs at least one image')
  const { width, height } = images[0]
  const tiles = await Promise.all(images.map((img) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).png().toBuffer()))
  const cols = Math.min(columns, images.length)
  return sharp({ create: { width: cols * width, height: Math.ceil(images.length / cols) * height, channels: 3, background: '#000' } })
    .composite(tiles.map((t, i) => ({ input: t, left: (i % cols) * width, top: Math.floor(i / cols) * height })))
    .png()
    .toBuffer()
}
