import { describe, it, expect } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  detectTemplateFormat,
  exportTemplatesJson,
  exportTemplatesNpy,
  parseTemplateFile,
  TemplateFormatError,
  DEFAULT_MAX_TEMPLATE_BYTES,
  type TemplateExportItem
} from '../../../src/core/templates/template-codec'
import { readNpy } from '../../../src/core/templates/formats/npy'
import { bitsEqual, expectTemplateError, float32Bytes, makeNpy, numpyUnavailable, randomTemplate, rng, utf8 } from './helpers'

const SHA = 'ab'.repeat(32)
const SHA2 = 'cd'.repeat(32)

describe('JSON', () => {
  it('round-trips the unveil-template export bit for bit', () => {
    const vectors = [randomTemplate(512, 11), randomTemplate(512, 12), randomTemplate(512, 13)]
    // Awkward float32 values: subnormal-adjacent, large, negative zero, and ones with 9 significant digits.
    vectors[0].set([-0, 1e-30, 123456.7890625, Math.fround(0.1), Math.fround(1 / 3), -3.4028234663852886e38 / 1e33])
    const items: TemplateExportItem[] = vectors.map((vector, i) => ({
      vector,
      label: i === 1 ? undefined : `subject "${i}" ✓`,
      encoderId: 'arcface-r100',
      encoderSha256: SHA,
      id: i === 2 ? undefined : `t-${i}`,
      provenance: i === 0 ? { source: 'evidence.npy', row: 0, nested: { ok: true } } : undefined
    }))
    const text = exportTemplatesJson(items)
    const parsed = parseTemplateFile(utf8(text), { expectedDim: 512, expectedEncoder: 'arcface-r100' })

    expect(parsed.format).toBe('json')
    expect(parsed.vectors).toHaveLength(3)
    parsed.vectors.forEach((v, i) => expect(bitsEqual(v, vectors[i]), `vector ${i}`).toBe(true))
    expect(Object.is(parsed.vectors[0][0], -0)).toBe(true)
    expect(parsed.labels).toEqual(['subject "0" ✓', null, 'subject "2" ✓'])
    expect(parsed.encoderId).toBe('arcface-r100')
    expect(parsed.encoderSha256).toBe(SHA)
    expect(parsed.meta).toEqual({
      layout: 'unveil-template',
      version: 1,
      ids: ['t-0', 't-1', null],
      provenance: [{ source: 'evidence.npy', row: 0, nested: { ok: true } }, null, null]
    })
  })

  it('writes the documented structure, with float32 values in their shortest form', () => {
    const text = exportTemplatesJson([{ vector: [0.1, -0.25, 1 / 3], label: 'a', encoderId: 'enc', encoderSha256: SHA.toUpperCase(), id: 'x' }])
    const doc = JSON.parse(text)
    expect(doc).toEqual({
      format: 'unveil-template',
      version: 1,
      templates: [{ id: 'x', label: 'a', encoderId: 'enc', encoderSha256: SHA, dimension: 3, vector: [0.1, -0.25, 0.33333334], provenance: null }]
    })
    expect(text).toContain('"vector": [0.1, -0.25, 0.33333334]')
    expect(text.split('\n').length).toBeLessThan(20)
  })

  it('reads a bare array of numbers as one template', () => {
    const p = parseTemplateFile(utf8('[0.5, -0.5, 1e-3]'))
    expect(p.vectors.map((v) => Array.from(v))).toEqual([[0.5, -0.5, Math.fround(1e-3)]])
    expect(p.labels).toEqual([null])
    expect(p.encoderId).toBeNull()
  })

  it('reads an array of arrays as N templates', () => {
    const p = parseTemplateFile(utf8('[[1, 2], [3, 4], [5, 6]]'), { expectedDim: 2 })
    expect(p.vectors.map((v) => Array.from(v))).toEqual([[1, 2], [3, 4], [5, 6]])
    expect(p.meta.layout).toBe('arrays')
  })

  it.each(['template', 'vector', 'embedding'])('reads a single object keyed "%s"', (key) => {
    const p = parseTemplateFile(utf8(JSON.stringify({ [key]: [1, 2, 3], encoder: 'facenet', encoderSha256: SHA2, label: 'suspect', note: 'from lab' })))
    expect(Array.from(p.vectors[0])).toEqual([1, 2, 3])
    expect(p.encoderId).toBe('facenet')
    expect(p.encoderSha256).toBe(SHA2)
    expect(p.labels).toEqual(['suspect'])
    expect(p.meta.itemExtra).toEqual([{ note: 'from lab' }])
  })

  it('reads { templates: [...] } with a top-level encoder inherited by every item', () => {
    const doc = { encoderId: 'enc', encoder_sha256: SHA, source: 'lab', templates: [{ embedding: [1, 0], label: 'a' }, [0, 1], { vector: [1, 1], encoderId: 'enc' }] }
    const p = parseTemplateFile(utf8(JSON.stringify(doc)))
    expect(p.vectors.map((v) => Array.from(v))).toEqual([[1, 0], [0, 1], [1, 1]])
    expect(p.labels).toEqual(['a', null, null])
    expect(p.encoderId).toBe('enc')
    expect(p.encoderSha256).toBe(SHA)
    expect(p.meta).toMatchObject({ layout: 'templates', extra: { source: 'lab' } })
  })

  it('reads Python json.dumps output containing NaN, reporting it precisely', () => {
    const rows = Array.from({ length: 4 }, () => Array.from({ length: 20 }, () => '0.5'))
    rows[3][17] = 'NaN'
    rows[3][18] = '-Infinity'
    const pythonish = `[${rows.map((r) => `[${r.join(', ')}]`).join(', ')}]`
    expect(() => JSON.parse(pythonish)).toThrow()
    expect(detectTemplateFormat(utf8(pythonish))).toBe('json')
    expectTemplateError(() => parseTemplateFile(utf8(pythonish)), 'NON_FINITE', 'template 3, value 17 is NaN')
  })

  it('leaves NaN and Infinity inside JSON strings alone when repairing Python output', () => {
    const p = parseTemplateFile(utf8('{"label": "NaN \\"Infinity\\" -Infinity", "vector": [1, 2], "score": NaN}'))
    expect(p.labels).toEqual(['NaN "Infinity" -Infinity'])
    expect(p.meta.itemExtra).toEqual([{ score: 'NaN' }])
  })
})

