import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AggregationRecord, CentroidsRecord, OcclusionRecord } from '../../src/shared/explain-types'
import { Workbench } from '../../src/core/workbench/workbench'
import { explainRuns } from '../helpers/explain-runs'
import { dataDirOrSkip, lfwImage, sharedEncoder } from '../helpers/data'

const dataDir = dataDirOrSkip('Explain analyses on LFW')
const lfw = dataDir ? join(dataDir, 'datasets', 'lfw', 'images') : ''

describe.skipIf(!dataDir)('Explain analyses with the shipped DFD decoder', () => {
  let wb: Workbench
  let caseId: string
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: tmpdir() })
    caseId = wb.cases.create({ dir: mkdtempSync(join(tmpdir(), 'unveil-explain-')), name: 'explain', number: null, examiner: null, notes: null }).id
  })
  afterAll(async () => wb?.close())

  const { finish, stored, imageExists } = explainRuns(
    () => wb,
    () => caseId
  )

  it('averages more photos of one LFW person into a template closer to their held-out photos', async () => {
    const run = wb.explain.aggregation({ caseId, subject: null, personDir: join(lfw, 'Meryl_Streep'), encoderId: null, holdout: 4, impostors: 20, seed: 3 })
    await finish(run.id)
    const { record, sheetSha256 } = stored<AggregationRecord>(run.id)
    expect(imageExists(sheetSha256)).toBe(true)
    expect(record.levels.map((l) => l.photos)).toEqual([1, 2, 5, 10, 11])
    for (const l of record.levels) expect(imageExists(l.imageSha256)).toBe(true)
    const one = record.levels[0]
    const five = record.levels[2]
    expect(five.meanGenuine).toBeGreaterThanOrEqual(one.meanGenuine)
    expect(five.tar.accepted).toBeGreaterThanOrEqual(one.tar.accepted)
    expect(record.modelSha256s.decoder).toBe(wb.registry.get('dfd-fr-feature-64').manifest.sha256)
    expect(record.threshold.value).toBe(wb.registry.get(record.models.encoder.id).thresholds!.fars.find((f) => f.far === 1e-3)!.threshold)
    console.log(
      `aggregation Meryl_Streep: mean cos to 4 held-out photos ${record.levels.map((l) => `${l.photos}:${l.meanGenuine.toFixed(3)}`).join(' ')}; TAR ${record.levels.map((l) => `${l.tar.accepted}/${l.tar.trials}`).join(' ')}`
    )
  })

  it('clusters 30 photos of 3 people into clusters that follow identity, each centroid decoded', async () => {
    const three = mkdtempSync(join(tmpdir(), 'unveil-three-'))
    // Ten photos each, in the LFW layout, so the identities are known and the purity can be measured.
    for (const p of ['Halle_Berry', 'Jennifer_Lopez', 'Serena_Williams']) {
      mkdirSync(join(three, p))
      for (const f of readdirSync(join(lfw, p)).sort().slice(0, 10)) symlinkSync(join(lfw, p, f), join(three, p, f))
    }
    const run = wb.explain.centroids({ caseId, datasetDir: three, encoderId: null, k: 3, limit: 30, seed: 1 })
    await finish(run.id)
    const { record } = stored<CentroidsRecord>(run.id)
    expect(record.templates).toBe(30)
    expect(record.clusters.length).toBe(3)
    expect(record.clusters.reduce((a, c) => a + c.size, 0)).toBe(30)
    for (const c of record.clusters) expect(imageExists(c.imageSha256)).toBe(true)
    console.log(
      `centroids: purity ${record.purity}; clusters ${record.clusters.map((c) => `${c.majority?.identity} ${c.majority?.count}/${c.size}`).join(', ')}`
    )
    expect(record.purity).toBeGreaterThanOrEqual(0.9)
  })

  it('maps occlusion sensitivity with the shape of a face and decodes eye- and mouth-occluded crops', async () => {
    const photo = { name: 'Meryl_Streep_0001.jpg', bytes: new Uint8Array(readFileSync(lfwImage(dataDir!, 'Meryl_Streep', 1))) }
    const run = wb.explain.occlusion({ caseId, templateId: null, photo, encoderId: null, patch: 16, stride: 8, seed: 1 })
    await finish(run.id)
    const { record } = stored<OcclusionRecord>(run.id)
    const centre = record.patches.filter((p) => p.x >= 32 && p.x <= 64 && p.y >= 32 && p.y <= 72)
    const corners = record.patches.filter((p) => (p.x === 0 || p.x === 96) && (p.y === 0 || p.y === 96))
    const avg = (xs: { change: number }[]): number => xs.reduce((a, p) => a + p.change, 0) / xs.length
    console.log(
      `occlusion: mean change centre ${avg(centre).toFixed(4)} corners ${avg(corners).toFixed(4)}; eyes cos ${record.occluded[0].cosine.toFixed(3)}, mouth cos ${record.occluded[1].cosine.toFixed(3)}`
    )
    expect(avg(centre)).toBeGreaterThan(avg(corners))
    const eyes = record.occluded.find((o) => o.part === 'eyes')!
    expect(eyes.cosine).toBeLessThan(1)
    expect(eyes.imageSha256).not.toBe(record.original.imageSha256)
    const png = (sha: string): Buffer => readFileSync(wb.cases.store(caseId).imagePath(sha))
    expect(png(eyes.imageSha256).equals(png(record.original.imageSha256))).toBe(false)
  })

  it('refuses too few photos and an encoder without a decoder in one line, storing nothing', async () => {
    const before = wb.cases.store(caseId).listRuns().length
    const two = mkdtempSync(join(tmpdir(), 'unveil-two-'))
    mkdirSync(join(two, 'Someone'))
    mkdirSync(join(two, 'Other'))
    for (const f of ['Hugh_Grant_0001.jpg', 'Hugh_Grant_0002.jpg']) symlinkSync(join(lfw, 'Hugh_Grant', f), join(two, 'Someone', f))
    expect(() =>
      wb.explain.aggregation({ caseId, subject: null, personDir: join(two, 'Someone'), encoderId: null, holdout: null, impostors: null, seed: 1 })
    ).toThrow(/at least 3 photos of Someone .* found 2$/)
    expect(() => wb.explain.aggregation({ caseId, subject: 'Nobody', personDir: null, encoderId: null, holdout: null, impostors: null, seed: 1 })).toThrow(
      /no templates of subject 'Nobody'/
    )
    expect(() => wb.explain.centroids({ caseId, datasetDir: join(lfw, 'Hugh_Grant'), encoderId: null, k: 9, limit: 5, seed: 1 })).toThrow(
      /needs more than 9 templates, found 5/
    )
    const mobileface = sharedEncoder(dataDir!, 'mobileface-v2.onnx')
    if (mobileface) {
      await wb.models.register(mobileface, JSON.parse(readFileSync('resources/manifests/mobileface-v2.json', 'utf8')), { verify: false })
      const photo = { name: 'x.jpg', bytes: new Uint8Array(readFileSync(lfwImage(dataDir!, 'Hugh_Grant', 1))) }
      expect(() => wb.explain.occlusion({ caseId, templateId: null, photo, encoderId: 'mobileface-v2', patch: 16, stride: 8, seed: 1 })).toThrow(
        /^no decoder is registered for encoder 'mobileface-v2'$/
      )
    }
    expect(wb.cases.store(caseId).listRuns().length).toBe(before)
  })
})
