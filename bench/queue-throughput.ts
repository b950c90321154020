// Distributed evaluations (issue 14): throughput of one small evaluation with 1, 2 and 4 local
// `unveil worker` processes on a throw-away Redis, against the same evaluation in this process,
// and the overhead per job that the queue adds (queue round trip, crops and results through
// Redis, the worker's sandbox). Workers and the in-process reference run with one ONNX Runtime
// thread each, so a 1-worker run and the reference have the same compute. On a 2-core machine 4
// workers cannot be faster than 2: the point there is that results stay equal and what the
// extra processes cost.
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench, type EvaluationInput } from '../src/core/workbench/workbench'
import { sampleImagePaths } from '../src/core/env/sample-images'
import type { EvaluationMetrics, EvaluationQueueStatus } from '../src/shared/evaluation-types'
import { redisServerOrSkip, startRedis } from '../tests/helpers/redis'
import { machineLine, markdownTable, median } from './bench-support'

const ROOT = process.cwd()
const SEEDS = [11, 12]
const OVERHEAD_PAIRS = 5

function timeless(m: EvaluationMetrics): string {
  return JSON.stringify({ ...m, computedAt: null, runs: m.runs.map((r) => ({ ...r, meanSeconds: null })) })
}

function startWorker(home: string, url: string): ChildProcess {
  return spawn(process.execPath, [join(ROOT, 'bin/unveil.js'), 'worker', '--queue', url], { env: { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu', UNVEIL_THREADS: '1' }, stdio: 'ignore' })
}

async function stopWorker(w: ChildProcess): Promise<void> {
  if (w.exitCode !== null) return
  await new Promise<void>((resolve) => {
    w.once('exit', () => resolve())
    w.kill('SIGTERM')
  })
}

export async function queueThroughput(): Promise<string> {
  const redisBin = redisServerOrSkip('queue benchmark')
  if (!redisBin) return '## Distributed evaluations\n\nSkipped: redis-server is not installed.'
  if (!existsSync(join(ROOT, 'out/cli/queue-processor.js'))) return '## Distributed evaluations\n\nSkipped: out/cli is not built (npm run build:cli).'
  const work = mkdtempSync(join(tmpdir(), 'unveil-bench-queue-'))
  const photos = sampleImagePaths()
  for (const [i, photo] of photos.entries()) {
    const subject = `Subject${Math.floor(i / 2) + 1}`
    mkdirSync(join(work, 'photos', subject), { recursive: true })
    copyFileSync(photo, join(work, 'photos', subject, `${subject}_000${(i % 2) + 1}.jpg`))
  }
  const redis = await startRedis(redisBin)
  const wb = await Workbench.open({ libraryDir: join(work, 'owner'), caseRoot: work, providers: ['cpu'], threads: 1 })
  try {
    await wb.datasets.align({ inDir: join(work, 'photos'), outDir: join(work, 'aligned'), concurrency: 1 })
    const input = (seed: number, dfdOnly = false): Omit<EvaluationInput, 'caseId'> => ({
      datasetDir: join(work, 'aligned'),
      pairsFile: null,
      seenEncoderId: 'faceplugin-fr-feature',
      methods: dfdOnly ? [{ id: 'dfd' }] : [{ id: 'dfd' }, { id: 'ga', parameters: { population: 8, threads: 1 } }, { id: 'random' }],
      encoderIds: null,
      budget: 48,
      seed,
      limit: null
    })
    let cases = 0
    /** One evaluation, in this process or on the queue: wall seconds from start to metrics, and the metrics. */
    const evaluate = async (seed: number, queued: boolean, dfdOnly = false): Promise<{ seconds: number; jobs: number; metrics: EvaluationMetrics; workersSeen: number }> => {
      const caseId = wb.cases.create({ dir: join(work, `case-${++cases}`), name: `bench ${cases}`, number: null }).id
      let workersSeen = 0
      const off = wb.runs.onProgress((p) => {
        const q = (p.detail as { queue?: EvaluationQueueStatus } | null | undefined)?.queue
        if (q) workersSeen = Math.max(workersSeen, q.workers.filter((w) => w.connected).length)
      })
      const t0 = performance.now()
      const started = queued ? await wb.evaluations.startQueued({ caseId, ...input(seed, dfdOnly), queueUrl: redis.url }) : wb.evaluations.start({ caseId, ...input(seed, dfdOnly) })
      const done = await wb.jobs.wait(started.runId)
      off()
      if (done.status !== 'succeeded') throw new Error(`bench evaluation ${done.status}: ${done.error}`)
      return { seconds: (performance.now() - t0) / 1000, jobs: started.total, metrics: wb.evaluations.get(caseId, started.evaluation.id).metrics!, workersSeen }
    }
    // Warm-up: the models load once here (and once per worker process below), outside the timings.
    await evaluate(SEEDS[0] - 1, false)
    const reference = new Map<number, { seconds: number; metrics: EvaluationMetrics }>()
    const rows: string[][] = []
    const overhead: { local: number; remote: number }[] = []
    const runInProcess = async (label: string): Promise<void> => {
      for (const seed of SEEDS) {
        const r = await evaluate(seed, false)
        if (!reference.has(seed)) reference.set(seed, r)
        rows.push([label, `${seed}`, `${r.jobs}`, r.seconds.toFixed(1), (r.jobs / (r.seconds / 60)).toFixed(1), '—', '—'])
      }
    }
    await runInProcess('in process (1 thread)')
    const inProcess = [...reference.values()].reduce((s, r) => s + r.seconds, 0)
    for (const n of [1, 2, 4]) {
      const workers = Array.from({ length: n }, (_, i) => startWorker(join(work, `w${n}-${i}`), redis.url))
      try {
        // Warm-up on the queue: every worker's sandbox process starts and loads its models.
        await evaluate(SEEDS[0] - 1 - n, true)
        let total = 0
        let jobs = 0
        for (const seed of SEEDS) {
          const r = await evaluate(seed, true)
          total += r.seconds
          jobs += r.jobs
          const same = timeless(r.metrics) === timeless(reference.get(seed)!.metrics)
          rows.push([`${n} worker${n > 1 ? 's' : ''} (${r.workersSeen} seen)`, `${seed}`, `${r.jobs}`, r.seconds.toFixed(1), (r.jobs / (r.seconds / 60)).toFixed(1), same ? 'yes' : 'NO', n === 1 ? `${(((r.seconds - reference.get(seed)!.seconds) / r.jobs) * 1000).toFixed(0)} ms` : '—'])
        }
        if (n === 1) {
          rows.push(['1 worker vs in process, both seeds', '', '', '', '', '', `${(((total - inProcess) / jobs) * 1000).toFixed(0)} ms per job`])
          // Overhead on short jobs (DFD, one decoder pass): pairs in process / 1 worker, interleaved so load hits both alike.
          for (let i = 0; i < OVERHEAD_PAIRS; i++) {
            const local = await evaluate(100 + i, false, true)
            const remote = await evaluate(100 + i, true, true)
            if (timeless(local.metrics) !== timeless(remote.metrics)) throw new Error(`DFD evaluation ${100 + i}: queued metrics differ from in-process`)
            overhead.push({ local: local.seconds / local.jobs, remote: remote.seconds / remote.jobs })
          }
        }
      } finally {
        await Promise.all(workers.map(stopWorker))
      }
    }
    // The reference again at the end: how much the machine's load drifted during the run.
    await runInProcess('in process again')
    return [
      '## Distributed evaluations (BullMQ + Redis)',
      '',
      machineLine(),
      '',
      'One evaluation of the six sample photos as three subjects (DFD, GA population 8 and random search with 48 queries each: 9 jobs), in this process and on 1, 2 and 4 local `unveil worker` processes (concurrency 1, one ONNX Runtime thread each) over a local Redis; wall time from start to stored metrics, after a warm-up evaluation that loads the models. "Same metrics": the evaluation\'s figures (wall-clock fields aside) equal the in-process run of the same seed.',
      '',
      markdownTable(['where', 'seed', 'jobs', 'seconds', 'jobs/min', 'same metrics', 'overhead per job'], rows),
      '',
      `Overhead per job on short jobs: ${OVERHEAD_PAIRS} DFD-only evaluations (3 jobs of one decoder pass each), each run in process and then on 1 worker, interleaved; seconds per job from start to stored metrics, metrics equal in every pair.`,
      '',
      markdownTable(
        ['', 'in process s/job', '1 worker s/job', 'queue − in process'],
        [
          ...overhead.map((o, i) => [`pair ${i + 1}`, o.local.toFixed(2), o.remote.toFixed(2), `${((o.remote - o.local) * 1000).toFixed(0)} ms`]),
          ['median', median(overhead.map((o) => o.local)).toFixed(2), median(overhead.map((o) => o.remote)).toFixed(2), `${(median(overhead.map((o) => o.remote - o.local)) * 1000).toFixed(0)} ms`]
        ]
      )
    ].join('\n')
  } finally {
    await wb.close()
    await redis.stop()
  }
}
