// End-to-end: the guided demo walked in Chromium on the real handlers and core, from "Start demo"
// on the empty cases page through all six steps with Next (and one Back), a restart of the whole
// main-process side mid-tour, and Reset; one screenshot per step into docs/images/demo-step-N.png.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { createApiHandlers } from '../../src/main/api-handlers'
import { Workbench } from '../../src/core/workbench/workbench'
import type { ApiHandlers } from '../../src/shared/ipc-contract'
import type { CaseInfo } from '../../src/shared/types'
import { dataDirOrSkip, sharedEncoder } from '../helpers/data'
import { ROOT, SAMPLE_PHOTO, closeBridgedSession, openBridgedPage, rendererSkipReason, serveRenderer, serverUrl } from './renderer-harness'

const reason = rendererSkipReason()
if (reason) console.log(`SKIP end-to-end guided demo: ${reason}`)

const data = reason ? null : dataDirOrSkip('a second engine in the demo compare step (mobileface-v2)')
const secondEngine = data ? sharedEncoder(data, 'mobileface-v2.onnx') : null
const SHOT_DIR = join(ROOT, 'docs/images')
const VIEWPORT = { width: 1280, height: 860 }

interface Session {
  workbench: Workbench
  handlers: ApiHandlers
  server: Server
  browser: Browser
  page: Page
  consoleErrors: string[]
}

