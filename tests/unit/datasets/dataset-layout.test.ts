import { afterEach, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import {
  detectLayout,
  isImageFile,
  isPerPersonLayout,
  isWithin,
  readIdentityFile,
  resolveImagesDir,
  walkImages
} from '../../../src/core/datasets/dataset-layout'

const dirs: string[] = []

/** A temp folder holding `files` (relative paths; contents do not matter to layout detection). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'unveil-layout-'))
  dirs.push(root)
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, rel)), { recursive: true })
    writeFileSync(join(root, rel), content)
  }
  return root
}

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('dataset layout detection', () => {
  it('recognises image files by extension, case-insensitively', () => {
    for (const n of ['a.jpg', 'b.JPEG', 'c.png', 'd.webp', 'e.jpg.chip.jpg']) expect(isImageFile(n)).toBe(true)
    for (const n of ['identity.txt', 'a.gif', 'jpg', 'manifest.json']) expect(isImageFile(n)).toBe(false)
  })

  it('walks images recursively in a stable order, skipping hidden and non-image files', () => {
    const root = tree({
      'b/b_0001.jpg': '',
      'a/a_0002.jpg': '',
      'a/a_0001.jpg': '',
      'a/.a_0003.jpg.123.tmp': '',
      '.hidden/x.jpg': '',
      'notes.txt': '',
      'z.png': ''
    })
    expect([...walkImages(root)]).toEqual(['a/a_0001.jpg', 'a/a_0002.jpg', 'b/b_0001.jpg', 'z.png'])
  })

  it('reads a folder per person as lfw, identity = folder name', () => {
    const root = tree({ 'Ann_Lee/Ann_Lee_0001.jpg': '', 'Ann_Lee/Ann_Lee_0002.jpg': '', 'Bo/Bo_0001.png': '' })
    const layout = detectLayout(root)
    expect(layout.kind).toBe('lfw')
    expect(layout.imagesDir).toBe(root)
    expect(layout.identityOf('Ann_Lee/Ann_Lee_0002.jpg')).toBe('Ann_Lee')
    expect(layout.identityOf('Bo/Bo_0001.png')).toBe('Bo')
  })

  it('finds the images/ folder of a dataset root (shared/datasets/lfw style)', () => {
    const root = tree({ 'README.txt': '', 'pairs.txt': '', 'images/Ann/Ann_0001.jpg': '', 'images/Cy/Cy_0004.jpg': '' })
    expect(resolveImagesDir(root)).toBe(join(root, 'images'))
    const layout = detectLayout(root)
    expect(layout).toMatchObject({ kind: 'lfw', inDir: root, imagesDir: join(root, 'images') })
  })

  it('keeps a folder as it is when it has images of its own beside an images/ folder', () => {
    const root = tree({ 'a.jpg': '', 'images/b.jpg': '' })
    expect(resolveImagesDir(root)).toBe(root)
  })

  it('falls back to flat when any image breaks the <Person>/<Person>_NNNN pattern', () => {
    expect(isPerPersonLayout(['Ann/Ann_0001.jpg', 'Bo/Bo_0001.jpg'])).toBe(true)
    expect(isPerPersonLayout(['Ann/Ann_0001.jpg', 'stray.jpg'])).toBe(false)
    expect(isPerPersonLayout(['train/0001.jpg', 'val/0002.jpg'])).toBe(false)
    expect(isPerPersonLayout(['Ann/Bo_0001.jpg'])).toBe(false)
    expect(isPerPersonLayout(['Ann/Ann_first.jpg'])).toBe(false)
    expect(isPerPersonLayout(['x/Ann/Ann_0001.jpg'])).toBe(false)
    expect(isPerPersonLayout([])).toBe(false)
    const root = tree({ '25_1_0_2017.jpg.chip.jpg': '', '30_0_2_2017.jpg.chip.jpg': '' })
    const layout = detectLayout(root)
    expect(layout.kind).toBe('flat')
    expect(layout.identityOf('25_1_0_2017.jpg.chip.jpg')).toBeNull()
  })

  it('reads identity.txt beside the images or in their parent as celeba', () => {
    const ids = 'image identity\n000001.jpg 2880\n000002.jpg 2937\r\n\n'
    const root = tree({ 'identity.txt': ids, 'images/000001.jpg': '', 'images/000002.jpg': '', 'images/000003.jpg': '' })
    for (const inDir of [root, join(root, 'images')]) {
      const layout = detectLayout(inDir)
      expect(layout.kind).toBe('celeba')
      expect(layout.imagesDir).toBe(join(root, 'images'))
      expect(layout.identityFile).toBe(join(root, 'identity.txt'))
      expect(layout.identityOf('000001.jpg')).toBe('2880')
      expect(layout.identityOf('000002.jpg')).toBe('2937')
      expect(layout.identityOf('000003.jpg')).toBeNull()
    }
    const beside = tree({ 'identity.txt': ids, '000001.jpg': '' })
    expect(detectLayout(beside).identityOf('000001.jpg')).toBe('2880')
  })

  it('ignores header and malformed lines of an identity file', () => {
    const root = tree({ 'identity.txt': 'image identity\n000001.jpg 7\njunk\n\n  000002.png   9  \n' })
    expect([...readIdentityFile(join(root, 'identity.txt'))]).toEqual([
      ['000001.jpg', '7'],
      ['000002.png', '9']
    ])
  })

  it('refuses a missing folder', () => {
    expect(() => detectLayout(join(tmpdir(), 'unveil-no-such-folder-x'))).toThrow(/is not a folder/)
  })

  it('tells whether one path lies inside another', () => {
    expect(isWithin('/a/b/c', '/a/b')).toBe(true)
    expect(isWithin('/a/b', '/a/b')).toBe(true)
    expect(isWithin('/a/bc', '/a/b')).toBe(false)
    expect(isWithin('/a', '/a/b')).toBe(false)
  })
})
