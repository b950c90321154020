// Prints case reports with Electron's own Chromium (webContents.printToPDF) in a hidden window
// that can do nothing but lay out the report: sandboxed, no preload, no Node, JavaScript off,
// an in-memory session of its own that loads only the one report file and data: images.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { BrowserWindow, session } from 'electron'
import { REPORT_FOOTER, REPORT_MARGINS_MM, type ReportPrinter } from '../core/workbench/workbench'

/** The print window's session: not persisted, shared with nothing else in the app. */
export const REPORT_PRINT_PARTITION = 'unveil-report-print'

const inches = (mm: number): number => mm / 25.4

/** Electron's printToPDF options for the report layout the core's Chromium printer uses too. */
export function reportPrintOptions(): Electron.PrintToPDFOptions {
  const m = REPORT_MARGINS_MM
  return {
    pageSize: 'A4',
    printBackground: true,
    displayHeaderFooter: true,
    headerTemplate: '<div></div>',
    footerTemplate: REPORT_FOOTER,
    margins: { top: inches(m.top), bottom: inches(m.bottom), left: inches(m.left), right: inches(m.right) },
    generateDocumentOutline: true,
    generateTaggedPDF: true
  }
}

export function createElectronReportPrinter(): ReportPrinter {
  // The report files being printed now (two exports may overlap).
  const allowed = new Set<string>()
  let hardened = false
  const printSession = (): Electron.Session => {
    const ses = session.fromPartition(REPORT_PRINT_PARTITION)
    if (!hardened) {
      ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
      ses.setPermissionCheckHandler(() => false)
      ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !(allowed.has(details.url) || details.url.startsWith('data:')) }))
      hardened = true
    }
    return ses
  }
  return {
    name: 'electron printToPDF',
    async print(html: string): Promise<Uint8Array> {
      // A file, not a data: URL: reports with many images run to megabytes.
      const dir = mkdtempSync(join(tmpdir(), 'unveil-report-'))
      const file = join(dir, 'report.html')
      writeFileSync(file, html, { mode: 0o600 })
      const url = pathToFileURL(file).href
      allowed.add(url)
      const win = new BrowserWindow({
        show: false,
        webPreferences: {
          session: printSession(),
          sandbox: true,
          contextIsolation: true,
          nodeIntegration: false,
          nodeIntegrationInWorker: false,
          javascript: false,
          webSecurity: true,
          allowRunningInsecureContent: false,
          webviewTag: false,
          spellcheck: false,
          devTools: false
        }
      })
      try {
        await win.loadURL(url)
        return new Uint8Array(await win.webContents.printToPDF(reportPrintOptions()))
      } finally {
        allowed.delete(url)
        win.destroy()
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
