// Client of the KServe v2 / Open Inference Protocol over HTTP (Triton, KServe, MLServer):
// readiness, model metadata and FP32 inference, as JSON or with the binary tensor extension.
// Node's own fetch; no SDK, since the protocol is a handful of JSON endpoints.
import type { RemoteEngineSpec } from '../../shared/types'
import { CancelledError, type RemoteRunner, type WireTensor } from './engine-protocol'

/** Where and how to reach the model: the manifest's remote block (shared/types.ts). */
export type KserveEndpoint = Pick<RemoteEngineSpec, 'url' | 'model' | 'version' | 'binary' | 'timeoutMs' | 'retries'>

export interface KserveTensorMetadata {
  name: string
  datatype: string
  shape: number[]
}

export interface KserveModelMetadata {
  name: string
  versions: string[]
  platform: string
  inputs: KserveTensorMetadata[]
  outputs: KserveTensorMetadata[]
}

export class RemoteEngineError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'RemoteEngineError'
  }
}

export const DEFAULT_REMOTE_TIMEOUT_MS = 30_000
export const DEFAULT_REMOTE_RETRIES = 2
/**
 * Readiness and metadata answer at once on a healthy server: their limit is at most this, so a
 * registered server that is down (every run scores under every encoder) costs seconds, not minutes.
 */
const MAX_CONTROL_TIMEOUT_MS = 5_000
const BACKOFF_MS = 200
const MAX_BACKOFF_MS = 5_000
/** Header of the binary tensor extension: the JSON part's length, the tensors' bytes follow it. */
const HEADER_LENGTH = 'inference-header-content-length'
/** What of a server's error body goes into a message (one line). */
const MAX_DETAIL = 200

interface Reply {
  status: number
  headers: Headers
  body: Buffer
}

function oneLine(text: string): string {
  const flat = text.replace(/[\x00-\x1f\x7f]+/g, ' ').trim()
  return flat.length > MAX_DETAIL ? `${flat.slice(0, MAX_DETAIL)}…` : flat
}

/** The server's own error text: KServe v2 answers errors as {"error": "..."}. */
function errorDetail(body: Buffer): string {
  const text = body.toString('utf8')
  try {
    const parsed = JSON.parse(text) as { error?: unknown }
    if (typeof parsed.error === 'string') return oneLine(parsed.error)
  } catch {
    // Not JSON: the raw text, shortened.
  }
  return oneLine(text)
}

/** Why fetch failed, in a few words (undici hides the socket error in `cause`). */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (err as Error).message
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms)
    function done(): void {
      signal?.removeEventListener('abort', abort)
      resolve()
    }
    function abort(): void {
      clearTimeout(timer)
      reject(new CancelledError())
    }
    if (signal?.aborted) return abort()
    signal?.addEventListener('abort', abort, { once: true })
  })
}

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isInteger(d))
}

function tensorMetadata(v: unknown): KserveTensorMetadata | null {
  const t = v as Partial<KserveTensorMetadata> | null
  if (!t || typeof t.name !== 'string' || typeof t.datatype !== 'string' || !isShape(t.shape)) return null
  return { name: t.name, datatype: t.datatype, shape: t.shape }
}

/**
 * One model on one KServe v2 server. Every request has a time limit; a timeout, a refused
 * connection and HTTP 5xx/429 are retried with exponential backoff (a bounded number of times);
 * other answers are final. Errors are one line naming the model, the URL and the reason.
 */
export class KserveClient implements RemoteRunner {
  private readonly base: string
  private readonly timeoutMs: number
  private readonly retries: number

  constructor(
    private readonly endpoint: KserveEndpoint,
    /** Names the model in messages, e.g. "remote engine 'x'". */
    private readonly label: string,
    /** Values per sample the named output must have (the encoder's embedding dimension). */
    private readonly expect?: { output: string; values: number }
  ) {
    this.base = `${endpoint.url.replace(/\/+$/, '')}/`
    this.timeoutMs = endpoint.timeoutMs ?? DEFAULT_REMOTE_TIMEOUT_MS
    this.retries = endpoint.retries ?? DEFAULT_REMOTE_RETRIES
  }

  private get modelPath(): string {
    const name = `v2/models/${encodeURIComponent(this.endpoint.model)}`
    return this.endpoint.version ? `${name}/versions/${encodeURIComponent(this.endpoint.version)}` : name
  }

  /** URL of the model's metadata endpoint (what provenance names). */
  get modelUrl(): string {
    return new URL(this.modelPath, this.base).href
  }

