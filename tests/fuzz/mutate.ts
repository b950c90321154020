// Mutations of valid seed inputs for the fuzz suite: byte-level ones that know nothing of the
// format (bit flips, truncation, splicing, boundary bytes) and structure-aware ones per format,
// all driven by one seeded generator so that a case number reproduces its bytes exactly.
import { SeededRandom } from '../../src/core/random/seeded-random'

export class Rng {
  private readonly r: SeededRandom
  constructor(seed: number) {
    this.r = new SeededRandom(seed)
  }
  int(n: number): number {
    return this.r.int(n)
  }
  chance(p: number): boolean {
    return this.r.uniform() < p
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]
  }
}

/** Values at and just past the limits readers check (sizes, counts, float edges). */
export const BOUNDARY_NUMBERS = [
  0,
  -0,
  -1,
  1,
  2,
  255,
  256,
  511,
  512,
  513,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 31),
  1e-45,
  1e-300,
  3.4e38,
  3.5e38,
  1e308,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.EPSILON,
  0.5
]

const BOUNDARY_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff]

export function bitFlips(bytes: Uint8Array, rng: Rng, count = 1 + rng.int(8)): Uint8Array {
  const out = Uint8Array.from(bytes)
  if (out.length === 0) return out
  for (let i = 0; i < count; i++) out[rng.int(out.length)] ^= 1 << rng.int(8)
  return out
}

/** Overwrites a few bytes, or a run of them, with boundary values. */
export function boundaryBytes(bytes: Uint8Array, rng: Rng): Uint8Array {
  const out = Uint8Array.from(bytes)
  if (out.length === 0) return out
  const at = rng.int(out.length)
  const len = rng.chance(0.5) ? 1 : 1 + rng.int(16)
  const v = rng.pick(BOUNDARY_BYTES)
  for (let i = at; i < Math.min(out.length, at + len); i++) out[i] = v
  return out
}

export function truncate(bytes: Uint8Array, rng: Rng): Uint8Array {
  return bytes.slice(0, rng.int(bytes.length))
}

/** The head of one input followed by the tail of another (or of itself, shifted). */
export function splice(a: Uint8Array, b: Uint8Array, rng: Rng): Uint8Array {
  const head = a.subarray(0, rng.int(a.length + 1))
  const tail = b.subarray(rng.int(b.length + 1))
  const out = new Uint8Array(head.length + tail.length)
  out.set(head)
  out.set(tail, head.length)
  return out
}

/** Inserts or deletes a run of bytes in the middle. */
export function insertDelete(bytes: Uint8Array, rng: Rng): Uint8Array {
  const at = rng.int(bytes.length + 1)
  if (rng.chance(0.5)) {
    const ins = new Uint8Array(1 + rng.int(64)).map(() => rng.int(256))
    const out = new Uint8Array(bytes.length + ins.length)
    out.set(bytes.subarray(0, at))
    out.set(ins, at)
    out.set(bytes.subarray(at), at + ins.length)
    return out
  }
  const len = rng.int(Math.min(256, bytes.length - at) + 1)
  const out = new Uint8Array(bytes.length - len)
  out.set(bytes.subarray(0, at))
  out.set(bytes.subarray(at + len), at)
  return out
}

/** One of the format-blind mutations, chosen at random; returns its name too. */
export function byteMutation(bytes: Uint8Array, others: readonly Uint8Array[], rng: Rng): { name: string; bytes: Uint8Array } {
  switch (rng.int(5)) {
    case 0:
      return { name: 'bitflip', bytes: bitFlips(bytes, rng) }
    case 1:
      return { name: 'truncate', bytes: truncate(bytes, rng) }
    case 2:
      return { name: 'splice', bytes: splice(bytes, others.length ? rng.pick(others) : bytes, rng) }
    case 3:
      return { name: 'insert-delete', bytes: insertDelete(bytes, rng) }
    default:
      return { name: 'boundary-bytes', bytes: boundaryBytes(bytes, rng) }
  }
}

// ---------------------------------------------------------------------------------------------
// JSON values: replace, remove or retype one node of a parsed seed

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

