import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InferenceEngine } from '../../src/core/engine/inference-engine'
import { providerUnavailableReason } from '../../src/core/engine/onnx-session'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { ModelLoader } from '../../src/core/models/model-loader'
import { modelSignature, parseModel, patchModel } from '../../src/core/models/onnx-patch'
import { BUNDLED_MANIFESTS } from '../../src/core/models/bundled-models'

const FLT_MIN = 1.1754943508222875e-38

function countDenormals(bytes: Uint8Array): number {
  const g = parseModel(bytes).graph!
  let n = 0
  for (const t of g.initializer) {
    if (t.dataType !== 1 || t.rawData.length === 0) continue
    const f = new Float32Array(new Uint8Array(t.rawData).buffer)
    for (const v of f) if (v !== 0 && Math.abs(v) < FLT_MIN) n++
  }
  return n
}

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n)
  let s = seed
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    out[i] = (s / 2 ** 32) * 2 - 1
  }
  return out
}

describe('bundled models and the inference engine', () => {
  let engine: InferenceEngine
  let registry: ModelRegistry
  let loader: ModelLoader

  beforeAll(() => {
    engine = new InferenceEngine({ providers: ['cuda', 'cpu'] })
    registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-reg-')))
    loader = new ModelLoader(engine, registry)
  })
  afterAll(async () => engine.close())

  it('pins the bundled files by sha256', () => {
    for (const m of BUNDLED_MANIFESTS) expect(() => registry.readModel(registry.get(m.id))).not.toThrow()
  })

  it('frees the batch dimension and flushes every denormal weight of fr_feature', () => {
    const entry = registry.get('faceplugin-fr-feature')
    const original = registry.readModel(entry)
    expect(modelSignature(parseModel(original)).inputs[0].shape).toEqual([1, 3, 112, 112])
    expect(countDenormals(original)).toBe(8938)
    // The patch without the graph rewrites (graph-rewrites.ts, tested in graph-rewrites.test.ts).
    const { bytes, report } = patchModel(original, 'model', { rewrites: false })
    expect(report).toEqual({ denormalsFlushed: 8938, batchDimsFreed: ['input', 'output'], reshapesFixed: 1 })
    expect(patchModel(original).report.rewrites?.prelu).toBe(33)
    expect(countDenormals(bytes)).toBe(0)
    expect(modelSignature(parseModel(bytes)).inputs[0].shape).toEqual([-1, 3, 112, 112])
  })

  // The patch without graph rewrites (batch freed, denormals flushed) is bit-identical to the
  // file; with the default rewrites (as Unveil loads it) outputs agree to 1e-5.
  it('gives bit-identical outputs before and after patching, and batches of 16 equal single runs', async () => {
    const entry = registry.get('faceplugin-fr-feature')
    const patched = await new ModelLoader(engine, registry, { rewrites: false }).prepare(entry.manifest.id)
    expect(patched.maxBatch).toBeGreaterThanOrEqual(16)
    await engine.load('fr-feature-as-shipped', registry.readModel(entry))
    const samples = Array.from({ length: 16 }, (_, i) => random(3 * 112 * 112, i + 1))
    const input = { name: 'input', sampleDims: [3, 112, 112], samples }
    const shipped = await engine.runBatched('fr-feature-as-shipped', input, 'output', { maxBatch: 1 })
    const batched = await engine.runBatched(patched.key, input, 'output', { maxBatch: 16 })
    const single = await engine.runBatched(patched.key, input, 'output', { maxBatch: 1 })
    let maxBatchDiff = 0
    for (let s = 0; s < 16; s++) {
      expect(shipped[s].length).toBe(512)
      expect(Array.from(single[s])).toEqual(Array.from(shipped[s]))
      for (let i = 0; i < 512; i++) maxBatchDiff = Math.max(maxBatchDiff, Math.abs(batched[s][i] - shipped[s][i]))
    }
    expect(maxBatchDiff).toBeLessThan(1e-4)
    await engine.release(patched.key)
    const rewritten = await loader.prepare(entry.manifest.id)
    expect(rewritten.patch.rewrites?.prelu).toBe(33)
    const fast = await engine.runBatched(rewritten.key, input, 'output', { maxBatch: 1 })
    let maxRewriteDiff = 0
    for (let s = 0; s < 16; s++) for (let i = 0; i < 512; i++) maxRewriteDiff = Math.max(maxRewriteDiff, Math.abs(fast[s][i] - shipped[s][i]))
    expect(maxRewriteDiff).toBeLessThan(1e-5)
  })

  it('falls back to CPU and says why when CUDA is unavailable', async () => {
    await loader.prepare('faceplugin-fr-landmark')
    const info = engine.info()
    if (providerUnavailableReason('cuda')) {
      expect(info.provider).toBe('cpu')
      expect(info.fallbackReason).toMatch(/cuda/)
    } else {
      expect(['cuda', 'cpu']).toContain(info.provider)
    }
  })

  it('cancels a queued run', async () => {
    const model = await loader.prepare('faceplugin-fr-feature')
    const ctrl = new AbortController()
    const samples = Array.from({ length: 64 }, (_, i) => random(3 * 112 * 112, i + 100))
    const p = engine.runBatched(model.key, { name: 'input', sampleDims: [3, 112, 112], samples }, 'output', { maxBatch: 4, signal: ctrl.signal })
    ctrl.abort()
    await expect(p).rejects.toThrow(/cancelled/)
  })

  it('refuses a corrupt model with a clear error', async () => {
    const bytes = new Uint8Array(readFileSync(registry.get('faceplugin-fr-landmark').path)).slice(0, 5000)
    expect(() => patchModel(bytes, 'model x')).toThrow(/model x is not a valid ONNX file/)
  })
})
