import './telemetry-off'
import { Worker } from 'node:worker_threads'
import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EngineInfo, ExecutionProvider } from '../../shared/types'
import { CancelledError, WORKER_SETTINGS_ENV, type EngineRequest, type EngineResponse, type IsolatedHostFactory, type LoadedModelInfo, type RemoteRunner, type WireTensor, type WorkerHost, type WorkerSettings } from './engine-protocol'
import { LanePool } from './lane-pool'
import { ScheduleChooser, dataParallelFromEnv, type DataParallelSetting, type Schedule, type ScheduleState } from './schedule-choice'

export type { WireTensor, LoadedModelInfo, IsolatedHostFactory, RemoteRunner, WorkerHost } from './engine-protocol'
export { CancelledError } from './engine-protocol'

export interface EngineOptions {
  providers?: ExecutionProvider[]
  threads?: number
  denormalAsZero?: boolean
  spinning?: boolean
  graphOptimizationLevel?: WorkerSettings['graphOptimizationLevel']
  memArena?: boolean
  interOpThreads?: number
  /** Profile every session (ORT JSON trace, written when the model is released); benchmarks only. */
  profilePrefix?: string
  /** Built worker script; found next to this module or in the project's out/ folders otherwise. */
  workerPath?: string
  /**
   * Batched CPU calls of at least MIN_LANE_SAMPLES samples may run on one-thread worker lanes in
   * parallel instead of one session's intra-op threads: 'auto' (default, UNVEIL_DATA_PARALLEL)
   * picks whichever measures faster, 'on' always, 'off' never.
   */
  dataParallel?: DataParallelSetting
  /** Number of lanes (default: the threads setting, or one per available core). */
  lanes?: number
  /**
   * Host the sessions in a child process instead of a worker thread, so that kill() can stop a
   * run that never ends (a worker thread busy in ONNX Runtime cannot be terminated). Trials only:
   * tensors are copied, not transferred.
   */
  isolated?: boolean
  /** How an isolated engine starts its process (default: forkHost). */
  isolatedHost?: IsolatedHostFactory
}