const NASTY_STRINGS = [
  '',
  ' ',
  'NaN',
  'Infinity',
  '-1',
  '1e999',
  '\u001b[31mred\u001b[0m',
  '\u0000',
  'a\nb',
  '../../etc/passwd',
  '/etc/passwd',
  '__proto__',
  'x'.repeat(5000),
  '\ud800',
  'ÿþ'
]

function randomJson(rng: Rng, depth = 0): Json {
  switch (rng.int(depth > 2 ? 4 : 6)) {
    case 0:
      return null
    case 1:
      return rng.chance(0.5)
    case 2:
      return rng.chance(0.5) ? rng.pick(BOUNDARY_NUMBERS) : -rng.pick(BOUNDARY_NUMBERS)
    case 3:
      return rng.pick(NASTY_STRINGS)
    case 4:
      return Array.from({ length: rng.int(4) }, () => randomJson(rng, depth + 1))
    default:
      return Object.fromEntries(
        Array.from({ length: rng.int(3) }, (_, i) => [rng.pick(['id', 'vector', 'shape', 'name', 'items', `k${i}`]), randomJson(rng, depth + 1)])
      )
  }
}

/** Every path to a node of the value. */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix)
  if (Array.isArray(v)) {
    // Long numeric arrays (vectors): a few positions stand for all of them.
    const idx = v.length > 8 ? [0, 1, v.length >> 1, v.length - 1] : v.map((_, i) => i)
    for (const i of idx) paths(v[i], [...prefix, i], out)
  } else if (v && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], [...prefix, k], out)
  return out
}

function nested(depth: number, inner: Json): Json {
  let v = inner
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

/** A structure-aware mutation of a JSON seed; returns text (some mutations are not JSON values). */
export function mutateJson(seed: Json, rng: Rng): { name: string; text: string } {
  const v = structuredClone(seed)
  const all = paths(v)
  const path = rng.pick(all)
  const kind = rng.int(9)
  if (kind === 7) {
    // Deep nesting: recursive readers overflow their stack on it.
    const depth = rng.pick([100, 1000, 10000, 100000])
    return { name: 'json-deep', text: '['.repeat(depth) + ']'.repeat(depth) }
  }
  if (kind === 8) {
    // Text-level JSON extensions a lenient reader might take: NaN, comments, trailing commas, duplicate keys.
    const text = JSON.stringify(v)
    const tweak = rng.pick([
      (t: string) => t.replace(/-?\d+\.\d+/, 'NaN'),
      (t: string) => t.replace(/-?\d+\.\d+/, '-Infinity'),
      (t: string) => t.replace(/\]/, ',]'),
      (t: string) => `// comment\n${t}`,
      (t: string) => t.replace(/^\{/, '{"vector":[1],'),
      (t: string) => t.replace(/-?\d+\.\d+/, '1'.repeat(400)),
      (t: string) => t.replace(/-?\d+\.\d+/, '0x1F'),
      (t: string) => `\ufeff${t}`,
      (t: string) => `${t}${t}`
    ])
    return { name: 'json-text', text: tweak(text) }
  }
  const parentPath = path.slice(0, -1)
  const key = path[path.length - 1]
  let parent: Json = v
  for (const p of parentPath) parent = (parent as Record<string | number, Json>)[p]
  const set = (value: Json): void => {
    if (key === undefined) return
    ;(parent as Record<string | number, Json>)[key] = value
  }
  const get = (): Json => (key === undefined ? v : (parent as Record<string | number, Json>)[key])
  let name: string
  switch (kind) {
    case 0:
      name = 'json-boundary-number'
      set(rng.chance(0.5) ? rng.pick(BOUNDARY_NUMBERS) : -rng.pick(BOUNDARY_NUMBERS))
      break
    case 1:
      name = 'json-retype'
      set(randomJson(rng))
      break
    case 2: {
      name = 'json-remove'
      if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1)
      else if (parent && typeof parent === 'object' && key !== undefined) delete (parent as Record<string, Json>)[key as string]
      break
    }
    case 3: {
      name = 'json-array-length'
      const node = get()
      if (Array.isArray(node)) {
        if (rng.chance(0.5)) node.splice(rng.int(node.length + 1), 0, ...node.slice(0, 1 + rng.int(3)))
        else node.length = rng.int(node.length + 1)
      } else set([node, node])
      break
    }
    case 4:
      name = 'json-nasty-string'
      set(rng.pick(NASTY_STRINGS))
      break
    case 5:
      name = 'json-nest'
      set(nested(1 + rng.int(3), get()))
      break
    default: {
      name = 'json-add-key'
      const target = get()
      if (target && typeof target === 'object' && !Array.isArray(target))
        target[rng.pick(['encoderId', 'encoderSha256', 'label', 'templates', 'vectors', 'shape', 'dtype', 'constructor'])] = randomJson(rng)
      else set({ value: target })
    }
  }
  return { name, text: JSON.stringify(v) ?? 'undefined' }
}