  private fail(url: string, reason: string): RemoteEngineError {
    return new RemoteEngineError(`${this.label} at ${url} ${reason}`)
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    init: { body?: Uint8Array; headers?: Record<string, string> } = {},
    signal?: AbortSignal
  ): Promise<Reply> {
    const url = new URL(path, this.base).href
    const timeoutMs = method === 'GET' ? Math.min(this.timeoutMs, MAX_CONTROL_TIMEOUT_MS) : this.timeoutMs
    const attempts = this.retries + 1
    let reason = ''
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) {
        await sleep(Math.min(BACKOFF_MS * 2 ** (attempt - 1), MAX_BACKOFF_MS), signal)
      }
      if (signal?.aborted) throw new CancelledError()
      const controller = new AbortController()
      const timer = setTimeout(() => controller.abort(), timeoutMs)
      const cancel = (): void => controller.abort()
      signal?.addEventListener('abort', cancel, { once: true })
      try {
        const res = await fetch(url, { method, body: init.body, headers: init.headers, signal: controller.signal })
        // The time limit covers the body too: a server may stall mid-answer.
        const body = Buffer.from(await res.arrayBuffer())
        if (res.status >= 500 || res.status === 429) {
          reason = `answered HTTP ${res.status}${body.length ? `: ${errorDetail(body)}` : ''}`
          continue
        }
        return { status: res.status, headers: res.headers, body }
      } catch (err) {
        if (signal?.aborted) throw new CancelledError()
        reason = controller.signal.aborted ? `did not answer within ${timeoutMs} ms` : `is unreachable (${oneLine(networkReason(err))})`
      } finally {
        clearTimeout(timer)
        signal?.removeEventListener('abort', cancel)
      }
    }
    throw this.fail(url, `${reason} (${attempts} attempt${attempts === 1 ? '' : 's'})`)
  }

  private async getJson(path: string, signal?: AbortSignal): Promise<unknown> {
    const r = await this.request('GET', path, {}, signal)
    const url = new URL(path, this.base).href
    if (r.status !== 200) throw this.fail(url, `answered HTTP ${r.status}${r.body.length ? `: ${errorDetail(r.body)}` : ''}`)
    try {
      return r.body.length ? JSON.parse(r.body.toString('utf8')) : {}
    } catch {
      throw this.fail(url, 'answered with invalid JSON')
    }
  }

  /** GET v2/health/ready: the server accepts inference requests. */
  async serverReady(signal?: AbortSignal): Promise<void> {
    await this.getJson('v2/health/ready', signal)
  }

  /** GET v2/models/NAME[/versions/V]/ready. */
  async modelReady(signal?: AbortSignal): Promise<void> {
    await this.getJson(`${this.modelPath}/ready`, signal)
  }

  /** GET v2/models/NAME[/versions/V]: name, versions, platform, input and output tensors. */
  async metadata(signal?: AbortSignal): Promise<KserveModelMetadata> {
    const m = (await this.getJson(this.modelPath, signal)) as Record<string, unknown>
    const list = (v: unknown, what: string): KserveTensorMetadata[] => {
      const tensors = Array.isArray(v) ? v.map(tensorMetadata) : null
      if (!tensors || tensors.some((t) => t === null)) throw this.fail(this.modelUrl, `answered metadata without a valid '${what}' list`)
      return tensors as KserveTensorMetadata[]
    }
    return {
      name: typeof m.name === 'string' ? m.name : this.endpoint.model,
      versions: Array.isArray(m.versions) ? m.versions.map(String) : [],
      platform: typeof m.platform === 'string' ? m.platform : '',
      inputs: list(m.inputs, 'inputs'),
      outputs: list(m.outputs, 'outputs')
    }
  }

  /** POST v2/models/NAME/infer with FP32 feeds; returns the requested outputs, checked. */
  async run(feeds: Record<string, WireTensor>, outputs: string[] | undefined, signal?: AbortSignal): Promise<Record<string, WireTensor>> {
    const names = outputs ?? (this.expect ? [this.expect.output] : [])
    if (names.length === 0) throw new Error(`${this.label}: name the outputs to request`)
    const entries = Object.entries(feeds)
    const batch = entries[0]?.[1].dims[0] ?? 0
    const binary = this.endpoint.binary === true
    const header = {
      inputs: entries.map(([name, t]) =>
        binary
          ? { name, shape: t.dims, datatype: 'FP32', parameters: { binary_data_size: t.data.byteLength } }
          : { name, shape: t.dims, datatype: 'FP32', data: Array.from(t.data) }
      ),
      outputs: names.map((name) => (binary ? { name, parameters: { binary_data: true } } : { name }))
    }
    const json = Buffer.from(JSON.stringify(header))
    const init: { body: Uint8Array; headers: Record<string, string> } = binary
      ? {
          body: Buffer.concat([json, ...entries.map(([, t]) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]),
          headers: { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(json.length) }
        }
      : { body: json, headers: { 'content-type': 'application/json' } }
    const path = `${this.modelPath}/infer`
    const r = await this.request('POST', path, init, signal)
    const url = new URL(path, this.base).href
    if (r.status !== 200) throw this.fail(url, `answered HTTP ${r.status}${r.body.length ? `: ${errorDetail(r.body)}` : ''}`)
    return this.parseInfer(url, r, names, batch)
  }

  private parseInfer(url: string, r: Reply, names: string[], batch: number): Record<string, WireTensor> {
    const headerLength = Number(r.headers.get(HEADER_LENGTH) ?? r.body.length)
    if (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > r.body.length) throw this.fail(url, `answered a bad ${HEADER_LENGTH} header`)
    const text = r.body.subarray(0, headerLength).toString('utf8')
    let parsed: { outputs?: unknown }
    try {
      parsed = JSON.parse(text) as { outputs?: unknown }
    } catch {
      // Python's json writes NaN and Infinity as bare words, which JSON does not allow.
      throw this.fail(url, /\b(NaN|-?Infinity)\b/.test(text) ? 'returned NaN or Inf' : 'answered with invalid JSON')
    }
    if (!Array.isArray(parsed.outputs)) throw this.fail(url, "answered without an 'outputs' list")
    // Binary outputs follow the JSON part in the order the outputs are listed.
    let offset = headerLength
    const binaryAt = new Map<string, Buffer>()
    for (const o of parsed.outputs as { name?: unknown; parameters?: { binary_data_size?: unknown } }[]) {
      const size = o?.parameters?.binary_data_size
      if (typeof size !== 'number') continue
      if (!Number.isInteger(size) || size < 0 || offset + size > r.body.length)
        throw this.fail(url, `answered binary output '${String(o.name)}' of ${size} bytes past the end of the body`)
      binaryAt.set(String(o.name), r.body.subarray(offset, offset + size))
      offset += size
    }
    const out: Record<string, WireTensor> = {}
    for (const name of names) {
      const o = (parsed.outputs as Record<string, unknown>[]).find((x) => x?.name === name)
      if (!o) throw this.fail(url, `did not return output '${name}'`)
      if (o.datatype !== 'FP32') throw this.fail(url, `returned output '${name}' as ${String(o.datatype)}, expected FP32`)
      if (!isShape(o.shape)) throw this.fail(url, `returned output '${name}' without a shape`)
      const shape = o.shape
      const bytes = binaryAt.get(name)
      let data: Float32Array
      if (bytes) {
        if (bytes.length % 4 !== 0) throw this.fail(url, `returned binary output '${name}' of ${bytes.length} bytes, not whole FP32 values`)
        // Copied: the body buffer's offset need not be 4-byte aligned. The protocol is little-endian, as are the hosts Unveil runs on.
        data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))
      } else {
        if (!Array.isArray(o.data)) throw this.fail(url, `returned output '${name}' without data`)
        const flat = (o.data as unknown[]).flat(Infinity)
        if (!flat.every((x) => typeof x === 'number' || x === null)) throw this.fail(url, `returned output '${name}' with non-numeric data`)
        // null is how some JSON writers encode NaN; it becomes NaN here and is refused below.
        data = Float32Array.from(flat as (number | null)[], (x) => (x === null ? NaN : x))
      }
      const count = shape.reduce((a, b) => a * b, 1)
      if (data.length !== count) throw this.fail(url, `returned output '${name}' with ${data.length} values for shape [${shape.join(', ')}]`)
      if (shape[0] !== batch) throw this.fail(url, `returned output '${name}' of shape [${shape.join(', ')}] for a batch of ${batch}`)
      const perSample = batch > 0 ? count / batch : 0
      if (this.expect && name === this.expect.output && perSample !== this.expect.values) {
        throw this.fail(
          url,
          `returned ${perSample} values per sample in output '${name}' (shape [${shape.join(', ')}]); the manifest says ${this.expect.values}`
        )
      }
      for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw this.fail(url, `returned NaN or Inf in output '${name}'`)
      out[name] = { data, dims: shape }
    }
    return out
  }
}
