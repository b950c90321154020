import { accessSync, constants, existsSync, renameSync, rmSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { chromium } from 'playwright-core'
import { ValidationError } from '../../shared/validation'
import { tempPathFor } from '../fs/atomic-write'

/** The Chromium the report prints with where there is no Electron: $UNVEIL_CHROMIUM, else the system one. */
export function chromiumPath(): string {
  const candidates = [process.env.UNVEIL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => !!p)
  const found = candidates.find((p) => existsSync(p))
  if (!found) throw new ValidationError('no Chromium found to print the report (set UNVEIL_CHROMIUM, or apt-get install chromium)')
  return found
}

/** Refuses, before any work, a target whose folder is missing or not writable, or that is a folder. */
export function checkWritableTarget(out: string): string {
  const abs = resolve(out)
  const dir = dirname(abs)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ValidationError(`cannot write ${abs}: folder ${dir} does not exist`)
  try {
    accessSync(dir, constants.W_OK)
  } catch {
    throw new ValidationError(`cannot write ${abs}: folder ${dir} is not writable`)
  }
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new ValidationError(`cannot write ${abs}: it is a folder`)
  return abs
}

const FOOTER = `<div style="font-size:7pt;font-family:sans-serif;width:100%;padding:0 12mm;display:flex;justify-content:space-between;color:#555">
<span class="title"></span><span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`

/**
 * Prints HTML to a PDF with Chromium (A4, page numbers, document outline from the headings).
 * The PDF is written to a temporary file beside the target and renamed over it only when
 * complete, so the target never holds a partial PDF.
 */
export async function printHtmlToPdf(html: string, out: string): Promise<string> {
  const target = checkWritableTarget(out)
  const temp = tempPathFor(target)
  const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] })
  try {
    const page = await browser.newPage()
    // No network: everything the report shows is inline.
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()))
    await page.setContent(html, { waitUntil: 'load' })
    await page.pdf({
      path: temp,
      format: 'A4',
      printBackground: true,
      displayHeaderFooter: true,
      headerTemplate: '<div></div>',
      footerTemplate: FOOTER,
      margin: { top: '14mm', bottom: '16mm', left: '12mm', right: '12mm' },
      outline: true,
      tagged: true
    })
    renameSync(temp, target)
    return target
  } catch (err) {
    rmSync(temp, { force: true })
    throw err
  } finally {
    await browser.close()
  }
}
