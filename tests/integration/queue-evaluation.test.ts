import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Queue, QueueEvents } from 'bullmq'
import { Workbench, type AttemptJobResult, type EvaluationInput } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import type { EvaluationMetrics, EvaluationQueueStatus } from '../../src/shared/evaluation-types'
import { freePort, redisServerOrSkip, startRedis } from '../helpers/redis'

// Issue 14: distributed evaluations. A small evaluation (3 subjects of the sample photos, DFD
// and a short GA, as an aligned dataset) runs once in this process and once on two `unveil worker` processes over a
// throw-away Redis, one of which is killed with SIGKILL while it holds a job; the numbers must
// be the same. The job lock is short (1 s) and the surviving worker's longest job lasts several
// times that without stalling: its lock was renewed while the job's process was busy.

const ROOT = join(__dirname, '../..')
const redisBin = redisServerOrSkip('distributed evaluation tests')
const built = existsSync(join(ROOT, 'out/cli/index.js')) && existsSync(join(ROOT, 'out/cli/queue-processor.js'))
if (!built) console.log('SKIP distributed evaluation tests: out/cli is not built (npm run build:cli)')
const photos = sampleImagePaths()
if (photos.length < 6) console.log('SKIP distributed evaluation tests: the sample photos (@vladmandic/face-api) are not installed')

const LOCK_MS = 1000
const work = mkdtempSync(join(tmpdir(), 'unveil-queue-'))

/** The metrics without wall-clock figures (seconds and the time they were computed differ between any two runs). */
function timeless(m: EvaluationMetrics): unknown {
  return { ...m, computedAt: null, runs: m.runs.map((r) => ({ ...r, meanSeconds: null })) }
}

function startWorker(name: string, url: string): { child: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const env = { ...process.env, UNVEIL_HOME: join(work, name), UNVEIL_PROVIDERS: 'cpu', UNVEIL_THREADS: '1' }
  const child = spawn(process.execPath, [join(ROOT, 'bin/unveil.js'), 'worker', '--queue', url, '--lock-ms', String(LOCK_MS)], { env, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()))
  return { child, log: () => log, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) }
}

