import { describe, it, expect } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readNpy, writeNpy, hasNpyMagic, TemplateFormatError } from '../../../src/core/templates/formats/npy'
import { TemplateFormatError as CodecError } from '../../../src/core/templates/template-codec'
import { expectTemplateError, makeNpy, numpyUnavailable } from './helpers'

const latin1 = (b: Uint8Array): string => String.fromCharCode(...b)

describe('writeNpy', () => {
  it('writes a v1.0 little-endian float32 header aligned to 64 bytes', () => {
    const bytes = writeNpy([1, 2, 3], [3])
    expect(hasNpyMagic(bytes)).toBe(true)
    expect(Array.from(bytes.subarray(6, 8))).toEqual([1, 0])
    const headerLen = bytes[8] | (bytes[9] << 8)
    expect((10 + headerLen) % 64).toBe(0)
    const header = latin1(bytes.subarray(10, 10 + headerLen))
    expect(header).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/)
    expect(bytes.length).toBe(10 + headerLen + 12)
    const data = new DataView(bytes.buffer, 10 + headerLen)
    expect([0, 1, 2].map((i) => data.getFloat32(i * 4, true))).toEqual([1, 2, 3])
  })

  it('writes 2-D shapes as (N, D) and narrows to float32', () => {
    const bytes = writeNpy([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [2, 3])
    const arr = readNpy(bytes)
    expect(arr.shape).toEqual([2, 3])
    expect(arr.dtype).toBe('<f4')
    expect(arr.data).toBeInstanceOf(Float32Array)
    expect(Array.from(arr.data)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map(Math.fround))
    expect(latin1(bytes.subarray(10, 80))).toContain("'shape': (2, 3), }")
  })

  it('keeps the 64-byte alignment for every header length', () => {
    for (const shape of [[1], [12345], [7, 9], [100000, 512]]) {
      const count = shape.reduce((a, b) => a * b, 1)
      if (count > 1e6) continue
      const bytes = writeNpy(new Float32Array(count), shape)
      expect((10 + (bytes[8] | (bytes[9] << 8))) % 64).toBe(0)
    }
  })

  it('rejects a shape that does not match the data', () => {
    expect(() => writeNpy([1, 2, 3], [2, 2])).toThrow('writeNpy: shape [2, 2] needs 4 values, got 3')
    expect(() => writeNpy([1], [-1])).toThrow(RangeError)
  })
})

