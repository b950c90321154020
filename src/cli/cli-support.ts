import { parseArgs, type ParseArgsConfig } from 'node:util'
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

/** A one-line progress bar on stderr (only when it is a terminal). */
export function progressBar(label: string): (done: number, total: number) => void {
  if (!process.stderr.isTTY) return () => {}
  return (done, total) => {
    const width = 30
    const filled = Math.round((done / Math.max(1, total)) * width)
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`)
    if (done >= total) process.stderr.write('\n')
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
