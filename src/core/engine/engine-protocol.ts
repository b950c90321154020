import type { ExecutionProvider } from '../../shared/types'

/** A tensor as it crosses the worker boundary (the buffer is transferred, not copied). */
export interface WireTensor {
  data: Float32Array
  dims: number[]
}

export interface LoadedModelInfo {
  key: string
  provider: ExecutionProvider
  fallbackReason: string | null
  inputNames: string[]
  outputNames: string[]
}

export type EngineRequest =
  | { id: number; type: 'load'; key: string; model: Uint8Array }
  | { id: number; type: 'run'; key: string; feeds: Record<string, WireTensor>; outputs?: string[] }
  | { id: number; type: 'release'; key: string }
  | { id: number; type: 'cancel'; target: number }

export type EngineResponse =
  | { id: number; ok: true; type: 'load'; info: LoadedModelInfo }
  /** Sent once, unasked (id 0), when the worker has loaded ONNX Runtime and listens. */
  | { id: 0; ok: true; type: 'ready' }
  | { id: number; ok: true; type: 'run'; outputs: Record<string, WireTensor>; ms: number }
  | { id: number; ok: true; type: 'release' | 'cancel' }
  | { id: number; ok: false; error: string; cancelled?: boolean }

export interface WorkerSettings {
  providers: ExecutionProvider[]
  threads: number
  /** Flush denormals produced at run time (on by default; benchmarks turn it off to compare). */
  denormalAsZero: boolean
  /**
   * Let idle ORT threads spin-wait. Off by default: measured 1.36x faster off on a loaded 2-core
   * machine and within noise on an idle one (docs/benchmarks.md, issue 10).
   */
  spinning: boolean
  /** ORT graph optimisation level (default 'all', which includes the blocked NCHWc layout). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all'
  /** ORT's CPU memory arena (default on). */
  memArena?: boolean
  /** Inter-op threads (default 1: the graphs are chains, sequential execution). */
  interOpThreads?: number
  /** Write an ORT profile (JSON) per session with this path prefix; benchmarks only. */
  profilePrefix?: string
}

/** The worker thread or process that hosts the sessions, seen through one interface. */
export interface WorkerHost {
  postMessage(msg: EngineRequest, transfer?: ArrayBuffer[]): void
  on(event: 'message', fn: (msg: EngineResponse) => void): void
  on(event: 'error', fn: (err: Error) => void): void
  on(event: 'exit', fn: (code: number | null) => void): void
  ref(): void
  unref(): void
  terminate(): Promise<unknown>
}

/**
 * Starts the worker script as a separate, killable process (for isolated trial runs). Node's
 * default forks it; the Electron app passes one built on utilityProcess, since forking the
 * Electron binary needs ELECTRON_RUN_AS_NODE, which a hardened build turns off.
 */
export type IsolatedHostFactory = (workerPath: string, settings: WorkerSettings) => WorkerHost

/** Environment variable carrying the WorkerSettings (JSON) to a worker started as a process. */
export const WORKER_SETTINGS_ENV = 'UNVEIL_WORKER_SETTINGS'

/** A run the caller cancelled (its AbortSignal fired); named AbortError as the job queue expects. */
export class CancelledError extends Error {
  constructor(message = 'cancelled') {
    super(message)
    this.name = 'AbortError'
  }
}

/**
 * A model the engine reaches over the network instead of in its worker (engine/kserve-client.ts):
 * one batch of feeds in, the requested outputs back, checked for shape and finite values.
 */
export interface RemoteRunner {
  run(feeds: Record<string, WireTensor>, outputs: string[] | undefined, signal?: AbortSignal): Promise<Record<string, WireTensor>>
}
