import { describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import sharp from 'sharp'
import { compareGrid, compareGridLayout, type GridCell } from '../../../src/core/imaging/compare-grid'
import type { RgbImage } from '../../../src/core/imaging/image-io'

/** A 2 × 2 image: red, green / blue, white. */
const checker = (): RgbImage => ({ width: 2, height: 2, data: Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]) })
const cell = (image: RgbImage | null, lines: string[] = []): GridCell => ({ image, title: 'cell', lines: lines.map((text) => ({ text })) })
const FONTS = existsSync('/usr/share/fonts') || existsSync('/System/Library/Fonts') || existsSync('C:\\Windows\\Fonts')

describe('compare grid', () => {
  it('lays cells out in rows of at most `columns`, all of one size', () => {
    const three = compareGridLayout({ title: 't', cells: [cell(null), cell(null), cell(null)], tile: 100 })
    expect([three.columns, three.rows]).toEqual([3, 1])
    expect(three.tiles.map((t) => t.top)).toEqual([three.tiles[0].top, three.tiles[0].top, three.tiles[0].top])
    const eight = compareGridLayout({ title: 't', cells: Array.from({ length: 8 }, () => cell(null)), tile: 100, columns: 6 })
    expect([eight.columns, eight.rows]).toEqual([6, 2])
    expect(eight.tiles[6].top - eight.tiles[0].top).toBe(eight.cellHeight)
    expect(eight.tiles[6].left).toBe(eight.tiles[0].left)
    // More label lines make taller cells; a subtitle pushes the tiles down.
    expect(compareGridLayout({ title: 't', cells: [cell(null, ['a', 'b', 'c'])], tile: 100 }).cellHeight).toBeGreaterThan(three.cellHeight)
    expect(compareGridLayout({ title: 't', subtitle: 's', cells: [cell(null)], tile: 100 }).tiles[0].top).toBeGreaterThan(three.tiles[0].top)
    expect(() => compareGridLayout({ title: 't', cells: [] })).toThrow(/at least one cell/)
  })

  it('enlarges faces nearest-neighbour: each source pixel becomes a block of one colour', async () => {
    const { png, layout } = await compareGrid({ title: 'grid', cells: [cell(checker())], tile: 8 })
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
    expect([info.width, info.height]).toEqual([layout.width, layout.height])
    const at = (x: number, y: number): number[] => {
      const i = ((layout.tiles[0].top + y) * info.width + layout.tiles[0].left + x) * info.channels
      return [data[i], data[i + 1], data[i + 2]]
    }
    for (const [x, y, rgb] of [
      [0, 0, [255, 0, 0]],
      [3, 3, [255, 0, 0]],
      [4, 0, [0, 255, 0]],
      [7, 3, [0, 255, 0]],
      [0, 4, [0, 0, 255]],
      [7, 7, [255, 255, 255]]
    ] as const) {
      expect(at(x, y), `${x},${y}`).toEqual(rgb)
    }
  })

  it.skipIf(!FONTS)('renders the labels as text below the faces', async () => {
    const blank = await compareGrid({ title: '', cells: [{ image: checker(), title: '', lines: [] }], tile: 64 })
    const labelled = await compareGrid({ title: 'Template', cells: [{ image: checker(), title: 'Ground truth', lines: [{ text: 'enc T 0.8445 ✓✓✗', tone: 'pass' }] }], tile: 64 })
    const dark = async (png: Buffer): Promise<number> => {
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true })
      let n = 0
      for (let i = 0; i < data.length; i += info.channels) if (data[i] + data[i + 1] + data[i + 2] < 384) n++
      return n
    }
    // The checker's blue block is dark in both; text adds many more dark pixels.
    expect((await dark(labelled.png)) - (await dark(blank.png))).toBeGreaterThan(200)
  })
})
