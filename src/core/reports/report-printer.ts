// What prints the report's HTML to PDF bytes. The app uses Electron's printToPDF (src/main),
// the CLI and CI a local Chromium driven by playwright-core (./chromium-printer); both print
// with the same page layout, so a report looks the same whichever front end made it.

export interface ReportPrinter {
  /** Named in the report's audit entry. */
  readonly name: string
  /** The HTML (self-contained: every image and plot inline, no scripts) as PDF bytes. */
  print(html: string): Promise<Uint8Array>
}

/** The page footer: document title left, "page N of M" right (Chromium fills the classes in). */
export const REPORT_FOOTER = `<div style="font-size:7pt;font-family:sans-serif;width:100%;padding:0 12mm;display:flex;justify-content:space-between;color:#555">
<span class="title"></span><span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`

/** A4 page margins in millimetres. */
export const REPORT_MARGINS_MM = { top: 14, bottom: 16, left: 12, right: 12 }
