import { existsSync } from 'node:fs'
import { ValidationError } from '../../shared/validation'
import { REPORT_FOOTER, REPORT_MARGINS_MM, type ReportPrinter } from './report-printer'

/** The Chromium the report prints with where there is no Electron: $UNVEIL_CHROMIUM, else the system one. */
export function chromiumPath(): string {
  const candidates = [process.env.UNVEIL_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((p): p is string => !!p)
  const found = candidates.find((p) => existsSync(p))
  if (!found) throw new ValidationError('no Chromium found to print the report (set UNVEIL_CHROMIUM, or apt-get install chromium)')
  return found
}

const mm = (x: number): string => `${x}mm`

/** Prints with a local Chromium through playwright-core (A4, page numbers, outline from the headings, tagged). */
export class ChromiumPrinter implements ReportPrinter {
  readonly name = 'chromium (playwright-core)'

  async print(html: string): Promise<Uint8Array> {
    // Loaded on first print: playwright-core is a second of start-up every CLI command would pay.
    const { chromium } = await import('playwright-core')
    const browser = await chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-gpu'] })
    try {
      const page = await browser.newPage({ javaScriptEnabled: false })
      // No network: everything the report shows is inline.
      await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()))
      await page.setContent(html, { waitUntil: 'load' })
      const m = REPORT_MARGINS_MM
      const pdf = await page.pdf({
        format: 'A4',
        printBackground: true,
        displayHeaderFooter: true,
        headerTemplate: '<div></div>',
        footerTemplate: REPORT_FOOTER,
        margin: { top: mm(m.top), bottom: mm(m.bottom), left: mm(m.left), right: mm(m.right) },
        outline: true,
        tagged: true
      })
      return new Uint8Array(pdf)
    } finally {
      await browser.close()
    }
  }
}