describe('npy', () => {
  it('round-trips one template as (D,) and many as (N, D)', () => {
    const one = randomTemplate(512, 1)
    const oneFile = exportTemplatesNpy([one])
    expect(readNpy(oneFile).shape).toEqual([512])
    const p1 = parseTemplateFile(oneFile, { expectedDim: 512 })
    expect(p1.format).toBe('npy')
    expect(bitsEqual(p1.vectors[0], one)).toBe(true)
    expect(p1.labels).toEqual([null])
    expect(p1.meta).toEqual({ npyVersion: '1.0', dtype: '<f4', shape: [512] })

    const many = [1, 2, 3, 4].map((s) => randomTemplate(128, s))
    const manyFile = exportTemplatesNpy(many)
    expect(readNpy(manyFile).shape).toEqual([4, 128])
    const p2 = parseTemplateFile(manyFile, { expectedDim: 128 })
    expect(p2.vectors).toHaveLength(4)
    p2.vectors.forEach((v, i) => expect(bitsEqual(v, many[i])).toBe(true))
  })

  it('returns independent vectors, not views sharing one buffer with the file', () => {
    const file = exportTemplatesNpy([randomTemplate(4, 1), randomTemplate(4, 2)])
    const p = parseTemplateFile(file)
    p.vectors[0][0] = 99
    expect(p.vectors[1][0]).not.toBe(99)
    expect(parseTemplateFile(file).vectors[0][0]).not.toBe(99)
  })

  it('reads float64 and big-endian files, narrowing to float32', () => {
    const values = Array.from(randomTemplate(6, 3), (x) => x + 1e-9) // float64 detail below float32 resolution
    for (const descr of ['<f8', '>f8', '>f4'] as const) {
      const p = parseTemplateFile(makeNpy({ values, shape: [2, 3], descr }))
      expect(p.meta.dtype).toBe(descr)
      expect(p.vectors.map((v) => Array.from(v))).toEqual([values.slice(0, 3).map(Math.fround), values.slice(3).map(Math.fround)])
    }
  })

  it('rejects float64 values beyond the float32 range', () => {
    expectTemplateError(
      () => parseTemplateFile(makeNpy({ values: [1, 2, 3, 1e300], shape: [4], descr: '<f8' })),
      'NON_FINITE',
      'template 0, value 3 is 1e+300, outside the float32 range'
    )
  })
})

