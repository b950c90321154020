import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DetectedFace } from '../../../src/shared/types'
import {
  cropNames,
  manifestJson,
  padImage,
  readAlignedManifest,
  subjectFace,
  type AlignedDatasetManifest
} from '../../../src/core/datasets/dataset-aligner'

const dirs: string[] = []
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'unveil-manifest-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function sampleManifest(items: number): AlignedDatasetManifest {
  return {
    format: 'unveil-aligned-dataset',
    version: 1,
    source: '/data/lfw/images',
    layout: 'lfw',
    detector: { id: 'det', sha256: 'a'.repeat(64) },
    landmarker: { id: 'lm', sha256: 'b'.repeat(64) },
    alignment: { size: [112, 112], points: [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]] },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:01.000Z',
    softwareVersion: 'unveil@0.0.0',
    counts: { images: items + 1, aligned: items, failed: 1 },
    items: Array.from({ length: items }, (_, i) => ({
      file: `P/P_${i}.png`,
      source: `P/P_${i}.jpg`,
      sourceSha256: 'c'.repeat(64),
      identity: i % 2 ? 'P' : null,
      landmarks: [[1.5, 2], [3, 4], [5, 6], [7, 8], [9, -1e-7]],
      box: [0, 0, 10.25, 12],
      score: 0.9876,
      faces: 1,
      padded: i === 2
    })),
    failures: [{ source: 'bad.jpg', reason: 'unreadable image: bad.jpg is "odd" [x]' }]
  }
}

describe('aligned dataset manifest', () => {
  it('serialises to JSON that parses back to the same manifest, one item per line', () => {
    for (const n of [0, 1, 3]) {
      const m = sampleManifest(n)
      const text = manifestJson(m)
      expect(JSON.parse(text)).toEqual(m)
      const itemLines = text.split('\n').filter((l) => l.startsWith('    {"file"'))
      expect(itemLines).toHaveLength(n)
      expect(text).toContain('"size": [112,112]')
    }
  })

  it('reads a manifest back and rejects foreign or newer files', () => {
    const dir = tempDir()
    expect(readAlignedManifest(dir)).toBeNull()
    writeFileSync(join(dir, 'manifest.json'), manifestJson(sampleManifest(2)))
    expect(readAlignedManifest(dir)?.items).toHaveLength(2)
    writeFileSync(join(dir, 'manifest.json'), '{"format":"something-else","items":[]}')
    expect(() => readAlignedManifest(dir)).toThrow(/is not an unveil-aligned-dataset manifest/)
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...sampleManifest(0), version: 2 }))
    expect(() => readAlignedManifest(dir)).toThrow(/version 2/)
    writeFileSync(join(dir, 'manifest.json'), '{"format":')
    expect(() => readAlignedManifest(dir)).toThrow(/not valid JSON/)
  })

  it('names crops after their sources, keeping the full name where two would clash', () => {
    expect(cropNames(['A/A_0001.jpg', 'b.JPEG', 'c.webp'])).toEqual(['A/A_0001.png', 'b.png', 'c.png'])
    expect(cropNames(['x/a.jpg', 'x/a.png', 'y/a.jpg'])).toEqual(['x/a.jpg.png', 'x/a.png.png', 'y/a.png'])
    expect(cropNames(['a.chip.jpg'])).toEqual(['a.chip.png'])
  })

  it('pads an image with a black border', () => {
    const img = { data: new Uint8Array([1, 2, 3, 4, 5, 6]), width: 2, height: 1 }
    const p = padImage(img, 1)
    expect([p.width, p.height]).toEqual([4, 3])
    const px = (x: number, y: number): number[] => Array.from(p.data.subarray((y * 4 + x) * 3, (y * 4 + x) * 3 + 3))
    expect(px(1, 1)).toEqual([1, 2, 3])
    expect(px(2, 1)).toEqual([4, 5, 6])
    expect(px(0, 0)).toEqual([0, 0, 0])
    expect(px(3, 2)).toEqual([0, 0, 0])
  })
})

describe('subject face', () => {
  const face = (box: [number, number, number, number]): DetectedFace => ({ box, score: 0.9, landmarks: [] })

  it('takes the largest face covering the centre, even when a bystander is larger', () => {
    const bystander = face([0, 0, 120, 120])
    const small = face([110, 110, 140, 140])
    const subject = face([90, 90, 160, 160])
    expect(subjectFace([bystander, small, subject], 250, 250)).toBe(subject)
  })

  it('falls back to the largest face when none covers the centre', () => {
    const a = face([0, 0, 50, 50])
    const b = face([180, 180, 250, 250])
    expect(subjectFace([a, b], 250, 250)).toBe(b)
    expect(subjectFace([], 250, 250)).toBeUndefined()
  })
})
