// A small KServe v2 / Open Inference Protocol server on 127.0.0.1 for tests and the remote
// bench: it serves the bundled encoder with onnxruntime-node (patched as Unveil loads it),
// answers JSON and binary-extension requests, and can misbehave on purpose.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { BUNDLED_MANIFESTS, DEFAULT_ENCODER_ID } from '../../src/core/models/bundled-models'
import { rewritesFromEnv } from '../../src/core/models/graph-rewrites'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { patchModel } from '../../src/core/models/onnx-patch'

export type KserveFault =
  | 'none'
  /** One output value becomes NaN (JSON: the bare word NaN, as Python's json writes it). */
  | 'nan'
  /** 128 values per sample instead of 512. */
  | 'wrong-dim'
  /** One value fewer than the shape says. */
  | 'wrong-shape'
  /** Every infer request answers HTTP 500. */
  | 'http-500'
  /** Each template reversed: a different model behind the same name. */
  | 'other-model'

export interface KserveServerOptions {
  model?: string
  fault?: KserveFault
  /** Infer requests wait this long before answering... */
  delayMs?: number
  /** ...the first this many of them (default: all). */
  delayedRequests?: number
  /** Runs the model instead of the server's own session (the remote bench: the local engine itself). */
  infer?: (data: Float32Array, dims: number[]) => Promise<Float32Array>
}

export interface KserveServer {
  url: string
  model: string
  /** Infer requests received and samples (rows) inferred. */
  stats: { inferRequests: number; samples: number }
  options: KserveServerOptions
  close(): Promise<void>
}

const HEADER_LENGTH = 'inference-header-content-length'
const INPUT = 'input'
const OUTPUT = 'output'
const DIM = 512

let session: Promise<ort.InferenceSession> | null = null

/** The bundled encoder, patched as ModelLoader patches it, in one session shared by all servers. */
function encoderSession(): Promise<ort.InferenceSession> {
  if (!session) {
    const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-kserve-')))
    const bytes = patchModel(registry.readModel(registry.get(DEFAULT_ENCODER_ID)), 'kserve test server', { rewrites: rewritesFromEnv() }).bytes
    session = ort.InferenceSession.create(bytes, { executionProviders: ['cpu'], intraOpNumThreads: 1, logSeverityLevel: 3 })
  }
  return session
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

interface InferRequest {
  inputs: { name: string; shape: number[]; datatype: string; data?: number[]; parameters?: { binary_data_size?: number } }[]
  outputs?: { name: string; parameters?: { binary_data?: boolean } }[]
}

function applyFault(fault: KserveFault, rows: Float32Array[]): { rows: Float32Array[]; perSample: number; missing: number } {
  if (fault === 'wrong-dim') return { rows: rows.map((r) => r.slice(0, 128)), perSample: 128, missing: 0 }
  if (fault === 'other-model') return { rows: rows.map((r) => r.slice().reverse()), perSample: DIM, missing: 0 }
  if (fault === 'nan') rows[0][3] = NaN
  return { rows, perSample: DIM, missing: fault === 'wrong-shape' ? 1 : 0 }
}

async function infer(server: KserveServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req)
  const headerLength = req.headers[HEADER_LENGTH] ? Number(req.headers[HEADER_LENGTH]) : body.length
  const request = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as InferRequest
  const input = request.inputs.find((i) => i.name === INPUT)
  if (!input || input.datatype !== 'FP32') return json(res, 400, { error: `expected FP32 input '${INPUT}'` })
  const data =
    input.parameters?.binary_data_size !== undefined
      ? new Float32Array(body.buffer.slice(body.byteOffset + headerLength, body.byteOffset + headerLength + input.parameters.binary_data_size))
      : Float32Array.from(input.data ?? [])
  const n = input.shape[0]
  if (data.length !== n * 3 * 112 * 112) return json(res, 400, { error: `input '${INPUT}' has ${data.length} values for shape [${input.shape.join(', ')}]` })
  server.stats.inferRequests++
  const { delayMs = 0, delayedRequests = Infinity, fault = 'none' } = server.options
  if (delayMs > 0 && server.stats.inferRequests <= delayedRequests) await new Promise((r) => setTimeout(r, delayMs))
  if (fault === 'http-500') return json(res, 500, { error: 'model crashed' })
  const out = server.options.infer
    ? await server.options.infer(data, input.shape)
    : ((await (await encoderSession()).run({ [INPUT]: new ort.Tensor('float32', data, input.shape) }))[OUTPUT].data as Float32Array)
  server.stats.samples += n
  const faulty = applyFault(
    fault,
    Array.from({ length: n }, (_, i) => out.slice(i * DIM, (i + 1) * DIM))
  )
  const flat = new Float32Array(faulty.rows.length * faulty.perSample)
  faulty.rows.forEach((r, i) => flat.set(r, i * faulty.perSample))
  const values = flat.subarray(0, flat.length - faulty.missing)
  const shape = [n, faulty.perSample]
  const binary = request.outputs?.find((o) => o.name === OUTPUT)?.parameters?.binary_data === true
  if (binary) {
    const header = Buffer.from(
      JSON.stringify({ model_name: server.model, outputs: [{ name: OUTPUT, datatype: 'FP32', shape, parameters: { binary_data_size: values.byteLength } }] })
    )
    res.writeHead(200, { 'content-type': 'application/octet-stream', [HEADER_LENGTH]: String(header.length) })
    res.end(Buffer.concat([header, Buffer.from(values.buffer, values.byteOffset, values.byteLength)]))
    return
  }
  const text = JSON.stringify({
    model_name: server.model,
    outputs: [{ name: OUTPUT, datatype: 'FP32', shape, data: Array.from(values, (v) => (Number.isNaN(v) ? 'NaN!' : v)) }]
  })
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(text.replace('"NaN!"', 'NaN'))
}

