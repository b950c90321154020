// ALSUV end to end on the real models at a small scale: white-box (exact gradients from the
// derived pipeline graph) with both shipped generators, validation by a second encoder,
// reproducibility by seed, black-box zo within a query budget, and the bad-input refusals.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { dataDirOrSkip, sharedEncoder } from '../helpers/data'
import { alsuvMethod, alsuvTrajectories } from '../../src/core/methods/alsuv-method'
import { resolveParameters } from '../../src/core/methods/method-registry'

const data = dataDirOrSkip('ALSUV validation by a shared encoder')
const ROOT = join(__dirname, '../..')
const sharedV2 = data ? sharedEncoder(data, 'mobileface-v2.onnx') : null
process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data') // runs, not thresholds, are tested here

const SMALL = { latents: 6, steps: 8, avgWindow: 5, topK: 3, decayAfter: 4 }

describe('ALSUV method', () => {
  let wb: Workbench
  let template: { vector: number[]; encoderId: string; encoderSha256: string }
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-alsuv-lib-')), caseRoot: mkdtempSync(join(tmpdir(), 'unveil-alsuv-')) })
    if (sharedV2) await wb.models.register(sharedV2, JSON.parse(readFileSync(join(ROOT, 'resources/manifests/mobileface-v2.json'), 'utf8')), { verify: false })
    const info = wb.cases.create({ dir: join(wb.options.caseRoot, 'c'), name: 'ALSUV' })
    const t = await wb.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(sampleImagePaths()[0])), 'sample1.jpg', { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })
    template = { vector: t.vector, encoderId: t.encoderId, encoderSha256: t.encoderSha256 }
  })
  afterAll(async () => wb?.close())

  it.skipIf(!sharedV2)('white-box with eigenface: similarity rises, validation picks among the top k, provenance complete, reproducible', async () => {
    const run = () => wb.runs.invert({ template, method: 'alsuv', parameters: { ...SMALL, generator: 'eigenface-celeba-utk-128', validationEncoder: 'mobileface-v2' }, seed: 11 })
    const a = await run()
    const s = a.summary as { mode: string; validationEncoder: { id: string; sha256: string }; candidates: { latent: number }[]; pick: number; averagedSteps: number }
    console.log(`alsuv eigenface white-box: mean cosine ${a.trace[0].mean.toFixed(4)} → ${a.trace[a.trace.length - 1].mean.toFixed(4)}, pick ${s.pick} similarity ${a.similarity.toFixed(4)}`)
    expect(a.trace).toHaveLength(SMALL.steps)
    expect(a.trace[a.trace.length - 1].mean).toBeGreaterThan(a.trace[0].mean)
    expect(s.mode).toBe('white-box')
    expect(s.averagedSteps).toBe(SMALL.avgWindow)
    expect(s.validationEncoder.sha256).toBe(wb.registry.get('mobileface-v2').manifest.sha256)
    expect(a.modelSha256s.validation).toBe(s.validationEncoder.sha256)
    expect(s.candidates).toHaveLength(SMALL.topK)
    expect(s.candidates.map((c) => c.latent)).toContain(s.pick)
    expect(a.parameters).toMatchObject({ latents: 6, steps: 8, lr: 0.1, weightDecay: 5e-4, gradients: 'exact' })
    const b = await run()
    expect(b.similarity).toBe(a.similarity)
    expect(b.summary.latent).toEqual(a.summary.latent)
  })

  it('white-box with the DCGAN, validation off, flip averaging on', async () => {
    const r = await wb.runs.invert({ template, method: 'alsuv', parameters: { ...SMALL, generator: 'dcgan-celeba-utk-64', validation: 0, flip: 1 }, seed: 2 })
    console.log(`alsuv dcgan white-box flip: mean cosine ${r.trace[0].mean.toFixed(4)} → ${r.trace[r.trace.length - 1].mean.toFixed(4)}, similarity ${r.similarity.toFixed(4)}`)
    expect(r.trace[r.trace.length - 1].mean).toBeGreaterThan(r.trace[0].mean)
    expect(r.summary.validationEncoder).toBeNull()
  })

  it('white-box latents are independent: a run with more latents extends one with fewer (the ablation benchmark relies on it)', async () => {
    const run = (latents: number) =>
      alsuvTrajectories({
        engine: wb.engine,
        registry: wb.registry,
        loader: wb.loader,
        template,
        parameters: resolveParameters(alsuvMethod.info, { latents, steps: 3, avgWindow: 2, decayAfter: 2, validation: 0 }),
        seed: 5,
        signal: new AbortController().signal,
        progress: () => undefined
      })
    const one = await run(1)
    const three = await run(3)
    const gap = (a: Float32Array, b: Float32Array) => Math.max(...a.map((x, i) => Math.abs(x - b[i])))
    console.log(`alsuv latent independence: |last 1 − last of 3| ${gap(one.last[0], three.last[0]).toExponential(2)}, averaged ${gap(one.averaged![0], three.averaged![0]).toExponential(2)}`)
    expect(gap(one.last[0], three.last[0])).toBeLessThan(1e-5)
    expect(gap(one.averaged![0], three.averaged![0])).toBeLessThan(1e-5)
    expect(gap(three.last[0], three.last[1])).toBeGreaterThan(0.1)
  })

  it('black-box zo: every query counted and capped by the budget', async () => {
    const budget = 6 * (1 + 4) * 3 + 6
    const r = await wb.runs.invert({ template, method: 'alsuv', parameters: { latents: 6, steps: 10, avgWindow: 2, decayAfter: 5, validation: 0, gradients: 'zo', queriesPerStep: 4, budget }, seed: 4 })
    console.log(`alsuv eigenface zo: ${r.queries} queries (budget ${budget}), stopped by ${r.summary.stoppedBy}, similarity ${r.similarity.toFixed(4)}`)
    expect(r.summary.mode).toBe('black-box')
    expect(r.queries).toBeLessThanOrEqual(budget)
    expect(r.summary.stoppedBy).toBe('budget')
  })

  it('refuses bad input before the search runs, in one line naming the problem', async () => {
    const go = (parameters: Record<string, number | string>, t = template) => wb.runs.invert({ template: t, method: 'alsuv', parameters, seed: 1 })
    await expect(go({ steps: 10, avgWindow: 20 })).rejects.toThrow('the averaging window (20) is longer than the run (10 steps)')
    await expect(go({ latents: 4, topK: 10 })).rejects.toThrow('top-k (10) is larger than the number of latents (4)')
    await expect(go({ validationEncoder: 'faceplugin-fr-feature' })).rejects.toThrow("the validation encoder 'faceplugin-fr-feature' is the seen encoder")
    await expect(go({ validation: 0, latents: 2 }, { ...template, vector: template.vector.slice(0, 100) })).rejects.toThrow('the target template has 100 values; faceplugin-fr-feature makes 512')
    await expect(go({ gradients: 'adjoint' })).rejects.toThrow("parameter 'gradients' must be exact or zo")
    await expect(go({ latents: 0 })).rejects.toThrow(/latents/)
  })
})
