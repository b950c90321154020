import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { alignDataset, detectWithContext, readAlignedManifest, type AlignDatasetOptions } from '../../src/core/datasets/dataset-aligner'
import { ARCFACE_112, similarityTransform } from '../../src/core/imaging/alignment'
import { decodeImage } from '../../src/core/imaging/image-io'
import type { PreparedModel } from '../../src/core/models/model-loader'
import { dataDirOrSkip } from '../helpers/data'

const data = dataDirOrSkip('LFW dataset alignment')

describe('dataset alignment', () => {
  let wb: Workbench
  let models: { detector: PreparedModel; landmarker: PreparedModel }
  let root: string
  let inDir: string

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'unveil-align-'))
    wb = await Workbench.open({ libraryDir: join(root, 'library'), caseRoot: join(root, 'cases') })
    const d = wb.registry.defaults()
    models = { detector: await wb.loader.prepare(d.detector), landmarker: await wb.loader.prepare(d.landmarker) }

    // Three people with two sample photos each, then a damaged JPEG and a faceless grey PNG.
    inDir = join(root, 'dataset')
    const photos = sampleImagePaths()
    expect(photos).toHaveLength(6)
    photos.forEach((p, i) => {
      const person = `Person_${'ABC'[Math.floor(i / 2)]}`
      mkdirSync(join(inDir, person), { recursive: true })
      copyFileSync(p, join(inDir, person, `${person}_${String((i % 2) + 1).padStart(4, '0')}.jpg`))
    })
    mkdirSync(join(inDir, 'Person_D'))
    writeFileSync(join(inDir, 'Person_D', 'Person_D_0001.jpg'), readFileSync(photos[0]).subarray(0, 40))
    mkdirSync(join(inDir, 'Person_E'))
    await sharp({ create: { width: 160, height: 120, channels: 3, background: { r: 128, g: 128, b: 128 } } })
      .png()
      .toFile(join(inDir, 'Person_E', 'Person_E_0001.png'))
  })

  afterAll(async () => {
    await wb?.close()
    if (root) rmSync(root, { recursive: true, force: true })
  })

  const run = (outDir: string, extra: Partial<AlignDatasetOptions> = {}): ReturnType<typeof alignDataset> =>
    alignDataset({ engine: wb.engine, ...models, inDir, outDir, ...extra })

  it('aligns every face to 112x112 PNGs and lists the failures with reasons', async () => {
    const outDir = join(root, 'out-full')
    const m = await run(outDir)
    expect(m).toMatchObject({ format: 'unveil-aligned-dataset', version: 1, source: inDir, layout: 'lfw' })
    expect(m.detector.id).toBe(wb.registry.defaults().detector)
    expect(m.detector.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(m.landmarker.sha256).toMatch(/^[0-9a-f]{64}$/)
    expect(m.alignment).toEqual({ size: [112, 112], points: ARCFACE_112 })
    expect(m.softwareVersion).toMatch(/^unveil@/)
    expect(m.counts).toEqual({ images: 8, aligned: 6, failed: 2 })
    expect(m.counts.aligned + m.counts.failed).toBe(m.counts.images)

    expect(m.items.map((it) => [it.source, it.file, it.identity])).toEqual([
      ['Person_A/Person_A_0001.jpg', 'Person_A/Person_A_0001.png', 'Person_A'],
      ['Person_A/Person_A_0002.jpg', 'Person_A/Person_A_0002.png', 'Person_A'],
      ['Person_B/Person_B_0001.jpg', 'Person_B/Person_B_0001.png', 'Person_B'],
      ['Person_B/Person_B_0002.jpg', 'Person_B/Person_B_0002.png', 'Person_B'],
      ['Person_C/Person_C_0001.jpg', 'Person_C/Person_C_0001.png', 'Person_C'],
      ['Person_C/Person_C_0002.jpg', 'Person_C/Person_C_0002.png', 'Person_C']
    ])
    for (const it of m.items) {
      const meta = await sharp(join(outDir, it.file)).metadata()
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 112, 112])
      expect(it.sourceSha256).toMatch(/^[0-9a-f]{64}$/)
      expect(it.landmarks).toHaveLength(5)
      for (const [x, y] of it.landmarks) {
        expect(Math.round(x * 100) / 100).toBe(x)
        expect(Math.round(y * 100) / 100).toBe(y)
      }
      expect(it.faces).toBeGreaterThanOrEqual(1)
      expect(it.score).toBeGreaterThan(0.5)
      expect(it.padded).toBe(false)
    }
    // sample1 is a group photo; the manifest says how many faces the chosen one was picked from.
    expect(m.items[0].faces).toBeGreaterThanOrEqual(3)

    const reasons = Object.fromEntries(m.failures.map((f) => [f.source, f.reason]))
    expect(Object.keys(reasons).sort()).toEqual(['Person_D/Person_D_0001.jpg', 'Person_E/Person_E_0001.png'])
    expect(reasons['Person_D/Person_D_0001.jpg']).toMatch(/^unreadable image: /)
    expect(reasons['Person_E/Person_E_0001.png']).toBe('no face detected')
    expect(existsSync(join(outDir, 'Person_D'))).toBe(false)

    // The manifest on disk is the one returned.
    expect(readAlignedManifest(outDir)).toEqual(m)
  })

  it('skips finished images on a second run and redoes a crop that went missing', async () => {
    const outDir = join(root, 'out-rerun')
    const first = await run(outDir)
    const mtime = statSync(join(outDir, first.items[1].file)).mtimeMs
    let last = { skipped: -1, aligned: -1 }
    const second = await run(outDir, { onProgress: (p) => (last = p) })
    expect(last).toMatchObject({ skipped: 6, aligned: 6 })
    expect(statSync(join(outDir, first.items[1].file)).mtimeMs).toBe(mtime)
    expect(second.items).toEqual(first.items)
    expect(second.failures).toEqual(first.failures)
    expect(second.createdAt).toBe(first.createdAt)

    rmSync(join(outDir, first.items[2].file))
    const third = await run(outDir, { onProgress: (p) => (last = p) })
    expect(last).toMatchObject({ skipped: 5, aligned: 6 })
    expect(existsSync(join(outDir, first.items[2].file))).toBe(true)
    expect(third.counts).toEqual(first.counts)
  })

  it('saves what it finished when stopped, and a rerun continues from there', async () => {
    const outDir = join(root, 'out-stopped')
    const controller = new AbortController()
    await expect(
      run(outDir, { concurrency: 1, signal: controller.signal, onProgress: (p) => p.done === 3 && controller.abort(new Error('stop here')) })
    ).rejects.toThrow('stop here')
    const partial = readAlignedManifest(outDir)!
    expect(partial.counts).toEqual({ images: 8, aligned: 3, failed: 0 })
    let last = { skipped: -1 }
    const m = await run(outDir, { onProgress: (p) => (last = p) })
    expect(last.skipped).toBe(3)
    expect(m.counts).toEqual({ images: 8, aligned: 6, failed: 2 })
  })

  it('honours --limit and checkpoints the manifest as it goes', async () => {
    const outDir = join(root, 'out-limit')
    const seen: number[] = []
    const m = await run(outDir, {
      limit: 4,
      concurrency: 1,
      checkpointEvery: 2,
      onProgress: (p) => {
        if (p.done === 3) seen.push(readAlignedManifest(outDir)!.items.length)
      }
    })
    expect(m.counts).toEqual({ images: 4, aligned: 4, failed: 0 })
    expect(seen).toEqual([2])
  })

  it('refuses an output folder holding another source, or one inside the input', async () => {
    const outDir = join(root, 'out-full')
    const other = join(root, 'other')
    mkdirSync(other)
    copyFileSync(sampleImagePaths()[1], join(other, 'x.jpg'))
    await expect(alignDataset({ engine: wb.engine, ...models, inDir: other, outDir })).rejects.toThrow(/holds crops of/)
    await expect(run(join(inDir, 'aligned'))).rejects.toThrow(/must not be inside the input/)
    const empty = join(root, 'empty')
    mkdirSync(join(empty, 'sub'), { recursive: true })
    writeFileSync(join(empty, 'sub', 'notes.txt'), 'no images here')
    await expect(alignDataset({ engine: wb.engine, ...models, inDir: empty, outDir: join(root, 'x') })).rejects.toThrow(/no images/)
  })

  it.skipIf(!data)('aligns LFW photos so that their landmarks land on the ArcFace template', async () => {
    const lfw = join(data!, 'datasets', 'lfw')
    const outDir = join(root, 'out-lfw')
    const m = await alignDataset({ engine: wb.engine, ...models, inDir: lfw, outDir, limit: 20 })
    expect(m.source).toBe(join(lfw, 'images'))
    expect(m.layout).toBe('lfw')
    expect(m.counts.images).toBe(20)
    expect(m.counts.aligned).toBeGreaterThanOrEqual(19)
    for (const it of m.items) {
      expect(it.identity).toBe(it.source.split('/')[0])
      expect(it.file).toBe(it.source.replace(/\.jpg$/, '.png'))
    }
    // The detected points must form a frontal face shape: mapped onto the template by the same
    // similarity transform the crop was warped with, each lands within a few pixels of its target.
    const residuals = m.items.map((it) => {
      const t = similarityTransform(it.landmarks, ARCFACE_112)
      const mapped = it.landmarks.map(([x, y]) => [t[0] * x + t[1] * y + t[2], t[3] * x + t[4] * y + t[5]])
      return mapped.reduce((s, [x, y], k) => s + Math.hypot(x - ARCFACE_112[k][0], y - ARCFACE_112[k][1]), 0) / 5
    })
    // And detected again on the crop, the points sit near the template. The landmark model is
    // noisier on a 112-pixel face (about 3-4 px, mouth corners read high), so the bound only
    // rules out a misaligned crop, which is off by tens of pixels.
    const errors: number[] = []
    for (const it of m.items) {
      const crop = await decodeImage(readFileSync(join(outDir, it.file)), it.file)
      const [face] = (await detectWithContext(wb.engine, models.detector, models.landmarker, crop)).faces
      if (!face) continue
      errors.push(face.landmarks.reduce((s, [x, y], k) => s + Math.hypot(x - ARCFACE_112[k][0], y - ARCFACE_112[k][1]), 0) / 5)
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]
    console.log(
      `LFW crops: template residual median ${median(residuals).toFixed(2)} px, max ${Math.max(...residuals).toFixed(2)} px; ` +
        `re-detected ${errors.length}/${m.items.length}, landmark error median ${median(errors).toFixed(2)} px, max ${Math.max(...errors).toFixed(2)} px`
    )
    expect(Math.max(...residuals)).toBeLessThan(8)
    expect(errors.length).toBeGreaterThanOrEqual(m.items.length - 1)
    expect(median(errors)).toBeLessThan(6)
    expect(Math.max(...errors)).toBeLessThan(12)
  })
})
