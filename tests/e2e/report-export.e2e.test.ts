// End-to-end: export the case report from the UI (the built renderer in Chromium on the real
// handlers and core; the PDF is printed by the core's Chromium path, as there is no Electron here).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Server } from 'node:http'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { basename, join } from 'node:path'
import { tmpdir } from 'node:os'
import type { Browser, Page } from 'playwright-core'
import { Workbench } from '../../src/core/workbench/workbench'
import { createApiHandlers } from '../../src/main/api-handlers'
import { SAMPLE_PHOTO, SHOTS, openBridgedPage, rendererSkipReason, serveRenderer, serverUrl } from './renderer-harness'
import { dataDirOrSkip, lfwImage } from '../helpers/data'

const reason = rendererSkipReason()
if (reason) console.log(`SKIP report export end-to-end: ${reason}`)
const data = reason ? null : dataDirOrSkip('the Evaluate page plots end-to-end')

describe.skipIf(reason !== null)('report export from the UI', () => {
  let tmp: string
  let reportDir: string
  let wb: Workbench
  let server: Server
  let browser: Browser
  let page: Page
  let caseId: string

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'unveil-e2e-report-'))
    reportDir = join(tmp, 'reports')
    mkdirSync(reportDir)
    mkdirSync(SHOTS, { recursive: true })
    wb = await Workbench.open({ libraryDir: join(tmp, 'library'), caseRoot: join(tmp, 'cases') })
    const handlers = createApiHandlers({ workbench: wb, chooseFolder: async () => reportDir })
    caseId = wb.cases.create({ dir: join(tmp, 'cases', 'R'), name: 'Report case', number: 'RPT-E2E-7', examiner: 'E2E' }).id
    await wb.templates.enrolFromPhoto(caseId, new Uint8Array(readFileSync(SAMPLE_PHOTO)), basename(SAMPLE_PHOTO), {
      encoderId: 'faceplugin-fr-feature',
      faceIndex: 0
    })
    server = await serveRenderer()
    ;({ browser, page } = await openBridgedPage(handlers, (listener) => wb.runs.onProgress(listener)))
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((done) => (server ? server.close(done) : done(undefined)))
    await wb?.close()
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  it('writes the PDF into the chosen folder and records its sha256 in the audit log', async () => {
    await page.goto(`${serverUrl(server)}/index.html#/cases/${caseId}`)
    await page.getByTestId('export-report').click()
    await expect.poll(() => readdirSync(reportDir).filter((f) => f.endsWith('.pdf')).length, { timeout: 60_000 }).toBe(1)
    const [file] = readdirSync(reportDir)
    expect(file).toMatch(/^RPT-E2E-7-report-.*\.pdf$/)
    const pdf = join(reportDir, file)
    const sha = createHash('sha256').update(readFileSync(pdf)).digest('hex')
    await expect.poll(() => wb.cases.auditLog(caseId).at(-1)?.action).toBe('report.write')
    expect(wb.cases.auditLog(caseId).at(-1)!.details.sha256).toBe(sha)
    const text = execFileSync('pdftotext', [pdf, '-']).toString()
    expect(text).toContain('RPT-E2E-7')
    for (const img of wb.cases.get(caseId).images) expect(text).toContain(img.sha256)
    await page.getByTestId('open-evaluate').click()
    await page.getByTestId('evaluate-form').waitFor()
    await page.screenshot({ path: join(SHOTS, 'evaluate-page.png'), fullPage: true })
  })

  it.skipIf(!data)("shows an evaluation's plots on the Evaluate page, as images under the renderer's CSP", async () => {
    for (const [person, n] of [
      ['Aaron_Peirsol', 2],
      ['Aaron_Sorkin', 2]
    ] as const)
      for (let i = 1; i <= n; i++) {
        const file = lfwImage(data!, person, i)
        await wb.templates.enrolFromPhoto(caseId, new Uint8Array(readFileSync(file)), basename(file), {
          encoderId: 'faceplugin-fr-feature',
          faceIndex: 0,
          subject: person
        })
      }
    const started = wb.evaluations.start({
      caseId,
      datasetDir: null,
      pairsFile: null,
      seenEncoderId: 'faceplugin-fr-feature',
      methods: [{ id: 'dfd' }, { id: 'ga', parameters: { population: 8, threads: 1 } }],
      budget: 24,
      seed: 3,
      limit: 2
    })
    expect((await wb.jobs.wait(started.runId)).status).toBe('succeeded')
    // The page may already show this route (the test before ends there): load it afresh.
    await page.goto(`${serverUrl(server)}/index.html#/cases/${caseId}/evaluate`)
    await page.reload()
    const section = page.getByTestId(`evaluation-${started.evaluation.id}`)
    await section.getByTestId('transfer-matrix').waitFor()
    const ids = ['bars-typeI', 'bars-typeII', 'roc-faceplugin-fr-feature', 'det-faceplugin-fr-feature', 'hist-faceplugin-fr-feature', 'traces']
    for (const id of ids) {
      const img = section.getByTestId(`plot-${id}`).locator('img')
      await img.waitFor()
      // Decoded: the data: SVG passed the page's CSP (img-src data:) and is a valid image.
      await expect
        .poll(() =>
          img.evaluate((el) => {
            const i = el as unknown as { complete: boolean; naturalWidth: number }
            return i.complete && i.naturalWidth > 0
          })
        )
        .toBe(true)
      expect(await img.getAttribute('src')).toMatch(/^data:image\/svg\+xml;charset=utf-8,%3Csvg/)
    }
    expect(await section.locator('figure.plot').count()).toBe(ids.length)
    // The page holds no vega code or inline SVG: the plots are images of the core's SVG.
    expect(await section.locator('svg').count()).toBe(0)
    await section.getByTestId('plot-roc-faceplugin-fr-feature').scrollIntoViewIfNeeded()
    await page.screenshot({ path: join(SHOTS, 'evaluate-plots.png'), fullPage: true })
  })
})
