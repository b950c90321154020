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
import { TemplateFormatError } from './template-errors'
import { validateVectors, type Extracted } from './template-checks'
import { extractCsv, readCsvGrid, type CsvGrid } from './formats/csv'
import { extractJson, parseJsonLenient } from './formats/json'
import { extractNpy, hasNpyMagic } from './formats/npy'
import { extractBin, looksLikeFloat32, looksLikeFloat64 } from './formats/raw-float32'

export { TemplateFormatError } from './template-errors'
export type { TemplateErrorCode } from './template-errors'
export { exportTemplatesJson, type TemplateExportItem } from './formats/json'
export { exportTemplatesNpy } from './formats/npy'

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
  if (looksLikeFloat64(bytes)) {
    throw new TemplateFormatError(
      'UNKNOWN_FORMAT',
      `file reads as ${bytes.length / 8} raw float64 values; raw files are read as little-endian float32: convert it (numpy: a.astype('<f4').tofile(f)) or save it as .npy`
    )
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
// Reading: detect, extract with the format's reader, then the checks every format shares

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
