// The built main process (out/main/index.js) in plain Node, with `electron` replaced by the
// recording stand-in in ./fake-electron: checks what main registers against the real workbench
// and handlers where the Electron binary cannot run.
import { describe, expect, it } from 'vitest'
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { API_METHODS, channelFor } from '../../src/shared/ipc-contract'
import { Workbench } from '../../src/core/workbench/workbench'
import { SAMPLE_PHOTO } from '../e2e/renderer-harness'

const ROOT = resolve(import.meta.dirname, '../..')
const MAIN = join(ROOT, 'out/main/index.js')
const reason = existsSync(MAIN) ? null : 'out/main/index.js is not built (npx electron-vite build)'
if (reason) console.log(`SKIP main-process test: ${reason}`)
const pdfTools = ['pdfdetach', 'pdftotext'].every((t) => {
  try {
    execFileSync('which', [t])
    return true
  } catch {
    return false
  }
})
const printReason = !existsSync(process.env.UNVEIL_CHROMIUM || '/usr/bin/chromium')
  ? 'no Chromium for the fake printToPDF'
  : !pdfTools
    ? 'poppler-utils not installed'
    : !existsSync(SAMPLE_PHOTO)
      ? `${SAMPLE_PHOTO} is missing`
      : null
if (printReason) console.log(`SKIP the report export through the main process's print window: ${printReason}`)

interface Outcome {
  ok: boolean
  value?: Record<string, unknown>
  error?: string
}

interface Report extends Record<string, unknown> {
  driverError?: string
  errorBoxes: string[]
}

/** Runs out/main/index.js on the fake electron with `env` added; returns the driver's report. */
async function runMain(home: string, env: Record<string, string>): Promise<Report> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', join(ROOT, 'tests/e2e-electron/fake-electron/register.mjs'), MAIN], {
    cwd: ROOT,
    env: { ...process.env, UNVEIL_FAKE_HOME: home, UNVEIL_CASE_ROOT: '', ELECTRON_RENDERER_URL: '', ...env },
    timeout: 120_000
  })
  const line = stdout.split('\n').find((l) => l.startsWith('FAKE_ELECTRON_REPORT '))
  expect(line, stdout).toBeDefined()
  return JSON.parse(line!.slice('FAKE_ELECTRON_REPORT '.length)) as Report
}

