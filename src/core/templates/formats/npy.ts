// Reader and writer for NumPy's .npy format (versions 1.0, 2.0, 3.0), limited to what face
// templates need: float32/float64 in either byte order, C order, 1-D or 2-D.
// Format reference: numpy/lib/format.py (NEP 1). Also the npy template-file reader and writer.

import { TemplateFormatError, quoted } from '../template-errors'
import { templateWhere, unlabelledRows, validateVectors, type Extracted } from '../template-checks'

export { TemplateFormatError } from '../template-errors'
export type { TemplateErrorCode } from '../template-errors'

export type NpyDtype = '<f4' | '<f8' | '>f4' | '>f8'

export interface NpyArray {
  version: { major: number; minor: number }
  dtype: NpyDtype
  /** (D,) or (N, D). */
  shape: number[]
  /** Values in C order, in the file's precision (float64 is not narrowed, so callers can range-check it). */
  data: Float32Array | Float64Array
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
const MAGIC_LEN = MAGIC.length
// numpy aligns the start of the data to 64 bytes so it can be memory-mapped with any dtype.
const ARRAY_ALIGN = 64

export function hasNpyMagic(bytes: Uint8Array): boolean {
  if (bytes.length < MAGIC_LEN) return false
  for (let i = 0; i < MAGIC_LEN; i++) if (bytes[i] !== MAGIC[i]) return false
  return true
}

// ---------------------------------------------------------------------------------------------
// Header dict: a Python literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 512), }
// numpy parses it with ast.literal_eval, so we accept the same literal syntax (any quoting,
// whitespace, trailing commas, Python 2 `L` integer suffixes) but nothing executable.

type PyValue = string | number | boolean | null | PyTuple | PyValue[] | Map<string, PyValue>

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** Nesting a real npy header needs is 3 (dict → shape tuple); deeper input is refused, not recursed into. */
const MAX_HEADER_DEPTH = 16

class PyLiteralParser {
  private pos = 0
  private depth = 0

  constructor(private readonly src: string) {}

  parseDocument(): PyValue {
    const v = this.value()
    this.ws()
    if (this.pos < this.src.length) this.fail(`unexpected ${quoted(this.src[this.pos])} after the dict`)
    return v
  }

  private fail(what: string): never {
    throw new TemplateFormatError('MALFORMED', `npy header is not a valid Python literal: ${what} at character ${this.pos} in ${quoted(this.src.trimEnd(), 120)}`)
  }

  private ws(): void {
    while (this.pos < this.src.length && /\s/.test(this.src[this.pos])) this.pos++
  }

  private peek(): string {
    this.ws()
    return this.src[this.pos] ?? ''
  }

  private expect(ch: string): void {
    if (this.peek() !== ch) this.fail(`expected ${JSON.stringify(ch)}`)
    this.pos++
  }

  private value(): PyValue {
    if (++this.depth > MAX_HEADER_DEPTH) this.fail(`nesting deeper than ${MAX_HEADER_DEPTH} levels`)
    try {
      return this.scalarOrContainer()
    } finally {
      this.depth--
    }
  }

