// ALSUV as a case run, the way the app starts it: every step's progress carries each latent's
// cosine (what the live distribution draws), and the stored result keeps the top-k candidates
// with their images in the case and the validation pick marked (what the result view shows).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { reconstructionOf } from '../../src/shared/reconstruction-record'
import type { JobProgress } from '../../src/shared/types'
import { dataDirOrSkip, sharedEncoder } from '../helpers/data'

const data = dataDirOrSkip('ALSUV case run with a validation encoder')
const ROOT = join(__dirname, '../..')
const sharedV2 = data ? sharedEncoder(data, 'mobileface-v2.onnx') : null
const TINY = { latents: 5, steps: 4, avgWindow: 3, topK: 3, decayAfter: 2, generator: 'eigenface-celeba-utk-128', validationEncoder: 'mobileface-v2' }

describe.skipIf(!sharedV2)('ALSUV case run: per-step latent similarities and stored top-k candidates', () => {
  let wb: Workbench
  let savedDataEnv: string | undefined
  beforeAll(async () => {
    // Runs, not thresholds, are tested here.
    savedDataEnv = process.env.UNVEIL_DATA
    process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')
    wb = await Workbench.open({
      libraryDir: mkdtempSync(join(tmpdir(), 'unveil-alsuv-case-lib-')),
      caseRoot: mkdtempSync(join(tmpdir(), 'unveil-alsuv-case-'))
    })
    await wb.models.register(sharedV2!, JSON.parse(readFileSync(join(ROOT, 'resources/manifests/mobileface-v2.json'), 'utf8')), { verify: false })
  })
  afterAll(async () => {
    await wb?.close()
    if (savedDataEnv === undefined) delete process.env.UNVEIL_DATA
    else process.env.UNVEIL_DATA = savedDataEnv
  })

  it('emits every step with one cosine per latent and stores the candidates with the pick marked', async () => {
    const info = wb.cases.create({ dir: join(wb.options.caseRoot, 'c'), name: 'ALSUV case' })
    const t = await wb.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(sampleImagePaths()[0])), 'sample1.jpg', {
      encoderId: 'faceplugin-fr-feature',
      faceIndex: 0
    })
    const events: JobProgress[] = []
    const off = wb.runs.onProgress((p) => events.push(p))
    const run = wb.runs.start({ caseId: info.id, method: 'alsuv', templateId: t.id, parameters: TINY, seed: 5 })
    const finished = await wb.jobs.wait(run.id)
    off()
    expect(finished.status).toBe('succeeded')

    // Progress: each step once (the queue delivers every update with detail), numbers only.
    const steps = new Map<number, number[]>()
    for (const e of events) {
      const d = e.detail
      if (e.runId !== run.id || !d || !Array.isArray(d.latentSimilarities)) continue
      expect(d.steps).toBe(TINY.steps)
      steps.set(d.step as number, d.latentSimilarities as number[])
    }
    expect([...steps.keys()].sort()).toEqual([1, 2, 3, 4])
    for (const sims of steps.values()) {
      expect(sims).toHaveLength(TINY.latents)
      for (const s of sims) expect(Math.abs(s)).toBeLessThanOrEqual(1)
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1]
    expect(median(steps.get(4)!)).toBeGreaterThan(median(steps.get(1)!))
    const running = events.filter((e) => e.runId === run.id && e.status === 'running' && e.detail?.latentSimilarities)
    expect(running.at(-1)?.message).toMatch(/latent cosine min -?\d\.\d{4}, median -?\d\.\d{4}, max -?\d\.\d{4}/)

    // Stored result: the top k by the seen encoder, one picked, each image in the case's store.
    const store = wb.cases.store(info.id)
    const stored = reconstructionOf(store.listResults(run.id))!
    const summary = stored.summary as { pick: number }
    expect(stored.candidates).toHaveLength(TINY.topK)
    expect(stored.candidates.filter((c) => c.picked).map((c) => c.latent)).toEqual([summary.pick])
    const seen = stored.candidates.map((c) => c.seen)
    expect(seen).toEqual([...seen].sort((a, b) => b - a))
    for (const c of stored.candidates) {
      expect(c.validation).toBeGreaterThan(0)
      expect(c.imageSha256).toMatch(/^[0-9a-f]{64}$/)
      const path = store.imagePath(c.imageSha256!)
      expect(existsSync(path)).toBe(true)
      expect(await sharp(path).metadata()).toMatchObject({ width: 112, height: 112 })
    }
    // The picked candidate is the reconstruction itself, with the result's similarity.
    const picked = stored.candidates.find((c) => c.picked)!
    expect(picked.imageSha256).toBe(stored.imageSha256)
    expect(picked.seen).toBeCloseTo(stored.similarity!, 6)
    expect(wb.cases.verifyAudit(info.id).ok).toBe(true)
  })
})