describe('CSV', () => {
  it('reads one template per row, with or without a header row', () => {
    for (const text of ['1,2,3\n4,5,6\n', 'e0,e1,e2\r\n1,2,3\r\n4,5,6', '# written by numpy.savetxt\n1 2 3\n4 5 6\n\n', '1\t2\t3\n4\t5\t6', '1, 2, 3,\n4, 5, 6,']) {
      const p = parseTemplateFile(utf8(text), { fileName: 'data.csv' })
      expect(p.format, text).toBe('csv')
      expect(p.vectors.map((v) => Array.from(v)), text).toEqual([
        [1, 2, 3],
        [4, 5, 6]
      ])
    }
    expect(parseTemplateFile(utf8('e0,e1,e2\n1,2,3')).meta).toEqual({ delimiter: ',', header: ['e0', 'e1', 'e2'], labelColumn: false, layout: 'rows' })
  })

  it('reads a leading label column, including quoted labels with commas', () => {
    const p = parseTemplateFile(utf8('label,e0,e1\n"Doe, J.",0.5,-0.5\nbob,1e-2,2\n'))
    expect(p.labels).toEqual(['Doe, J.', 'bob'])
    expect(p.vectors.map((v) => Array.from(v))).toEqual([
      [0.5, -0.5],
      [Math.fround(0.01), 2]
    ])
  })

  it('recognises the pandas header "label,0,1,2,..." as a header, not a template', () => {
    const p = parseTemplateFile(utf8('label,0,1,2,3\na,1,2,3,4\nb,5,6,7,8\n'))
    expect(p.vectors).toHaveLength(2)
    expect(p.labels).toEqual(['a', 'b'])
  })

  it('reads a single column as one template', () => {
    const values = Array.from(randomTemplate(128, 5))
    const p = parseTemplateFile(utf8('value\n' + values.map((v) => String(v)).join('\n')), { expectedDim: 128 })
    expect(p.vectors).toHaveLength(1)
    expect(bitsEqual(p.vectors[0], values)).toBe(true)
    expect(p.meta.layout).toBe('column')
  })

  it('round-trips float32 values written as text', () => {
    const vectors = [randomTemplate(512, 7), randomTemplate(512, 8)]
    const text = vectors.map((v) => Array.from(v).join(',')).join('\n')
    const p = parseTemplateFile(utf8(text), { expectedDim: 512 })
    p.vectors.forEach((v, i) => expect(bitsEqual(v, vectors[i])).toBe(true))
  })

  it('reports CSV errors with line numbers', () => {
    expectTemplateError(() => parseTemplateFile(utf8('h1,h2\n1,2\n3,inf\n')), 'NON_FINITE', 'template 1 (line 3), value 1 is Infinity')
    expectTemplateError(() => parseTemplateFile(utf8('1,2,3\n4,5\n')), 'RAGGED', 'template 1 (line 2) has 2 values but template 0 (line 1) has 3')
    expectTemplateError(() => parseTemplateFile(utf8('1,,3\n')), 'MALFORMED', 'line 1, field 2 is empty')
    expectTemplateError(
      () => parseTemplateFile(utf8('1,2\nbob,3,4\n')),
      'MALFORMED',
      'line 2 starts with a label ("bob") but line 1 does not; either every row has a label or none does'
    )
    expectTemplateError(() => parseTemplateFile(utf8('1\n2\nnan\n')), 'NON_FINITE', 'template 0 (lines 1-3), value 2 is NaN')
  })
})

