// Shared set-up of the Chromium end-to-end tests: the built renderer served read-only over
// HTTP, and a page whose window.unveil (./bridge-codec.ts) calls the real API handlers.
import { createServer, type Server } from 'node:http'
import { existsSync, readFileSync, statSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { API_METHODS, type ApiHandlers } from '../../src/shared/ipc-contract'
import type { JobProgress } from '../../src/shared/types'
import { PROGRESS_HOOK, EXPOSED_PREFIX, bridgeInitScript, exposedHandler } from './bridge-codec'

export const ROOT = resolve(import.meta.dirname, '../..')
export const CHROMIUM = '/usr/bin/chromium'
export const RENDERER_DIR = join(ROOT, 'out/renderer')
export const SAMPLE_PHOTO = join(ROOT, 'node_modules/@vladmandic/face-api/demo/sample1.jpg')
export const SHOTS = join(ROOT, 'test-results/e2e')

/** Why the Chromium tests cannot run here, or null. */
export function rendererSkipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt-get install chromium)`
  if (!existsSync(join(RENDERER_DIR, 'index.html'))) return 'out/renderer/index.html is not built (npx electron-vite build)'
  if (!existsSync(SAMPLE_PHOTO)) return `${SAMPLE_PHOTO} is missing (npm install)`
  return null
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png'
}

/** Serves out/renderer read-only, nothing outside it. */
export function serveRenderer(): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)
    const file = normalize(join(RENDERER_DIR, path === '/' ? 'index.html' : path))
    if (!file.startsWith(RENDERER_DIR + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' })
    res.end(readFileSync(file))
  })
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)))
}

export const serverUrl = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}`

export interface BridgedPage {
  browser: Browser
  page: Page
  /** Console errors and uncaught exceptions of the page. */
  consoleErrors: string[]
}

/**
 * Launches Chromium with a page whose window.unveil forwards to `handlers`; job progress of
 * `onJobProgress` is pushed to the page as the preload would.
 */
export async function openBridgedPage(
  handlers: ApiHandlers,
  onJobProgress: (listener: (p: JobProgress) => void) => unknown,
  viewport = { width: 1360, height: 860 }
): Promise<BridgedPage> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  })
  const context = await browser.newContext({ viewport })
  const page = await context.newPage()
  const consoleErrors: string[] = []
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text())
  })
  page.on('pageerror', (err) => consoleErrors.push(`pageerror: ${err.message}`))

  for (const m of API_METHODS) {
    await page.exposeFunction(EXPOSED_PREFIX + m, exposedHandler(m, (...args) => handlers[m](...args)))
  }
  await page.addInitScript(bridgeInitScript(API_METHODS))
  onJobProgress((p) => {
    page
      .evaluate(([hook, progress]) => (globalThis as unknown as Record<string, (p: unknown) => void>)[hook as string](progress), [PROGRESS_HOOK, p] as const)
      .catch(() => undefined)
  })
  return { browser, page, consoleErrors }
}

/**
 * Ends a bridged session. Closing the engine while its worker is still inside an inference
 * takes the process down (a cancelled run's last batch keeps running there): stop the runs,
 * then let the worker's queue drain (it serves requests in order, so one more inference
 * returns once it is empty), then close browser, server and workbench.
 */
export async function closeBridgedSession(s: {
  browser?: Browser
  server?: Server
  handlers?: ApiHandlers
  workbench?: { runs: { list(): { runId: string }[]; cancel(runId: string): void }; close(): Promise<void> }
}): Promise<void> {
  await s.browser?.close()
  if (s.workbench && s.handlers) {
    for (const job of s.workbench.runs.list()) s.workbench.runs.cancel(job.runId)
    for (let i = 0; i < 600 && s.workbench.runs.list().length > 0; i++) await new Promise((r) => setTimeout(r, 100))
    await s.handlers.detectFaces({ name: 'sample1.jpg', bytes: new Uint8Array(readFileSync(SAMPLE_PHOTO)) }).catch(() => undefined)
  }
  await new Promise((done) => (s.server ? s.server.close(done) : done(undefined)))
  await s.workbench?.close()
}

/** A long task of the page's main thread (PerformanceObserver 'longtask': over 50 ms). */
export interface LongTask {
  /** Milliseconds since the watch began. */
  start: number
  duration: number
}

export interface LongTaskWatch {
  tasks: LongTask[]
  watchedMs: number
  /**
   * Thread CPU time of the renderer main thread's longest task (Chromium trace, RunTask
   * events' tdur). Long tasks are wall time, which on a loaded machine includes the time the
   * operating system ran other processes; the CPU time is the renderer's own work.
   */
  worstTaskCpuMs: number
  /** Renderer main-thread tasks over 50 ms of wall time, with their CPU time. */
  slowTasks: { wallMs: number; cpuMs: number }[]
}

/**
 * Records the page's long tasks, and a Chromium trace of its main thread's tasks, from now on;
 * the returned function stops both and gives what they saw.
 */
export async function watchLongTasks(browser: Browser, page: Page): Promise<() => Promise<LongTaskWatch>> {
  type Entry = { startTime: number; duration: number }
  type Observer = { observe(o: object): void; takeRecords(): Entry[]; disconnect(): void }
  type Watch = { t0: number; tasks: LongTask[]; observer: Observer }
  type G = { __longTasks?: Watch; performance: { now(): number }; PerformanceObserver: { supportedEntryTypes: string[]; new (cb: (list: { getEntries(): Entry[] }) => void): Observer } }
  const supported = await page.evaluate(() => {
    const g = globalThis as unknown as G
    if (!g.PerformanceObserver.supportedEntryTypes.includes('longtask')) return false
    const t0 = g.performance.now()
    const tasks: LongTask[] = []
    const observer = new g.PerformanceObserver((list) => {
      for (const e of list.getEntries()) if (e.startTime >= t0) tasks.push({ start: e.startTime - t0, duration: e.duration })
    })
    observer.observe({ type: 'longtask' })
    g.__longTasks = { t0, tasks, observer }
    return true
  })
  if (!supported) throw new Error("this Chromium has no PerformanceObserver 'longtask' entries")
  await browser.startTracing(page, { categories: ['toplevel'] })
  return async () => {
    const watched = await page.evaluate(() => {
      const g = globalThis as unknown as G
      const w = g.__longTasks!
      for (const e of w.observer.takeRecords()) if (e.startTime >= w.t0) w.tasks.push({ start: e.startTime - w.t0, duration: e.duration })
      w.observer.disconnect()
      delete g.__longTasks
      return { tasks: w.tasks, watchedMs: g.performance.now() - w.t0 }
    })
    type TraceEvent = { ph: string; name: string; pid: number; tid: number; dur?: number; tdur?: number; args?: { name?: string } }
    const events = (JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] }).traceEvents
    const main = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`))
    const runs = events.filter((e) => e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask' && main.has(`${e.pid}:${e.tid}`))
    return {
      ...watched,
      worstTaskCpuMs: runs.reduce((m, e) => Math.max(m, (e.tdur ?? 0) / 1000), 0),
      slowTasks: runs.filter((e) => (e.dur ?? 0) > 50_000).map((e) => ({ wallMs: (e.dur ?? 0) / 1000, cpuMs: (e.tdur ?? 0) / 1000 }))
    }
  }
}