describe.skipIf(reason !== null)('the guided demo in Chromium', () => {
  let tmp: string
  let s: Session | null = null

  /** The main-process side as the app starts it: a workbench on the library, its handlers, a window. */
  async function launch(): Promise<Session> {
    const workbench = await Workbench.open({ libraryDir: join(tmp, 'library'), caseRoot: join(tmp, 'cases') })
    const handlers = createApiHandlers({ workbench, chooseFolder: async () => null })
    const server = await serveRenderer()
    const bridged = await openBridgedPage(handlers, (listener) => workbench.runs.onProgress(listener), VIEWPORT)
    return { workbench, handlers, server, ...bridged }
  }
  const quit = async (): Promise<void> => {
    if (s) await closeBridgedSession(s)
    s = null
  }

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'unveil-e2e-demo-'))
    mkdirSync(SHOT_DIR, { recursive: true })
    s = await launch()
  })
  afterAll(async () => {
    await quit()
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  /** Waits until step n (1-based) shows its computed result, then saves its screenshot. */
  async function shows(n: number, step: string): Promise<void> {
    const page = s!.page
    await page.locator(`[data-testid="demo-result"][data-step="${step}"]`).waitFor({ timeout: 60_000 })
    expect(await page.getByTestId('demo-step-count').textContent()).toBe(`Step ${n} of 6`)
    expect(await page.getByTestId('demo-progress').getAttribute('aria-label')).toBe(`step ${n} of 6`)
    // Pictures are loaded before the screenshot (the report step has none).
    const pictures = page.getByTestId('demo-picture')
    if (step !== 'report') {
      await pictures.first().waitFor()
      await expect.poll(() => pictures.evaluateAll((els) => els.every((e) => (e as unknown as { naturalWidth: number }).naturalWidth > 0))).toBe(true)
    }
    await page.screenshot({ path: join(SHOT_DIR, `demo-step-${n}.png`), fullPage: true })
  }
  const next = async (): Promise<void> => s!.page.getByTestId('demo-next').click()

  it('walks the whole tour, resumes after a restart, and Reset deletes only the demo case', async () => {
    const t0 = performance.now()
    // A second registered engine, as a trainer's machine with the research encoders would have: the compare step scores under both.
    if (secondEngine)
      await s!.workbench.models.register(secondEngine, JSON.parse(readFileSync(join(ROOT, 'resources/manifests/mobileface-v2.json'), 'utf8')), {
        verify: false
      })
    let page = s!.page
    await page.goto(`${serverUrl(s!.server)}/index.html#/cases`)
    await page.getByTestId('start-demo').click()
    await shows(1, 'enrol')
    expect(await page.getByTestId('demo-picture').count()).toBe(7) // six photos and the target's aligned crop
    expect(await page.getByTestId('demo-back').isDisabled()).toBe(true)

    await next()
    await shows(2, 'dfd')
    expect(await page.getByTestId('demo-result').textContent()).toMatch(/DFD reconstruction: cosine to the target template 0\.\d{3}/)

    // Back shows step 1 as it was computed; Next returns to step 2 without computing it again.
    await page.getByTestId('demo-back').click()
    await page.locator('[data-testid="demo-result"][data-step="enrol"]').waitFor()
    expect(await page.getByTestId('demo-step-count').textContent()).toBe('Step 1 of 6')
    await next()
    await page.locator('[data-testid="demo-result"][data-step="dfd"]').waitFor()
    const demoCase = (await s!.handlers.demoStatus()).demo!
    expect(s!.workbench.cases.get(demoCase.caseId).runs).toHaveLength(1)

    await next()
    await shows(3, 'ga')

    // Restart mid-tour: everything on the main-process side is closed and started again on the same library.
    expect(s!.consoleErrors).toEqual([])
    await quit()
    s = await launch()
    page = s.page
    // A user case made while the demo runs: Reset must leave it alone.
    const mine = (await s.handlers.createCase({ dir: join(tmp, 'cases', 'My case'), name: 'My case' })) as CaseInfo
    await s.handlers.enrolFromPhoto(
      mine.id,
      { name: 'sample1.jpg', bytes: new Uint8Array(readFileSync(SAMPLE_PHOTO)) },
      { encoderId: 'faceplugin-fr-feature', faceIndex: 0 }
    )
    const mineAudit = JSON.stringify(s.workbench.cases.auditLog(mine.id))
    await page.goto(`${serverUrl(s.server)}/index.html#/cases`)
    await page.getByTestId('nav-demo').click()
    await page.locator('[data-testid="demo-result"][data-step="ga"]').waitFor({ timeout: 30_000 })
    expect(await page.getByTestId('demo-step-count').textContent()).toBe('Step 3 of 6')
    expect(await page.getByTestId('demo-result').textContent()).toMatch(/GA reconstruction: cosine to the target template 0\.\d{3} after \d+ queries/)

    await next()
    await shows(4, 'compare')
    const compared = await page.getByTestId('demo-result').textContent()
    expect(compared).toMatch(/dfd \(decisions at FAR 1e-3\): faceplugin-fr-feature \(attacked\) cos 0\.\d{3} (accepted|rejected)/)
    expect(compared).toMatch(
      secondEngine
        ? /ga \(decisions at FAR 1e-3\): faceplugin-fr-feature \(attacked\) cos .*, mobileface-v2 cos -?\d\.\d{3} no threshold/
        : /only one engine is registered/
    )
    const stored = (await s.handlers.demoStatus()).steps[3].result
    if (stored?.step !== 'compare') throw new Error('the compare step stored no result')
    const encoders = s.workbench.registry.byRole('encoder').map((e) => e.manifest.id)
    for (const r of stored.runs) expect(r.scores.map((x) => x.encoderId)).toEqual(encoders)
    await next()
    await shows(5, 'explain')
    expect(await page.getByTestId('demo-result').textContent()).toMatch(/eyes occluded: cosine -?\d\.\d{3}/)
    await next()
    await shows(6, 'report')
    expect(await page.getByTestId('demo-finished').isVisible()).toBe(true)
    const report = (await s.handlers.demoStatus()).steps[5].result
    if (report?.step !== 'report') throw new Error('the report step stored no result')
    expect(readFileSync(report.path).subarray(0, 5).toString()).toBe('%PDF-')
    expect(report.path.startsWith(demoCase.dir)).toBe(true)
    expect(createHash('sha256').update(readFileSync(report.path)).digest('hex')).toBe(report.sha256)
    expect(s.workbench.cases.auditLog(demoCase.caseId).at(-1)?.action).toBe('report.write')
    expect(s.workbench.cases.verifyAudit(demoCase.caseId).ok).toBe(true)

    // Reset asks first; Cancel keeps everything.
    await page.getByTestId('demo-reset').click()
    await page.getByTestId('confirm-cancel').click()
    expect(existsSync(demoCase.dir)).toBe(true)
    await page.getByTestId('demo-reset').click()
    await page.getByTestId('confirm-ok').click()
    await page.getByTestId('demo-intro').waitFor()
    expect(existsSync(demoCase.dir)).toBe(false)
    expect((await s.handlers.listCases()).map((c) => c.id)).toEqual([mine.id])
    expect(JSON.stringify(s.workbench.cases.auditLog(mine.id))).toBe(mineAudit)
    expect(s.consoleErrors).toEqual([])
    console.log(`guided demo end-to-end: ${((performance.now() - t0) / 1000).toFixed(1)} s`)
  })
})
