import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { createApiHandlers } from '../../src/main/api-handlers'
import { Workbench } from '../../src/core/workbench/workbench'
import type { ApiHandlers } from '../../src/shared/ipc-contract'
import type { CaseInfo, RunRecord, TemplateRecord } from '../../src/shared/types'
import { ROOT, SAMPLE_PHOTO, closeBridgedSession, openBridgedPage, rendererSkipReason, serveRenderer, serverUrl } from './renderer-harness'
import { dataDirOrSkip } from '../helpers/data'

const reason = rendererSkipReason()
if (reason) console.log(`SKIP end-to-end Explain tab: ${reason}`)

describe.skipIf(reason !== null)('the Explain tab of the case page in Chromium', () => {
  let tmp: string
  let workbench: Workbench
  let handlers: ApiHandlers
  let server: Server
  let browser: Browser
  let page: Page
  let consoleErrors: string[] = []

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'unveil-e2e-explain-'))
    workbench = await Workbench.open({ libraryDir: join(tmp, 'library'), caseRoot: join(tmp, 'cases') })
    handlers = createApiHandlers({ workbench, chooseFolder: async () => null })
    server = await serveRenderer()
    ;({ browser, page, consoleErrors } = await openBridgedPage(handlers, (listener) => workbench.runs.onProgress(listener), { width: 1280, height: 800 }))
  })
  afterAll(async () => {
    await closeBridgedSession({ browser, server, handlers, workbench })
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  it('shows the sheet of an occlusion run started through the IPC handlers', async () => {
    const info = (await handlers.createCase({ dir: join(tmp, 'cases', 'explain'), name: 'Explain' })) as CaseInfo
    const photo = { name: 'sample1.jpg', bytes: new Uint8Array(readFileSync(SAMPLE_PHOTO)) }
    const template = (await handlers.enrolFromPhoto(info.id, photo, { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })) as TemplateRecord
    const run = (await handlers.explainOcclusion({
      caseId: info.id,
      templateId: template.id,
      photo: null,
      encoderId: null,
      patch: 16,
      stride: 8,
      seed: 1
    })) as RunRecord
    expect((await workbench.jobs.wait(run.id)).status).toBe('succeeded')
    await page.goto(`${serverUrl(server)}/index.html#/cases/${info.id}?tab=explain`)
    const figure = page.getByTestId('explain-occlusion')
    await figure.waitFor({ timeout: 60_000 })
    expect(await figure.textContent()).toMatch(/eyes occluded: cosine 0\.\d{3}; mouth occluded: cosine 0\.\d{3}/)
    const img = figure.locator('img')
    await expect.poll(() => img.evaluate((e) => (e as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(6 * 224)
    const main = await page
      .locator('main')
      .evaluate((e) => ({ scroll: (e as unknown as { scrollWidth: number }).scrollWidth, client: (e as unknown as { clientWidth: number }).clientWidth }))
    expect(main.scroll).toBeLessThanOrEqual(main.client)
    mkdirSync(join(ROOT, 'docs/images'), { recursive: true })
    await page.screenshot({ path: join(ROOT, 'docs/images/ui-explain-tab.png') })
    expect(consoleErrors).toEqual([])
  })

  const dataDir = dataDirOrSkip('the Explain tab’s equivariance and attribute forms')
  it.skipIf(!dataDir)('starts an equivariance and an attribute run from the Explain tab once maps and directions are fitted', async () => {
    const info = (await handlers.createCase({ dir: join(tmp, 'cases', 'explain-forms'), name: 'Explain forms' })) as CaseInfo
    const photo = { name: 'sample1.jpg', bytes: new Uint8Array(readFileSync(SAMPLE_PHOTO)) }
    await handlers.enrolFromPhoto(info.id, photo, { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })
    await page.goto(`${serverUrl(server)}/index.html#/cases/${info.id}?tab=explain`)
    // Nothing fitted yet: the buttons wait, and the panel says how to fit.
    await expect.poll(() => page.getByTestId('explain-fits').textContent()).toMatch(/no equivariance maps and no attribute directions fitted for faceplugin-fr-feature/)
    expect(await page.getByTestId('explain-start-equivariance').isDisabled()).toBe(true)
    expect(await page.getByTestId('explain-start-attributes').isDisabled()).toBe(true)

    // A few crops are enough for the plumbing; the maps' quality is measured in the integration test and the bench.
    const lfw = join(tmp, 'aligned-lfw')
    const utk = join(tmp, 'aligned-utk')
    await workbench.datasets.align({ inDir: join(dataDir!, 'datasets', 'lfw', 'images'), outDir: lfw, limit: 24, concurrency: 1 })
    // UTKFace names sort by age as text: every k-th file gives both genders and a spread of ages.
    const utkImages = join(dataDir!, 'datasets', 'utkface', 'images')
    const names = readdirSync(utkImages).sort()
    const spread = join(tmp, 'utk-photos')
    mkdirSync(spread)
    for (let i = 0; i < 30; i++) symlinkSync(join(utkImages, names[Math.floor((i * names.length) / 30)]), join(spread, names[Math.floor((i * names.length) / 30)]))
    await workbench.datasets.align({ inDir: spread, outDir: utk, concurrency: 1 })
    await workbench.explainFits.fitEquivariance({ encoderId: 'faceplugin-fr-feature', datasetDir: lfw, transforms: ['rotate:15', 'scale:0.75'], limit: null, seed: 1 }).outcome
    await workbench.explainFits.fitAttributes({ encoderId: 'faceplugin-fr-feature', datasetDir: utk, limit: null, seed: 1 }).outcome

    await page.reload()
    await expect.poll(() => page.getByTestId('explain-fits').textContent()).toMatch(/2 equivariance maps and age and gender directions fitted/)
    await page.getByTestId('explain-start-equivariance').click()
    const equivariance = page.getByTestId('explain-equivariance')
    await equivariance.waitFor({ timeout: 120_000 })
    expect(await equivariance.textContent()).toMatch(/rotate:15 0\.\d{3} → 0\.\d{3}, scale:0\.75 0\.\d{3} → 0\.\d{3}/)
    await page.getByTestId('explain-start-attributes').click()
    const attributes = page.getByTestId('explain-attributes')
    await attributes.waitFor({ timeout: 120_000 })
    expect(await attributes.textContent()).toMatch(/age: identity cosine -30 0\.\d{3}.*gender: identity cosine -1 0\.\d{3}/)
    await expect.poll(() => attributes.locator('img').evaluate((e) => (e as unknown as { naturalWidth: number }).naturalWidth)).toBeGreaterThan(5 * 224)
    const runs = workbench.explain.list(info.id)
    expect(runs.map((r) => r.kind).sort()).toEqual(['attributes', 'equivariance'])
    await page.screenshot({ path: join(ROOT, 'docs/images/ui-explain-forms.png'), fullPage: true })
    expect(consoleErrors).toEqual([])
  }, 300_000)
})