describe('bin', () => {
  it('reads raw little-endian float32 as one template', () => {
    const v = randomTemplate(512, 9)
    const p = parseTemplateFile(float32Bytes(v), { fileName: 'probe.bin' })
    expect(p.format).toBe('bin')
    expect(p.vectors).toHaveLength(1)
    expect(bitsEqual(p.vectors[0], v)).toBe(true)
    expect(p.meta).toEqual({ byteOrder: 'little-endian', layout: 'single' })
  })

  it('splits N×D when the expected dimension divides the length', () => {
    const vs = [1, 2, 3].map((s) => randomTemplate(128, s))
    const bytes = float32Bytes(vs.flatMap((v) => Array.from(v)))
    const p = parseTemplateFile(bytes, { expectedDim: 128 })
    expect(p.vectors).toHaveLength(3)
    p.vectors.forEach((v, i) => expect(bitsEqual(v, vs[i])).toBe(true))
    expect(p.meta.layout).toBe('rows')
  })

  it('reports a length the expected dimension does not divide as a dimension mismatch', () => {
    expectTemplateError(
      () => parseTemplateFile(float32Bytes(randomTemplate(300, 1)), { expectedDim: 512, expectedEncoder: 'arcface-r100' }),
      'WRONG_DIMENSION',
      'template has 300 values but encoder arcface-r100 produces 512'
    )
  })

  it('reports a NaN inside otherwise plausible float32 data as NON_FINITE, not as an unknown format', () => {
    const v = Array.from(randomTemplate(64, 2))
    v[17] = NaN
    expectTemplateError(() => parseTemplateFile(float32Bytes(v)), 'NON_FINITE', 'template 0, value 17 is NaN')
  })
})

describe('detectTemplateFormat', () => {
  const npy = exportTemplatesNpy([randomTemplate(16, 1)])
  const json = utf8(exportTemplatesJson([{ vector: randomTemplate(16, 1), encoderId: 'e', encoderSha256: SHA }]))
  const csv = utf8('0.1,0.2,0.3\n0.4,0.5,0.6\n')
  const bin = float32Bytes(randomTemplate(16, 1))

  it('decides from content, whatever the extension says', () => {
    const names = [undefined, 'x.npy', 'x.json', 'x.csv', 'x.bin', 'x.txt', 'x.png']
    for (const name of names) {
      expect(detectTemplateFormat(npy, name), `npy as ${name}`).toBe('npy')
      expect(detectTemplateFormat(json, name), `json as ${name}`).toBe('json')
      expect(detectTemplateFormat(csv, name), `csv as ${name}`).toBe('csv')
      expect(detectTemplateFormat(bin, name), `bin as ${name}`).toBe('bin')
    }
    // And the parse follows the detection.
    expect(parseTemplateFile(json, { fileName: 'evidence.npy' }).format).toBe('json')
    expect(parseTemplateFile(bin, { fileName: 'evidence.csv' }).format).toBe('bin')
  })

  it('uses the extension only to break a genuine tie', () => {
    // Printable, neither JSON nor CSV, yet also two plausible float32 values (12.07, 48.56).
    const tie = utf8('AAAABBBB')
    expectTemplateError(() => detectTemplateFormat(tie), 'UNKNOWN_FORMAT', 'file is text but neither JSON nor rows of numbers (CSV)')
    expectTemplateError(() => detectTemplateFormat(tie, 'x.csv'), 'UNKNOWN_FORMAT', 'file is text but neither JSON nor rows of numbers (CSV)')
    expect(detectTemplateFormat(tie, 'x.bin')).toBe('bin')
    expect(Array.from(parseTemplateFile(tie, { fileName: 'x.bin' }).vectors[0])).toEqual([Math.fround(12.078431129455566), Math.fround(48.56470489501953)])
  })

  it('does not let a .bin name turn numeric text into floats', () => {
    // Each 4-byte group "0.1," also decodes to a plausible float32 (~2.5e-12): content still says CSV.
    const text = utf8('0.1,0.2,0.3,0.4,')
    expect(detectTemplateFormat(text, 'probe.bin')).toBe('csv')
    expect(Array.from(parseTemplateFile(text, { fileName: 'probe.bin' }).vectors[0])).toEqual([0.1, 0.2, 0.3, 0.4].map(Math.fround))
    expect(detectTemplateFormat(utf8('[1] '), 'x.bin')).toBe('json')
  })

  it('accepts a UTF-8 byte-order mark before text formats', () => {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...utf8('[1, 2]')])
    expect(detectTemplateFormat(bom)).toBe('json')
    expect(Array.from(parseTemplateFile(bom).vectors[0])).toEqual([1, 2])
  })

  it('rejects binary garbage, prose and broken JSON as UNKNOWN_FORMAT', () => {
    const r = rng(42)
    const garbage = Uint8Array.from({ length: 4096 }, () => Math.floor(r() * 256))
    expectTemplateError(
      () => detectTemplateFormat(garbage, 'x.bin'),
      'UNKNOWN_FORMAT',
      'file is binary but not an npy file, and its bytes do not read as plausible float32 template values'
    )
    expectTemplateError(
      () => detectTemplateFormat(garbage.subarray(0, 4095)),
      'UNKNOWN_FORMAT',
      'file is binary but not an npy file, and its length (4095 bytes) is not a multiple of 4, so it is not raw float32'
    )
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
    expectTemplateError(() => detectTemplateFormat(png, 'face.npy'), 'UNKNOWN_FORMAT', /^file is binary but not an npy file/)
    expectTemplateError(() => detectTemplateFormat(utf8('This is a witness statement.')), 'UNKNOWN_FORMAT', 'file is text but neither JSON nor rows of numbers (CSV)')
    expectTemplateError(() => detectTemplateFormat(utf8('{"vector": [1, 2,'), 'x.json'), 'UNKNOWN_FORMAT', /^file starts like JSON but is not valid JSON: /)
  })
})