  private scalarOrContainer(): PyValue {
    const c = this.peek()
    if (c === '{') return this.dict()
    if (c === '(') return this.paren()
    if (c === '[') return this.sequence('[', ']')
    if (c === "'" || c === '"') return this.string()
    if ((c === 'u' || c === 'U' || c === 'b' || c === 'B') && /['"]/.test(this.src[this.pos + 1] ?? '')) {
      this.pos++
      return this.string()
    }
    if (/[-+0-9]/.test(c)) return this.integer()
    const word = /^[A-Za-z_]\w*/.exec(this.src.slice(this.pos))?.[0]
    if (word === 'True' || word === 'False' || word === 'None') {
      this.pos += word.length
      return word === 'None' ? null : word === 'True'
    }
    if (c === '') this.fail('unexpected end')
    return this.fail(`unexpected ${quoted(word ?? c)}`)
  }

  private dict(): Map<string, PyValue> {
    this.expect('{')
    const out = new Map<string, PyValue>()
    while (this.peek() !== '}') {
      const keyAt = this.pos
      const key = this.value()
      if (typeof key !== 'string') {
        this.pos = keyAt
        this.fail('dict keys must be strings')
      }
      if (out.has(key)) {
        this.pos = keyAt
        this.fail(`duplicate key ${quoted(key)}`)
      }
      this.expect(':')
      out.set(key, this.value())
      if (this.peek() === ',') this.pos++
      else if (this.peek() !== '}') this.fail('expected "," or "}"')
    }
    this.pos++
    return out
  }

  // Python: "(5)" is the integer 5, "(5,)" and "()" are tuples.
  private paren(): PyValue {
    this.expect('(')
    if (this.peek() === ')') {
      this.pos++
      return new PyTuple([])
    }
    const first = this.value()
    if (this.peek() === ')') {
      this.pos++
      return first
    }
    const items = [first]
    while (this.peek() === ',') {
      this.pos++
      if (this.peek() === ')') break
      items.push(this.value())
    }
    this.expect(')')
    return new PyTuple(items)
  }

  private sequence(open: string, close: string): PyValue[] {
    this.expect(open)
    const items: PyValue[] = []
    while (this.peek() !== close) {
      items.push(this.value())
      if (this.peek() === ',') this.pos++
      else if (this.peek() !== close) this.fail(`expected "," or "${close}"`)
    }
    this.pos++
    return items
  }

  private string(): string {
    const q = this.src[this.pos++]
    let out = ''
    while (this.pos < this.src.length) {
      const ch = this.src[this.pos++]
      if (ch === q) return out
      if (ch === '\n') break
      if (ch === '\\') {
        const e = this.src[this.pos++] ?? ''
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' }
        if (!Object.hasOwn(simple, e)) this.fail(`unsupported escape ${quoted(`\\${e}`)}`)
        out += simple[e]
      } else {
        out += ch
      }
    }
    return this.fail('unterminated string')
  }

  private integer(): number {
    const m = /^[-+]?\d+[lL]?/.exec(this.src.slice(this.pos))
    if (!m) return this.fail('expected an integer')
    if (/^[.eEjJxXoObB_]/.test(this.src.slice(this.pos + m[0].length))) this.fail('expected an integer')
    this.pos += m[0].length
    const n = Number(m[0].replace(/[lL]$/, ''))
    if (!Number.isSafeInteger(n)) this.fail(`integer ${m[0]} is too large`)
    return n
  }
}

function formatTuple(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`
}

interface NpyHeader {
  dtype: NpyDtype
  shape: number[]
}

function interpretHeader(text: string): NpyHeader {
  const parsed = new PyLiteralParser(text).parseDocument()
  if (!(parsed instanceof Map)) throw new TemplateFormatError('MALFORMED', 'npy header is not a dict')
  const keys = [...parsed.keys()].sort()
  // numpy itself rejects headers with missing or extra keys.
  if (keys.join(',') !== 'descr,fortran_order,shape') {
    throw new TemplateFormatError('MALFORMED', `npy header must have exactly the keys descr, fortran_order, shape; it has ${keys.join(', ') || 'none'}`)
  }
  const descr = parsed.get('descr')
  const fortran = parsed.get('fortran_order')
  const shapeValue = parsed.get('shape')

  if (typeof descr !== 'string') {
    throw new TemplateFormatError('UNSUPPORTED', 'npy dtype is a structured (record) dtype; only plain float32/float64 arrays are supported')
  }
  if (descr !== '<f4' && descr !== '<f8' && descr !== '>f4' && descr !== '>f8') {
    throw new TemplateFormatError('UNSUPPORTED', `npy dtype '${descr}' is not supported; expected float32 or float64 ('<f4', '<f8', '>f4', '>f8')`)
  }
  if (typeof fortran !== 'boolean') throw new TemplateFormatError('MALFORMED', 'npy header fortran_order is not True or False')
  if (fortran) {
    throw new TemplateFormatError('UNSUPPORTED', 'npy array is stored in Fortran (column-major) order; re-save it with np.save(path, np.ascontiguousarray(a))')
  }
  if (!(shapeValue instanceof PyTuple)) {
    throw new TemplateFormatError('MALFORMED', `npy header shape is ${JSON.stringify(shapeValue)}, not a tuple such as (512,)`)
  }
  const shape: number[] = []
  for (const d of shapeValue.items) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) {
      throw new TemplateFormatError('MALFORMED', 'npy header shape must be a tuple of non-negative integers')
    }
    shape.push(d)
  }
  if (shape.length !== 1 && shape.length !== 2) {
    throw new TemplateFormatError('UNSUPPORTED', `npy array has shape ${formatTuple(shape)}; expected (D,) for one template or (N, D) for N templates`)
  }
  return { dtype: descr, shape }
}

function decodeLatin1(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i])
  return s
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

export function readNpy(bytes: Uint8Array): NpyArray {
  if (!hasNpyMagic(bytes)) throw new TemplateFormatError('UNKNOWN_FORMAT', 'not an npy file: missing the \\x93NUMPY magic')
  if (bytes.length < MAGIC_LEN + 2) throw new TemplateFormatError('TRUNCATED', `npy file ends after ${bytes.length} bytes, inside the version field`)
  const major = bytes[MAGIC_LEN]
  const minor = bytes[MAGIC_LEN + 1]
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new TemplateFormatError('UNSUPPORTED', `npy version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are)`)
  }
  // v1 has a 2-byte header length (headers up to 64 KiB); v2+ widened it to 4 bytes.
  const lenBytes = major === 1 ? 2 : 4
  const headerStart = MAGIC_LEN + 2 + lenBytes
  if (bytes.length < headerStart) throw new TemplateFormatError('TRUNCATED', `npy file ends after ${bytes.length} bytes, inside the header-length field`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLen = major === 1 ? view.getUint16(MAGIC_LEN + 2, true) : view.getUint32(MAGIC_LEN + 2, true)
  const dataStart = headerStart + headerLen
  if (bytes.length < dataStart) {
    throw new TemplateFormatError('TRUNCATED', `npy header declares ${headerLen} header bytes but the file ends ${bytes.length - headerStart} bytes into it`)
  }
  const headerBytes = bytes.subarray(headerStart, dataStart)
  let headerText: string
  if (major === 3) {
    // v3 exists only to allow UTF-8 in structured field names; v1/v2 headers are latin-1.
    try {
      headerText = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes)
    } catch {
      throw new TemplateFormatError('MALFORMED', 'npy v3 header is not valid UTF-8')
    }
  } else {
    headerText = decodeLatin1(headerBytes)
  }
  const { dtype, shape } = interpretHeader(headerText)

  const count = shape.reduce((a, b) => a * b, 1)
  const itemSize = dtype[2] === '4' ? 4 : 8
  const available = bytes.length - dataStart
  if (!Number.isSafeInteger(count * itemSize) || count * itemSize > available) {
    const held = Math.floor(available / itemSize)
    throw new TemplateFormatError('TRUNCATED', `npy header declares ${count} values but the file holds ${held}`)
  }
  if (count * itemSize < available) {
    // numpy never writes trailing bytes; their presence means the file was altered or mislabelled.
    throw new TemplateFormatError('MALFORMED', `npy header declares ${count} values (${count * itemSize} bytes) but ${available} bytes follow the header`)
  }

  const little = dtype[0] === '<'
  const data = itemSize === 4 ? new Float32Array(count) : new Float64Array(count)
  if (little === HOST_LITTLE_ENDIAN) {
    // Native byte order: one bulk copy (which also fixes alignment, since dataStart may be odd).
    new Uint8Array(data.buffer).set(bytes.subarray(dataStart, dataStart + count * itemSize))
  } else if (itemSize === 4) {
    for (let i = 0; i < count; i++) data[i] = view.getFloat32(dataStart + i * 4, little)
  } else {
    for (let i = 0; i < count; i++) data[i] = view.getFloat64(dataStart + i * 8, little)
  }
  return { version: { major, minor }, dtype, shape, data }
}

/**
 * Writes a little-endian float32 ('<f4') C-order array as npy v1.0, the version every numpy
 * (and most non-Python readers) understands. Values are narrowed to float32.
 */
export function writeNpy(data: ArrayLike<number>, shape: readonly number[]): Uint8Array {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`writeNpy: invalid dimension ${d} in shape [${shape.join(', ')}]`)
  }
  const count = shape.reduce((a, b) => a * b, 1)
  if (count !== data.length) throw new RangeError(`writeNpy: shape [${shape.join(', ')}] needs ${count} values, got ${data.length}`)

  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape.length === 0 ? '()' : formatTuple(shape)}, }`
  // Pad with spaces and end with '\n' so magic + version + length + header is a multiple of 64.
  const unpadded = MAGIC_LEN + 2 + 2 + dict.length + 1
  const headerLen = dict.length + 1 + ((ARRAY_ALIGN - (unpadded % ARRAY_ALIGN)) % ARRAY_ALIGN)
  if (headerLen > 0xffff) throw new RangeError('writeNpy: header too long for npy v1.0')
  const header = dict.padEnd(headerLen - 1, ' ') + '\n'