describe.skipIf(reason !== null)('the built main process', () => {
  it('registers every API channel behind a sender check, serves app://, grants dialog folders, hardens the session and closes the workbench on quit', async () => {
    const home = mkdtempSync(join(tmpdir(), 'unveil-main-'))
    const chosen = join(home, 'chosen')
    mkdirSync(chosen)
    try {
      let caseId: string | null = null
      const reports = join(home, 'reports')
      if (!printReason) {
        // A case in the library the main process opens, for the driver to export a report of.
        const wb = await Workbench.open({ libraryDir: join(home, 'library'), caseRoot: join(home, 'cases') })
        caseId = wb.cases.create({ dir: join(home, 'cases', 'P'), name: 'Print case', number: 'PRINT-9', examiner: 'E2E' }).id
        await wb.templates.enrolFromPhoto(caseId, new Uint8Array(readFileSync(SAMPLE_PHOTO)), basename(SAMPLE_PHOTO), { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })
        await wb.close()
        mkdirSync(reports)
      }
      // The fake dialog answers the renderer's Choose… first, then File > Open case folder…, then
      // the report folder the driver chooses before exporting.
      const r = await runMain(home, {
        UNVEIL_HOME: join(home, 'library'),
        UNVEIL_FAKE_DIALOG: JSON.stringify([chosen, join(chosen, 'case'), reports]),
        UNVEIL_FAKE_PRINT_CASE: caseId ?? ''
      })
      expect(r.driverError).toBeUndefined()
      expect(r.errorBoxes).toEqual([])

      expect(r.sandboxed).toBe(true)
      expect(r.isPackaged).toBe(false)
      expect(r.entryUrl).toBe('app://unveil/index.html')
      expect(r.webPreferences).toMatchObject({
        preload: join(ROOT, 'out/preload/index.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        devTools: true
      })
      // Left at Electron's defaults (off): no experimental or extra Blink features.
      expect(r.webPreferences).not.toHaveProperty('experimentalFeatures')
      expect(r.webPreferences).not.toHaveProperty('enableBlinkFeatures')
      expect(existsSync((r.webPreferences as { preload: string }).preload)).toBe(true)

      expect([...(r.channels as string[])].sort()).toEqual(API_METHODS.map(channelFor).sort())
      const appInfo = r.appInfo as Outcome
      expect(appInfo.ok).toBe(true)
      // The app shares the CLI's library folder ($UNVEIL_HOME here), not Electron's userData.
      expect(appInfo.value?.libraryDir).toBe(join(home, 'library'))
      expect(appInfo.value?.defaultCaseRoot).toBe(join(home, 'Documents', 'Unveil cases'))
      expect((r.foreignFrame as Outcome).error).toMatch(/refused/)
      expect((r.noFrame as Outcome).error).toMatch(/refused/)
      expect((r.badArgument as Outcome).ok).toBe(false)

      // The renderer comes from app://unveil, served from out/renderer with its type and the CSP header.
      expect(r.privilegedSchemes).toEqual([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: true } }])
      expect(r.protocolHandlers).toEqual(['app'])
      const served = r.served as Record<string, { status: number; type: string | null; csp: string | null; body: string | null }>
      expect(served.index).toMatchObject({ status: 200, type: 'text/html; charset=utf-8' })
      expect(served.index.body).toContain('<title>Unveil</title>')
      expect(served.index.csp).toContain("script-src 'self'")
      expect(served.traversal.status).toBe(403)
      expect(served.missing.status).toBe(404)

      expect(r.permission).toBe(false)
      expect(r.permissionCheck).toBe(false)
      expect(r.requests).toEqual({ entry: false, asset: false, blob: false, remote: true, otherFile: true, builtFile: true })
      expect((r.cspHeader as string[])[0]).toContain("script-src 'self'")
      expect(r.navigationBlocked).toEqual({ app: false, remote: true, file: true, redirect: true })
      expect(r.windowOpen).toEqual({ action: 'deny' })
      expect(r.webviewBlocked).toBe(true)

      // Paths in IPC calls: refused until the dialog answered them, then accepted.
      const grants = r.grants as Record<string, Outcome>
      expect(grants.before.error).toMatch(/case folder .*chosen.case was not chosen in a folder dialog in this session/)
      expect(grants.chosen).toEqual({ ok: true, value: chosen })
      expect(grants.after.ok).toBe(true)
      expect(grants.elsewhere.error).toMatch(/was not chosen in a folder dialog/)

      expect(r.menu).toEqual(expect.arrayContaining(['File', 'View', 'help']))
      expect(r.fileMenu).toEqual(expect.arrayContaining(['New case…', 'Open case folder…', 'Quit']))
      expect(r.newCaseNavigation).toBe('location.hash = "#/cases?new=1"')
      expect(r.openCaseNavigation).toBe(`location.hash = "#/cases/${(grants.after.value as { id: string }).id}"`)
      // before-quit is deferred until the workbench has closed, then quit runs again.
      expect(r.quitCalls).toBe(2)

      if (caseId) {
        // The Export report channel printed through Electron's printToPDF in a locked-down hidden window.
        const exported = r.reportExport as Outcome
        expect(exported.ok, exported.error).toBe(true)
        expect(r.prints).toHaveLength(1)
        const [print] = r.prints as { show: boolean; url: string; webPreferences: Record<string, unknown>; requests: unknown; options: unknown }[]
        expect(print.show).toBe(false)
        expect(print.webPreferences).toEqual(
          expect.objectContaining({ session: 'unveil-report-print', sandbox: true, contextIsolation: true, nodeIntegration: false, javascript: false, webSecurity: true })
        )
        expect(print.webPreferences.preload).toBeUndefined()
        expect(print.url).toMatch(/^file:\/\/.*\/report\.html$/)
        expect(print.requests).toEqual({ report: false, dataImage: false, remote: true, otherFile: true })
        expect(print.options).toMatchObject({ pageSize: 'A4', displayHeaderFooter: true, generateDocumentOutline: true, generateTaggedPDF: true })
        expect(r.printWindowsLeft).toBe(0)
        expect(existsSync(join(dirname(print.url.replace('file://', ''))))).toBe(false) // the temporary HTML is gone
        const pdf = join(home, 'reports', readdirSync(join(home, 'reports')).find((f) => f.endsWith('.pdf'))!)
        expect(exported.value?.path).toBe(pdf)
        const sha = createHash('sha256').update(readFileSync(pdf)).digest('hex')
        expect(exported.value?.sha256).toBe(sha)
        expect(execFileSync('pdftotext', [pdf, '-']).toString()).toMatch(/PRINT-9[\s\S]*page 1 of \d+/)
        expect(execFileSync('pdfdetach', ['-list', pdf]).toString()).toContain('case-uco.jsonld')
        const wb = await Workbench.open({ libraryDir: join(home, 'library'), caseRoot: join(home, 'cases') })
        try {
          expect(wb.cases.auditLog(caseId).at(-1)).toMatchObject({ action: 'report.write', details: { sha256: sha, scope: { printer: 'electron printToPDF' } } })
        } finally {
          await wb.close()
        }
      }
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })

  it('ignores, when packaged, the environment variables that name code or model paths', async () => {
    const home = mkdtempSync(join(tmpdir(), 'unveil-main-packaged-'))
    try {
      // A worker script that would leave a trace if the packaged app ran it.
      const marker = join(home, 'worker-ran')
      const worker = join(home, 'worker.cjs')
      writeFileSync(worker, `require('node:fs').writeFileSync(${JSON.stringify(marker)}, 'ran')\n`)
      const r = await runMain(home, {
        UNVEIL_FAKE_PACKAGED: '1',
        HOME: home,
        XDG_CONFIG_HOME: join(home, '.config'),
        UNVEIL_HOME: join(home, 'planted-library'),
        UNVEIL_WORKER_PATH: worker,
        ELECTRON_RENDERER_URL: 'http://127.0.0.1:9/',
        UNVEIL_FAKE_SETTLE_MS: '1500'
      })
      expect(r.driverError).toBeUndefined()
      expect(r.errorBoxes).toEqual([])
      expect(r.isPackaged).toBe(true)
      expect(r.entryUrl).toBe('app://unveil/index.html')
      expect((r.webPreferences as { devTools: boolean }).devTools).toBe(false)
      expect((r.appInfo as Outcome).value?.libraryDir).toBe(join(home, '.config', 'unveil'))
      expect(existsSync(join(home, 'planted-library'))).toBe(false)
      expect(existsSync(marker)).toBe(false)
      expect(r.quitCalls).toBe(2)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
