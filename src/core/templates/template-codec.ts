// Reading and writing face-template files (embedding vectors) in the formats examiners
// actually receive: JSON, NumPy .npy, CSV/text, and raw float32 .bin.
//
// The format is decided from the bytes, never from the file name alone: evidence files are
// often renamed, and a wrong guess would silently produce a garbage vector. Every vector is
// validated before it leaves this module, so downstream code can trust dimension and finiteness.
//
// Template and value indices in error messages are 0-based (as in numpy / JSON arrays);
// CSV messages also give the 1-based line number an editor shows.

import type { TemplateFormat } from '../../shared/types'
import { TemplateFormatError, hasNpyMagic, readNpy, writeNpy } from './npy'

export { TemplateFormatError } from './npy'
export type { TemplateErrorCode } from './npy'

export const DEFAULT_MAX_TEMPLATE_BYTES = 64 * 1024 * 1024

export interface ParsedTemplateFile {
  format: TemplateFormat
  vectors: Float32Array[]
  /** One per vector; null where the file gives none. */
  labels: (string | null)[]
  encoderId: string | null
  /** Lower-case hex. */
  encoderSha256: string | null
  /** Format-specific details (npy dtype and shape, CSV header, JSON ids and provenance, ...). */
  meta: Record<string, unknown>
}

export interface ParseTemplateOptions {
  /** Only a tie-breaker, for printable text that is neither JSON nor CSV but also decodes as float32. */
  fileName?: string
  /** Dimension of the encoder the templates are meant for; also decides how a .bin file is split. */
  expectedDim?: number
  /** Name of that encoder, for error messages. */
  expectedEncoder?: string
  maxBytes?: number
}

export interface TemplateExportItem {
  vector: ArrayLike<number>
  label?: string
  encoderId: string
  encoderSha256: string
  id?: string
  provenance?: Record<string, unknown>
}

// ---------------------------------------------------------------------------------------------
// Detection

const EXTENSION_FORMATS: Record<string, TemplateFormat> = {
  json: 'json',
  npy: 'npy',
  csv: 'csv',
  tsv: 'csv',
  txt: 'csv',
  bin: 'bin',
  f32: 'bin',
  raw: 'bin',
  dat: 'bin'
}

function extensionFormat(fileName: string | undefined): TemplateFormat | null {
  const m = fileName ? /\.([A-Za-z0-9]+)$/.exec(fileName) : null
  return m ? EXTENSION_FORMATS[m[1].toLowerCase()] ?? null : null
}

/** Strict UTF-8 text without control characters (other than whitespace), BOM removed; null if binary. */
function decodeText(bytes: Uint8Array): string | null {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes)
  } catch {
    return null
  }
  return /[\x00-\x08\x0e-\x1f\x7f]/.test(text) ? null : text
}

// Python's json module writes NaN/Infinity/-Infinity, which JSON.parse rejects. Quoting them
// (outside strings) lets such files parse, so a NaN is reported precisely as NON_FINITE
// rather than the whole file being "not JSON".
const NON_FINITE_JSON = /"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g
const NON_FINITE_STRINGS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }

function parseJsonLenient(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    try {
      return { ok: true, value: JSON.parse(text.replace(NON_FINITE_JSON, (m) => (m[0] === '"' ? m : `"${m}"`))) }
    } catch {
      return { ok: false, error: (err as Error).message }
    }
  }
}

const NUMBER_TOKEN = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/
const NON_FINITE_TOKEN = /^[+-]?(?:nan|inf|infinity)$/i

function isNumericToken(t: string): boolean {
  return NUMBER_TOKEN.test(t) || NON_FINITE_TOKEN.test(t)
}

interface CsvLine {
  line: number
  tokens: string[]
}

interface CsvGrid {
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
function readCsvGrid(text: string): CsvGrid | null {
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

// Real templates are O(1) to O(100) in magnitude (exact zeros occur after ReLU). Requiring
// values in that band rejects text and most non-float binaries, which decode to values like
// 1e+24 or 1e-35. Canonical NaN/Infinity bit patterns are let through so a genuine float32
// file containing a NaN is reported as NON_FINITE rather than as an unknown format.
function looksLikeFloat32(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length % 4 !== 0) return false
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let o = 0; o < bytes.length; o += 4) {
    const v = view.getFloat32(o, true)
    if (Number.isFinite(v)) {
      const a = Math.abs(v)
      if (a !== 0 && (a < 1e-30 || a > 1e6)) return false
    } else {
      const bits = view.getUint32(o, true) & 0x7fffffff
      if (bits !== 0x7fc00000 && bits !== 0x7f800000) return false
    }
  }
  return true
}

