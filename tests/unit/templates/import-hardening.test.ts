import { describe, expect, it } from 'vitest'
import { parseTemplateFile, TemplateFormatError } from '../../../src/core/templates/template-codec'

// Files that used to be read wrongly or crashed the parser (issue 13, item 8).
const enc = (s: string): Uint8Array => new TextEncoder().encode(s)
const template = (seed: number, d = 512): number[] => Array.from({ length: d }, (_, i) => Math.sin(seed * 7 + i * 0.37) * 0.2)

function rawFloat64(values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 8)
  const view = new DataView(bytes.buffer)
  values.forEach((v, i) => view.setFloat64(i * 8, v, true))
  return bytes
}

function npyWithHeader(header: string): Uint8Array {
  const padded = header.padEnd(Math.ceil((header.length + 11) / 64) * 64 - 11, ' ') + '\n'
  const bytes = new Uint8Array(10 + padded.length + 16)
  bytes.set([0x93, ...enc('NUMPY'), 1, 0], 0)
  new DataView(bytes.buffer).setUint16(8, padded.length, true)
  bytes.set(enc(padded), 10)
  return bytes
}

describe('template import refuses what it cannot read faithfully', () => {
  it('says a raw float64 file is float64 instead of reading it as float32', () => {
    for (const values of [template(1), Array.from({ length: 512 }, (_, i) => (i % 4) * 0.25 - 0.5)]) {
      expect(() => parseTemplateFile(rawFloat64(values), { fileName: 't.bin', expectedDim: 512 })).toThrow(/reads as 512 raw float64 values/)
    }
    // Genuine float32 still reads.
    const f32 = new Uint8Array(Float32Array.from(template(2)).buffer)
    expect(parseTemplateFile(f32, { fileName: 't.bin', expectedDim: 512 }).vectors[0][3]).toBeCloseTo(template(2)[3], 6)
  })

  it("checks every row against the header's column count", () => {
    const csv = `${['label', ...Array.from({ length: 512 }, (_, i) => String(i))].join(',')}\nA,${template(3).join(',')}\nB,${template(4).slice(0, 500).join(',')}\n`
    expect(() => parseTemplateFile(enc(csv), { fileName: 't.csv' })).toThrow('the header row has 513 columns but line 3 has 501')
  })

  it('refuses a deeply nested npy header with a one-line error, not a stack overflow', () => {
    const deep = `{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(20000)}4${')'.repeat(20000)}, }`
    let err: unknown
    try {
      parseTemplateFile(npyWithHeader(deep), { fileName: 'deep.npy' })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(TemplateFormatError)
    expect((err as Error).message).toMatch(/nesting deeper than 16 levels/)
  })
})