// ---------------------------------------------------------------------------------------------
// Text rows (CSV, TSV)

export function mutateCsv(text: string, rng: Rng): { name: string; text: string } {
  const lines = text.split('\n')
  const li = rng.int(Math.max(1, lines.length - 1))
  const cells = lines[li].split(',')
  const ci = rng.int(cells.length)
  const ops: [string, () => void][] = [
    ['csv-drop-cell', () => cells.splice(ci, 1)],
    ['csv-extra-cell', () => cells.splice(ci, 0, cells[ci])],
    [
      'csv-bad-token',
      () => (cells[ci] = rng.pick(['NaN', 'inf', '-Infinity', '', ' ', '1e999', '0x10', '1,5', '"1"', '1.2.3', '\u001b[2J', '1e-46', '--1', '١']))
    ],
    ['csv-boundary-number', () => (cells[ci] = String(rng.pick(BOUNDARY_NUMBERS)))],
    ['csv-header', () => lines.unshift(Array.from({ length: cells.length + rng.pick([-1, 0, 1, 100]) }, (_, i) => `c${i}`).join(','))],
    ['csv-delimiter', () => (lines[li] = cells.join(rng.pick([';', '\t', ' ', ', ', '|'])))],
    ['csv-quote', () => (cells[ci] = `"${cells[ci]}`)],
    ['csv-blank-lines', () => lines.splice(li, 0, '', '   ', '\r')],
    ['csv-long-line', () => (lines[li] = Array.from({ length: 100000 }, () => '0.1').join(','))]
  ]
  const [name, op] = rng.pick(ops)
  op()
  if (name !== 'csv-delimiter' && name !== 'csv-header' && name !== 'csv-blank-lines' && name !== 'csv-long-line') lines[li] = cells.join(',')
  return { name, text: rng.chance(0.2) ? lines.join('\r\n') : lines.join('\n') }
}

// ---------------------------------------------------------------------------------------------
// NumPy .npy: header dictionary and data

function npyBytes(header: string, data: Uint8Array, version = [1, 0], lenOverride?: number): Uint8Array {
  const enc = new TextEncoder()
  const pre = version[0] === 1 ? 10 : 12
  let h = header
  const pad = (64 - ((pre + h.length + 1) % 64)) % 64
  h = h + ' '.repeat(pad) + '\n'
  const hb = enc.encode(h)
  const out = new Uint8Array(pre + hb.length + data.length)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version[0], version[1]])
  const dv = new DataView(out.buffer)
  const len = lenOverride ?? hb.length
  if (pre === 10) dv.setUint16(8, len & 0xffff, true)
  else dv.setUint32(8, len >>> 0, true)
  out.set(hb, pre)
  out.set(data, pre + hb.length)
  return out
}

