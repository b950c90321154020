// Test fixtures built byte by byte, independently of the writer under test, so a bug shared
// by reader and writer cannot hide behind a passing round trip.
import { spawnSync } from 'node:child_process'
import { expect } from 'vitest'
import { TemplateFormatError, type TemplateErrorCode } from '../../../src/core/templates/template-codec'

export interface NpyFixture {
  values: ArrayLike<number>
  shape: number[]
  descr?: string
  version?: [number, number]
  fortran?: boolean
  /** Overrides the whole header dict text. */
  header?: string
  /** numpy < 1.9 aligned to 16 bytes; default 64. */
  align?: number
}

export function makeNpy(f: NpyFixture): Uint8Array {
  const descr = f.descr ?? '<f4'
  const [major, minor] = f.version ?? [1, 0]
  const shapeText = f.shape.length === 1 ? `(${f.shape[0]},)` : `(${f.shape.join(', ')})`
  const dict = f.header ?? `{'descr': '${descr}', 'fortran_order': ${f.fortran ? 'True' : 'False'}, 'shape': ${shapeText}, }`
  const headerBytes = new TextEncoder().encode(dict)
  const lenBytes = major === 1 ? 2 : 4
  const prefix = 6 + 2 + lenBytes
  const align = f.align ?? 64
  const pad = (align - ((prefix + headerBytes.length + 1) % align)) % align
  const headerLen = headerBytes.length + pad + 1

  const size = descr.endsWith('8') ? 8 : descr.endsWith('2') ? 2 : 4
  const little = !descr.startsWith('>')
  const out = new Uint8Array(prefix + headerLen + f.values.length * size)
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, minor])
  const view = new DataView(out.buffer)
  if (lenBytes === 2) view.setUint16(8, headerLen, true)
  else view.setUint32(8, headerLen, true)
  out.set(headerBytes, prefix)
  out.fill(0x20, prefix + headerBytes.length, prefix + headerLen - 1)
  out[prefix + headerLen - 1] = 0x0a
  const start = prefix + headerLen
  for (let i = 0; i < f.values.length; i++) {
    const v = f.values[i]
    if (size === 8) view.setFloat64(start + i * 8, v, little)
    else if (size === 4) view.setFloat32(start + i * 4, v, little)
    else view.setUint16(start + i * 2, 0, little)
  }
  return out
}

export function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true)
  return out
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A face-template-like vector: float32 values around ±0.1. */
export function randomTemplate(dim: number, seed: number): Float32Array {
  const r = rng(seed)
  return Float32Array.from({ length: dim }, () => (r() - 0.5) * 0.3)
}

export function expectTemplateError(fn: () => unknown, code: TemplateErrorCode, message: string | RegExp): TemplateFormatError {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(caught, 'expected a TemplateFormatError to be thrown').toBeInstanceOf(TemplateFormatError)
  const e = caught as TemplateFormatError
  expect(e.code).toBe(code)
  if (typeof message === 'string') expect(e.message).toBe(message)
  else expect(e.message).toMatch(message)
  return e
}

export function bitsEqual(a: Float32Array, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false
  const fb = Float32Array.from(b)
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length)
  const ub = new Uint32Array(fb.buffer)
  return ua.every((x, i) => x === ub[i])
}

/** Why NumPy cannot be used, or null when `python3 -c "import numpy"` works. */
export function numpyUnavailable(): string | null {
  const r = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' })
  if (r.error) return `python3 not runnable (${r.error.message})`
  if (r.status !== 0) return `numpy not importable: ${r.stderr.trim().split('\n').pop()}`
  return null
}
