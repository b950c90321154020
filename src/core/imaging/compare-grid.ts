// The compare grid of one template: the ground truth and reconstructions side by side, each
// with its label lines below. Pure pixels: what the cells say is decided by the caller
// (src/core/workbench/compare-service.ts); this module only lays them out. Faces are enlarged
// with nearest-neighbour so no detail is invented; text is SVG rendered by sharp (librsvg and
// the system fonts), and when no font is installed the grid still comes out, without text.
import sharp from 'sharp'
import type { RgbImage } from './image-io'

export type GridTone = 'normal' | 'muted' | 'pass' | 'fail'

export interface GridLine {
  text: string
  tone?: GridTone
}

export interface GridCell {
  /** The face (any size; scaled to the tile), or null for an empty tile. */
  image: RgbImage | null
  title: string
  lines: GridLine[]
}

export interface CompareGridInput {
  title: string
  /** A second header line in small type, e.g. what the marks mean. */
  subtitle?: string
  cells: GridCell[]
  /** Tile edge in pixels (default 224 = 2 × the 112 × 112 aligned crop). */
  tile?: number
  /** Cells per row before wrapping (default 6). */
  columns?: number
}

export interface CompareGridLayout {
  width: number
  height: number
  cellWidth: number
  cellHeight: number
  columns: number
  rows: number
  /** Top-left of each cell's face tile. */
  tiles: { left: number; top: number }[]
}

const PAD = 12
const HEADER = 34
const SUBTITLE = 16
const TITLE_LINE = 18
const LINE = 15
const FONT_SIZE = 11
const TEXT_WIDTH_PER_CHAR = 6.7
const COLOURS: Record<GridTone, string> = { normal: '#1d232c', muted: '#5f6b7a', pass: '#1c6b40', fail: '#a32d27' }

/** Where every piece goes (exported for tests). */
export function compareGridLayout(input: CompareGridInput): CompareGridLayout {
  if (input.cells.length === 0) throw new Error('a compare grid needs at least one cell')
  const tile = input.tile ?? 224
  const columns = Math.min(input.columns ?? 6, input.cells.length)
  const rows = Math.ceil(input.cells.length / columns)
  const longest = Math.max(...input.cells.flatMap((c) => [c.title.length, ...c.lines.map((l) => l.text.length)]))
  const cellWidth = Math.max(tile, Math.min(Math.ceil(longest * TEXT_WIDTH_PER_CHAR), 2 * tile)) + PAD
  const lines = Math.max(...input.cells.map((c) => c.lines.length))
  const cellHeight = tile + 8 + TITLE_LINE + lines * LINE + PAD
  // Wide enough for the header lines too (a one- or two-cell grid would cut them).
  const width = Math.max(PAD + columns * cellWidth, Math.ceil(2 * PAD + input.title.length * 8.6), Math.ceil(2 * PAD + (input.subtitle?.length ?? 0) * 6.4))
  const header = HEADER + (input.subtitle ? SUBTITLE : 0)
  const height = header + rows * cellHeight + PAD
  const tiles = input.cells.map((_, i) => ({
    left: PAD + (i % columns) * cellWidth + Math.floor((cellWidth - PAD - tile) / 2),
    top: header + Math.floor(i / columns) * cellHeight
  }))
  return { width, height, cellWidth, cellHeight, columns, rows, tiles }
}

const escapeXml = (s: string): string =>
  s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!)

/** Keeps a label inside its cell. */
function fit(text: string, width: number, perChar = TEXT_WIDTH_PER_CHAR): string {
  const max = Math.floor(width / perChar)
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`
}

function textSvg(input: CompareGridInput, layout: CompareGridLayout, tile: number): string {
  const parts: string[] = [
    `<text x="${PAD}" y="22" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="14" font-weight="bold" fill="${COLOURS.normal}">${escapeXml(fit(input.title, layout.width - 2 * PAD, 8.6))}</text>`
  ]
  if (input.subtitle) {
    parts.push(
      `<text x="${PAD}" y="${22 + SUBTITLE}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="11" fill="${COLOURS.muted}">${escapeXml(fit(input.subtitle, layout.width - 2 * PAD, 6.4))}</text>`
    )
  }
  input.cells.forEach((cell, i) => {
    const x = PAD + (i % layout.columns) * layout.cellWidth
    let y = layout.tiles[i].top + tile + 8 + 13
    const w = layout.cellWidth - PAD
    parts.push(`<text x="${x}" y="${y}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="12" font-weight="bold" fill="${COLOURS.normal}">${escapeXml(fit(cell.title, w))}</text>`)
    y += TITLE_LINE - 2
    for (const line of cell.lines) {
      parts.push(
        `<text x="${x}" y="${y}" font-family="DejaVu Sans Mono, Liberation Mono, monospace" font-size="${FONT_SIZE}" fill="${COLOURS[line.tone ?? 'normal']}">${escapeXml(fit(line.text, w))}</text>`
      )
      y += LINE
    }
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}">${parts.join('')}</svg>`
}

/** The grid as a PNG, with its layout. */
export async function compareGrid(input: CompareGridInput): Promise<{ png: Buffer; layout: CompareGridLayout }> {
  const layout = compareGridLayout(input)
  const tile = input.tile ?? 224
  const tiles = await Promise.all(
    input.cells.map(async (cell, i) => {
      const { left, top } = layout.tiles[i]
      const input = cell.image
        ? await sharp(cell.image.data, { raw: { width: cell.image.width, height: cell.image.height, channels: 3 } })
            .resize(tile, tile, { kernel: 'nearest', fit: 'contain', background: '#1b2029' })
            .png()
            .toBuffer()
        : await sharp({ create: { width: tile, height: tile, channels: 3, background: '#e4e7eb' } }).png().toBuffer()
      return { input, left, top }
    })
  )
  const png = await sharp({ create: { width: layout.width, height: layout.height, channels: 3, background: '#ffffff' } })
    .composite([...tiles, { input: Buffer.from(textSvg(input, layout, tile)), left: 0, top: 0 }])
    .png()
    .toBuffer()
  return { png, layout }
}