describe('errors', () => {
  it('TemplateFormatError is an Error with a code', () => {
    const e = expectTemplateError(() => parseTemplateFile(new Uint8Array(0)), 'EMPTY', 'file is empty')
    expect(e).toBeInstanceOf(Error)
    expect(e).toBeInstanceOf(TemplateFormatError)
    expect(e.name).toBe('TemplateFormatError')
  })

  it('EMPTY', () => {
    expectTemplateError(() => parseTemplateFile(utf8('  \n\t ')), 'EMPTY', 'file contains only whitespace')
    expectTemplateError(() => parseTemplateFile(utf8('[]')), 'EMPTY', 'JSON array is empty')
    expectTemplateError(() => parseTemplateFile(utf8('[[1, 2], []]')), 'EMPTY', 'template 1 has no values')
    expectTemplateError(() => parseTemplateFile(utf8('{"templates": []}')), 'EMPTY', '"templates" is empty')
    expectTemplateError(() => parseTemplateFile(makeNpy({ values: [], shape: [0, 512] })), 'EMPTY', 'npy array has shape (0, 512): it holds no values')
    expectTemplateError(() => exportTemplatesNpy([]), 'EMPTY', 'no templates to export')
    expectTemplateError(() => exportTemplatesJson([]), 'EMPTY', 'no templates to export')
  })

  it('TOO_LARGE, checked before anything is parsed', () => {
    const bytes = float32Bytes(randomTemplate(512, 1))
    expectTemplateError(() => parseTemplateFile(bytes, { maxBytes: 1024 }), 'TOO_LARGE', 'file is 2048 bytes, over the limit of 1024 bytes')
    expect(DEFAULT_MAX_TEMPLATE_BYTES).toBe(64 * 1024 * 1024)
    const big = new Uint8Array(DEFAULT_MAX_TEMPLATE_BYTES + 1)
    expectTemplateError(() => parseTemplateFile(big), 'TOO_LARGE', `file is ${DEFAULT_MAX_TEMPLATE_BYTES + 1} bytes, over the limit of ${DEFAULT_MAX_TEMPLATE_BYTES} bytes (64 MiB)`)
  })

  it('TRUNCATED', () => {
    const file = exportTemplatesNpy([randomTemplate(512, 1)])
    expectTemplateError(() => parseTemplateFile(file.subarray(0, file.length - 212 * 4)), 'TRUNCATED', 'npy header declares 512 values but the file holds 300')
    const doc = JSON.parse(exportTemplatesJson([{ vector: [1, 2, 3], encoderId: 'e', encoderSha256: SHA }]))
    doc.templates[0].vector.pop()
    expectTemplateError(() => parseTemplateFile(utf8(JSON.stringify(doc))), 'TRUNCATED', 'template 0 declares dimension 3 but its vector has 2 values')
  })

  it('NON_FINITE names the template and the value', () => {
    expectTemplateError(() => parseTemplateFile(utf8('[[1, 2], [3, Infinity]]')), 'NON_FINITE', 'template 1, value 1 is Infinity')
    expectTemplateError(() => parseTemplateFile(utf8('[1, 2, null]')), 'NON_FINITE', /^template 0, value 2 is null \(JSON has no NaN or Infinity/)
    expectTemplateError(() => parseTemplateFile(makeNpy({ values: [1, -Infinity], shape: [2] })), 'NON_FINITE', 'template 0, value 1 is -Infinity')
    expectTemplateError(
      () => exportTemplatesJson([{ vector: [1, NaN], encoderId: 'e', encoderSha256: SHA }]),
      'NON_FINITE',
      'template 0, value 1 is NaN'
    )
  })

  it('ZERO_VECTOR', () => {
    expectTemplateError(() => parseTemplateFile(utf8('[[1, 2], [0, -0]]')), 'ZERO_VECTOR', 'template 1 is all zeros')
    expectTemplateError(() => parseTemplateFile(float32Bytes(new Float32Array(512))), 'ZERO_VECTOR', 'template 0 is all zeros')
    expectTemplateError(() => exportTemplatesNpy([[0, 0, 0]]), 'ZERO_VECTOR', 'template 0 is all zeros')
  })

  it('WRONG_DIMENSION', () => {
    const file = exportTemplatesNpy([randomTemplate(128, 1)])
    expectTemplateError(() => parseTemplateFile(file, { expectedDim: 512, expectedEncoder: 'X' }), 'WRONG_DIMENSION', 'template has 128 values but encoder X produces 512')
    expectTemplateError(() => parseTemplateFile(utf8('[[1, 2], [3, 4]]'), { expectedDim: 3 }), 'WRONG_DIMENSION', 'templates have 2 values but the expected encoder produces 3')
    expect(() => parseTemplateFile(file, { expectedDim: 0 })).toThrow(RangeError)
  })

  it('RAGGED', () => {
    expectTemplateError(() => parseTemplateFile(utf8('[[1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3]]')), 'RAGGED', 'template 2 has 3 values but template 0 has 4')
    expectTemplateError(() => exportTemplatesNpy([[1, 2], [1]]), 'RAGGED', 'template 1 has 1 values but template 0 has 2')
  })

  it('MALFORMED', () => {
    expectTemplateError(() => parseTemplateFile(utf8('[1, "2", 3]')), 'MALFORMED', 'template 0, value 1 is a string ("2"), not a number')
    expectTemplateError(() => parseTemplateFile(utf8('[[1, 2], 3]')), 'MALFORMED', 'template 1 is a number, expected an array of numbers or an object with a "vector"')
    expectTemplateError(
      () => parseTemplateFile(utf8('{"name": "x", "values": [1]}')),
      'MALFORMED',
      'JSON object has none of the keys "template", "vector", "embedding", "templates" (it has "name", "values")'
    )
    expectTemplateError(() => parseTemplateFile(utf8('{"vector": [1], "embedding": [2]}')), 'MALFORMED', 'template 0 has several vectors ("vector", "embedding"); expected one')
    expectTemplateError(
      () => parseTemplateFile(utf8(`{"vector": [1], "encoderSha256": "abc"}`)),
      'MALFORMED',
      'template 0 encoderSha256 "abc" is not a 64-character hex SHA-256'
    )
    expectTemplateError(
      () => parseTemplateFile(utf8(`{"vector": [1], "encoder": "a", "encoderId": "b"}`)),
      'MALFORMED',
      'template 0 has both "encoderId" and "encoder" with different values'
    )
    expectTemplateError(
      () => parseTemplateFile(utf8('{"format": "unveil-template", "version": 1, "templates": [{"vector": [1]}]}')),
      'MALFORMED',
      'template 0 of an unveil-template file lacks encoderId'
    )
    expectTemplateError(() => exportTemplatesJson([{ vector: [1], encoderId: 'e', encoderSha256: 'nope' }]), 'MALFORMED', /not a 64-character hex SHA-256/)
  })

  it('MIXED_ENCODERS', () => {
    const doc = { templates: [{ vector: [1], encoderId: 'a' }, { vector: [1], encoderId: 'b' }] }
    expectTemplateError(
      () => parseTemplateFile(utf8(JSON.stringify(doc))),
      'MIXED_ENCODERS',
      'template 1 names encoder b but template 0 names encoder a; a file must describe templates from a single encoder'
    )
    const partial = { templates: [{ vector: [1], encoderId: 'a' }, { vector: [1] }] }
    expectTemplateError(() => parseTemplateFile(utf8(JSON.stringify(partial))), 'MIXED_ENCODERS', /^template 1 names no encoder but template 0 names encoder a/)
    expectTemplateError(
      () =>
        exportTemplatesJson([
          { vector: [1], encoderId: 'a', encoderSha256: SHA },
          { vector: [1], encoderId: 'b', encoderSha256: SHA2 }
        ]),
      'MIXED_ENCODERS',
      'template 1 comes from encoder b but template 0 from a; export them to separate files'
    )
    expectTemplateError(
      () =>
        exportTemplatesJson([
          { vector: [1], encoderId: 'a', encoderSha256: SHA },
          { vector: [1], encoderId: 'a', encoderSha256: SHA2 }
        ]),
      'MIXED_ENCODERS',
      'template 1 names a different SHA-256 for encoder a than template 0; export them to separate files'
    )
  })

  it('UNSUPPORTED', () => {
    expectTemplateError(() => parseTemplateFile(makeNpy({ values: [1, 2], shape: [2], fortran: true })), 'UNSUPPORTED', /Fortran/)
    expectTemplateError(
      () => parseTemplateFile(utf8('{"format": "unveil-template", "version": 2, "templates": []}')),
      'UNSUPPORTED',
      'unveil-template version 2 is not supported; this build reads version 1'
    )
    expectTemplateError(() => parseTemplateFile(utf8('{"format": "other", "vector": [1]}')), 'UNSUPPORTED', /declares format "other"/)
  })
})

const noNumpy = numpyUnavailable()
if (noNumpy) console.warn(`[template-codec.test] skipping NumPy cross-check: ${noNumpy}`)

describe.skipIf(noNumpy !== null)('NumPy interoperability', () => {
  it('imports np.save output and np.savetxt output, and NumPy loads our export', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unveil-codec-'))
    try {
      writeFileSync(join(dir, 'ours.npy'), exportTemplatesNpy([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]))
      const r = spawnSync(
        'python3',
        [
          '-c',
          `
import sys, numpy as np
d = sys.argv[1]
a = np.load(f'{d}/ours.npy')
assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)
np.save(f'{d}/theirs.npy', a.astype(np.float64) * 2)
np.savetxt(f'{d}/theirs.csv', a, delimiter=',', header='e0,e1,e2')
a.tofile(f'{d}/theirs.bin')
`,
          dir
        ],
        { encoding: 'utf8' }
      )
      expect(r.status, r.stderr).toBe(0)
      const f32 = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map(Math.fround)
      const read = (n: string) => new Uint8Array(readFileSync(join(dir, n)))
      const npy = parseTemplateFile(read('theirs.npy'), { fileName: 'theirs.npy' })
      expect(npy.meta.dtype).toBe('<f8')
      expect(npy.vectors.flatMap((v) => Array.from(v))).toEqual(f32.map((x) => Math.fround(x * 2)))
      const csv = parseTemplateFile(read('theirs.csv'))
      expect(csv.format).toBe('csv')
      expect(csv.vectors.flatMap((v) => Array.from(v))).toEqual(f32)
      const bin = parseTemplateFile(read('theirs.bin'), { expectedDim: 3 })
      expect(bin.format).toBe('bin')
      expect(bin.vectors.flatMap((v) => Array.from(v))).toEqual(f32)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
