// Derived graphs are cached by the source sha256, the rule-set version and what was derived.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GradientGraphCache, gradientCacheKey } from '../../../src/core/autodiff/gradient-cache'
import { weightedSumLoss } from '../../../src/core/autodiff/losses'
import { RULESET_VERSION } from '../../../src/core/autodiff/rules'
import { sha256Hex } from '../../../src/core/fs/sha256'
import { oneOp } from './op-harness'

describe('gradient graph cache', () => {
  const model = oneOp(['batch', 5], (b, x) => b.node('Tanh', [x]))
  const options = { label: 'm', loss: weightedSumLoss() }

  it('keys by source sha256 and rule-set version, and reuses the graph from disk', async () => {
    const key = gradientCacheKey(sha256Hex(model), options)
    expect(key).toContain(sha256Hex(model).slice(0, 32))
    expect(key).toContain(`-r${RULESET_VERSION}-`)
    expect(gradientCacheKey(sha256Hex(model), { ...options, wrt: ['x'] })).not.toBe(key)
    const dir = mkdtempSync(join(tmpdir(), 'unveil-gradcache-'))
    const first = await new GradientGraphCache(dir).get(model, options)
    expect(existsSync(join(dir, `${key}.onnx`))).toBe(true)
    expect(readdirSync(dir).sort()).toEqual([`${key}.json`, `${key}.onnx`])
    const second = await new GradientGraphCache(dir).get(model, options)
    expect(Buffer.from(second.bytes).equals(Buffer.from(first.bytes))).toBe(true)
    expect(second.gradients).toEqual(first.gradients)
  })
})