interface Detection {
  format: TemplateFormat
  json?: unknown
  csv?: CsvGrid
}

function detect(bytes: Uint8Array, fileName?: string): Detection {
  if (bytes.length === 0) throw new TemplateFormatError('EMPTY', 'file is empty')
  if (hasNpyMagic(bytes)) return { format: 'npy' }

  const text = decodeText(bytes)
  if (text !== null) {
    if (text.trim() === '') throw new TemplateFormatError('EMPTY', 'file contains only whitespace')
    const trimmed = text.trimStart()
    let jsonError: string | null = null
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      const r = parseJsonLenient(text)
      if (r.ok) return { format: 'json', json: r.value }
      jsonError = r.error
    } else {
      const grid = readCsvGrid(text)
      // Text that parses as numbers wins over raw float32 even when both fit: ASCII digits
      // and commas themselves decode to plausible floats (e.g. "0.1," is 2.5e-12).
      if (grid) return { format: 'csv', csv: grid }
    }
    // Printable text that is neither JSON nor CSV could still, just, be float32 data whose
    // bytes happen to be printable: the one real tie, settled by the extension.
    if (extensionFormat(fileName) === 'bin' && looksLikeFloat32(bytes)) return { format: 'bin' }
    if (jsonError !== null) throw new TemplateFormatError('UNKNOWN_FORMAT', `file starts like JSON but is not valid JSON: ${jsonError}`)
    throw new TemplateFormatError('UNKNOWN_FORMAT', 'file is text but neither JSON nor rows of numbers (CSV)')
  }
  if (looksLikeFloat32(bytes)) return { format: 'bin' }
  throw new TemplateFormatError(
    'UNKNOWN_FORMAT',
    bytes.length % 4 === 0
      ? 'file is binary but not an npy file, and its bytes do not read as plausible float32 template values'
      : `file is binary but not an npy file, and its length (${bytes.length} bytes) is not a multiple of 4, so it is not raw float32`
  )
}

export function detectTemplateFormat(bytes: Uint8Array, fileName?: string): TemplateFormat {
  return detect(bytes, fileName).format
}

// ---------------------------------------------------------------------------------------------
// Validation shared by every format (and by the exporters, so exports always re-import)

function describeValue(x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (!Number.isFinite(x)) return String(x)
  return `${x}, outside the float32 range`
}

function validateVectors(sources: ArrayLike<number>[], where: string[], expectedDim?: number, expectedEncoder?: string): Float32Array[] {
  if (sources.length === 0) throw new TemplateFormatError('EMPTY', 'file contains no templates')
  const d = sources[0].length
  sources.forEach((v, i) => {
    if (v.length === 0) throw new TemplateFormatError('EMPTY', `${where[i]} has no values`)
    if (v.length !== d) throw new TemplateFormatError('RAGGED', `${where[i]} has ${v.length} values but ${where[0]} has ${d}`)
  })
  if (expectedDim !== undefined && d !== expectedDim) {
    const subject = sources.length === 1 ? 'template has' : `templates have`
    const encoder = expectedEncoder ? `encoder ${expectedEncoder}` : 'the expected encoder'
    throw new TemplateFormatError('WRONG_DIMENSION', `${subject} ${d} values but ${encoder} produces ${expectedDim}`)
  }
  return sources.map((v, i) => {
    const out = new Float32Array(d)
    let nonZero = false
    for (let j = 0; j < d; j++) {
      const x = v[j]
      const f = Math.fround(x)
      if (!Number.isFinite(f)) throw new TemplateFormatError('NON_FINITE', `${where[i]}, value ${j} is ${describeValue(x)}`)
      if (f !== 0) nonZero = true
      out[j] = f
    }
    // A zero template has no direction: every cosine against it is undefined.
    if (!nonZero) throw new TemplateFormatError('ZERO_VECTOR', `${where[i]} is all zeros`)
    return out
  })
}

const SHA256_HEX = /^[0-9a-f]{64}$/i

interface Extracted {
  vectors: ArrayLike<number>[]
  where: string[]
  labels: (string | null)[]
  encoderId: string | null
  encoderSha256: string | null
  meta: Record<string, unknown>
}