describe('readNpy', () => {
  const values = [0.5, -1.25, 3, 1e-3, -7.5, 42]

  it.each([
    ['<f4', [1, 0]],
    ['<f8', [1, 0]],
    ['>f4', [1, 0]],
    ['>f8', [1, 0]],
    ['<f4', [2, 0]],
    ['>f8', [2, 0]],
    ['<f8', [3, 0]]
  ] as const)('reads dtype %s, version %j', (descr, version) => {
    const arr = readNpy(makeNpy({ values, shape: [2, 3], descr, version: [...version] }))
    expect(arr.dtype).toBe(descr)
    expect(arr.version).toEqual({ major: version[0], minor: version[1] })
    expect(arr.shape).toEqual([2, 3])
    expect(arr.data).toBeInstanceOf(descr.endsWith('8') ? Float64Array : Float32Array)
    expect(Array.from(arr.data)).toEqual(descr.endsWith('8') ? values : values.map(Math.fround))
  })

  it('keeps float64 precision', () => {
    const arr = readNpy(makeNpy({ values: [0.1, 1e300], shape: [2], descr: '<f8' }))
    expect(Array.from(arr.data)).toEqual([0.1, 1e300])
  })

  it('accepts any valid Python literal spelling of the header', () => {
    const variants = [
      `{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}`, // double quotes, no trailing comma
      `{ 'shape' : ( 2 , 3 , ) ,\t'fortran_order':False,'descr':'<f4' }`, // key order, spacing, trailing commas
      `{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }`, // Python 2 long integers
      `{u'descr': u'<f4', 'fortran_order': False, 'shape': (2, 3), }` // Python 2 unicode prefix
    ]
    for (const header of variants) {
      const arr = readNpy(makeNpy({ values, shape: [2, 3], header }))
      expect(arr.shape, header).toEqual([2, 3])
      expect(arr.data[5]).toBe(42)
    }
  })

  it('accepts the 16-byte alignment of numpy < 1.9', () => {
    expect(readNpy(makeNpy({ values, shape: [6], align: 16 })).shape).toEqual([6])
  })

  it('reads an unaligned view inside a larger buffer', () => {
    const file = makeNpy({ values, shape: [6], descr: '<f4' })
    const buf = new Uint8Array(file.length + 3)
    buf.set(file, 3)
    expect(Array.from(readNpy(buf.subarray(3)).data)).toEqual(values.map(Math.fround))
  })

  it('reads a zero-length array (the codec decides whether empty is acceptable)', () => {
    expect(readNpy(makeNpy({ values: [], shape: [0, 512] })).data.length).toBe(0)
  })

  it('throws the same error class the codec exports', () => {
    expect(TemplateFormatError).toBe(CodecError)
    const e = expectTemplateError(() => readNpy(new Uint8Array([1, 2, 3])), 'UNKNOWN_FORMAT', /missing the \\x93NUMPY magic/)
    expect(e).toBeInstanceOf(Error)
    expect(e.name).toBe('TemplateFormatError')
  })

  describe('rejects', () => {
    it('Fortran order', () => {
      expectTemplateError(() => readNpy(makeNpy({ values, shape: [2, 3], fortran: true })), 'UNSUPPORTED', /Fortran \(column-major\) order/)
    })

    it('non-float dtypes', () => {
      expectTemplateError(
        () => readNpy(makeNpy({ values: [1, 2], shape: [2], descr: '<i4' })),
        'UNSUPPORTED',
        "npy dtype '<i4' is not supported; expected float32 or float64 ('<f4', '<f8', '>f4', '>f8')"
      )
      expectTemplateError(() => readNpy(makeNpy({ values: [1, 2], shape: [2], descr: '<f2' })), 'UNSUPPORTED', /'<f2' is not supported/)
    })

    it('structured dtypes', () => {
      const header = `{'descr': [('x', '<f4'), ('y', '<f4')], 'fortran_order': False, 'shape': (1,), }`
      expectTemplateError(() => readNpy(makeNpy({ values: [1, 2], shape: [1], header })), 'UNSUPPORTED', /structured \(record\) dtype/)
    })

    it('arrays that are neither 1-D nor 2-D', () => {
      expectTemplateError(
        () => readNpy(makeNpy({ values: new Array(8).fill(1), shape: [2, 2, 2] })),
        'UNSUPPORTED',
        'npy array has shape (2, 2, 2); expected (D,) for one template or (N, D) for N templates'
      )
      expectTemplateError(() => readNpy(makeNpy({ values: [1], shape: [], header: `{'descr': '<f4', 'fortran_order': False, 'shape': (), }` })), 'UNSUPPORTED', /shape \(\)/)
    })

    it('unknown versions', () => {
      expectTemplateError(() => readNpy(makeNpy({ values, shape: [6], version: [4, 0] })), 'UNSUPPORTED', 'npy version 4.0 is not supported (1.0, 2.0 and 3.0 are)')
    })

    it('headers with missing or extra keys', () => {
      expectTemplateError(
        () => readNpy(makeNpy({ values, shape: [6], header: `{'descr': '<f4', 'shape': (6,)}` })),
        'MALFORMED',
        'npy header must have exactly the keys descr, fortran_order, shape; it has descr, shape'
      )
      expectTemplateError(
        () => readNpy(makeNpy({ values, shape: [6], header: `{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1}` })),
        'MALFORMED',
        /it has descr, fortran_order, shape, x$/
      )
    })

    it('a shape that is not a tuple (Python reads "(6)" as the integer 6)', () => {
      expectTemplateError(
        () => readNpy(makeNpy({ values, shape: [6], header: `{'descr': '<f4', 'fortran_order': False, 'shape': (6)}` })),
        'MALFORMED',
        'npy header shape is 6, not a tuple such as (512,)'
      )
      expectTemplateError(
        () => readNpy(makeNpy({ values, shape: [6], header: `{'descr': '<f4', 'fortran_order': False, 'shape': (-6,)}` })),
        'MALFORMED',
        /non-negative integers/
      )
    })

    it('anything that is not a plain literal', () => {
      const bad = [
        `{'descr': '<f4', 'fortran_order': False, 'shape': (6,)} x`,
        `{'descr': __import__('os'), 'fortran_order': False, 'shape': (6,)}`,
        `{'descr': '<f4', 'fortran_order': False, 'shape': (6.0,)}`,
        `{'descr': '<f4', 'fortran_order': False, 'shape': (6,)`,
        `{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}`,
        `{'descr: '<f4', 'fortran_order': False, 'shape': (6,)}`
      ]
      for (const header of bad) {
        expectTemplateError(() => readNpy(makeNpy({ values, shape: [6], header })), 'MALFORMED', /^npy header is not a valid Python literal: /)
      }
    })

    it('truncated data, naming the declared and present counts', () => {
      const file = makeNpy({ values: new Array(512).fill(0.25), shape: [512] })
      const cut = file.subarray(0, file.length - 212 * 4)
      expectTemplateError(() => readNpy(cut), 'TRUNCATED', 'npy header declares 512 values but the file holds 300')
      expectTemplateError(() => readNpy(file.subarray(0, file.length - 2)), 'TRUNCATED', 'npy header declares 512 values but the file holds 511')
    })

    it('a truncated header or preamble', () => {
      const file = makeNpy({ values, shape: [6] })
      expectTemplateError(() => readNpy(file.subarray(0, 40)), 'TRUNCATED', 'npy header declares 118 header bytes but the file ends 30 bytes into it')
      expectTemplateError(() => readNpy(file.subarray(0, 9)), 'TRUNCATED', 'npy file ends after 9 bytes, inside the header-length field')
      expectTemplateError(() => readNpy(file.subarray(0, 7)), 'TRUNCATED', 'npy file ends after 7 bytes, inside the version field')
    })

    it('bytes after the declared data', () => {
      const file = makeNpy({ values, shape: [6] })
      const longer = new Uint8Array(file.length + 4)
      longer.set(file)
      expectTemplateError(() => readNpy(longer), 'MALFORMED', /declares 6 values \(24 bytes\) but 28 bytes follow the header/)
    })

    it('a shape too large to exist without allocating it', () => {
      const header = `{'descr': '<f8', 'fortran_order': False, 'shape': (999999, 99999), }`
      expectTemplateError(() => readNpy(makeNpy({ values, shape: [6], descr: '<f8', header })), 'TRUNCATED', 'npy header declares 99998900001 values but the file holds 6')
      const beyond = `{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999), }`
      expectTemplateError(() => readNpy(makeNpy({ values, shape: [6], descr: '<f8', header: beyond })), 'TRUNCATED', /values but the file holds 6$/)
    })
  })
})

