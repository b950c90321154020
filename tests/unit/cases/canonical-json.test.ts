import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../../src/core/cases/canonical-json'

describe('canonicalJson', () => {
  it('sorts keys recursively and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}')
  })

  it('is independent of key insertion order and stable across a parse round trip', () => {
    const one = canonicalJson({ x: 1, y: [true, null], z: 'é"\n' })
    const two = canonicalJson({ z: 'é"\n', y: [true, null], x: 1 })
    expect(one).toBe(two)
    expect(canonicalJson(JSON.parse(one))).toBe(one)
  })

  it('omits undefined object members like JSON does', () => {
    expect(canonicalJson({ a: undefined, b: 2 })).toBe('{"b":2}')
  })

  it('refuses values JSON cannot represent', () => {
    expect(() => canonicalJson({ a: { b: NaN } })).toThrow(/\$\.a\.b is NaN/)
    expect(() => canonicalJson({ when: new Date(0) })).toThrow(/\$\.when is a Date object/)
    expect(() => canonicalJson({ n: 1n })).toThrow(/type bigint/)
  })
})
