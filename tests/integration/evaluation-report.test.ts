import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench, type EvaluationInput } from '../../src/core/workbench/workbench'
import { renderSvg, rocSpec, traceSpec } from '../../src/core/reports/plots'
import { reconstructionOf } from '../../src/shared/reconstruction-record'
import { dataDirOrSkip } from '../helpers/data'

const data = dataDirOrSkip('evaluation and report tests')
const tools = ['pdftotext', 'pdfimages', 'pdftoppm', 'pdfdetach', 'pdftohtml'].every((t) => {
  try {
    execFileSync('which', [t])
    return true
  } catch {
    return false
  }
})
const chromium = existsSync('/usr/bin/chromium') || !!process.env.UNVEIL_CHROMIUM
if (!tools) console.log('SKIP report checks: poppler-utils (pdftotext, pdfimages, pdftoppm) not installed')
if (!chromium) console.log('SKIP report checks: no Chromium (/usr/bin/chromium or UNVEIL_CHROMIUM)')

describe.skipIf(!data)('evaluation runs', () => {
  let wb: Workbench
  const root = mkdtempSync(join(tmpdir(), 'unveil-eval-'))
  const aligned = join(root, 'aligned')
  let input: Omit<EvaluationInput, 'caseId'>
  let caseA: string

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: join(root, 'lib'), caseRoot: root })
    await wb.datasets.align({ inDir: join(data!, 'datasets', 'lfw', 'images'), outDir: aligned, limit: 16, concurrency: 1 })
    input = {
      datasetDir: aligned,
      pairsFile: null,
      seenEncoderId: 'faceplugin-fr-feature',
      methods: [{ id: 'dfd' }, { id: 'ga', parameters: { population: 8, threads: 1 } }],
      budget: 24,
      seed: 3,
      limit: 2
    }
    caseA = wb.cases.create({ dir: join(root, 'A'), name: 'Eval A', number: 'EVAL-A-01', examiner: 'Tester' }).id
  })
  afterAll(async () => wb?.close())

  it('reconstructs every subject with every method and stores the evaluation with its runs', async () => {
    const started = wb.evaluations.start({ caseId: caseA, ...input })
    expect(started.resumed).toBe(false)
    expect(started.total).toBe(4)
    const finished = await wb.jobs.wait(started.runId)
    expect(finished.status, finished.error ?? '').toBe('succeeded')
    const e = wb.evaluations.get(caseA, started.evaluation.id)
    expect(e.status).toBe('succeeded')
    expect(wb.evaluations.links(caseA, e.id)).toHaveLength(4)
    const m = e.metrics!
    expect(m.attempts).toBe(4)
    expect(m.subjects).toBe(2)
    expect(m.transfer.map((c) => `${c.method}/${c.encoderId}/${c.role}`).sort()).toEqual(['dfd/faceplugin-fr-feature/seen', 'ga/faceplugin-fr-feature/seen'])
    for (const c of m.transfer) {
      expect(c.typeI.map((r) => r.far)).toEqual([1e-2, 1e-3, 1e-4])
      for (const r of c.typeI) expect(r.rate.trials).toBe(2)
    }
    expect(m.encoders[0].thresholds?.impostorPairs).toBeGreaterThan(1_000_000)
    expect(m.quality.find((q) => q.method === 'dfd')!.psnr.mean).toBeGreaterThan(5)
    expect(m.quality.find((q) => q.method === 'dfd')!.faceProxy.detected.trials).toBe(2)
    // Starting the finished evaluation again continues it: nothing to redo, the metrics are recomputed.
    const again = wb.evaluations.start({ caseId: caseA, ...input })
    expect(again).toMatchObject({ resumed: true, alreadyDone: 4, total: 4 })
    expect((await wb.jobs.wait(again.runId)).status).toBe('succeeded')
    expect(wb.evaluations.list(caseA)).toHaveLength(1)
    expect(wb.cases.verifyAudit(caseA).ok).toBe(true)
  })

  it('resumes a cancelled evaluation where it stopped, to the same numbers', async () => {
    const caseB = wb.cases.create({ dir: join(root, 'B'), name: 'Eval B', number: 'EVAL-B-01' }).id
    const first = wb.evaluations.start({ caseId: caseB, ...input })
    // While it runs, the same evaluation cannot be started a second time.
    expect(() => wb.evaluations.start({ caseId: caseB, ...input })).toThrow(/is already running/)
    let cancelled = false
    const off = wb.runs.onProgress((p) => {
      if (!cancelled && p.runId === first.runId && p.status === 'running' && (p.detail as { done?: number } | null)?.done === 1) {
        cancelled = true
        wb.runs.cancel(first.runId)
      }
    })
    const stopped = await wb.jobs.wait(first.runId)
    off()
    expect(stopped.status).toBe('cancelled')
    expect(wb.evaluations.get(caseB, first.evaluation.id).status).toBe('cancelled')
    const again = wb.evaluations.start({ caseId: caseB, ...input })
    expect(again.resumed).toBe(true)
    expect(again.evaluation.id).toBe(first.evaluation.id)
    expect(again.alreadyDone).toBeGreaterThanOrEqual(1)
    expect((await wb.jobs.wait(again.runId)).status).toBe('succeeded')
    const b = wb.evaluations.get(caseB, first.evaluation.id).metrics!
    const a = wb.evaluations.list(caseA)[0].metrics!
    const strip = (m: typeof a): unknown => ({ ...m, computedAt: null, runs: m.runs.map((r) => ({ ...r, meanSeconds: null })) })
    expect(strip(b)).toEqual(strip(a))
  })

  it('refuses bad input in one line and stores nothing', () => {
    const empty = mkdtempSync(join(root, 'noman-'))
    const before = wb.cases.auditLog(caseA).length
    expect(() => wb.evaluations.start({ caseId: caseA, ...input, datasetDir: empty })).toThrow(/has no manifest\.json; align it first/)
    expect(() => wb.evaluations.start({ caseId: caseA, ...input, encoderIds: ['nope'] })).toThrow(/nope/)
    expect(() => wb.evaluations.start({ caseId: caseA, ...input, methods: [{ id: 'no-such-method' }] })).toThrow(/unknown method 'no-such-method'/)
    expect(() => wb.evaluations.start({ caseId: caseA, ...input, datasetDir: null })).toThrow(/no subject with 2 or more photos/)
    expect(wb.cases.auditLog(caseA).length).toBe(before)
  })

  it('exports a bundle: JSON and CSV of every result, the images, a CASE/UCO graph, checksums; audit entry', async () => {
    const out = join(root, 'bundle-a')
    const r = await wb.reports.bundle({ caseId: caseA, out })
    const names = readdirSync(out).sort()
    expect(names).toEqual(['SHA256SUMS', 'case-uco.jsonld', 'case.json', 'evaluations.csv', 'evaluations.json', 'images', 'results.csv', 'results.json'])
    const detail = wb.cases.get(caseA)
    expect(readdirSync(join(out, 'images')).length).toBe(detail.images.length)
    const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8').trim().split('\n')
    for (const line of sums) {
      const [sha, file] = line.split(/\s+/)
      expect(
        createHash('sha256')
          .update(readFileSync(join(out, file)))
          .digest('hex')
      ).toBe(sha)
    }
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n')
    expect(csv.length).toBe(1 + 4 * 3) // 4 reconstructions × 3 FARs under the one encoder
    const graph = JSON.parse(readFileSync(join(out, 'case-uco.jsonld'), 'utf8')) as { '@context': Record<string, string>; '@graph': Record<string, unknown>[] }
    const types = graph['@graph'].map((n) => n['@type'])
    expect(types).toContain('case-investigation:Investigation')
    expect(types.filter((t) => t === 'case-investigation:InvestigativeAction').length).toBeGreaterThanOrEqual(5)
    expect(types).toContain('case-investigation:ProvenanceRecord')
    expect(JSON.stringify(graph)).toContain(wb.registry.get('faceplugin-fr-feature').manifest.sha256)
    expect(wb.cases.auditLog(caseA).at(-1)).toMatchObject({ action: 'bundle.write', details: { sha256: r.sha256sums } })
    await expect(wb.reports.bundle({ caseId: caseA, out })).rejects.toThrow(/already exists/)
  })

  it('marks an evaluation still running in the report, shows no plots for it, and refuses the bundle meanwhile', async () => {
    const caseC = wb.cases.create({ dir: join(root, 'C'), name: 'Eval C', number: 'EVAL-C-01' }).id
    const started = wb.evaluations.start({ caseId: caseC, ...input })
    try {
      const html = await wb.reports.html({ caseId: caseC, evaluationId: started.evaluation.id })
      expect(html).toContain('RUNNING — NOT COMPLETE')
      expect(html).toContain('METRICS NOT AVAILABLE')
      expect(await wb.reports.plots({ caseId: caseC, evaluationId: started.evaluation.id })).toEqual([])
      const out = join(root, 'bundle-c')
      await expect(wb.reports.bundle({ caseId: caseC, out })).rejects.toThrow(/still in progress/)
      expect(existsSync(out)).toBe(false)
    } finally {
      wb.runs.cancel(started.runId)
      await wb.jobs.wait(started.runId)
    }
  })

  it("gives the UI the report's plots: one spec function per plot, one SVG for screen and PDF", async () => {
    const e = wb.evaluations.list(caseA)[0]
    const m = e.metrics!
    const plots = await wb.reports.plots({ caseId: caseA, evaluationId: e.id })
    const enc = 'faceplugin-fr-feature'
    expect(plots.map((p) => p.id)).toEqual(['bars-typeI', 'bars-typeII', `roc-${enc}`, `det-${enc}`, `hist-${enc}`, 'traces'])
    for (const p of plots) expect(p.svg).toMatch(/^<svg[\s\S]*<\/svg>$/)
    expect(plots.find((p) => p.id === `roc-${enc}`)!.svg).toBe(await renderSvg(rocSpec(m.encoders[0], m, 'roc')))
    // The report prints exactly these SVGs.
    const html = await wb.reports.html({ caseId: caseA, evaluationId: e.id })
    for (const p of plots) expect(html).toContain(p.svg)
    // A search run's plot is its trace; the one-shot decoder has none.
    const store = wb.cases.store(caseA)
    const links = wb.evaluations.links(caseA, e.id)
    const ga = links.find((l) => l.method === 'ga')!
    const trace = reconstructionOf(store.listResults(ga.runId))!.trace
    expect(trace.length).toBeGreaterThan(1)
    const [tracePlot] = await wb.reports.plots({ caseId: caseA, runId: ga.runId })
    expect(tracePlot.id).toBe('trace')
    expect(tracePlot.svg).toBe(await renderSvg(traceSpec(trace)))
    expect(await wb.reports.plots({ caseId: caseA, runId: links.find((l) => l.method === 'dfd')!.runId })).toEqual([])
    await expect(wb.reports.plots({ caseId: caseA, evaluationId: e.id, runId: ga.runId })).rejects.toThrow(/not both/)
  })

  describe.skipIf(!tools || !chromium)('PDF report', () => {
    it('writes a PDF with the case number, every evidence sha256, the runs parameters and images; audit holds its sha256', async () => {
      const out = join(root, 'reports', 'case-a.pdf')
      mkdirSync(join(root, 'reports'))
      const r = await wb.reports.write({ caseId: caseA, out })
      expect(readdirSync(join(root, 'reports'))).toEqual(['case-a.pdf'])
      const sha = createHash('sha256').update(readFileSync(out)).digest('hex')
      expect(r.sha256).toBe(sha)
      const text = execFileSync('pdftotext', ['-layout', out, '-']).toString()
      expect(text).toContain('EVAL-A-01')
      const images = wb.cases.get(caseA).images
      expect(images.length).toBe(6) // 4 reconstructions + 2 ground truths (one per subject, shared by the methods)
      for (const img of images) expect(text).toContain(img.sha256)
      for (const link of wb.evaluations.links(caseA, wb.evaluations.list(caseA)[0].id)) expect(text).toContain(link.runId)
      expect(text).toContain('budget = 24')
      expect(text).toContain('population = 8')
      expect(text).toMatch(/seed = \d+/)
      expect(text).toContain('Audit chain verifies')
      expect(text).toMatch(/page 1 of \d+/)
      const list = execFileSync('pdfimages', ['-list', out]).toString().trim().split('\n').slice(2)
      // Every reconstruction and ground truth at least once (run table and gallery).
      expect(list.length).toBeGreaterThanOrEqual(8)
      execFileSync('pdftoppm', ['-r', '40', '-png', '-f', '1', '-l', '1', out, join(root, 'page')])
      expect(readdirSync(root).some((f) => /^page-0*1\.png$/.test(f))).toBe(true)
      // The case's CASE/UCO graph is attached inside the PDF, and the outline survived attaching it.
      expect(execFileSync('pdfdetach', ['-list', out]).toString()).toMatch(/1 embedded files\s+1: case-uco\.jsonld/)
      execFileSync('pdfdetach', ['-save', '1', '-o', join(root, 'attached.jsonld'), out])
      const graph = JSON.parse(readFileSync(join(root, 'attached.jsonld'), 'utf8')) as {
        '@context': Record<string, string>
        '@graph': Record<string, unknown>[]
      }
      expect(graph['@context']['case-investigation']).toBe('https://ontology.caseontology.org/case/investigation/')
      expect(graph['@graph'].find((n) => n['@id'] === `kb:case-${caseA}`)).toMatchObject({
        '@type': 'case-investigation:Investigation',
        'uco-core:name': 'Eval A'
      })
      const outline = [
        ...execFileSync('pdftohtml', ['-xml', '-stdout', '-i', '-q', out])
          .toString()
          .matchAll(/<item[^>]*>([^<]+)<\/item>/g)
      ].map((x) => x[1])
      expect(outline).toEqual(expect.arrayContaining(['Evidence', 'Evaluation 1', 'Audit log']))
      // The audit entry holds the sha256 of the final bytes (after attaching).
      const last = wb.cases.auditLog(caseA).at(-1)!
      expect(last.action).toBe('report.write')
      expect(last.details.sha256).toBe(sha)
      expect(last.details).toMatchObject({ scope: { printer: 'chromium (playwright-core)', attachments: ['case-uco.jsonld'] } })
      expect(wb.cases.verifyAudit(caseA).ok).toBe(true)
    })

    it('says on the cover when the audit chain does not verify', async () => {
      const b = wb.cases.list().find((c) => c.name === 'Eval B')!
      // A head record ahead of the log: entries were removed from its end.
      const head = JSON.parse(readFileSync(join(b.dir, 'audit-head.json'), 'utf8')) as { seq: number; hash: string }
      writeFileSync(join(b.dir, 'audit-head.json'), JSON.stringify({ seq: head.seq + 5, hash: head.hash }))
      expect(wb.cases.verifyAudit(b.id).ok).toBe(false)
      const out = join(root, 'reports', 'case-b.pdf')
      const r = await wb.reports.write({ caseId: b.id, out })
      expect(r.auditOk).toBe(false)
      const cover = execFileSync('pdftotext', ['-f', '1', '-l', '1', out, '-']).toString()
      expect(cover).toContain('AUDIT CHAIN DOES NOT VERIFY')
      expect(cover).toContain('EVAL-B-01')
    })

    it('refuses an unwritable path and an empty case, leaving no file', async () => {
      const ro = join(root, 'readonly')
      mkdirSync(ro)
      chmodSync(ro, 0o500)
      const isRoot = process.getuid?.() === 0
      if (!isRoot) await expect(wb.reports.write({ caseId: caseA, out: join(ro, 'r.pdf') })).rejects.toThrow(/not writable/)
      await expect(wb.reports.write({ caseId: caseA, out: join(root, 'missing', 'r.pdf') })).rejects.toThrow(/does not exist/)
      const empty = wb.cases.create({ dir: join(root, 'E'), name: 'Empty', number: 'E-0' }).id
      await expect(wb.reports.write({ caseId: empty, out: join(root, 'e.pdf') })).rejects.toThrow(/is empty/)
      expect(existsSync(join(root, 'e.pdf'))).toBe(false)
    })
  })
})
