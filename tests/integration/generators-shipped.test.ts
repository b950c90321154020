import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { decodeImage } from '../../src/core/imaging/image-io'
import { enrolFace } from '../../src/core/faces/enrolment'
import { encodeAlignedFaces } from '../../src/core/faces/face-encoder'
import { detectorCanvas, faceDetectionRate, inspectPrior } from '../../src/core/priors/prior-inspection'
import { cosine } from '../../src/core/templates/vector-math'
import { ModelRegistry } from '../../src/core/models/model-registry'

process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')
const shipped = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-probe-'))).byRole('generator').filter((g) => g.bundled)
if (shipped.length === 0) console.log('SKIP shipped generator tests: no generator is shipped in resources/models')

describe('prior inspection geometry', () => {
  it('centres an aligned crop on a 4:3 grey canvas twice its width', () => {
    const crop = { data: new Uint8Array(4 * 4 * 3).fill(255), width: 4, height: 4 }
    const c = detectorCanvas(crop)
    expect([c.width, c.height]).toEqual([8, 6])
    const px = (x: number, y: number): number => c.data[(y * c.width + x) * 3]
    expect([px(0, 0), px(2, 1), px(5, 4), px(6, 4), px(2, 5)]).toEqual([128, 255, 255, 128, 128])
  })
})

describe.skipIf(shipped.length === 0)('the shipped face priors', () => {
  let wb: Workbench
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: tmpdir() })
  })
  afterAll(async () => wb.close())

  it('the detector finds the face in most real aligned crops shown the same way as prior samples', async () => {
    const models = await wb.faces.pipeline('faceplugin-fr-feature')
    const crops = await Promise.all(sampleImagePaths().map(async (f) => (await enrolFace(wb.engine, models, await decodeImage(readFileSync(f)), 0)).aligned))
    const r = await faceDetectionRate(wb.engine, models.detector, crops)
    // The reference for the priors' face rate: most real crops (some of these faces are small and blurred).
    expect(r.rate).toBeGreaterThanOrEqual(2 / 3)
  })

  it.each(shipped.map((g) => g.manifest.id))('%s draws distinct, detectable faces in the 112x112 frame', async (id) => {
    const models = await wb.faces.pipeline('faceplugin-fr-feature')
    const r = await inspectPrior(wb.engine, await wb.loader.prepare(id), models.detector, { samples: 24, seed: 3 })
    expect(r.samples.every((s) => s.width === 112 && s.height === 112)).toBe(true)
    expect(r.detection.rate).toBeGreaterThanOrEqual(0.75)
    // Distinct identities, not one face repeated: samples' templates are far from each other.
    const t = await encodeAlignedFaces(wb.engine, models.encoder, r.samples)
    let sum = 0
    for (let i = 1; i < t.length; i++) sum += cosine(t[0], t[i])
    expect(sum / (t.length - 1)).toBeLessThan(0.6)
  })

  it.each(shipped.map((g) => g.manifest.id))('GA over %s climbs towards a real photo\'s template', async (id) => {
    const models = await wb.faces.pipeline('faceplugin-fr-feature')
    const face = await enrolFace(wb.engine, models, await decodeImage(readFileSync(sampleImagePaths()[0])), 0)
    const r = await wb.runs.invert({
      template: { vector: Array.from(face.vector), encoderId: 'faceplugin-fr-feature', encoderSha256: models.encoder.entry.manifest.sha256 },
      method: 'ga',
      parameters: { generator: id, population: 64, threads: 1, generations: 10, patience: 10 },
      seed: 11
    })
    expect(r.modelSha256s.generator).toBe(wb.registry.get(id).manifest.sha256)
    expect(r.trace.length).toBeGreaterThan(1)
    // The first generation is 64 prior samples; selection and mutation must beat that.
    expect(r.similarity).toBeGreaterThan(r.trace[0].best + 0.02)
  })
})