const templateWhere = (n: number): string[] => Array.from({ length: n }, (_, i) => `template ${i}`)

// ---------------------------------------------------------------------------------------------
// JSON

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'string') return `a string (${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)})`
  return `a ${typeof v}`
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function toNumbers(arr: unknown[], where: string): number[] {
  return arr.map((x, j) => {
    if (typeof x === 'number') return x
    if (typeof x === 'string' && x in NON_FINITE_STRINGS) return NON_FINITE_STRINGS[x]
    if (x === null) {
      // JSON.stringify writes NaN and Infinity as null, so null almost always means a lost non-finite value.
      throw new TemplateFormatError('NON_FINITE', `${where}, value ${j} is null (JSON has no NaN or Infinity; a non-finite value was probably written as null)`)
    }
    throw new TemplateFormatError('MALFORMED', `${where}, value ${j} is ${typeName(x)}, not a number`)
  })
}

const VECTOR_KEYS = ['template', 'vector', 'embedding'] as const
const ENCODER_ID_KEYS = ['encoderId', 'encoder', 'encoder_id'] as const
const ENCODER_SHA_KEYS = ['encoderSha256', 'encoder_sha256'] as const
const ITEM_KEYS = new Set<string>([...VECTOR_KEYS, ...ENCODER_ID_KEYS, ...ENCODER_SHA_KEYS, 'label', 'id', 'provenance', 'dimension'])

/** The one value among synonymous keys; two different values is an error, not a guess. */
function pickOne(obj: Record<string, unknown>, keys: readonly string[], where: string): { key: string; value: unknown } | null {
  const present = keys.filter((k) => obj[k] !== undefined)
  if (present.length === 0) return null
  for (const k of present.slice(1)) {
    if (JSON.stringify(obj[k]) !== JSON.stringify(obj[present[0]])) {
      throw new TemplateFormatError('MALFORMED', `${where} has both "${present[0]}" and "${k}" with different values`)
    }
  }
  return { key: present[0], value: obj[present[0]] }
}

function optionalString(obj: Record<string, unknown>, keys: readonly string[], where: string): string | null {
  const found = pickOne(obj, keys, where)
  if (!found || found.value === null) return null
  if (typeof found.value !== 'string') throw new TemplateFormatError('MALFORMED', `${where} "${found.key}" is ${typeName(found.value)}, expected a string`)
  return found.value
}

function optionalSha(obj: Record<string, unknown>, where: string): string | null {
  const sha = optionalString(obj, ENCODER_SHA_KEYS, where)
  if (sha === null) return null
  if (!SHA256_HEX.test(sha)) throw new TemplateFormatError('MALFORMED', `${where} encoderSha256 ${JSON.stringify(sha)} is not a 64-character hex SHA-256`)
  return sha.toLowerCase()
}

interface JsonItem {
  values: number[]
  label: string | null
  id: string | null
  encoderId: string | null
  encoderSha256: string | null
  provenance: Record<string, unknown> | null
  extra: Record<string, unknown> | null
}

function readJsonItem(item: unknown, where: string, defaults: { encoderId: string | null; encoderSha256: string | null }): JsonItem {
  if (Array.isArray(item)) {
    return { values: toNumbers(item, where), label: null, id: null, ...defaults, provenance: null, extra: null }
  }
  if (!isPlainObject(item)) throw new TemplateFormatError('MALFORMED', `${where} is ${typeName(item)}, expected an array of numbers or an object with a "vector"`)
  const present = VECTOR_KEYS.filter((k) => item[k] !== undefined)
  if (present.length === 0) throw new TemplateFormatError('MALFORMED', `${where} has none of the keys "template", "vector", "embedding"`)
  if (present.length > 1) throw new TemplateFormatError('MALFORMED', `${where} has several vectors ("${present.join('", "')}"); expected one`)
  const raw = item[present[0]]
  if (!Array.isArray(raw)) throw new TemplateFormatError('MALFORMED', `${where} "${present[0]}" is ${typeName(raw)}, expected an array of numbers`)
  const values = toNumbers(raw, where)

  if (item.dimension !== undefined) {
    if (!Number.isInteger(item.dimension)) throw new TemplateFormatError('MALFORMED', `${where} "dimension" is ${typeName(item.dimension)}, expected an integer`)
    const dim = item.dimension as number
    if (values.length < dim) throw new TemplateFormatError('TRUNCATED', `${where} declares dimension ${dim} but its vector has ${values.length} values`)
    if (values.length > dim) throw new TemplateFormatError('MALFORMED', `${where} declares dimension ${dim} but its vector has ${values.length} values`)
  }
  const provenance = item.provenance
  if (provenance !== undefined && provenance !== null && !isPlainObject(provenance)) {
    throw new TemplateFormatError('MALFORMED', `${where} "provenance" is ${typeName(provenance)}, expected an object`)
  }
  const extraEntries = Object.entries(item).filter(([k]) => !ITEM_KEYS.has(k))
  return {
    values,
    label: optionalString(item, ['label'], where),
    id: optionalString(item, ['id'], where),
    encoderId: optionalString(item, ENCODER_ID_KEYS, where) ?? defaults.encoderId,
    encoderSha256: optionalSha(item, where) ?? defaults.encoderSha256,
    provenance: provenance ?? null,
    extra: extraEntries.length ? Object.fromEntries(extraEntries) : null
  }
}

