import './telemetry-off'
// Worker-thread host for ONNX Runtime sessions: inference never runs on the thread that
// serves the UI or the CLI's event loop.
// It also runs as a child process (a model's trial run, which can be killed on timeout).
import { Worker, parentPort, workerData } from 'node:worker_threads'
import * as ort from 'onnxruntime-node'
import { openSession } from './onnx-session'
import { WORKER_SETTINGS_ENV, type EngineRequest, type EngineResponse, type WireTensor, type WorkerSettings } from './engine-protocol'

const settings = (parentPort ? workerData : JSON.parse(process.env[WORKER_SETTINGS_ENV] ?? '{}')) as WorkerSettings
const sessions = new Map<string, ort.InferenceSession>()
const cancelled = new Set<number>()

/** Electron's utilityProcess gives a child process its port as process.parentPort (messages arrive as { data }). */
interface UtilityPort {
  postMessage(msg: unknown): void
  on(event: 'message', fn: (e: { data: EngineRequest }) => void): void
}
const utilityPort = (process as unknown as { parentPort?: UtilityPort }).parentPort

function reply(msg: EngineResponse, transfer: ArrayBuffer[] = []): void {
  if (parentPort) parentPort.postMessage(msg, transfer)
  else if (utilityPort) utilityPort.postMessage(msg)
  else process.send!(msg)
}

function onRequest(fn: (req: EngineRequest) => void): void {
  if (parentPort) parentPort.on('message', fn)
  else if (utilityPort) utilityPort.on('message', (e) => fn(e.data))
  else {
    process.on('message', fn)
    watchParent()
  }
}

/**
 * A forked trial whose parent died (kill -9) must not keep running a model that never ends. The
 * main thread may be inside ONNX Runtime for good, so a small thread of its own watches for the
 * parent to go (the process is re-parented) and kills the process.
 */
function watchParent(): void {
  const code = `const { workerData } = require('node:worker_threads'); setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL') }, 250)`
  new Worker(code, { eval: true, workerData: process.ppid }).unref()
}

async function handle(req: EngineRequest): Promise<void> {
  switch (req.type) {
    case 'load': {
      const existing = sessions.get(req.key)
      if (existing) await existing.release()
      const opened = await openSession(req.model, settings)
      sessions.set(req.key, opened.session)
      reply({
        id: req.id,
        ok: true,
        type: 'load',
        info: {
          key: req.key,
          provider: opened.provider,
          fallbackReason: opened.fallbackReason,
          inputNames: [...opened.session.inputNames],
          outputNames: [...opened.session.outputNames]
        }
      })
      return
    }
    case 'run': {
      if (cancelled.delete(req.id)) {
        reply({ id: req.id, ok: false, error: 'cancelled', cancelled: true })
        return
      }
      const session = sessions.get(req.key)
      if (!session) throw new Error(`model ${req.key} is not loaded`)
      const feeds: Record<string, ort.Tensor> = {}
      for (const [name, t] of Object.entries(req.feeds)) feeds[name] = new ort.Tensor('float32', t.data, t.dims)
      const t0 = performance.now()
      const result = req.outputs ? await session.run(feeds, req.outputs) : await session.run(feeds)
      const ms = performance.now() - t0
      const outputs: Record<string, WireTensor> = {}
      const transfer: ArrayBuffer[] = []
      for (const [name, tensor] of Object.entries(result)) {
        const data = tensor.data as Float32Array
        outputs[name] = { data, dims: [...tensor.dims] }
        transfer.push(data.buffer as ArrayBuffer)
      }
      reply({ id: req.id, ok: true, type: 'run', outputs, ms }, transfer)
      return
    }
    case 'release': {
      const session = sessions.get(req.key)
      // A profiled session writes its trace when profiling ends.
      if (session && settings.profilePrefix) session.endProfiling()
      await session?.release()
      sessions.delete(req.key)
      reply({ id: req.id, ok: true, type: 'release' })
      return
    }
    case 'cancel': {
      cancelled.add(req.target)
      reply({ id: req.id, ok: true, type: 'cancel' })
      return
    }
  }
}

// Requests are served in arrival order; a cancel can overtake queued runs because it is handled
// as soon as it arrives, before the queued run's turn comes.
let chain: Promise<void> = Promise.resolve()
onRequest((req) => {
  if (req.type === 'cancel') {
    void handle(req)
    return
  }
  chain = chain.then(() =>
    handle(req).catch((err: Error) => reply({ id: req.id, ok: false, error: err.message }))
  )
})
// The host waits for this before it terminates the worker: terminating a thread still loading
// the ONNX Runtime addon aborts the whole process natively (a Napi::Error in std::terminate).
reply({ id: 0, ok: true, type: 'ready' })
