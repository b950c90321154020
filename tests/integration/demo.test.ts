import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { DEMO_STEP_IDS } from '../../src/shared/demo-types'

const samples = sampleImagePaths().length === 6
if (!samples) console.log('SKIP guided demo: the sample photos of @vladmandic/face-api are not installed (npm install)')

describe.skipIf(!samples)('the guided demo', () => {
  let tmp: string
  let wb: Workbench
  let userCase: { id: string; dir: string }
  const open = (): Promise<Workbench> => Workbench.open({ libraryDir: join(tmp, 'library'), caseRoot: join(tmp, 'cases') })

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'unveil-demo-'))
    wb = await open()
    // A user case next to the demo's folder: the demo must leave it as it was.
    const info = wb.cases.create({ dir: join(tmp, 'cases', 'My case'), name: 'My case', number: 'C-1', examiner: null, notes: null })
    await wb.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(sampleImagePaths()[1])), 'sample2.jpg', {
      encoderId: 'faceplugin-fr-feature',
      faceIndex: 0
    })
    userCase = { id: info.id, dir: info.dir }
  })
  afterAll(async () => {
    await wb?.close()
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  // What the user case holds: its audit log (every write appends to it), templates and runs.
  const userCaseContents = (): string => {
    const d = wb.cases.get(userCase.id)
    return JSON.stringify({ audit: wb.cases.auditLog(userCase.id), templates: d.templates, runs: d.runs, images: d.images })
  }

  it('refuses to start over a user case in the demo folder, changing nothing', async () => {
    const other = await Workbench.open({ libraryDir: join(tmp, 'other-library'), caseRoot: join(tmp, 'other-cases') })
    try {
      const taken = other.cases.create({ dir: other.demo.dir, name: 'Not the demo', number: null, examiner: null, notes: null })
      const before = readFileSync(join(taken.dir, 'case.db'))
      await expect(other.demo.start()).rejects.toThrow(
        /^cannot start the demo: .*Unveil demo already exists and is not the demo's case; move or rename that folder first$/
      )
      expect(readFileSync(join(taken.dir, 'case.db')).equals(before)).toBe(true)
      expect(other.demo.status().demo).toBeNull()
      // Reset without a demo deletes nothing either.
      expect(await other.demo.reset()).toEqual({ removed: null })
      expect(existsSync(taken.dir)).toBe(true)
    } finally {
      await other.close()
    }
  })

  it('walks enrol → DFD → GA → compare in order, resumes after a restart, and reset deletes only the demo case', async () => {
    const userBefore = userCaseContents()
    const t0 = performance.now()
    let status = await wb.demo.start()
    const times: string[] = [`enrol ${((performance.now() - t0) / 1000).toFixed(1)} s`]
    expect(status.demo?.dir).toBe(wb.demo.dir)
    expect(status.current).toBe(0)
    const enrol = status.steps[0].result
    expect(enrol).toMatchObject({ step: 'enrol', templates: 6, encoderId: 'faceplugin-fr-feature' })
    expect(wb.cases.get(status.demo!.caseId).info.number).toBe('UNVEIL-DEMO')

    // Steps are taken in order.
    await expect(wb.demo.go(3)).rejects.toThrow(/^step 2 \(.*\) is not done yet$/)

    for (const id of ['dfd', 'ga'] as const) {
      const t = performance.now()
      status = await wb.demo.next()
      times.push(`${id} ${((performance.now() - t) / 1000).toFixed(1)} s`)
      expect(status.steps[status.current].id).toBe(id)
    }
    const dfd = status.steps[1].result
    const ga = status.steps[2].result
    if (dfd?.step !== 'dfd' || ga?.step !== 'ga') throw new Error('reconstruction steps stored no result')
    // The decoder's face is close to the template it was decoded from; the short GA still finds something.
    expect(dfd.similarity!).toBeGreaterThan(0.5)
    expect(ga.similarity!).toBeGreaterThan(0.2)
    expect(ga.queries!).toBeLessThanOrEqual(24 + 7 * 16)

    // A restart mid-tour: a fresh workbench on the same library resumes at the same step, with what was computed.
    await wb.close()
    wb = await open()
    status = wb.demo.status()
    expect(status.current).toBe(2)
    expect(status.steps[1].result).toEqual(dfd)
    status = await wb.demo.back()
    expect(status.current).toBe(1)
    expect(wb.cases.store(status.demo!.caseId).listRuns()).toHaveLength(2) // going back recomputes nothing
    status = await wb.demo.go(2)

    const t = performance.now()
    status = await wb.demo.next()
    times.push(`compare ${((performance.now() - t) / 1000).toFixed(1)} s`)
    const compare = status.steps[3].result
    if (compare?.step !== 'compare') throw new Error('compare step stored no result')
    expect(compare.runs.map((r) => r.method)).toEqual(['dfd', 'ga'])
    const encoders = wb.registry.byRole('encoder').map((e) => e.manifest.id)
    for (const r of compare.runs) expect(r.scores.map((s) => s.encoderId)).toEqual(encoders)
    expect(existsSync(wb.cases.store(status.demo!.caseId).imagePath(compare.imageSha256))).toBe(true)

    console.log(`demo steps: ${times.join(', ')}`)
    // Explain and the report are walked by the end-to-end test (tests/e2e/demo.e2e.test.ts).
    expect(status.steps.filter((s) => s.result).map((s) => s.id)).toEqual(DEMO_STEP_IDS.slice(0, 4))
    expect(wb.cases.verifyAudit(status.demo!.caseId).ok).toBe(true)

    // Starting again resumes rather than making a second demo case, and lists the demo case again if it was taken off the list.
    wb.cases.forget(status.demo!.dir)
    const again = await wb.demo.start()
    expect(again.demo).toEqual(status.demo)
    expect(wb.cases.list().filter((c) => c.number === 'UNVEIL-DEMO')).toHaveLength(1)

    const demoDir = status.demo!.dir
    expect(await wb.demo.reset()).toEqual({ removed: demoDir })
    expect(existsSync(demoDir)).toBe(false)
    expect(wb.demo.status().demo).toBeNull()
    expect(wb.cases.list().map((c) => c.id)).toEqual([userCase.id])
    expect(userCaseContents()).toBe(userBefore)
    expect(wb.cases.verifyAudit(userCase.id).ok).toBe(true)
  })

  it('reset leaves a folder alone that no longer holds the demo case', async () => {
    await wb.demo.start()
    const s = JSON.parse(readFileSync(join(tmp, 'library', 'demo.json'), 'utf8')) as { caseId: string; dir: string }
    // Someone replaced the demo's folder with their own case: its id differs from the one recorded.
    wb.cases.forget(s.dir)
    rmSync(s.dir, { recursive: true, force: true })
    mkdirSync(s.dir)
    const mine = wb.cases.create({ dir: s.dir, name: 'Replaced', number: null, examiner: null, notes: null })
    writeFileSync(join(s.dir, 'keep.txt'), 'mine')
    await expect(wb.demo.reset()).rejects.toThrow(/no longer holds the demo case \(it holds case 'Replaced'\); it was left untouched$/)
    expect(readFileSync(join(s.dir, 'keep.txt'), 'utf8')).toBe('mine')
    expect(wb.cases.get(mine.id).info.name).toBe('Replaced')
  })

  it('refuses a state file it cannot read in one line', async () => {
    writeFileSync(join(tmp, 'library', 'demo.json'), '{"version": 7}')
    expect(() => wb.demo.status()).toThrow(/demo\.json is not one this version wrote; reset the demo to discard it$/)
    expect(await wb.demo.reset()).toEqual({ removed: null })
    expect(wb.demo.status().demo).toBeNull()
  })
})

