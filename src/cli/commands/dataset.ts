import { resolve } from 'node:path'
import { UsageError, duration, integer, parse, progressBar, required, withWorkbench } from '../cli-support'
import type { AlignProgress } from '../../core/workbench/workbench'

/**
 * Progress on stderr: a bar with the ETA on a terminal; in a log (not a terminal) a plain
 * line every `logEvery` images, so a background run can be followed with tail.
 */
function progressReporter(logEvery: number): (p: AlignProgress) => void {
  const started = performance.now()
  const bar = progressBar('aligning')
  return (p) => {
    const elapsed = (performance.now() - started) / 1000
    // Skipped images cost almost nothing, so the rate counts only the ones processed.
    const worked = p.done - p.skipped
    const eta = worked > 0 ? ((p.total - p.done) * elapsed) / worked : Number.NaN
    if (process.stderr.isTTY) {
      bar(p.done, p.total, `${p.failed} failed`, eta)
    } else if (p.done % logEvery === 0 || p.done === p.total) {
      process.stderr.write(`${p.done}/${p.total} images, ${p.aligned} aligned, ${p.failed} failed, ${p.skipped} already done, ${elapsed.toFixed(0)} s elapsed, ETA ${duration(eta)}\n`)
    }
  }
}

/** The most common failure reasons; decode errors name their file, so only their kind counts. */
function commonReasons(failures: { reason: string }[], top: number): [string, number][] {
  const counts = new Map<string, number>()
  for (const f of failures) {
    const kind = f.reason.startsWith('unreadable image:') ? 'unreadable image' : f.reason
    counts.set(kind, (counts.get(kind) ?? 0) + 1)
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)
}

export async function datasetCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  switch (sub) {
    case 'align': {
      const v = parse(rest, { in: { type: 'string' }, out: { type: 'string' }, limit: { type: 'string' }, workers: { type: 'string' } })
      const inDir = resolve(required(v, 'in'))
      const outDir = resolve(required(v, 'out'))
      const limit = integer(v, 'limit')
      if (limit !== undefined && limit < 1) throw new UsageError('--limit must be 1 or more')
      const workers = integer(v, 'workers', 2)!
      if (workers < 1 || workers > 16) throw new UsageError('--workers must be between 1 and 16')
      // Ctrl-C (or kill) stops after the images in flight and saves the manifest, so a rerun resumes.
      const controller = new AbortController()
      const onSignal = (): void => controller.abort(new Error('interrupted; run the same command again to continue'))
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      try {
        await withWorkbench(async (wb) => {
          const t0 = performance.now()
          let skipped = 0
          const report = progressReporter(500)
          const m = await wb.datasets.align({
            inDir,
            outDir,
            limit,
            concurrency: workers,
            signal: controller.signal,
            onProgress: (p) => {
              skipped = p.skipped
              report(p)
            }
          })
          const seconds = (performance.now() - t0) / 1000
          const { images, aligned, failed } = m.counts
          console.log(`aligned ${aligned} of ${images} images (${failed} failures) → ${outDir} in ${seconds.toFixed(1)} s`)
          if (skipped > 0) console.log(`${skipped} were already aligned by an earlier run`)
          for (const [reason, n] of commonReasons(m.failures, 5)) console.log(`  ${n} × ${reason}`)
        })
      } finally {
        process.off('SIGINT', onSignal)
        process.off('SIGTERM', onSignal)
      }
      return
    }
    default:
      throw new UsageError('usage: unveil dataset align --in DIR --out DIR [--limit N] [--workers N]')
  }
}
