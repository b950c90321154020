import { describe, expect, it } from 'vitest'
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ChromiumPrinter } from '../../../src/core/reports/chromium-printer'
import { writePdf } from '../../../src/core/reports/pdf-printer'
import type { ReportPrinter } from '../../../src/core/reports/report-printer'

const has = (tool: string): boolean => {
  try {
    execFileSync('which', [tool])
    return true
  } catch {
    return false
  }
}
const reason = !(existsSync('/usr/bin/chromium') || process.env.UNVEIL_CHROMIUM)
  ? 'no Chromium (/usr/bin/chromium or UNVEIL_CHROMIUM)'
  : !['pdfdetach', 'pdfinfo', 'pdftohtml', 'pdftotext'].every(has)
    ? 'poppler-utils not installed'
    : null
if (reason) console.log(`SKIP PDF attachment test: ${reason}`)

const HTML = `<!doctype html><html><head><meta charset="utf-8"><title>Attachment check</title></head><body>
<h1>Cover</h1><p>first page</p><h2 style="page-break-before:always">Evidence</h2><p>second page</p><h2 style="page-break-before:always">Audit log</h2><p>third</p></body></html>`
const GRAPH = JSON.stringify({ '@context': { kb: 'urn:unveil:' }, '@graph': [{ '@id': 'kb:case-1', '@type': 'case-investigation:Investigation' }] })
const attachment = { name: 'case-uco.jsonld', bytes: Buffer.from(GRAPH), mimeType: 'application/ld+json', description: 'graph' }
const outlineOf = (pdf: string): string[] =>
  [
    ...execFileSync('pdftohtml', ['-xml', '-stdout', '-i', '-q', pdf])
      .toString()
      .matchAll(/<item[^>]*>([^<]+)<\/item>/g)
  ].map((m) => m[1])

describe('writing a report PDF', () => {
  it.skipIf(reason !== null)('embeds the graph as an attached file and keeps the outline, page numbers and tags Chromium printed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unveil-pdf-'))
    try {
      const printed = await new ChromiumPrinter().print(HTML)
      const plain = join(dir, 'plain.pdf')
      writeFileSync(plain, printed)
      const out = join(dir, 'report.pdf')
      // The same printed bytes, so the comparison is of the attaching step alone.
      const { path, bytes } = await writePdf({ name: 'printed', print: async () => printed }, HTML, out, [attachment])
      expect(path).toBe(out)
      expect(readFileSync(out).equals(Buffer.from(bytes))).toBe(true)
      expect(readdirSync(dir).sort()).toEqual(['plain.pdf', 'report.pdf']) // no temp file left
      expect(execFileSync('pdfdetach', ['-list', out]).toString()).toMatch(/1 embedded files\s+1: case-uco\.jsonld/)
      execFileSync('pdfdetach', ['-save', '1', '-o', join(dir, 'g.jsonld'), out])
      expect(JSON.parse(readFileSync(join(dir, 'g.jsonld'), 'utf8'))).toEqual(JSON.parse(GRAPH))
      expect(outlineOf(plain)).toEqual(['Cover', 'Evidence', 'Audit log'])
      expect(outlineOf(out)).toEqual(outlineOf(plain))
      const info = (f: string): string => execFileSync('pdfinfo', [f]).toString()
      expect(info(out)).toMatch(/Pages:\s+3/)
      expect(info(out)).toMatch(/Tagged:\s+yes/)
      expect(info(out).match(/Producer:.*/)?.[0]).toBe(info(plain).match(/Producer:.*/)?.[0])
      expect(execFileSync('pdftotext', ['-f', '3', '-l', '3', out, '-']).toString()).toContain('page 3 of 3')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('leaves nothing at the target when printing or attaching fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unveil-pdf-'))
    try {
      const out = join(dir, 'report.pdf')
      const failing: ReportPrinter = { name: 'failing', print: () => Promise.reject(new Error('printer crashed')) }
      await expect(writePdf(failing, HTML, out, [attachment])).rejects.toThrow(/printer crashed/)
      const garbage: ReportPrinter = { name: 'garbage', print: async () => new TextEncoder().encode('not a pdf') }
      await expect(writePdf(garbage, HTML, out, [attachment])).rejects.toThrow()
      await expect(writePdf(garbage, HTML, join(dir, 'missing', 'r.pdf'), [])).rejects.toThrow(/does not exist/)
      await expect(writePdf(garbage, HTML, dir, [])).rejects.toThrow(/it is a folder/)
      expect(readdirSync(dir)).toEqual([])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