async function until(what: string, ms: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const t0 = Date.now()
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe.skipIf(!redisBin || !built || photos.length < 6)('distributed evaluations (BullMQ + Redis)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>
  let wb: Workbench
  let input: Omit<EvaluationInput, 'caseId'>
  let reference: EvaluationMetrics
  let refCase: string
  const workers: ReturnType<typeof startWorker>[] = []

  const newCase = (name: string) => wb.cases.create({ dir: join(work, name), name, number: name.toUpperCase() }).id

  beforeAll(async () => {
    redis = await startRedis(redisBin!)
    // The workers start (and load their models) while this process runs the reference.
    workers.push(startWorker('w1', redis.url), startWorker('w2', redis.url))
    // One inference thread here and in each worker: three processes share the machine's cores.
    wb = await Workbench.open({ libraryDir: join(work, 'owner'), caseRoot: work, providers: ['cpu'], threads: 1 })
    // Three "subjects" of two sample photos each (enough for type-I and type-II scores), as an aligned dataset.
    // (LFW layout: Person/Person_NNNN.jpg.)
    for (const [i, photo] of photos.entries()) {
      const subject = `Subject${Math.floor(i / 2) + 1}`
      mkdirSync(join(work, 'photos', subject), { recursive: true })
      copyFileSync(photo, join(work, 'photos', subject, `${subject}_000${(i % 2) + 1}.jpg`))
    }
    await wb.datasets.align({ inDir: join(work, 'photos'), outDir: join(work, 'aligned'), concurrency: 1 })
    input = {
      datasetDir: join(work, 'aligned'),
      pairsFile: null,
      seenEncoderId: 'faceplugin-fr-feature',
      methods: [{ id: 'dfd' }, { id: 'ga', parameters: { population: 8, threads: 1 } }],
      encoderIds: null,
      budget: 48,
      seed: 5,
      limit: null
    }
    refCase = newCase('reference')
    const started = wb.evaluations.start({ caseId: refCase, ...input })
    const done = await wb.jobs.wait(started.runId)
    expect(done.status, done.error ?? '').toBe('succeeded')
    reference = wb.evaluations.get(refCase, started.evaluation.id).metrics!
  }, 120_000)

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL')
    await wb?.close()
    await redis?.stop()
  })

  it('runs on two workers, loses nothing when one is killed mid-job, and gives the single-process numbers', async () => {
    const caseId = newCase('queued')
    const statuses: EvaluationQueueStatus[] = []
    const off = wb.runs.onProgress((p) => {
      const q = (p.detail as { queue?: EvaluationQueueStatus } | null | undefined)?.queue
      if (q) statuses.push(q)
    })
    // What went through the queue, as any client of it sees it: the jobs' data and results.
    const queue = new Queue('unveil-evaluations', { connection: { url: redis.url } })
    const events = new QueueEvents('unveil-evaluations', { connection: { url: redis.url } })
    await events.waitUntilReady()
    const jobData = new Map<string, unknown>()
    const results: AttemptJobResult[] = []
    events.on('added', ({ jobId }) => void queue.getJob(jobId).then((j) => j && jobData.set(jobId, j.data)))
    events.on('completed', ({ returnvalue }) => void results.push((typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as AttemptJobResult))
    const started = await wb.evaluations.startQueued({ caseId, ...input, queueUrl: redis.url })
    expect(started.total).toBe(6)
    // Whichever worker is first seen on a GA job (several seconds long) is killed while it holds it.
    const onGa = (s: EvaluationQueueStatus) => workers.find((w) => s.active.some((a) => a.worker.endsWith(`/${w.child.pid}`) && a.attemptKey.startsWith('ga|')))
    await until('a worker on a GA job', 60_000, () => statuses.some((s) => onGa(s)))
    const victim = onGa(statuses.find((s) => onGa(s))!)!
    const survivor = workers.find((w) => w !== victim)!
    victim.child.kill('SIGKILL')
    await victim.exited
    const finished = await wb.jobs.wait(started.runId)
    off()
    expect(finished.status, `${finished.error}\n${survivor.log()}`).toBe('succeeded')
    const e = wb.evaluations.get(caseId, started.evaluation.id)
    expect(timeless(e.metrics!)).toEqual(timeless(reference))
    const last = statuses.at(-1)!
    expect(last.done).toBe(6)
    // Exactly the killed worker's job went back to the queue: none of the long jobs lost its lock.
    expect(last.stalled).toBe(1)
    expect(last.workers.find((w) => w.name.endsWith(`/${survivor.child.pid}`))!.done).toBeGreaterThan(0)
    // The survivor's jobs as it logged them, wall time in its sandbox included (its first job opens
    // the workbench and loads the models there): the longest lasted several locks, yet never stalled.
    const jobSeconds = [...survivor.log().matchAll(/finished \S+ in ([\d.]+) s/g)].map((m) => Number(m[1]))
    expect(Math.max(...jobSeconds), survivor.log()).toBeGreaterThan((2 * LOCK_MS) / 1000)
    expect(wb.cases.verifyAudit(caseId).ok).toBe(true)

    // The owner deleted each job once its result was stored (the crops in it are evidence).
    expect(await queue.getJobCounts('completed', 'waiting', 'active')).toMatchObject({ completed: 0, waiting: 0, active: 0 })
    expect(jobData.size).toBe(6)
    // Duplicate delivery: every result written into the case again, and a job delivered (and run)
    // a second time: nothing changes.
    const auditBefore = wb.cases.auditLog(caseId).length
    expect(results.length).toBeGreaterThanOrEqual(6)
    for (const r of results) expect(await wb.evaluations.storeQueuedResult(caseId, e.id, r)).toBe(false)
    const data = [...jobData.values()][0] as Record<string, unknown> & { models: { id: string; sha256: string }[]; attemptKey: string }
    const redelivered = await queue.add('attempt', data, { jobId: 'test-redelivery' })
    const second = (await redelivered.waitUntilFinished(events, 60_000)) as AttemptJobResult
    expect(second.record.similarity).toBe(results.find((r) => r.attemptKey === data.attemptKey)!.record.similarity)
    expect(await wb.evaluations.storeQueuedResult(caseId, e.id, second)).toBe(false)
    expect(wb.cases.auditLog(caseId).length).toBe(auditBefore)
    expect(wb.evaluations.links(caseId, e.id)).toHaveLength(6)
    // Starting it again resumes a finished evaluation: no job is queued again, the numbers stay.
    const again = await wb.evaluations.startQueued({ caseId, ...input, queueUrl: redis.url })
    expect(again).toMatchObject({ resumed: true, alreadyDone: 6 })
    expect((await wb.jobs.wait(again.runId)).status).toBe('succeeded')
    expect(timeless(wb.evaluations.get(caseId, e.id).metrics!)).toEqual(timeless(reference))
    expect(await queue.getJobCounts('waiting', 'active')).toMatchObject({ waiting: 0, active: 0 })

    // A job naming a model this worker does not have, and one from another version: failed with the reason.
    const unknownModel = await queue.add('attempt', { ...data, models: [...data.models, { id: 'faceplugin-fr-feature', sha256: 'f'.repeat(64) }] }, { jobId: 'test-unknown-model', attempts: 3 })
    const otherVersion = await queue.add('attempt', { ...data, softwareVersion: 'unveil@0.0.0-other' }, { jobId: 'test-other-version', attempts: 3 })
    await expect(unknownModel.waitUntilFinished(events, 30_000)).rejects.toThrow(/model faceplugin-fr-feature here has sha256 87aacdfe5751…, the job needs ffffffffffff…/)
    await expect(otherVersion.waitUntilFinished(events, 30_000)).rejects.toThrow(/job comes from unveil@0\.0\.0-other, this worker runs unveil@/)
    // Refusals are not retried.
    expect((await queue.getJob('test-unknown-model'))!.attemptsMade).toBe(1)
    await events.close()
    await queue.close()
  }, 120_000)

  it('refuses a Redis URL that does not answer within seconds, writing nothing', async () => {
    // The reference case: refused before anything is written to it.
    const caseId = refCase
    const before = wb.evaluations.list(caseId).length
    const audit = wb.cases.auditLog(caseId).length
    const url = `redis://127.0.0.1:${await freePort()}`
    const t0 = Date.now()
    await expect(wb.evaluations.startQueued({ caseId, ...input, queueUrl: url })).rejects.toThrow(new RegExp(`^queue ${url} does not answer: ECONNREFUSED$`))
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(wb.evaluations.list(caseId)).toHaveLength(before)
    expect(wb.cases.auditLog(caseId).length).toBe(audit)
    // The CLI, as owner and as worker: one line, exit code 1.
    const env = { ...process.env, UNVEIL_HOME: join(work, 'cli') }
    const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), ...args], { encoding: 'utf8', env, timeout: 30_000 })
    const w = cli('worker', '--queue', url)
    expect(w.status).toBe(1)
    expect(w.stderr.trim()).toBe(`unveil: queue ${url} does not answer: ECONNREFUSED`)
    const ev = cli('eval', '--case', join(work, 'reference'), '--dataset', join(work, 'aligned'), '--seen', 'faceplugin-fr-feature', '--methods', 'dfd', '--queue', url)
    expect(ev.status).toBe(1)
    expect(ev.stderr.trim().split('\n')).toEqual([`unveil: queue ${url} does not answer: ECONNREFUSED`])
    expect(wb.evaluations.list(caseId)).toHaveLength(before)
    expect(wb.cases.auditLog(caseId).length).toBe(audit)
    expect(cli('worker', '--queue', 'http://127.0.0.1:1').stderr.trim()).toBe('unveil: queue URL must start with redis:// or rediss://, got http://')
  }, 60_000)
})