const ROOT = join(import.meta.dirname, '../..')
const cliBuilt = existsSync(join(ROOT, 'out/cli/index.js'))
if (!cliBuilt) console.log('SKIP unveil demo CLI: out/cli is not built (npm run build)')

describe.skipIf(!samples || !cliBuilt)('unveil demo', () => {
  it('starts, shows and resets the tour from the command line, with one-line errors', () => {
    const home = mkdtempSync(join(tmpdir(), 'unveil-demo-cli-'))
    const unveil = (...args: string[]): { code: number; out: string; err: string } => {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), 'demo', ...args], {
        encoding: 'utf8',
        env: { ...process.env, UNVEIL_HOME: join(home, 'library'), UNVEIL_CASE_ROOT: join(home, 'cases'), UNVEIL_PROVIDERS: 'cpu' }
      })
      return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
    }
    try {
      expect(unveil('status').out.trim()).toBe('no demo is running (start it with: unveil demo start)')
      expect(unveil('step', 'two')).toMatchObject({ code: 2, err: 'unveil: unveil demo step N: N is the step number, 1 to 6\n' })
      const started = unveil('start')
      expect(started.code, started.err).toBe(0)
      expect(started.out).toMatch(/^step 1 of 6: Enrol photos into templates\n/)
      expect(started.out).toContain('6 templates enrolled with faceplugin-fr-feature')
      expect(started.err).toMatch(/^demo: computing step 1 of 6, face detection, .*…\n/)
      expect(unveil('back')).toMatchObject({ code: 1, err: 'unveil: this is the first step of the demo\n' })
      const status = JSON.parse(unveil('status', '--json').out) as { current: number; demo: { dir: string } }
      expect(status.current).toBe(0)
      expect(status.demo.dir).toBe(join(home, 'cases', 'Unveil demo'))
      expect(unveil('reset')).toMatchObject({ code: 2, err: `unveil: reset deletes the demo case (${status.demo.dir}); add --yes to confirm\n` })
      expect(existsSync(status.demo.dir)).toBe(true)
      expect(unveil('reset', '--yes').out.trim()).toBe(`demo case deleted: ${status.demo.dir}`)
      expect(existsSync(status.demo.dir)).toBe(false)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