/** A file describes one encoder: every template names the same one, or none does. */
function agreeOn(items: JsonItem[], field: 'encoderId' | 'encoderSha256', label: string): string | null {
  const first = items[0][field]
  items.forEach((it, i) => {
    if (it[field] !== first) {
      const show = (v: string | null): string => (v === null ? `no ${label}` : `${label} ${v}`)
      throw new TemplateFormatError('MIXED_ENCODERS', `template ${i} names ${show(it[field])} but template 0 names ${show(first)}; a file must describe templates from a single encoder`)
    }
  })
  return first
}

function extractJson(doc: unknown): Extracted {
  let layout: string
  let rawItems: unknown[]
  let defaults = { encoderId: null as string | null, encoderSha256: null as string | null }
  const meta: Record<string, unknown> = {}

  if (Array.isArray(doc)) {
    if (doc.length === 0) throw new TemplateFormatError('EMPTY', 'JSON array is empty')
    if (Array.isArray(doc[0]) || isPlainObject(doc[0])) {
      layout = Array.isArray(doc[0]) ? 'arrays' : 'objects'
      rawItems = doc
    } else {
      layout = 'numbers'
      rawItems = [doc]
    }
  } else if (isPlainObject(doc)) {
    const top = 'top-level object'
    if (doc.format !== undefined && doc.format !== 'unveil-template') {
      throw new TemplateFormatError('UNSUPPORTED', `JSON declares format ${JSON.stringify(doc.format)}; only "unveil-template" and plain template objects are read`)
    }
    if (doc.format === 'unveil-template') {
      if (doc.version !== 1) {
        throw new TemplateFormatError('UNSUPPORTED', `unveil-template version ${JSON.stringify(doc.version)} is not supported; this build reads version 1`)
      }
      if (!Array.isArray(doc.templates)) throw new TemplateFormatError('MALFORMED', `unveil-template "templates" is ${typeName(doc.templates)}, expected an array`)
      layout = 'unveil-template'
      meta.version = 1
    } else {
      layout = doc.templates !== undefined ? 'templates' : 'object'
    }
    if (doc.templates !== undefined) {
      if (!Array.isArray(doc.templates)) throw new TemplateFormatError('MALFORMED', `"templates" is ${typeName(doc.templates)}, expected an array`)
      if (VECTOR_KEYS.some((k) => doc[k] !== undefined)) {
        throw new TemplateFormatError('MALFORMED', 'JSON object has both "templates" and a top-level vector; expected one or the other')
      }
      rawItems = doc.templates
      defaults = { encoderId: optionalString(doc, ENCODER_ID_KEYS, top), encoderSha256: optionalSha(doc, top) }
      const known = new Set<string>(['format', 'version', 'templates', ...ENCODER_ID_KEYS, ...ENCODER_SHA_KEYS])
      const extra = Object.entries(doc).filter(([k]) => !known.has(k))
      if (extra.length) meta.extra = Object.fromEntries(extra)
    } else if (VECTOR_KEYS.some((k) => doc[k] !== undefined)) {
      rawItems = [doc]
    } else {
      const keys = Object.keys(doc)
      throw new TemplateFormatError(
        'MALFORMED',
        `JSON object has none of the keys "template", "vector", "embedding", "templates" (it has ${keys.length ? keys.map((k) => `"${k}"`).join(', ') : 'no keys'})`
      )
    }
    if (rawItems.length === 0) throw new TemplateFormatError('EMPTY', '"templates" is empty')
  } else {
    throw new TemplateFormatError('MALFORMED', `JSON document is ${typeName(doc)}, expected an array or an object`)
  }

  const where = templateWhere(rawItems.length)
  const items = rawItems.map((it, i) => readJsonItem(it, where[i], defaults))
  if (layout === 'unveil-template') {
    items.forEach((it, i) => {
      if (it.encoderId === null || it.encoderSha256 === null) {
        throw new TemplateFormatError('MALFORMED', `template ${i} of an unveil-template file lacks ${it.encoderId === null ? 'encoderId' : 'encoderSha256'}`)
      }
    })
  }
  meta.layout = layout
  meta.ids = items.map((it) => it.id)
  meta.provenance = items.map((it) => it.provenance)
  if (items.some((it) => it.extra)) meta.itemExtra = items.map((it) => it.extra)
  return {
    vectors: items.map((it) => it.values),
    where,
    labels: items.map((it) => it.label),
    encoderId: agreeOn(items, 'encoderId', 'encoder'),
    encoderSha256: agreeOn(items, 'encoderSha256', 'encoder SHA-256'),
    meta
  }
}