/** Node's isolated host: the worker script forked as a child process (structured-clone IPC). */
export const forkHost: IsolatedHostFactory = (workerPath, settings) => {
  // Inside Electron, fork would start the Electron binary: with RunAsNode fused off, a second app.
  if (process.versions.electron) throw new Error('an isolated engine inside Electron needs the app to pass a host (utilityProcess)')
  const child: ChildProcess = fork(workerPath, [], { serialization: 'advanced', env: { ...process.env, [WORKER_SETTINGS_ENV]: JSON.stringify(settings) }, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
  const channel = (): { ref(): void; unref(): void } | undefined => (child as unknown as { channel?: { ref(): void; unref(): void } }).channel
  return {
    postMessage: (msg) => child.send(msg),
    on: (event: string, fn: (arg: never) => void) => child.on(event, fn as (...args: unknown[]) => void),
    ref: () => {
      child.ref()
      channel()?.ref()
    },
    unref: () => {
      child.unref()
      channel()?.unref()
    },
    terminate: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  }
}

/** Smaller calls stay on the intra-op schedule (trial runs, single faces). */
const MIN_LANE_SAMPLES = 8
/** Samples run both ways once per model before lanes are used: results must be bit-identical. */
const LANE_CHECK_SAMPLES = 8

type ModelSource = Uint8Array | (() => Promise<Uint8Array>)

interface BatchInput {
  name: string
  sampleDims: number[]
  samples: Float32Array[]
}

interface BatchOptions {
  maxBatch: number
  signal?: AbortSignal
  onBatch?: (done: number, total: number) => void
}

/** A request before it is numbered (Omit distributed over the union's members). */
type RequestBody = EngineRequest extends infer R ? (R extends EngineRequest ? Omit<R, 'id'> : never) : never

interface Pending {
  resolve: (r: EngineResponse) => void
  reject: (e: Error) => void
}

function defaultProviders(): ExecutionProvider[] {
  const env = process.env.UNVEIL_PROVIDERS
  if (env) return env.split(',').map((p) => p.trim()) as ExecutionProvider[]
  // CUDA first where a GPU build of ONNX Runtime could exist; the CPU retry covers the rest.
  return process.platform === 'darwin' ? ['cpu'] : ['cuda', 'cpu']
}

/** Finds the bundled worker: beside the built module (app, CLI) or in out/ (tests run sources). */
export function resolveWorkerPath(): string {
  if (process.env.UNVEIL_WORKER_PATH) return process.env.UNVEIL_WORKER_PATH
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [join(here, 'inference-worker.js')]
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    candidates.push(join(dir, 'out', 'cli', 'inference-worker.js'), join(dir, 'out', 'main', 'inference-worker.js'))
  }
  const found = candidates.find((p) => existsSync(p))
  if (!found) throw new Error('inference worker not built: run `npm run build` first')
  return resolve(found)
}

/**
 * Client side of the inference worker: loads models once per content hash, runs them with
 * cancellation, and splits large batches into the model's batch limit.
 */
/** How long close() waits for a starting worker to load ONNX Runtime before terminating it anyway. */
const READY_WAIT_MS = 30_000

export class InferenceEngine {
  private readonly worker: WorkerHost
  private readonly pending = new Map<number, Pending>()
  /** Requests the worker has not answered yet, including ones the caller gave up on (cancelled). */
  private readonly inFlight = new Set<number>()
  private drained: (() => void) | null = null
  private readonly loaded = new Map<string, Promise<LoadedModelInfo>>()
  private nextId = 1
  private lastInfo: LoadedModelInfo | null = null
  private closed = false
  private readonly sources = new Map<string, ModelSource>()
  /** Models served over the network (remote engines): run() sends their batches there. */
  private readonly remotes = new Map<string, RemoteRunner>()
  private readonly providerOf = new Map<string, LoadedModelInfo['provider']>()
  /** Models whose lane results differed from the intra-op schedule's: never run on lanes. */
  private readonly laneMismatch = new Set<string>()
  private readonly laneChecked = new Map<string, Promise<boolean>>()
  private lanePool: LanePool | null = null
  /** Settles when the worker has said 'ready' or has exited. */
  private readonly started: Promise<void>
  private readonly chooser = new ScheduleChooser()
  private readonly dataParallel: DataParallelSetting
  private readonly laneCount: number
  private readonly options: EngineOptions
  private readonly isolated: boolean
  readonly settings: WorkerSettings

  constructor(options: EngineOptions = {}) {
    this.options = options
    // A trial engine (isolated) runs one sample: no lanes.
    this.dataParallel = options.isolated ? 'off' : (options.dataParallel ?? dataParallelFromEnv())
    this.settings = { providers: options.providers ?? defaultProviders(), threads: options.threads ?? Number(process.env.UNVEIL_THREADS ?? 0), denormalAsZero: options.denormalAsZero ?? true, spinning: options.spinning ?? false, graphOptimizationLevel: options.graphOptimizationLevel, memArena: options.memArena, interOpThreads: options.interOpThreads, profilePrefix: options.profilePrefix }
    this.laneCount = options.lanes ?? (this.settings.threads > 0 ? this.settings.threads : availableParallelism())
    const workerPath = options.workerPath ?? resolveWorkerPath()
    this.isolated = options.isolated ?? false
    this.worker = this.isolated ? (options.isolatedHost ?? forkHost)(workerPath, this.settings) : new Worker(workerPath, { workerData: this.settings })
    let started!: () => void
    this.started = new Promise<void>((resolve) => (started = resolve))
    this.worker.on('message', (msg: EngineResponse) => {
      if (msg.ok && msg.type === 'ready') return started()
      this.answered(msg.id)
      const p = this.pending.get(msg.id)
      if (!p) return
      this.pending.delete(msg.id)
      if (msg.ok) p.resolve(msg)
      else p.reject(msg.cancelled ? new CancelledError() : new Error(msg.error))
    })
    this.worker.on('error', (err) => this.failAll(err))
    this.worker.on('exit', (code) => {
      started()
      if (!this.closed) this.failAll(new Error(`inference worker exited with code ${code}`))
    })
    // An idle worker must not keep a CLI process alive, but a busy one must: a process that
    // exits while ONNX Runtime is mid-run aborts natively.
    this.worker.unref()
  }

  private track(id: number, p: Pending): void {
    if (this.inFlight.size === 0) this.worker.ref()
    this.inFlight.add(id)
    this.pending.set(id, p)
  }

  private answered(id: number): void {
    if (!this.inFlight.delete(id)) return
    if (this.inFlight.size === 0) {
      this.worker.unref()
      this.drained?.()
    }
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err)
    this.pending.clear()
    this.inFlight.clear()
    this.worker.unref()
    this.drained?.()
  }

  private send(req: RequestBody, transfer: ArrayBuffer[] = [], signal?: AbortSignal): Promise<EngineResponse> {
    if (this.closed) return Promise.reject(new Error('inference engine is closed'))
    if (signal?.aborted) return Promise.reject(new CancelledError())
    const id = this.nextId++
    return new Promise<EngineResponse>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.pending.has(id)) return
        this.pending.delete(id)
        this.worker.postMessage({ id: this.nextId++, type: 'cancel', target: id } satisfies EngineRequest)
        reject(new CancelledError())
      }
      this.track(id, {
        resolve: (r) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(r)
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort)
          reject(e)
        }
      })
      signal?.addEventListener('abort', onAbort, { once: true })
      this.worker.postMessage({ ...req, id } as EngineRequest, transfer)
    })
  }

  /** Loads a model under a key (its sha256); later calls with the same key reuse the session. */
  load(key: string, model: Uint8Array | (() => Promise<Uint8Array>)): Promise<LoadedModelInfo> {
    let p = this.loaded.get(key)
    if (!p) {
      this.sources.set(key, model)
      p = (async () => {
        const bytes = typeof model === 'function' ? await model() : model
        const r = await this.send({ type: 'load', key, model: bytes })
        if (r.ok && r.type === 'load') {
          this.lastInfo = r.info
          this.providerOf.set(key, r.info.provider)
          return r.info
        }
        throw new Error('unexpected worker reply to load')
      })()
      this.loaded.set(key, p)
      p.catch(() => this.loaded.delete(key))
    }
    return p
  }

  /** Serves a key from a remote engine: run() and runBatched() then send its batches there. */
  attachRemote(key: string, runner: RemoteRunner): void {
    this.remotes.set(key, runner)
  }

  isLoaded(key: string): boolean {
    return this.loaded.has(key) || this.remotes.has(key)
  }

  async release(key: string): Promise<void> {
    if (this.remotes.delete(key)) return
    if (!this.loaded.delete(key)) return
    this.sources.delete(key)
    this.providerOf.delete(key)
    this.laneMismatch.delete(key)
    this.laneChecked.delete(key)
    this.chooser.forget(key)
    await this.lanePool?.release(key)
    await this.send({ type: 'release', key })
  }

  async run(
    key: string,
    feeds: Record<string, WireTensor>,
    options: { signal?: AbortSignal; outputs?: string[] } = {}
  ): Promise<{ outputs: Record<string, WireTensor>; ms: number }> {
    const remote = this.remotes.get(key)
    if (remote) {
      if (this.closed) throw new Error('inference engine is closed')
      const t0 = performance.now()
      const outputs = await remote.run(feeds, options.outputs, options.signal)
      return { outputs, ms: performance.now() - t0 }
    }
    if (!this.loaded.has(key)) throw new Error(`model ${key} is not loaded`)
    await this.loaded.get(key)
    const r = await this.send({ type: 'run', key, feeds, outputs: options.outputs }, [], options.signal)
    if (r.ok && r.type === 'run') return { outputs: r.outputs, ms: r.ms }
    throw new Error('unexpected worker reply to run')
  }

  /**
   * Runs N samples of one input through a model in batches of at most maxBatch, returning one
   * output row per sample. Large CPU calls run on the schedule that measures faster (see
   * schedule-choice.ts); both give bit-identical rows, which is checked once per model.
   */
  async runBatched(key: string, input: BatchInput, output: string, options: BatchOptions): Promise<Float32Array[]> {
    const sampleSize = input.sampleDims.reduce((a, b) => a * b, 1)
    input.samples.forEach((s, i) => {
      if (s.length !== sampleSize) throw new Error(`sample ${i} has ${s.length} values, expected ${sampleSize}`)
    })
    const total = input.samples.length
    if (!this.lanesAllowed(key, total)) return this.runSequential(key, input, output, options)
    const measured = this.dataParallel === 'auto'
    const schedule: Schedule = measured ? this.chooser.choose(key, total) : 'lanes'
    const lanes = schedule === 'lanes' && (await this.lanesAgree(key, input, output, options))
    const t0 = performance.now()
    const rows = lanes ? await this.lanePool!.run(key, input, output, options) : await this.runSequential(key, input, output, options)
    if (measured) this.chooser.record(key, total, lanes ? 'lanes' : 'intra', performance.now() - t0)
    return rows
  }

  private lanesAllowed(key: string, samples: number): boolean {
    return (
      this.dataParallel !== 'off' &&
      this.laneCount > 1 &&
      samples >= MIN_LANE_SAMPLES &&
      this.providerOf.get(key) === 'cpu' &&
      this.sources.has(key) &&
      !this.laneMismatch.has(key)
    )
  }

  /**
   * Loads the model into the lanes and, the first time, runs a few samples both ways: lanes are
   * used only if every value is identical, so the schedule never changes a seeded run's result.
   */
  private lanesAgree(key: string, input: BatchInput, output: string, options: BatchOptions): Promise<boolean> {
    let p = this.laneChecked.get(key)
    if (!p) {
      p = (async () => {
        if (!this.lanePool) {
          const lane = { ...this.options, providers: ['cpu' as const], threads: 1, lanes: 1, dataParallel: 'off' as const, profilePrefix: undefined }
          this.lanePool = new LanePool(this.laneCount, () => new InferenceEngine(lane))
        }
        const source = this.sources.get(key)!
        await this.lanePool.load(key, typeof source === 'function' ? source : async () => source)
        const probe = { ...input, samples: input.samples.slice(0, LANE_CHECK_SAMPLES) }
        const one = await this.runSequential(key, probe, output, { maxBatch: options.maxBatch, signal: options.signal })
        const other = await this.lanePool.run(key, probe, output, { maxBatch: 1, signal: options.signal })
        const same = one.every((row, i) => row.length === other[i].length && row.every((v, j) => Object.is(v, other[i][j])))
        if (!same) this.laneMismatch.add(key)
        return same
      })()
      this.laneChecked.set(key, p)
      // A cancelled check is retried on the next call.
      p.catch(() => this.laneChecked.delete(key))
    }
    return p
  }

  private async runSequential(key: string, input: BatchInput, output: string, options: BatchOptions): Promise<Float32Array[]> {
    const sampleSize = input.sampleDims.reduce((a, b) => a * b, 1)
    const results: Float32Array[] = []
    const total = input.samples.length
    for (let start = 0; start < total; start += options.maxBatch) {
      const chunk = input.samples.slice(start, start + options.maxBatch)
      const data = new Float32Array(chunk.length * sampleSize)
      chunk.forEach((s, i) => data.set(s, i * sampleSize))
      const { outputs } = await this.run(
        key,
        { [input.name]: { data, dims: [chunk.length, ...input.sampleDims] } },
        { signal: options.signal, outputs: [output] }
      )
      const out = outputs[output]
      if (!out) throw new Error(`model did not return output '${output}'`)
      const rowSize = out.data.length / chunk.length
      for (let i = 0; i < chunk.length; i++) results.push(out.data.slice(i * rowSize, (i + 1) * rowSize))
      options.onBatch?.(Math.min(start + chunk.length, total), total)
    }
    return results
  }

  /** The measured schedule choices so far (benchmarks print them). */
  scheduleState(): ScheduleState[] {
    return this.chooser.state()
  }

  info(): EngineInfo {
    return {
      provider: this.lastInfo?.provider ?? 'cpu',
      requestedProviders: this.settings.providers,
      fallbackReason: this.lastInfo?.fallbackReason ?? null,
      threads: this.settings.threads
    }
  }

  /**
   * Waits for the worker to finish what it was sent (a cancelled run still completes inside
   * ONNX Runtime), then stops it: terminating a worker mid-run, or one still loading ONNX
   * Runtime (a command that fails in its first milliseconds), aborts the process natively.
   */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.inFlight.size > 0) await new Promise<void>((resolve) => (this.drained = resolve))
    this.failAll(new Error('inference engine is closed'))
    await this.lanePool?.close()
    // A separate process (isolated) can be killed at any point; a thread cannot.
    if (!this.isolated) {
      this.worker.ref()
      await Promise.race([this.started, new Promise((resolve) => setTimeout(resolve, READY_WAIT_MS).unref())])
    }
    await this.worker.terminate()
  }

  /** Stops an isolated engine at once, failing what it was running with `reason`. */
  async kill(reason: string): Promise<void> {
    if (!this.isolated) throw new Error('only an isolated engine can be killed mid-run')
    if (this.closed) return
    this.closed = true
    this.failAll(new Error(reason))
    await this.worker.terminate()
  }
}