export function mutateNpy(vectors: number[][], rng: Rng): { name: string; bytes: Uint8Array } {
  const rows = vectors.length
  const dim = vectors[0].length
  const f32 = new Uint8Array(Float32Array.from(vectors.flat()).buffer)
  const f64 = new Uint8Array(Float64Array.from(vectors.flat()).buffer)
  const dict = (descr: string, shape: string, fortran = 'False'): string => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`
  const shape2 = `(${rows}, ${dim})`
  const ops: [string, () => Uint8Array][] = [
    [
      'npy-dtype',
      () =>
        npyBytes(dict(rng.pick(['<f8', '>f4', '<i4', '|u1', '<f2', '<c8', '|O', '<U10', '|b1', '<M8', 'f4', '<f16', '']), shape2), rng.chance(0.5) ? f64 : f32)
    ],
    ['npy-big-endian', () => npyBytes(dict('>f4', shape2), f32)],
    ['npy-float64', () => npyBytes(dict('<f8', shape2), f64)],
    ['npy-fortran', () => npyBytes(dict('<f4', shape2, rng.pick(['True', 'true', '1', 'None'])), f32)],
    [
      'npy-shape',
      () =>
        npyBytes(
          dict(
            '<f4',
            rng.pick([
              `(${dim},)`,
              `(0, ${dim})`,
              `(${rows + 1}, ${dim})`,
              `(-1, ${dim})`,
              `(${rows}, ${dim}, 1)`,
              '()',
              `(${2 ** 53}, ${dim})`,
              `(1e20,)`,
              `(${dim}`,
              '[1, 512]',
              `(${rows}, ${dim - 1})`
            ])
          ),
          f32
        )
    ],
    [
      'npy-deep-header',
      () => npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': ${'('.repeat(rng.pick([50, 1000, 20000]))}${dim}${')'.repeat(10)}, }`, f32)
    ],
    ['npy-header-length', () => npyBytes(dict('<f4', shape2), f32, [1, 0], rng.pick([0, 1, 65535, 9, f32.length + 200]))],
    [
      'npy-version',
      () =>
        npyBytes(
          dict('<f4', shape2),
          f32,
          rng.pick([
            [2, 0],
            [3, 0],
            [9, 9],
            [0, 0]
          ]),
          undefined
        )
    ],
    [
      'npy-data-length',
      () => npyBytes(dict('<f4', shape2), rng.chance(0.5) ? f32.subarray(0, f32.length - 1 - rng.int(16)) : Uint8Array.from([...f32, 1, 2, 3, 4]))
    ],
    [
      'npy-header-garbage',
      () =>
        npyBytes(
          rng.pick([
            "{'descr': '<f4'}",
            '{}',
            'None',
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 512), 'extra': __import__('os')}",
            '{"descr": "<f4", "fortran_order": false, "shape": [1, 512]}',
            "{'descr': '<f4', 'descr': '<f8', 'fortran_order': False, 'shape': (1, 512), }"
          ]),
          f32
        )
    ],
    [
      'npy-nan',
      () => {
        const a = Float32Array.from(vectors.flat())
        a[rng.int(a.length)] = rng.pick([NaN, Infinity, -Infinity])
        return npyBytes(dict('<f4', shape2), new Uint8Array(a.buffer))
      }
    ]
  ]
  const [name, op] = rng.pick(ops)
  return { name, bytes: op() }
}

// ---------------------------------------------------------------------------------------------
// Raw float32 (.bin)

export function mutateBin(vectors: number[][], rng: Rng): { name: string; bytes: Uint8Array } {
  const flat = vectors.flat()
  const ops: [string, () => Uint8Array][] = [
    ['bin-float64', () => new Uint8Array(Float64Array.from(flat).buffer)],
    ['bin-odd-length', () => new Uint8Array(Float32Array.from(flat).buffer).subarray(0, flat.length * 4 - 1 - rng.int(3))],
    ['bin-partial-vector', () => new Uint8Array(Float32Array.from(flat.slice(0, flat.length - 1 - rng.int(flat.length - 1))).buffer)],
    [
      'bin-nan',
      () => {
        const a = Float32Array.from(flat)
        a[rng.int(a.length)] = rng.pick([NaN, Infinity, -Infinity])
        return new Uint8Array(a.buffer)
      }
    ],
    ['bin-zeros', () => new Uint8Array(flat.length * 4)],
    ['bin-boundary', () => Uint8Array.from({ length: flat.length * 4 }, () => rng.pick(BOUNDARY_BYTES))],
    ['bin-huge-values', () => new Uint8Array(Float32Array.from(flat, (x) => x * rng.pick([1e30, 1e-40, 3e38])).buffer)],
    [
      'bin-big-endian',
      () => {
        const a = new Uint8Array(Float32Array.from(flat).buffer)
        for (let i = 0; i < a.length; i += 4) a.subarray(i, i + 4).reverse()
        return a
      }
    ]
  ]
  const [name, op] = rng.pick(ops)
  return { name, bytes: op() }
}
