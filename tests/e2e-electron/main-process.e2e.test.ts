// The built main process (out/main/index.js) in plain Node, with `electron` replaced by the
// recording stand-in in ./fake-electron: checks what main registers against the real workbench
// and handlers where the Electron binary cannot run.
import { describe, expect, it } from 'vitest'
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
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

describe.skipIf(reason !== null)('the built main process', () => {
  it('registers every API channel behind a sender check, hardens the session and closes the workbench on quit', async () => {
    const home = mkdtempSync(join(tmpdir(), 'unveil-main-'))
    try {
      let caseId: string | null = null
      if (!printReason) {
        // A case in the library the main process opens, for the driver to export a report of.
        const wb = await Workbench.open({ libraryDir: join(home, 'library'), caseRoot: join(home, 'cases') })
        caseId = wb.cases.create({ dir: join(home, 'cases', 'P'), name: 'Print case', number: 'PRINT-9', examiner: 'E2E' }).id
        await wb.templates.enrolFromPhoto(caseId, new Uint8Array(readFileSync(SAMPLE_PHOTO)), basename(SAMPLE_PHOTO), { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })
        await wb.close()
        mkdirSync(join(home, 'reports'))
      }
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', join(ROOT, 'tests/e2e-electron/fake-electron/register.mjs'), MAIN],
        { cwd: ROOT, env: { ...process.env, UNVEIL_FAKE_HOME: home, UNVEIL_HOME: join(home, 'library'), UNVEIL_CASE_ROOT: '', ELECTRON_RENDERER_URL: '' }, timeout: 120_000 }
      )
      const line = stdout.split('\n').find((l) => l.startsWith('FAKE_ELECTRON_REPORT '))
      expect(line, stdout).toBeDefined()
      const r = JSON.parse(line!.slice('FAKE_ELECTRON_REPORT '.length))
      expect(r.driverError).toBeUndefined()
      expect(r.errorBoxes).toEqual([])

      expect(r.sandboxed).toBe(true)
      expect(r.entryUrl).toBe(pathToFileURL(join(ROOT, 'out/renderer/index.html')).href)
      expect(r.webPreferences).toMatchObject({
        preload: join(ROOT, 'out/preload/index.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true
      })
      expect(existsSync(r.webPreferences.preload)).toBe(true)

      expect([...r.channels].sort()).toEqual(API_METHODS.map(channelFor).sort())
      const appInfo = r.appInfo as Outcome
      expect(appInfo.ok).toBe(true)
      // The app shares the CLI's library folder ($UNVEIL_HOME here), not Electron's userData.
      expect(appInfo.value?.libraryDir).toBe(join(home, 'library'))
      expect(appInfo.value?.defaultCaseRoot).toBe(join(home, 'Documents', 'Unveil cases'))
      expect((r.foreignFrame as Outcome).error).toMatch(/refused/)
      expect((r.noFrame as Outcome).error).toMatch(/refused/)
      expect((r.badArgument as Outcome).ok).toBe(false)

      expect(r.permission).toBe(false)
      expect(r.permissionCheck).toBe(false)
      expect(r.requests).toEqual({ entry: false, asset: false, blob: false, remote: true, otherFile: true })
      expect(r.cspHeader[0]).toContain("script-src 'self'")
      expect(r.navigationBlocked).toEqual({ app: false, remote: true })
      expect(r.windowOpen).toEqual({ action: 'deny' })
      expect(r.webviewBlocked).toBe(true)

      expect(r.menu).toEqual(expect.arrayContaining(['File', 'View', 'help']))
      expect(r.fileMenu).toEqual(expect.arrayContaining(['New case…', 'Open case folder…', 'Quit']))
      expect(r.newCaseNavigation).toBe('location.hash = "#/cases?new=1"')
      // before-quit is deferred until the workbench has closed, then quit runs again.
      expect(r.quitCalls).toBe(2)

      if (caseId) {
        // The Export report channel printed through Electron's printToPDF in a locked-down hidden window.
        const exported = r.reportExport as Outcome
        expect(exported.ok, exported.error).toBe(true)
        expect(r.prints).toHaveLength(1)
        const [print] = r.prints
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
})
