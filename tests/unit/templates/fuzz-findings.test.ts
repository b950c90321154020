import { describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseTemplateFile } from '../../../src/core/templates/template-codec'
import { readAlignedManifest } from '../../../src/core/datasets/dataset-aligner'
import { expectTemplateError, makeNpy } from './helpers'

// Regressions for what the fuzz suite (tests/fuzz) found: every refusal a short, one-line message.
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const vector = Array.from({ length: 8 }, (_, i) => (i + 1) / 10)

function oneLine(fn: () => unknown): string {
  let message = ''
  try {
    fn()
  } catch (err) {
    message = (err as Error).message
  }
  expect(message).not.toBe('')
  expect(message).not.toMatch(/[\x00-\x1f\x7f-\x9f]/)
  expect(message.length).toBeLessThan(400)
  return message
}

describe('template refusals found by the fuzz suite', () => {
  it("reads '__proto__' in a vector as a string, not as Object.prototype", () => {
    const values = [...vector.slice(0, 3), '__proto__', ...vector.slice(4)]
    expectTemplateError(() => parseTemplateFile(utf8(JSON.stringify(values))), 'MALFORMED', 'template 0, value 3 is a string ("__proto__"), not a number')
  })

  it('quotes only the start of a deeply nested npy header', () => {
    const header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(20000)}8${')'.repeat(10)}, }`
    const message = oneLine(() => parseTemplateFile(makeNpy({ values: vector, shape: [8], header })))
    expect(message).toMatch(/^npy header is not a valid Python literal: nesting deeper than 16 levels at character \d+ in "\{'descr'.*…"$/)
  })

  it('escapes DEL and C1 controls (0x9b starts a terminal sequence) when quoting the file', () => {
    const header = "{'descr': '<f4', 'fortran_order': False, 'shape': (8,), }\x7f\x9b31m"
    expect(oneLine(() => parseTemplateFile(makeNpy({ values: vector, shape: [8], header })))).toMatch(/unexpected "\\u007f" after the dict/)
    const text = JSON.stringify({ format: 'x\x9b2J', templates: [] })
    expect(oneLine(() => parseTemplateFile(utf8(text)))).toBe('JSON declares format "x\\u009b2J"; only "unveil-template" and plain template objects are read')
  })

  it('quotes only the start of a 100,000-value CSV row', () => {
    const rows = `${vector.join(',')}\n"${Array(100000).fill('0.1').join('\t')}\n`
    oneLine(() => parseTemplateFile(utf8(rows), { fileName: 'x.csv' }))
  })

  it('keeps a JSON syntax error on one line when the file is pretty-printed', () => {
    const text = JSON.stringify({ vector }, null, 2).replace('0.3', '0.3 x')
    expect(oneLine(() => parseTemplateFile(utf8(text)))).toMatch(/^file starts like JSON but is not valid JSON: /)
  })

  it('refuses an encoder id that is not an id (10,000 characters, terminal escapes)', () => {
    for (const id of ['x'.repeat(10000), '\u001b[31mred']) {
      const text = JSON.stringify({ encoderId: id, templates: [{ vector }] })
      expectTemplateError(() => parseTemplateFile(utf8(text)), 'MALFORMED', /encoder id ".*" is not an id \(at most 200 printable ASCII characters\)$/)
      oneLine(() => parseTemplateFile(utf8(text)))
    }
  })
})

describe('aligned-dataset manifest refusals found by the fuzz suite', () => {
  const withManifest = (m: unknown): string => {
    const dir = mkdtempSync(join(tmpdir(), 'unveil-fuzz-manifest-'))
    writeFileSync(join(dir, 'manifest.json'), typeof m === 'string' ? m : JSON.stringify(m))
    return dir
  }
  const base = { format: 'unveil-aligned-dataset', version: 1, source: '/data/images', items: [] }

  it('refuses a manifest whose source is not a path, and quotes a control-character version escaped', () => {
    for (const [m, reason] of [
      [{ ...base, source: { a: 1 } }, /is not an unveil-aligned-dataset manifest/],
      [{ ...base, version: '\u0000' }, /is version "\\u0000" of the format/],
      ['{\n  "format": \n}', /is not valid JSON/]
    ] as const) {
      const dir = withManifest(m)
      expect(oneLine(() => readAlignedManifest(dir))).toMatch(reason)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