async function route(server: KserveServer, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/versions\/1(?=\/|$)/, '')
  const model = `/v2/models/${server.model}`
  if (req.method === 'GET' && path === '/v2/health/ready') return json(res, 200, {})
  if (req.method === 'GET' && path === `${model}/ready`) return json(res, 200, {})
  if (req.method === 'GET' && path === model) {
    return json(res, 200, {
      name: server.model,
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: INPUT, datatype: 'FP32', shape: [-1, 3, 112, 112] }],
      outputs: [{ name: OUTPUT, datatype: 'FP32', shape: [-1, DIM] }]
    })
  }
  if (req.method === 'POST' && path === `${model}/infer`) return infer(server, req, res)
  json(res, 404, { error: `no route ${req.method} ${path}` })
}

/** Starts a server on a free loopback port; `close()` stops it. */
export async function startKserveServer(options: KserveServerOptions = {}): Promise<KserveServer> {
  if (!options.infer) await encoderSession()
  let http: Server | null = null
  const server: KserveServer = {
    url: '',
    model: options.model ?? 'fr-feature',
    stats: { inferRequests: 0, samples: 0 },
    options: { ...options },
    close: () => new Promise<void>((resolve) => (http ? (http.closeAllConnections(), http.close(() => resolve())) : resolve()))
  }
  http = createServer((req, res) => {
    route(server, req, res).catch((err: Error) => json(res, 500, { error: err.message }))
  })
  await new Promise<void>((resolve) => http!.listen(0, '127.0.0.1', resolve))
  server.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`
  return server
}

/** A loopback URL nothing listens on (a port just freed). */
export async function unreachableUrl(): Promise<string> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

/** A remote encoder's manifest for a server (the bundled encoder's preprocessing and alignment). */
export function remoteManifest(server: { url: string; model: string }, id: string, remote: Record<string, unknown> = {}): Record<string, unknown> {
  const local = BUNDLED_MANIFESTS.find((m) => m.id === DEFAULT_ENCODER_ID)!
  return {
    id,
    name: `Bundled encoder over KServe v2 (${id})`,
    role: 'encoder',
    input: local.input,
    output: local.output,
    embeddingDim: local.embeddingDim,
    alignment: local.alignment,
    licence: local.licence,
    source: 'tests/helpers/kserve-server.ts',
    remote: { url: server.url, model: server.model, ...remote }
  }
}
