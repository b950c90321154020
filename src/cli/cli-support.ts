import { randomInt } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { RunRecord } from '../shared/types'
import { printableFileName, rawPath } from './raw-arguments'
import { Workbench, defaultCaseRoot, defaultLibraryDir, type JobHandle } from '../core/workbench/workbench'

/** A usage mistake: reported in one line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

export type Options = ParseArgsConfig['options']

export function parse(argv: string[], options: Options): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0])
  }
}

export function required(values: Record<string, unknown>, name: string): string {
  const v = values[name]
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`)
  return v
}

export function integer(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = values[name]
  if (v === undefined) return fallback
  const n = Number(v)
  if (typeof v !== 'string' || !Number.isInteger(n)) throw new UsageError(`--${name} must be an integer`)
  return n
}

export async function withWorkbench<T>(fn: (wb: Workbench) => Promise<T>): Promise<T> {
  const wb = await Workbench.open({ libraryDir: defaultLibraryDir(), caseRoot: defaultCaseRoot() })
  try {
    return await fn(wb)
  } finally {
    await wb.close()
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}

/** Seconds as m:ss or h:mm:ss; "--:--" while unknown. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--'
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0')
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

/** How often a piped (non-terminal) progress report prints a line. */
const LOG_INTERVAL_MS = 10_000

/**
 * Progress on stderr: on a terminal, a bar with the ETA redrawn in place; piped into a log, a
 * plain line every 10 s and at the end, so a background run can be followed with tail.
 */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr): (done: number, total: number, note?: string, etaSeconds?: number) => void {
  const started = performance.now()
  let lastDraw = -Infinity
  return (done, total, note, etaSeconds) => {
    const now = performance.now()
    const finished = done >= total
    const elapsed = (now - started) / 1000
    const eta = etaSeconds ?? (done > 0 ? ((total - done) * elapsed) / done : Number.NaN)
    const extra = note ? `  ${note}` : ''
    if (stream.isTTY) {
      if (!finished && now - lastDraw < 100) return
      lastDraw = now
      const width = 30
      const filled = Math.round((Math.min(done, total) / Math.max(1, total)) * width)
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ETA ${duration(eta)}${extra}\x1b[K`)
      if (finished) stream.write('\n')
    } else if (finished || now - lastDraw >= LOG_INTERVAL_MS) {
      lastDraw = now
      const pct = total > 0 ? ` (${((done / total) * 100).toFixed(0)}%)` : ''
      stream.write(`${label}: ${done}/${total}${pct}, ${duration(elapsed)} elapsed, ETA ${duration(finished ? 0 : eta)}${extra}\n`)
    }
  }
}

/** Waits for a job with a progress bar; its typed summary, or an error naming what failed. */
export async function followJob<S extends object>(wb: Workbench, job: JobHandle<S>, label: string, what: string): Promise<S | null> {
  const bar = progressBar(label)
  const off = wb.runs.onProgress((p) => (p.runId === job.runId ? bar(p.step, p.totalSteps) : undefined))
  try {
    return await job.outcome
  } catch (err) {
    throw new Error(`${what} failed: ${(err as Error).message}`)
  } finally {
    off()
  }
}

/**
 * The path an option names, checked to be a readable file; errors name the option ("--image:
 * /x.jpg does not exist"). A name that is not valid UTF-8 comes back as its bytes (raw-arguments.ts).
 */
export function inputPath(values: Record<string, unknown>, name: string, arg = required(values, name)): string | Buffer {
  const path = rawPath(arg)
  const shown = typeof path === 'string' ? path : `${arg.slice(0, arg.lastIndexOf('/') + 1)}${printableFileName(path)}`
  let stat
  try {
    stat = statSync(path)
  } catch {
    throw new UsageError(`--${name}: ${shown} does not exist`)
  }
  if (stat.isDirectory()) throw new UsageError(`--${name}: ${shown} is a folder, not a file`)
  return path
}

/** The file name an option names, to show and record (bytes that are not UTF-8 escaped). */
export function inputFileName(arg: string): string {
  return printableFileName(rawPath(arg))
}

/** The bytes of the file an option names, with inputPath's errors. */
export function inputFile(values: Record<string, unknown>, name: string, path = required(values, name)): Uint8Array {
  try {
    return new Uint8Array(readFileSync(inputPath(values, name, path)))
  } catch (err) {
    if (err instanceof UsageError) throw err
    throw new UsageError(`--${name}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
}

/** --seed, or a fresh random seed when it is absent; the caller prints and records it. */
export function seedOption(values: Record<string, unknown>): { seed: number; chosen: boolean } {
  const given = integer(values, 'seed')
  if (given !== undefined) {
    if (given < 0 || given > 2 ** 31 - 1) throw new UsageError('--seed must be between 0 and 2147483647')
    return { seed: given, chosen: true }
  }
  return { seed: randomInt(0, 2 ** 31 - 1), chosen: false }
}

/**
 * Text from a case or file made safe for a terminal: control characters (ESC sequences that
 * recolour, move the cursor or retitle the window, carriage returns that overwrite a line)
 * are shown as \u escapes instead of acting.
 */
export { printable } from '../shared/printable'

/** Follows a queued run to its end with a progress bar; Ctrl-C cancels it (the case then records it as cancelled). */
export async function followRun(wb: Workbench, runId: string, label: string): Promise<RunRecord> {
  const cancel = (): void => void wb.runs.cancel(runId)
  process.once('SIGINT', cancel)
  const bar = progressBar(label)
  const off = wb.runs.onProgress((p) => (p.runId === runId && p.status === 'running' ? bar(p.step, p.totalSteps, p.message ?? undefined, p.etaSeconds ?? undefined) : undefined))
  try {
    return await wb.jobs.wait(runId)
  } finally {
    off()
    process.off('SIGINT', cancel)
  }
}
