import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { ModelManifest } from '../../shared/types'
import { InferenceEngine, type IsolatedHostFactory } from '../engine/inference-engine'
import { softwareVersion } from '../env/software-version'
import { writeFileAtomic } from '../fs/atomic-write'
import { sha256Hex } from '../fs/sha256'

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
 * killed). Passing models are remembered by sha256 for the life of the process and, with a
 * `recordDir`, across processes: a CLI command would otherwise pay a child process start (1-2 s)
 * for every user model it loads.
 */
export class ModelTrial {
  private readonly passed = new Map<string, Promise<void>>()

  constructor(
    private readonly options: { threads?: number; timeoutMs?: number; workerPath?: string; isolatedHost?: IsolatedHostFactory; recordDir?: string } = {}
  ) {}

  /** Resolves when `bytes` (the model as it will be loaded) runs and gives finite values of the manifest's size. */
  check(manifest: ModelManifest, bytes: Uint8Array): Promise<void> {
    let p = this.passed.get(manifest.sha256)
    if (!p) {
      p = this.runOrRecall(manifest, bytes)
      this.passed.set(manifest.sha256, p)
      p.catch(() => this.passed.delete(manifest.sha256))
    }
    return p
  }

  /**
   * A pass is recorded under the sha256 of the bytes as loaded (so a changed patcher or model
   * trials again) with the software and ONNX Runtime versions (a new runtime may hang where the
   * old one did not). Only passes are recorded: a failing model is tried again next time.
   */
  private async runOrRecall(manifest: ModelManifest, bytes: Uint8Array): Promise<void> {
    const dir = this.options.recordDir
    if (!dir) return this.run(manifest, bytes)
    const file = join(dir, `${sha256Hex(bytes)}.json`)
    const stamp = { software: softwareVersion(), onnxruntime: onnxRuntimeVersion() }
    if (recorded(file, stamp)) return
    await this.run(manifest, bytes)
    mkdirSync(dir, { recursive: true })
    writeFileAtomic(file, JSON.stringify({ ...stamp, model: manifest.id, passedAt: new Date().toISOString() }) + '\n')
  }

  private async run(m: ModelManifest, bytes: Uint8Array): Promise<void> {
    const dims = m.input.shape.slice(1)
    if (dims.some((d) => d < 1))
      throw new ModelTrialError(`model '${m.id}' has a dynamic input size ${JSON.stringify(m.input.shape)}; give fixed sizes in its manifest`)
    const timeoutMs = this.options.timeoutMs ?? trialTimeoutMs()
    const engine = new InferenceEngine({
      providers: ['cpu'],
      threads: this.options.threads,
      isolated: true,
      workerPath: this.options.workerPath,
      isolatedHost: this.options.isolatedHost
    })
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

function recorded(file: string, stamp: { software: string; onnxruntime: string }): boolean {
  if (!existsSync(file)) return false
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
    return r.software === stamp.software && r.onnxruntime === stamp.onnxruntime
  } catch {
    return false // a damaged record only costs a trial
  }
}

let ortVersion: string | null = null
function onnxRuntimeVersion(): string {
  if (!ortVersion) {
    try {
      ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version
    } catch {
      ortVersion = 'unknown'
    }
  }
  return ortVersion
}
