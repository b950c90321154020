import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { DEFAULT_GENERATOR_ID } from '../../src/core/methods/latent-search-setup'

// Thresholds are measured on LFW when the data is present (about a minute); these tests are
// about runs, so they work without it. tests/integration/thresholds.test.ts covers thresholds.
process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')
const ROOT = join(__dirname, '../..')
const prior = existsSync(join(ROOT, 'resources/models', `${DEFAULT_GENERATOR_ID}.onnx`))
if (!prior) console.log(`SKIP reconstruction tests: resources/models/${DEFAULT_GENERATOR_ID}.onnx is missing`)

describe.skipIf(!prior)('reconstruction runs', () => {
  let wb: Workbench
  const root = mkdtempSync(join(tmpdir(), 'unveil-runs-'))
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: root })
  })
  afterAll(async () => wb.close())

  it('runs GA on a case template through the job queue and stores image, scores and provenance', async () => {
    const info = wb.cases.create({ dir: join(root, 'c'), name: 'Runs' })
    const t = await wb.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(sampleImagePaths()[0])), 'sample1.jpg', { encoderId: 'faceplugin-fr-feature', faceIndex: 0, subject: 'Subject A' })
    // A second photo recorded as the same person gives the run a type II comparison.
    await wb.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(sampleImagePaths()[2])), 'sample3.jpg', { encoderId: 'faceplugin-fr-feature', faceIndex: 1, subject: 'Subject A' })
    const events: number[] = []
    const off = wb.runs.onProgress((p) => p.detail && events.push(Number(p.detail.generation)))
    const run = wb.runs.start({ caseId: info.id, method: 'ga', templateId: t.id, parameters: { population: 32, threads: 1, generations: 4, patience: 4 }, seed: 5 })
    const done = await wb.jobs.wait(run.id)
    off()
    expect(done.status, done.error ?? '').toBe('succeeded')
    expect(done.seed).toBe(5)
    expect(done.softwareVersion).toMatch(/^unveil@/)
    expect(events.length).toBeGreaterThan(0)
    const [result] = wb.runs.results(info.id, run.id)
    const data = result.data as { similarity: number; queries: number; scores: { encoderId: string; target: number | null; typeI: number | null; typeII: number[] }[]; modelSha256s: Record<string, string>; parameters: Record<string, number> }
    expect(data.queries).toBe(32 + 3 * (32 - Math.ceil(0.3 * 32)))
    expect(data.parameters).toMatchObject({ population: 32, selection: 0.3, mutation: 0.3 })
    expect(data.modelSha256s.generator).toBe(wb.registry.get(DEFAULT_GENERATOR_ID).manifest.sha256)
    const target = data.scores.find((s) => s.encoderId === 'faceplugin-fr-feature')!
    expect(target.target).toBeCloseTo(data.similarity, 4)
    expect(target.typeI).not.toBeNull()
    expect(target.typeII).toHaveLength(1)
    const png = wb.cases.getImage(info.id, result.imageSha256!)
    expect(png.mime).toBe('image/png')
    expect(wb.cases.verifyAudit(info.id).ok).toBe(true)
  })

  it('GA beats random search on the same budget and template', async () => {
    const info = wb.cases.create({ dir: join(root, 'd'), name: 'Compare' })
    const t = await wb.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(sampleImagePaths()[3])), 'sample4.jpg', { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })
    const template = { vector: t.vector, encoderId: t.encoderId, encoderSha256: t.encoderSha256 }
    const ga = await wb.runs.invert({ template, method: 'ga', parameters: { population: 64, threads: 1, budget: 640, patience: 50 }, seed: 3 })
    const random = await wb.runs.invert({ template, method: 'random', parameters: { budget: 640 }, seed: 3 })
    expect(ga.queries).toBeLessThanOrEqual(640)
    expect(random.queries).toBe(640)
    expect(ga.similarity).toBeGreaterThan(random.similarity)
  })

  it('cancels a running reconstruction', async () => {
    const info = wb.cases.create({ dir: join(root, 'e'), name: 'Cancel' })
    const t = await wb.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(sampleImagePaths()[1])), 'sample2.jpg', { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })
    const run = wb.runs.start({ caseId: info.id, method: 'ga', templateId: t.id, parameters: {}, seed: 1 })
    await new Promise<void>((resolve) => {
      const off = wb.runs.onProgress((p) => {
        if (p.runId === run.id && p.status === 'running' && p.detail) {
          off()
          resolve()
        }
      })
    })
    wb.runs.cancel(run.id)
    expect((await wb.jobs.wait(run.id)).status).toBe('cancelled')
  })

  it('unveil invert writes best.png, trace.csv and result.json, and is reproducible for a seed', () => {
    const home = mkdtempSync(join(tmpdir(), 'unveil-cli-home-'))
    const env = { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu' }
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), ...args], { encoding: 'utf8', env })
    const tmp = mkdtempSync(join(tmpdir(), 'unveil-invert-'))
    expect(cli('enroll', '--image', sampleImagePaths()[2], '--out', join(tmp, 't.json')).status).toBe(0)
    const similarity = (out: string): number => {
      const r = cli('invert', '--template', join(tmp, 't.json'), '--method', 'ga', '--population', '24', '--threads', '2', '--generations', '3', '--seed', '11', '--out', join(tmp, out))
      expect(r.status, r.stderr).toBe(0)
      expect(existsSync(join(tmp, out, 'best.png'))).toBe(true)
      expect(readFileSync(join(tmp, out, 'trace.csv'), 'utf8').split('\n')[0]).toBe('thread,generation,best,mean,queries,seconds')
      const result = JSON.parse(readFileSync(join(tmp, out, 'result.json'), 'utf8'))
      expect(result).toMatchObject({ method: 'ga', seed: 11, parameters: { population: 24, threads: 2 } })
      expect(result.modelSha256s.target).toMatch(/^[0-9a-f]{64}$/)
      return result.similarity
    }
    expect(similarity('a')).toBe(similarity('b'))
    // Without --seed a fresh seed is chosen, printed and recorded, so the run can be repeated.
    const unseeded = cli('invert', '--template', join(tmp, 't.json'), '--method', 'random', '--budget', '16', '--out', join(tmp, 'c'))
    expect(unseeded.status, unseeded.stderr).toBe(0)
    const chosen = Number(/seed (\d+) \(none given/.exec(unseeded.stderr)?.[1])
    expect(JSON.parse(readFileSync(join(tmp, 'c', 'result.json'), 'utf8')).seed).toBe(chosen)
    const bad = cli('invert', '--template', join(tmp, 't.json'), '--method', 'ga', '--seed', 'x', '--out', join(tmp, 'd'))
    expect(bad.status).toBe(2)
    expect(bad.stderr).toMatch(/--seed must be an integer/)
  })
})
