import type { ModelEntry } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import { patchModel, type PatchReport } from './onnx-patch'
import type { ModelRegistry } from './model-registry'

export interface PreparedModel {
  entry: ModelEntry
  /** Engine key: the sha256 of the file as registered (patching happens in memory). */
  key: string
  /** Largest batch one engine call may take (1 when the batch could not be freed safely). */
  maxBatch: number
  patch: PatchReport
}

const TRIAL_TOLERANCE = 1e-4

function staticSampleDims(entry: ModelEntry): number[] {
  const dims = entry.manifest.input.shape.slice(1)
  if (dims.some((d) => d < 1)) {
    throw new Error(`model '${entry.manifest.id}' has a dynamic input size ${JSON.stringify(entry.manifest.input.shape)}; give fixed sizes in its manifest`)
  }
  return dims
}

function pseudoRandom(n: number, seed: number): Float32Array {
  const out = new Float32Array(n)
  let s = seed >>> 0
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 32 - 0.5
  }
  return out
}

/**
 * Loads registry models into an engine, patched for batching. A freed batch is trusted only
 * after a trial: two samples run together must match the same samples run one by one.
 */
export class ModelLoader {
  private readonly prepared = new Map<string, Promise<PreparedModel>>()

  constructor(
    private readonly engine: InferenceEngine,
    private readonly registry: ModelRegistry
  ) {}

  prepare(id: string): Promise<PreparedModel> {
    const entry = this.registry.get(id)
    const cacheKey = `${id}:${entry.manifest.sha256}`
    let p = this.prepared.get(cacheKey)
    if (!p) {
      p = this.load(entry)
      this.prepared.set(cacheKey, p)
      p.catch(() => this.prepared.delete(cacheKey))
    }
    return p
  }

  private async load(entry: ModelEntry): Promise<PreparedModel> {
    const original = this.registry.readModel(entry)
    const label = `model '${entry.manifest.id}'`
    const patched = patchModel(original, label)
    const key = entry.manifest.sha256
    await this.engine.load(key, patched.bytes)
    if (patched.report.batchDimsFreed.length === 0) {
      const fixed = entry.manifest.input.shape[0]
      return { entry, key, maxBatch: fixed > 0 ? fixed : 256, patch: patched.report }
    }
    if (await this.batchTrialPasses(entry, key)) return { entry, key, maxBatch: 256, patch: patched.report }
    await this.engine.release(key)
    const unbatched = patchModel(original, label, { freeBatch: false })
    await this.engine.load(key, unbatched.bytes)
    return { entry, key, maxBatch: 1, patch: unbatched.report }
  }

  private async batchTrialPasses(entry: ModelEntry, key: string): Promise<boolean> {
    const dims = staticSampleDims(entry)
    const size = dims.reduce((a, b) => a * b, 1)
    const a = pseudoRandom(size, 1)
    const b = pseudoRandom(size, 2)
    const input = entry.manifest.input.name
    const output = entry.manifest.output.name
    try {
      const pair = await this.engine.runBatched(key, { name: input, sampleDims: dims, samples: [a, b] }, output, { maxBatch: 2 })
      const singles = await this.engine.runBatched(key, { name: input, sampleDims: dims, samples: [a, b] }, output, { maxBatch: 1 })
      for (let s = 0; s < 2; s++) {
        if (pair[s].length !== singles[s].length) return false
        for (let i = 0; i < pair[s].length; i++) if (Math.abs(pair[s][i] - singles[s][i]) > TRIAL_TOLERANCE) return false
      }
      return true
    } catch {
      return false
    }
  }

  sampleDims(entry: ModelEntry): number[] {
    return staticSampleDims(entry)
  }
}
