// End-to-end: the built renderer in Chromium, wired to the real API handlers and the real core
// (no Electron binary here). The page's window.unveil is the harness of ./bridge-codec.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Server } from 'node:http'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import type { ApiHandlers } from '../../src/shared/ipc-contract'
import { Workbench } from '../../src/core/workbench/workbench'
import { createApiHandlers } from '../../src/main/api-handlers'
import { SAMPLE_PHOTO, SHOTS, openBridgedPage, rendererSkipReason, serveRenderer, serverUrl } from './renderer-harness'

const reason = rendererSkipReason()
if (reason) console.log(`SKIP end-to-end workflow: ${reason}`)

describe.skipIf(reason !== null)('end-to-end workflow in Chromium', () => {
  let tmp: string
  let chosenFolder: string
  let workbench: Workbench
  let handlers: ApiHandlers
  let server: Server
  let browser: Browser
  let page: Page
  let baseUrl: string
  let consoleErrors: string[] = []
  let shot = 0

  const screenshot = async (name: string): Promise<void> => {
    shot += 1
    await page.screenshot({ path: join(SHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true })
  }

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'unveil-e2e-'))
    const libraryDir = join(tmp, 'library')
    const caseRoot = join(tmp, 'cases')
    chosenFolder = join(tmp, 'chosen', 'E2E case folder')
    mkdirSync(chosenFolder, { recursive: true })
    mkdirSync(SHOTS, { recursive: true })

    workbench = await Workbench.open({ libraryDir, caseRoot })
    handlers = createApiHandlers({ workbench, chooseFolder: async () => chosenFolder })

    server = await serveRenderer()
    baseUrl = serverUrl(server)
    ;({ browser, page, consoleErrors } = await openBridgedPage(handlers, (listener) => workbench.runs.onProgress(listener)))
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((done) => (server ? server.close(done) : done(undefined)))
    await workbench?.close()
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  it('creates a case, enrols a face from a photo and finds the bundled encoder', async () => {
    // 1. First start: the empty state explains the tool.
    await page.goto(`${baseUrl}/index.html`)
    await expect.poll(() => page.title()).toBe('Unveil')
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content')
    expect(csp).toContain("default-src 'self'")
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("object-src 'none'")
    await page.getByTestId('cases-empty').waitFor()
    await page.getByTestId('sidebar-engine').waitFor()
    await screenshot('cases-empty')

    // 2. New case: the folder defaults to <case root>/<name>; Choose… asks main for a folder.
    await page.getByTestId('new-case-button').click()
    await page.getByTestId('case-name-input').fill('E2E case')
    await page.getByTestId('case-number-input').fill('E2E-001')
    await page.getByTestId('case-examiner-input').fill('Test Examiner')
    await expect.poll(() => page.getByTestId('case-folder-input').inputValue()).toBe(join(tmp, 'cases', 'E2E case'))
    await page.getByTestId('case-folder-choose').click()
    await expect.poll(() => page.getByTestId('case-folder-input').inputValue()).toBe(chosenFolder)
    await screenshot('new-case')
    await page.getByTestId('create-case-submit').click()

    // 3. The case view.
    await page.getByTestId('case-title').waitFor()
    expect(await page.getByTestId('case-title').textContent()).toBe('E2E case')
    expect(page.url()).toMatch(/#\/cases\/[0-9a-f-]{36}$/)
    await page.getByTestId('templates-empty').waitFor()
    await screenshot('case-view')

    // 4. Enrol from a photo: faces are detected and drawn, #1 (the largest) is preselected.
    await page.getByTestId('enrol-open').click()
    await page.getByTestId('enrol-file-input').setInputFiles(SAMPLE_PHOTO)
    await page.getByTestId('faces-found').waitFor({ timeout: 120_000 })
    const faceCount = await page.locator('[data-testid^="face-box-"]').count()
    expect(faceCount).toBeGreaterThan(0)
    await page.getByTestId('face-box-1').click()
    expect(await page.getByTestId('face-box-1').getAttribute('class')).toContain('selected')
    await screenshot('faces-detected')
    await page.getByTestId('enrol-submit').click()

    // 5. The template row appears with a 512-d vector and a thumbnail of the photo.
    const row = page.getByTestId('template-row').first()
    await row.waitFor({ timeout: 120_000 })
    expect((await row.getByTestId('template-dimension').textContent())?.trim()).toBe('512')
    expect(await row.textContent()).toContain('sample1.jpg')
    await expect
      .poll(() => row.locator('img').first().evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), {
        timeout: 20_000
      })
      .toBeGreaterThan(0)
    await screenshot('template-enrolled')

    // 6. The detail drawer shows the provenance.
    await row.click()
    const drawer = page.getByTestId('template-drawer')
    await drawer.waitFor()
    expect(await drawer.textContent()).toContain('faceplugin-fr-feature')
    await screenshot('template-drawer')
    await page.keyboard.press('Escape')
    await drawer.waitFor({ state: 'detached' })

    // 7. Import: the exported JSON of the enrolled template comes back in; a file that is not
    // a template is refused with core's message, without Electron's IPC wrapping.
    const caseId = decodeURIComponent(page.url().split('/cases/')[1])
    const templateId = await row.getAttribute('data-template-id')
    const exported = await handlers.exportTemplate(caseId, templateId, 'json')
    const exportedFile = join(tmp, exported.name)
    writeFileSync(exportedFile, exported.bytes)
    const notATemplate = join(tmp, 'notes.json')
    writeFileSync(notATemplate, '{"hello": "world"}')

    await page.getByTestId('import-open').click()
    await page.getByTestId('import-file-input').setInputFiles(notATemplate)
    await page.getByTestId('import-submit').click()
    const importError = page.getByTestId('import-error')
    await importError.waitFor()
    const refusal = (await importError.textContent())?.trim() ?? ''
    expect(refusal.length).toBeGreaterThan(0)
    expect(refusal).not.toMatch(/^Error invoking remote method|^(Validation)?Error:/)
    await screenshot('import-refused')
    await page.getByTestId('import-file-input').setInputFiles(exportedFile)
    await page.getByTestId('import-submit').click()
    await page.getByTestId('import-dialog').waitFor({ state: 'detached' })
    await expect.poll(() => page.getByTestId('template-row').count()).toBe(2)
    expect(await page.locator('[data-testid="template-row"] .badge', { hasText: 'import' }).count()).toBe(1)
    await screenshot('template-imported')

    // 8. Runs and audit: the chain of this case verifies.
    await page.getByTestId('tab-runs').click()
    await page.getByTestId('runs-table').or(page.getByText('No runs in this case yet.')).waitFor()
    await screenshot('runs')
    await page.getByTestId('tab-audit').click()
    await page.getByTestId('audit-table').waitFor()
    await page.getByTestId('audit-verify').click()
    await page.getByTestId('audit-result').waitFor()
    expect(await page.getByTestId('audit-result').textContent()).toContain('Chain intact')
    await screenshot('audit')

    // 9. Models: the bundled encoder with its sha256.
    const models = await handlers.listModels()
    const encoder = models.find((m) => m.manifest.id === 'faceplugin-fr-feature')
    expect(encoder).toBeDefined()
    await page.getByTestId('nav-models').click()
    const modelRow = page.locator('[data-testid="model-row"][data-model-id="faceplugin-fr-feature"]')
    await modelRow.waitFor()
    expect(await modelRow.textContent()).toContain('bundled')
    const sha = await modelRow.getByTestId('model-sha').locator('[data-sha]').getAttribute('data-sha')
    expect(sha).toBe(encoder!.manifest.sha256)
    expect(await modelRow.getByTestId('model-sha').textContent()).toContain(sha!.slice(0, 12))
    await page.getByTestId('engine-provider').waitFor({ timeout: 60_000 })
    await screenshot('models')

    // 10. Back on the case list, the new case is listed with its counts.
    await page.getByTestId('nav-cases').click()
    const caseRow = page.getByTestId('case-row')
    await caseRow.waitFor()
    expect(await caseRow.textContent()).toContain('E2E case')
    await screenshot('cases-list')

    expect(consoleErrors).toEqual([])
  })
})
