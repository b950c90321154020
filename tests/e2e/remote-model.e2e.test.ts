// The Models page lists a remote encoder (KServe v2) beside the bundled ones: a "remote" badge,
// the model's URL on its server, and its probe fingerprint as sha256.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Server } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { Workbench } from '../../src/core/workbench/workbench'
import { createApiHandlers } from '../../src/main/api-handlers'
import { remoteManifest, startKserveServer, type KserveServer } from '../helpers/kserve-server'
import { openBridgedPage, rendererSkipReason, serveRenderer, serverUrl } from './renderer-harness'

const reason = rendererSkipReason()
if (reason) console.log(`SKIP end-to-end remote model list: ${reason}`)

describe.skipIf(reason !== null)('remote encoders on the Models page', () => {
  let tmp: string
  let workbench: Workbench
  let kserve: KserveServer
  let server: Server
  let browser: Browser
  let page: Page
  let consoleErrors: string[] = []

  beforeAll(async () => {
    process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')
    tmp = mkdtempSync(join(tmpdir(), 'unveil-e2e-remote-'))
    workbench = await Workbench.open({ libraryDir: join(tmp, 'library'), caseRoot: join(tmp, 'cases') })
    kserve = await startKserveServer()
    await workbench.models.register(null, remoteManifest(kserve, 'remote-e2e', { binary: true }), { verify: false })
    const handlers = createApiHandlers({ workbench, chooseFolder: async () => tmp })
    server = await serveRenderer()
    ;({ browser, page, consoleErrors } = await openBridgedPage(handlers, (listener) => workbench.runs.onProgress(listener)))
    await page.goto(`${serverUrl(server)}/index.html`)
  })

  afterAll(async () => {
    await browser?.close()
    await new Promise((done) => (server ? server.close(done) : done(undefined)))
    await kserve?.close()
    await workbench?.close()
    if (tmp) rmSync(tmp, { recursive: true, force: true })
  })

  it('shows the remote encoder with its badge, URL and fingerprint', async () => {
    await page.getByTestId('nav-models').click()
    const row = page.locator('[data-testid="model-row"][data-model-id="remote-e2e"]')
    await row.waitFor()
    expect(await row.textContent()).toContain('remote')
    expect(await row.getByTestId('model-remote').textContent()).toContain(`${kserve.url}/v2/models/${kserve.model}`)
    const sha = await row.getByTestId('model-sha').locator('[data-sha]').getAttribute('data-sha')
    expect(sha).toBe(workbench.models.get('remote-e2e').manifest.sha256)
    expect(consoleErrors).toEqual([])
  })
})
