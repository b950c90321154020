// `unveil case runs`, `unveil case compare` and `unveil audit log --format`: a case with two
// reconstructions of one template (made through the Workbench, as the app makes them), read
// back by the CLI.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { Workbench } from '../../src/core/workbench/workbench'
import { compareGridLayout } from '../../src/core/imaging/compare-grid'
import type { RunRecord } from '../../src/shared/types'

const ROOT = join(__dirname, '../..')
const built = existsSync(join(ROOT, 'out/cli/index.js'))
if (!built) console.log('SKIP CLI compare tests: out/cli is not built (npm run build)')
const GENERATOR = join(ROOT, 'resources/models/eigenface-celeba-utk-128.onnx')

describe.skipIf(!built || !existsSync(GENERATOR))('unveil case runs / case compare / audit log', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-cli-compare-'))
  const home = join(tmp, 'home')
  const dir = join(tmp, 'case')
  // Without research data no FAR thresholds are measured (minutes); scores then carry none.
  const env = { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu', UNVEIL_DATA: join(tmp, 'no-data') }
  let templateId = ''
  let runs: RunRecord[] = []
  let savedData: string | undefined

  const unveil = (...args: string[]) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), ...args], { encoding: 'utf8', env })
    return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
  }

  beforeAll(async () => {
    savedData = process.env.UNVEIL_DATA
    process.env.UNVEIL_DATA = env.UNVEIL_DATA
    const wb = await Workbench.open({ libraryDir: home, caseRoot: join(tmp, 'cases'), providers: ['cpu'] })
    try {
      const info = wb.cases.create({ dir, name: 'Compare case' })
      const t = await wb.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(sampleImagePaths()[0])), 'sample1.jpg', { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })
      templateId = t.id
      wb.runs.start({ caseId: info.id, method: 'dfd', templateId, parameters: { decoder: '' }, seed: 7 })
      wb.runs.start({ caseId: info.id, method: 'random', templateId, parameters: { budget: 64 }, seed: 11 })
      await wb.jobs.idle()
      runs = wb.cases.get(info.id).runs
    } finally {
      await wb.close()
    }
  })
  afterAll(() => {
    if (savedData === undefined) delete process.env.UNVEIL_DATA
    else process.env.UNVEIL_DATA = savedData
    rmSync(tmp, { recursive: true, force: true })
  })

  it('lists the new subcommands in the help', () => {
    // The overview names every subcommand; each one's page gives its usage.
    const help = unveil('--help').out
    for (const name of ['unveil case runs', 'unveil case compare', 'unveil audit log']) expect(help).toContain(name)
    expect(unveil('case', 'runs', '--help').out).toContain('unveil case runs --case DIR')
    expect(unveil('case', 'compare', '--help').out).toContain('unveil case compare --case DIR --template-id ID')
    expect(unveil('audit', 'log', '--help').out).toContain('unveil audit log --case DIR [--format json|csv]')
  })

  it('lists the runs of a case, as a table and as JSON', () => {
    expect(runs.map((r) => [r.method, r.status]).sort()).toEqual([['dfd', 'succeeded'], ['random', 'succeeded']])
    const json = unveil('case', 'runs', '--case', dir, '--json')
    expect(json.code, json.err).toBe(0)
    const listed = JSON.parse(json.out) as { id: string; method: string; status: string; seed: number; similarity: number; createdAt: string }[]
    expect(listed.map((r) => r.id).sort()).toEqual(runs.map((r) => r.id).sort())
    for (const r of listed) {
      expect(r.status).toBe('succeeded')
      expect(r.similarity).toBeGreaterThan(-1)
      expect(r.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    }
    expect(listed.find((r) => r.method === 'dfd')?.seed).toBe(7)
    const table = unveil('case', 'runs', '--case', dir)
    expect(table.code, table.err).toBe(0)
    const lines = table.out.trim().split('\n')
    expect(lines[0]).toMatch(/^id\s+method\s+status\s+seed\s+similarity\s+created$/)
    expect(lines).toHaveLength(3)
    for (const r of listed) expect(table.out).toContain(r.id)
  })

  it('writes the compare grid of a template: ground truth and both reconstructions, with a legend', async () => {
    const out = join(tmp, 'compare.png')
    const r = unveil('case', 'compare', '--case', dir, '--template-id', templateId, '--out', out)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toContain('1. ground truth: aligned crop of the photo')
    // The bundled encoder scores with its shipped thresholds: a pass/fail mark per FAR.
    expect(r.out).toMatch(/2\. \w+ run [0-9a-f-]{36} seed \d+ similarity -?\d\.\d{4}: faceplugin-fr-feature T -?\d\.\d{4} [✓✗]{3}/)
    expect(r.out).toMatch(/wrote .*compare\.png \(\d+ x \d+, ground truth \+ 2 reconstructions\)/)
    const meta = await sharp(out).metadata()
    expect(meta.format).toBe('png')
    mkdirSync(join(ROOT, 'test-results'), { recursive: true })
    copyFileSync(out, join(ROOT, 'test-results/cli-compare.png'))
    // Three cells in one row, at the core's layout; the faces are enlarged 2x nearest-neighbour.
    const cells = [0, 1, 2].map(() => ({ image: null, title: 'x', lines: [] }))
    expect(meta.width).toBeGreaterThanOrEqual(compareGridLayout({ title: '', cells }).width)
    expect(meta.height).toBeGreaterThan(224)

    // Chosen runs only, in the order given; a run of the wrong kind is refused in one line.
    const one = unveil('case', 'compare', '--case', dir, '--template-id', templateId, '--runs', runs[0].id, '--out', join(tmp, 'one.png'), '--json')
    expect(one.code, one.err).toBe(0)
    expect(JSON.parse(one.out).runs.map((x: { runId: string }) => x.runId)).toEqual([runs[0].id])
    const bad = unveil('case', 'compare', '--case', dir, '--template-id', templateId, '--runs', '00000000-0000-4000-8000-000000000000', '--out', join(tmp, 'x.png'))
    expect(bad.code).toBe(1)
    expect(bad.err.trim()).toBe('unveil: no run 00000000-0000-4000-8000-000000000000 in this case')
    const usage = unveil('case', 'compare', '--case', dir, '--out', join(tmp, 'x.png'))
    expect(usage.code).toBe(2)
    expect(usage.err).toMatch(/--template-id is required/)
  })

  it('prints the audit log as CSV and JSON', () => {
    const json = unveil('audit', 'log', '--case', dir, '--format', 'json')
    expect(json.code, json.err).toBe(0)
    const entries = JSON.parse(json.out) as { seq: number; action: string }[]
    expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['case.create', 'template.add', 'run.create', 'result.add']))
    const csv = unveil('audit', 'log', '--case', dir, '--format', 'csv')
    expect(csv.code, csv.err).toBe(0)
    const rows = csv.out.trimEnd().split('\r\n')
    expect(rows[0]).toBe('seq,at,actor,action,details,prevHash,hash')
    expect(rows).toHaveLength(entries.length + 1)
    expect(rows[1]).toMatch(/^1,\d{4}-/)
    expect(unveil('audit', 'log', '--case', dir, '--format', 'xml')).toMatchObject({ code: 2 })
  })
})