const noNumpy = numpyUnavailable()
if (noNumpy) console.warn(`[npy.test] skipping NumPy cross-checks: ${noNumpy}`)

describe.skipIf(noNumpy !== null)('cross-check against real NumPy', () => {
  function python(script: string, dir: string): string {
    const r = spawnSync('python3', ['-c', script, dir], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`)
    return r.stdout
  }

  it('reads every dtype, byte order and version NumPy writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unveil-npy-'))
    try {
      const out = python(
        `
import sys, json, numpy as np
from numpy.lib import format as F
d = sys.argv[1]
a = (np.arange(2 * 5, dtype=np.float64).reshape(2, 5) - 4.5) / 7
cases = {'f4': a.astype('<f4'), 'f8': a.astype('<f8'), 'bf4': a.astype('>f4'), 'bf8': a.astype('>f8'), 'vec': a[0].astype('<f4')}
for name, arr in cases.items():
    np.save(f'{d}/{name}.npy', arr)
for ver in [(2, 0), (3, 0)]:
    with open(f'{d}/v{ver[0]}.npy', 'wb') as fh:
        F.write_array(fh, a.astype('<f4'), version=ver)
print(json.dumps({'f64': a.ravel().tolist(), 'f32': a.astype('<f4').astype(np.float64).ravel().tolist()}))
`,
        dir
      )
      const expected = JSON.parse(out) as { f64: number[]; f32: number[] }
      const read = (name: string) => readNpy(new Uint8Array(readFileSync(join(dir, `${name}.npy`))))
      for (const [name, dtype, exp] of [
        ['f4', '<f4', expected.f32],
        ['f8', '<f8', expected.f64],
        ['bf4', '>f4', expected.f32],
        ['bf8', '>f8', expected.f64]
      ] as const) {
        const arr = read(name)
        expect(arr.dtype, name).toBe(dtype)
        expect(arr.shape).toEqual([2, 5])
        expect(Array.from(arr.data)).toEqual(exp)
      }
      expect(read('vec').shape).toEqual([5])
      expect(read('v2').version).toEqual({ major: 2, minor: 0 })
      expect(read('v3').version).toEqual({ major: 3, minor: 0 })
      expect(Array.from(read('v3').data)).toEqual(expected.f32)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('writes files NumPy loads with the right dtype, shape and values', () => {
    const dir = mkdtempSync(join(tmpdir(), 'unveil-npy-'))
    try {
      const vals = [0.1, -0.2, 0.3, 1e-7, -1e5, 0.6]
      writeFileSync(join(dir, 'one.npy'), writeNpy(vals, [6]))
      writeFileSync(join(dir, 'two.npy'), writeNpy(vals, [3, 2]))
      const out = python(
        `
import sys, json, numpy as np
d = sys.argv[1]
r = {}
for n in ['one', 'two']:
    a = np.load(f'{d}/{n}.npy', allow_pickle=False)
    r[n] = {'dtype': a.dtype.str, 'shape': list(a.shape), 'c': bool(a.flags.c_contiguous), 'values': a.astype(np.float64).ravel().tolist()}
print(json.dumps(r))
`,
        dir
      )
      const r = JSON.parse(out)
      expect(r.one).toEqual({ dtype: '<f4', shape: [6], c: true, values: vals.map(Math.fround) })
      expect(r.two).toEqual({ dtype: '<f4', shape: [3, 2], c: true, values: vals.map(Math.fround) })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
