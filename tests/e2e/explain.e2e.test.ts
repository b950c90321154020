import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { createApiHandlers } from '../../src/main/api-handlers'
import { Workbench } from '../../src/core/workbench/workbench'
import type { ApiHandlers } from '../../src/shared/ipc-contract'
import type { CaseInfo, RunRecord, TemplateRecord } from '../../src/shared/types'
import { ROOT, SAMPLE_PHOTO, closeBridgedSession, openBridgedPage, rendererSkipReason, serveRenderer, serverUrl } from './renderer-harness'

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
})
