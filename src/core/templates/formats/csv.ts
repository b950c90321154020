// Delimited text: comma, tab or whitespace separated rows of numbers, one template per row
// (optionally behind a label column and under a header), or one template written as a column.

import { TemplateFormatError, quoted } from '../template-errors'
import type { Extracted } from '../template-checks'

const NUMBER_TOKEN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/
const NON_FINITE_TOKEN = /^[+-]?(?:nan|inf|infinity)$/i

function isNumericToken(t: string): boolean {
  return NUMBER_TOKEN.test(t) || NON_FINITE_TOKEN.test(t)
}

interface CsvLine {
  line: number
  tokens: string[]
}

export interface CsvGrid {
  delimiter: ',' | '\t' | 'whitespace'
  header: string[] | null
  rows: CsvLine[]
}

/** Splits on a delimiter, honouring "double-quoted" fields with "" escapes; fields are trimmed. */
function splitFields(line: string, delim: string): string[] {
  // Quotes are rare in numeric files, and the plain split is several times faster.
  const out = line.includes('"') ? splitQuoted(line, delim) : line.split(delim).map((t) => t.trim())
  // A single trailing delimiter ("1,2,3,") is a common exporter quirk, not an empty value.
  if (out.length > 1 && out[out.length - 1] === '') out.pop()
  return out
}

function splitQuoted(line: string, delim: string): string[] {
  const out: string[] = []
  let cur = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"'
        i++
      } else if (ch === '"') {
        quoted = false
      } else {
        cur += ch
      }
    } else if (ch === '"' && cur.trim() === '') {
      quoted = true
      cur = ''
    } else if (ch === delim) {
      out.push(cur.trim())
      cur = ''
    } else {
      cur += ch
    }
  }
  out.push(cur.trim())
  return out
}

/** Tokenises numeric delimited text; null when the text is not numbers-in-rows. */
export function readCsvGrid(text: string): CsvGrid | null {
  const raw: { line: number; text: string }[] = []
  text.split(/\r\n|\n|\r/).forEach((l, i) => {
    const t = l.trim()
    // '#' lines are comments, as written by numpy.savetxt(header=...).
    if (t !== '' && !t.startsWith('#')) raw.push({ line: i + 1, text: t })
  })
  if (raw.length === 0) return null
  const delimiter: CsvGrid['delimiter'] = raw.some((r) => r.text.includes(',')) ? ',' : raw.some((r) => r.text.includes('\t')) ? '\t' : 'whitespace'
  const lines: CsvLine[] = raw.map((r) => ({ line: r.line, tokens: delimiter === 'whitespace' ? r.text.split(/\s+/) : splitFields(r.text, delimiter) }))

  let header: string[] | null = null
  const first = lines[0].tokens
  const firstNumeric = first.map(isNumericToken)
  const allNonNumeric = firstNumeric.every((n) => !n)
  // pandas writes column names 0..D-1 above a label column: "label,0,1,2,...".
  const pandasHeader =
    lines.length > 1 && !firstNumeric[0] && first.length > 3 && [0, 1].some((base) => first.slice(1).every((t, i) => t === String(i + base)))
  if (allNonNumeric || pandasHeader) header = lines.shift()!.tokens
  if (lines.length === 0) return null

  let sawNumber = false
  for (const l of lines) {
    for (let i = 0; i < l.tokens.length; i++) {
      const t = l.tokens[i]
      if (isNumericToken(t)) sawNumber = true
      // Position 0 may be a label; anything else must be a number (empty fields are reported by the parser).
      else if (i > 0 && t !== '') return null
    }
  }
  return sawNumber ? { delimiter, header, rows: lines } : null
}

function tokenValue(t: string, where: string, field: number): number {
  if (t === '') throw new TemplateFormatError('MALFORMED', `${where}, field ${field} is empty`)
  if (NON_FINITE_TOKEN.test(t)) {
    const neg = t.startsWith('-')
    return /nan/i.test(t) ? NaN : neg ? -Infinity : Infinity
  }
  if (!NUMBER_TOKEN.test(t)) throw new TemplateFormatError('MALFORMED', `${where}, field ${field} is ${quoted(t)}, not a number`)
  return Number(t)
}

export function extractCsv(grid: CsvGrid): Extracted {
  const { rows } = grid
  const labelled = rows.map((r) => !isNumericToken(r.tokens[0]) && r.tokens[0] !== '')
  const labelColumn = labelled[0]
  rows.forEach((r, i) => {
    if (labelled[i] !== labelColumn) {
      const [withLabel, without] = labelled[i] ? [r, rows[0]] : [rows[0], r]
      throw new TemplateFormatError(
        'MALFORMED',
        `line ${withLabel.line} starts with a label (${quoted(withLabel.tokens[0])}) but line ${without.line} does not; either every row has a label or none does`
      )
    }
  })
  const meta: Record<string, unknown> = { delimiter: grid.delimiter, header: grid.header, labelColumn }
  // A header names the columns: every row must have exactly that many.
  if (grid.header) {
    const width = grid.header.length
    const off = rows.find((r) => r.tokens.length !== width)
    if (off) throw new TemplateFormatError('MALFORMED', `the header row has ${width} columns but line ${off.line} has ${off.tokens.length}`)
  }

  // One value per row, no labels: the file is a single template written as a column.
  if (!labelColumn && rows.length > 1 && rows.every((r) => r.tokens.length === 1)) {
    const where = `template 0 (lines ${rows[0].line}-${rows[rows.length - 1].line})`
    const values = rows.map((r) => tokenValue(r.tokens[0], `line ${r.line}`, 1))
    meta.layout = 'column'
    return { vectors: [values], where: [where], labels: [null], encoderId: null, encoderSha256: null, meta }
  }
  meta.layout = 'rows'
  const where = rows.map((r, i) => `template ${i} (line ${r.line})`)
  const vectors = rows.map((r) => {
    const start = labelColumn ? 1 : 0
    return r.tokens.slice(start).map((t, k) => tokenValue(t, `line ${r.line}`, start + k + 1))
  })
  return { vectors, where, labels: rows.map((r) => (labelColumn ? r.tokens[0] : null)), encoderId: null, encoderSha256: null, meta }
}
