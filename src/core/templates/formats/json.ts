// JSON template files: a bare array, an array of arrays or objects, an object with a vector,
// an object with "templates", or Unveil's own "unveil-template" v1 (what the exporter writes).

import { printable } from '../../../shared/printable'
import { jsonErrorMessage } from '../../../shared/validation'
import { TemplateFormatError, quoted } from '../template-errors'
import { SHA256_HEX, templateWhere, validateVectors, type Extracted } from '../template-checks'

export interface TemplateExportItem {
  vector: ArrayLike<number>
  label?: string
  encoderId: string
  encoderSha256: string
  id?: string
  provenance?: Record<string, unknown>
}

// Python's json module writes NaN/Infinity/-Infinity, which JSON.parse rejects. Quoting them
// (outside strings) lets such files parse, so a NaN is reported precisely as NON_FINITE
// rather than the whole file being "not JSON".
const NON_FINITE_JSON = /"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g
const NON_FINITE_STRINGS: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }

export function parseJsonLenient(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (err) {
    try {
      return { ok: true, value: JSON.parse(text.replace(NON_FINITE_JSON, (m) => (m[0] === '"' ? m : `"${m}"`))) }
    } catch {
      return { ok: false, error: jsonErrorMessage(err) }
    }
  }
}

function typeName(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'object') return 'an object'
  if (typeof v === 'string') return `a string (${quoted(v, 40)})`
  return `a ${typeof v}`
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function toNumbers(arr: unknown[], where: string): number[] {
  return arr.map((x, j) => {
    if (typeof x === 'number') return x
    if (typeof x === 'string' && Object.hasOwn(NON_FINITE_STRINGS, x)) return NON_FINITE_STRINGS[x]
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

/** An encoder id as a file records it: printable and short, since it is echoed in messages and matched against the registry. */
function optionalEncoderId(obj: Record<string, unknown>, where: string): string | null {
  const id = optionalString(obj, ENCODER_ID_KEYS, where)
  if (id !== null && !/^[\x20-\x7e]{1,200}$/.test(id)) throw new TemplateFormatError('MALFORMED', `${where} encoder id ${quoted(id)} is not an id (at most 200 printable ASCII characters)`)
  return id
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
  if (!SHA256_HEX.test(sha)) throw new TemplateFormatError('MALFORMED', `${where} encoderSha256 ${quoted(sha, 70)} is not a 64-character hex SHA-256`)
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
    encoderId: optionalEncoderId(item, where) ?? defaults.encoderId,
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

export function extractJson(doc: unknown): Extracted {
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
      throw new TemplateFormatError('UNSUPPORTED', `JSON declares format ${typeof doc.format === 'string' ? quoted(doc.format) : typeName(doc.format)}; only "unveil-template" and plain template objects are read`)
    }
    if (doc.format === 'unveil-template') {
      if (doc.version !== 1) {
        throw new TemplateFormatError('UNSUPPORTED', `unveil-template version ${printable(String(JSON.stringify(doc.version)).slice(0, 20))} is not supported; this build reads version 1`)
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
      defaults = { encoderId: optionalEncoderId(doc, top), encoderSha256: optionalSha(doc, top) }
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