  const dataStart = MAGIC_LEN + 4 + headerLen
  const out = new Uint8Array(dataStart + count * 4)
  out.set(MAGIC, 0)
  out[MAGIC_LEN] = 1
  out[MAGIC_LEN + 1] = 0
  const view = new DataView(out.buffer)
  view.setUint16(MAGIC_LEN + 2, headerLen, true)
  for (let i = 0; i < header.length; i++) out[MAGIC_LEN + 4 + i] = header.charCodeAt(i)
  for (let i = 0; i < count; i++) view.setFloat32(dataStart + i * 4, data[i], true)
  return out
}

// ---------------------------------------------------------------------------------------------
// As template files

export function extractNpy(bytes: Uint8Array): Extracted {
  const arr = readNpy(bytes)
  if (arr.data.length === 0) throw new TemplateFormatError('EMPTY', `npy array has shape ${formatTuple(arr.shape)}: it holds no values`)
  const [n, d] = arr.shape.length === 1 ? [1, arr.shape[0]] : arr.shape
  return unlabelledRows(arr.data, n, d, { npyVersion: `${arr.version.major}.${arr.version.minor}`, dtype: arr.dtype, shape: arr.shape })
}

export function exportTemplatesNpy(vectors: ArrayLike<number>[]): Uint8Array {
  if (vectors.length === 0) throw new TemplateFormatError('EMPTY', 'no templates to export')
  const checked = validateVectors(vectors, templateWhere(vectors.length))
  const d = checked[0].length
  const flat = new Float32Array(checked.length * d)
  checked.forEach((v, i) => flat.set(v, i * d))
  return writeNpy(flat, checked.length === 1 ? [d] : [checked.length, d])
}