// ---------------------------------------------------------------------------------------------
// CSV

function tokenValue(t: string, where: string, field: number): number {
  if (t === '') throw new TemplateFormatError('MALFORMED', `${where}, field ${field} is empty`)
  if (NON_FINITE_TOKEN.test(t)) {
    const neg = t.startsWith('-')
    return /nan/i.test(t) ? NaN : neg ? -Infinity : Infinity
  }
  if (!NUMBER_TOKEN.test(t)) throw new TemplateFormatError('MALFORMED', `${where}, field ${field} is ${JSON.stringify(t)}, not a number`)
  return Number(t)
}

function extractCsv(grid: CsvGrid): Extracted {
  const { rows } = grid
  const labelled = rows.map((r) => !isNumericToken(r.tokens[0]) && r.tokens[0] !== '')
  const labelColumn = labelled[0]
  rows.forEach((r, i) => {
    if (labelled[i] !== labelColumn) {
      const [withLabel, without] = labelled[i] ? [r, rows[0]] : [rows[0], r]
      throw new TemplateFormatError(
        'MALFORMED',
        `line ${withLabel.line} starts with a label (${JSON.stringify(withLabel.tokens[0])}) but line ${without.line} does not; either every row has a label or none does`
      )
    }
  })
  const meta: Record<string, unknown> = { delimiter: grid.delimiter, header: grid.header, labelColumn }

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

// ---------------------------------------------------------------------------------------------
// npy and bin

function extractNpy(bytes: Uint8Array): Extracted {
  const arr = readNpy(bytes)
  const shapeText = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`
  if (arr.data.length === 0) throw new TemplateFormatError('EMPTY', `npy array has shape ${shapeText}: it holds no values`)
  const [n, d] = arr.shape.length === 1 ? [1, arr.shape[0]] : arr.shape
  const vectors = Array.from({ length: n }, (_, i) => arr.data.subarray(i * d, (i + 1) * d))
  return {
    vectors,
    where: templateWhere(n),
    labels: new Array<null>(n).fill(null),
    encoderId: null,
    encoderSha256: null,
    meta: { npyVersion: `${arr.version.major}.${arr.version.minor}`, dtype: arr.dtype, shape: arr.shape }
  }
}

function extractBin(bytes: Uint8Array, expectedDim?: number): Extracted {
  const count = bytes.length / 4
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const all = new Float32Array(count)
  for (let i = 0; i < count; i++) all[i] = view.getFloat32(i * 4, true)
  // Raw floats carry no shape: split into rows only when the encoder's dimension says how.
  const d = expectedDim !== undefined && count % expectedDim === 0 ? expectedDim : count
  const n = count / d
  const vectors = Array.from({ length: n }, (_, i) => all.subarray(i * d, (i + 1) * d))
  return {
    vectors,
    where: templateWhere(n),
    labels: new Array<null>(n).fill(null),
    encoderId: null,
    encoderSha256: null,
    meta: { byteOrder: 'little-endian', layout: n === 1 ? 'single' : 'rows' }
  }
}

// ---------------------------------------------------------------------------------------------
// Public API

export function parseTemplateFile(bytes: Uint8Array, opts: ParseTemplateOptions = {}): ParsedTemplateFile {
  const { expectedDim, maxBytes = DEFAULT_MAX_TEMPLATE_BYTES } = opts
  if (expectedDim !== undefined && (!Number.isInteger(expectedDim) || expectedDim <= 0)) {
    throw new RangeError(`parseTemplateFile: expectedDim must be a positive integer, got ${expectedDim}`)
  }
  if (bytes.length > maxBytes) {
    const mib = maxBytes >= 1048576 ? ` (${+(maxBytes / 1048576).toFixed(1)} MiB)` : ''
    throw new TemplateFormatError('TOO_LARGE', `file is ${bytes.length} bytes, over the limit of ${maxBytes} bytes${mib}`)
  }
  const det = detect(bytes, opts.fileName)
  let ex: Extracted
  switch (det.format) {
    case 'npy':
      ex = extractNpy(bytes)
      break
    case 'json':
      ex = extractJson(det.json)
      break
    case 'csv':
      ex = extractCsv(det.csv!)
      break
    case 'bin':
      ex = extractBin(bytes, expectedDim)
      break
  }
  const vectors = validateVectors(ex.vectors, ex.where, expectedDim, opts.expectedEncoder)
  return { format: det.format, vectors, labels: ex.labels, encoderId: ex.encoderId, encoderSha256: ex.encoderSha256, meta: ex.meta }
}

/** Shortest decimal that reads back as the same float32 (JSON numbers are float64, and a float32 widened prints 17 digits). */
function float32ToString(x: number): string {
  const f = Math.fround(x)
  if (Object.is(f, -0)) return '-0'
  for (let p = 1; p < 9; p++) {
    const s = Number(f.toPrecision(p))
    if (Math.fround(s) === f) return String(s)
  }
  return String(Number(f.toPrecision(9))) // 9 significant digits always identify a float32
}

export function exportTemplatesJson(items: TemplateExportItem[]): string {
  if (items.length === 0) throw new TemplateFormatError('EMPTY', 'no templates to export')
  const where = templateWhere(items.length)
  const vectors = validateVectors(items.map((it) => it.vector), where)
  items.forEach((it, i) => {
    if (typeof it.encoderId !== 'string' || it.encoderId === '') throw new TemplateFormatError('MALFORMED', `template ${i} has no encoderId`)
    if (!SHA256_HEX.test(it.encoderSha256)) {
      throw new TemplateFormatError('MALFORMED', `template ${i} encoderSha256 ${JSON.stringify(it.encoderSha256)} is not a 64-character hex SHA-256`)
    }
    // The reader rejects mixed encoders, so the writer must too or the file would not round-trip.
    if (it.encoderId !== items[0].encoderId) {
      throw new TemplateFormatError('MIXED_ENCODERS', `template ${i} comes from encoder ${it.encoderId} but template 0 from ${items[0].encoderId}; export them to separate files`)
    }
    if (it.encoderSha256.toLowerCase() !== items[0].encoderSha256.toLowerCase()) {
      throw new TemplateFormatError('MIXED_ENCODERS', `template ${i} names a different SHA-256 for encoder ${it.encoderId} than template 0; export them to separate files`)
    }
  })
  // Hand-assembled so each vector sits on one line: readable, yet not one number per line.
  const body = items.map((it, i) => {
    const fields = [
      `"id": ${JSON.stringify(it.id ?? null)}`,
      `"label": ${JSON.stringify(it.label ?? null)}`,
      `"encoderId": ${JSON.stringify(it.encoderId)}`,
      `"encoderSha256": ${JSON.stringify(it.encoderSha256.toLowerCase())}`,
      `"dimension": ${vectors[i].length}`,
      `"vector": [${Array.from(vectors[i], float32ToString).join(', ')}]`,
      `"provenance": ${JSON.stringify(it.provenance ?? null)}`
    ]
    return `    {\n      ${fields.join(',\n      ')}\n    }`
  })
  return `{\n  "format": "unveil-template",\n  "version": 1,\n  "templates": [\n${body.join(',\n')}\n  ]\n}\n`
}

export function exportTemplatesNpy(vectors: ArrayLike<number>[]): Uint8Array {
  if (vectors.length === 0) throw new TemplateFormatError('EMPTY', 'no templates to export')
  const checked = validateVectors(vectors, templateWhere(vectors.length))
  const d = checked[0].length
  const flat = new Float32Array(checked.length * d)
  checked.forEach((v, i) => flat.set(v, i * d))
  return writeNpy(flat, checked.length === 1 ? [d] : [checked.length, d])
}
