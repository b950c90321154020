import type { ModelManifest } from '../../shared/types'
import { InferenceEngine, type IsolatedHostFactory } from '../engine/inference-engine'

const DEFAULT_TIMEOUT_MS = 60_000

/** The trial's time limit: UNVEIL_TRIAL_TIMEOUT_MS, else one minute for load and one sample. */
export function trialTimeoutMs(): number {
  const env = Number(process.env.UNVEIL_TRIAL_TIMEOUT_MS)
  return Number.isFinite(env) && env > 0 ? env : DEFAULT_TIMEOUT_MS
}

export class ModelTrialError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ModelTrialError'
  }
}

/**
 * Runs a user model once on a mid-grey sample in a child process, with a time limit, before the
 * shared engine ever loads it: a model that never finishes would otherwise block the engine's
 * worker for good (a worker thread inside ONNX Runtime cannot be terminated; a process can be
 * killed). Passing models are remembered by sha256 for the life of the process.
 */
export class ModelTrial {
  private readonly passed = new Map<string, Promise<void>>()

  constructor(private readonly options: { threads?: number; timeoutMs?: number; workerPath?: string; isolatedHost?: IsolatedHostFactory } = {}) {}

  /** Resolves when `bytes` (the model as it will be loaded) runs and gives finite values of the manifest's size. */
  check(manifest: ModelManifest, bytes: Uint8Array): Promise<void> {
    let p = this.passed.get(manifest.sha256)
    if (!p) {
      p = this.run(manifest, bytes)
      this.passed.set(manifest.sha256, p)
      p.catch(() => this.passed.delete(manifest.sha256))
    }
    return p
  }

  private async run(m: ModelManifest, bytes: Uint8Array): Promise<void> {
    const dims = m.input.shape.slice(1)
    if (dims.some((d) => d < 1))
      throw new ModelTrialError(`model '${m.id}' has a dynamic input size ${JSON.stringify(m.input.shape)}; give fixed sizes in its manifest`)
    const timeoutMs = this.options.timeoutMs ?? trialTimeoutMs()
    const engine = new InferenceEngine({ providers: ['cpu'], threads: this.options.threads, isolated: true, workerPath: this.options.workerPath, isolatedHost: this.options.isolatedHost })
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(new ModelTrialError(`model '${m.id}' did not finish a trial run on one ${dims.join('x')} input within ${(timeoutMs / 1000).toFixed(0)} s`)),
        timeoutMs
      )
    })
    try {
      const out = await Promise.race([this.infer(engine, m, dims, bytes), timedOut])
      const expected = m.role === 'encoder' ? m.embeddingDim! : m.output.shape.slice(1).reduce((a, b) => (b > 0 ? a * b : a), 1)
      if (out.length !== expected) throw new ModelTrialError(`output '${m.output.name}' has ${out.length} values per sample, expected ${expected}`)
      if (!out.every(Number.isFinite)) throw new ModelTrialError(`output '${m.output.name}' contains NaN or Inf`)
    } finally {
      clearTimeout(timer)
      await engine.kill('trial run stopped')
    }
  }

  private async infer(engine: InferenceEngine, m: ModelManifest, dims: number[], bytes: Uint8Array): Promise<Float32Array> {
    await engine.load(m.sha256, bytes)
    const data = new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(0.5)
    const [out] = await engine.runBatched(m.sha256, { name: m.input.name, sampleDims: dims, samples: [data] }, m.output.name, { maxBatch: 1 })
    return out
  }
}
