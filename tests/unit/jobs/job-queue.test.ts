import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { JobQueue, type JobContext, type JobSpec } from '../../../src/core/jobs/job-queue'
import type { CaseStore } from '../../../src/core/cases/case-store'
import type { JobProgress } from '../../../src/shared/types'
import { newCase, template } from '../cases/fixtures'

function spec(caseStore: CaseStore, run: JobSpec['run'], overrides: Partial<JobSpec> = {}): JobSpec {
  return { caseStore, method: 'nbnet', parameters: { steps: 10 }, seed: 7, softwareVersion: '0.1.0', totalSteps: 10, run, ...overrides }
}

function record(queue: JobQueue): JobProgress[] {
  const events: JobProgress[] = []
  queue.on('progress', (p) => events.push(p))
  return events
}

/** Resolves when the signal aborts, rejecting like fetch() does so the runner "throws on abort". */
function untilAborted(ctx: JobContext): Promise<never> {
  return new Promise((_, reject) => {
    ctx.signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })))
  })
}

describe('JobQueue', () => {
  it('runs a job, reports progress and stores the summary', async () => {
    const store = newCase()
    store.addTemplate(template())
    const queue = new JobQueue({ progressIntervalMs: 0 })
    const events = record(queue)
    const runId = queue.enqueue(
      spec(
        store,
        async (ctx) => {
          for (let step = 1; step <= 10; step++) {
            await sleep(2)
            ctx.progress({ step, bestScore: step / 10, message: `step ${step}` })
          }
          return { bestScore: 1, images: 3 }
        },
        { templateId: 'tpl-1', modelSha256s: { encoder: 'e'.repeat(64) } }
      )
    )
    expect(store.getRun(runId)?.status).toBe('queued')
    const run = await queue.wait(runId)

    expect(run).toMatchObject({ id: runId, status: 'succeeded', summary: { bestScore: 1, images: 3 }, error: null, templateId: 'tpl-1', seed: 7 })
    expect(run.seconds).toBeGreaterThan(0)
    expect(Date.parse(run.finishedAt as string)).toBeGreaterThanOrEqual(Date.parse(run.startedAt as string))
    expect(store.getRun(runId)).toEqual(run)
    expect(events[0]).toEqual({ runId, caseDir: store.dir, status: 'queued', step: 0, totalSteps: 10, bestScore: null, etaSeconds: null, message: null, detail: null })
    expect(events[1]).toMatchObject({ status: 'running', step: 0 })
    expect(events.filter((e) => e.status === 'running').map((e) => e.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', step: 10, bestScore: 1, etaSeconds: 0, message: 'step 10' })
    expect(store.auditLog().map((e) => e.action).slice(-3)).toEqual(['run.create', 'run.update', 'run.update'])
    expect(queue.list()).toEqual([])
  })

  it('estimates the time left from the time per step so far', async () => {
    const store = newCase()
    let now = 1_000_000
    const queue = new JobQueue({ clock: () => now, progressIntervalMs: 0 })
    const events = record(queue)
    const runId = queue.enqueue(
      spec(store, async (ctx) => {
        now += 2000
        ctx.progress({ step: 2 })
        now += 1000
        ctx.progress({ step: 4, totalSteps: 5 })
        now += 500
        return {}
      })
    )
    const run = await queue.wait(runId)
    const running = events.filter((e) => e.status === 'running')
    expect(running.map((e) => [e.step, e.totalSteps, e.etaSeconds])).toEqual([
      [0, 10, null],
      [2, 10, 8],
      [4, 5, 0.75]
    ])
    expect(run.seconds).toBe(3.5)
    expect(run.startedAt).toBe(new Date(1_000_000).toISOString())
  })

  it('throttles progress events but always sends the latest and the final state', async () => {
    const store = newCase()
    const queue = new JobQueue({ progressIntervalMs: 50 })
    const events = record(queue)
    const runId = queue.enqueue(
      spec(
        store,
        async (ctx) => {
          for (let step = 1; step <= 1000; step++) ctx.progress({ step })
          await sleep(120)
          return null
        },
        { totalSteps: 1000 }
      )
    )
    const run = await queue.wait(runId)
    const running = events.filter((e) => e.status === 'running')
    expect(running.length).toBeLessThanOrEqual(4)
    // The burst ended at 1000; the trailing event reports it while the job is still running.
    expect(running.at(-1)?.step).toBe(1000)
    expect(events.at(-1)).toMatchObject({ status: 'succeeded', step: 1000 })
    expect(run.summary).toBeNull()
  })

  it('stores the error of a failed job and carries on with the next', async () => {
    const store = newCase()
    const queue = new JobQueue()
    const events = record(queue)
    const failing = queue.enqueue(
      spec(store, async (ctx) => {
        ctx.progress({ step: 3 })
        throw new Error('decoder ran out of memory')
      })
    )
    const next = queue.enqueue(spec(store, async () => ({ ok: true })))
    expect(await queue.wait(failing)).toMatchObject({ status: 'failed', error: 'decoder ran out of memory', summary: null })
    expect(await queue.wait(next)).toMatchObject({ status: 'succeeded', summary: { ok: true } })
    expect(events.find((e) => e.runId === failing && e.status === 'failed')).toMatchObject({ message: 'decoder ran out of memory', etaSeconds: null })
  })

  it('fails a job whose summary cannot be stored', async () => {
    const store = newCase()
    const queue = new JobQueue()
    const runId = queue.enqueue(spec(store, async () => ({ score: NaN })))
    expect(await queue.wait(runId)).toMatchObject({ status: 'failed', summary: null, error: expect.stringMatching(/run summary could not be stored: .*NaN/) })
  })

  it('cancels a running job', async () => {
    const store = newCase()
    const queue = new JobQueue()
    const events = record(queue)
    let started!: () => void
    const isRunning = new Promise<void>((resolve) => (started = resolve))
    const runId = queue.enqueue(
      spec(store, async (ctx) => {
        ctx.progress({ step: 1 })
        started()
        return untilAborted(ctx)
      })
    )
    await isRunning
    expect(queue.list()).toEqual([expect.objectContaining({ runId, status: 'running' })])
    expect(queue.cancel(runId)).toBe(true)
    expect(await queue.wait(runId)).toMatchObject({ status: 'cancelled', error: null })
    expect(events.at(-1)).toMatchObject({ runId, status: 'cancelled' })
    expect(queue.cancel(runId)).toBe(false)
  })

  it('keeps partial results of a runner that returns after cancellation, as cancelled', async () => {
    const store = newCase()
    const queue = new JobQueue()
    const runId = queue.enqueue(
      spec(store, async (ctx) => {
        await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve))
        return { partial: true }
      })
    )
    await sleep(5)
    queue.cancel(runId)
    expect(await queue.wait(runId)).toMatchObject({ status: 'cancelled', summary: { partial: true } })
  })

  it('cancels a queued job without running it', async () => {
    const store = newCase()
    const queue = new JobQueue()
    let release!: () => void
    const first = queue.enqueue(spec(store, () => new Promise((resolve) => (release = () => resolve({})))))
    let secondRan = false
    const second = queue.enqueue(
      spec(store, async () => {
        secondRan = true
        return {}
      })
    )
    await sleep(5)
    expect(queue.list().map((p) => [p.runId, p.status])).toEqual([
      [first, 'running'],
      [second, 'queued']
    ])
    expect(queue.cancel(second)).toBe(true)
    expect(await queue.wait(second)).toMatchObject({ status: 'cancelled', startedAt: null, seconds: null })
    release()
    expect(await queue.wait(first)).toMatchObject({ status: 'succeeded' })
    await queue.idle()
    expect(secondRan).toBe(false)
    expect(store.getRun(second)?.status).toBe('cancelled')
  })

  it('runs up to `concurrency` jobs at once', async () => {
    const store = newCase()
    const queue = new JobQueue({ concurrency: 2 })
    let running = 0
    let peak = 0
    const job = async (): Promise<Record<string, unknown>> => {
      running++
      peak = Math.max(peak, running)
      await sleep(20)
      running--
      return {}
    }
    for (let i = 0; i < 5; i++) queue.enqueue(spec(store, job))
    await queue.idle()
    expect(peak).toBe(2)
    expect(store.listRuns().map((r) => r.status)).toEqual(Array(5).fill('succeeded'))
  })

  it('starts a job whose work runs elsewhere (queue workers) at once, without taking the local slot', async () => {
    const store = newCase()
    const queue = new JobQueue()
    let releaseLocal!: () => void
    let releaseRemote!: () => void
    const local = queue.enqueue(spec(store, () => new Promise((resolve) => (releaseLocal = () => resolve({})))))
    const remote = queue.enqueue(spec(store, () => new Promise((resolve) => (releaseRemote = () => resolve({}))), { elsewhere: true }))
    let nextRan = false
    const next = queue.enqueue(
      spec(store, async () => {
        nextRan = true
        return {}
      })
    )
    await sleep(5)
    // The remote job runs beside the local one; the next local job still waits for the slot.
    expect(queue.list().map((p) => p.status)).toEqual(['running', 'running', 'queued'])
    releaseLocal()
    expect(await queue.wait(next)).toMatchObject({ status: 'succeeded' })
    expect(nextRan).toBe(true)
    expect(queue.list().map((p) => [p.runId, p.status])).toEqual([[remote, 'running']])
    releaseRemote()
    await queue.idle()
    expect(store.getRun(local)?.status).toBe('succeeded')
    expect(store.getRun(remote)?.status).toBe('succeeded')
  })

  it('refuses bad jobs without storing a run', () => {
    const store = newCase()
    const queue = new JobQueue()
    expect(() => queue.enqueue(spec(store, async () => ({}), { totalSteps: -1 }))).toThrow(/job totalSteps must be an integer ≥ 0/)
    expect(() => queue.enqueue(spec(store, async () => ({}), { templateId: 'ghost' }))).toThrow(/templateId ghost is not a template/)
    expect(() => queue.enqueue(spec(store, 'nope' as never))).toThrow(/job run must be a function/)
    expect(() => new JobQueue({ concurrency: 0 })).toThrow(/job concurrency must be an integer ≥ 1/)
    expect(store.listRuns()).toEqual([])
    expect(queue.list()).toEqual([])
    expect(queue.cancel('ghost')).toBe(false)
    return expect(queue.wait('ghost')).rejects.toThrow(/run ghost is not known/)
  })

  it('rejects malformed progress from the runner, failing its job', async () => {
    const store = newCase()
    const queue = new JobQueue()
    const runId = queue.enqueue(
      spec(store, async (ctx) => {
        ctx.progress({ step: -2 })
        return {}
      })
    )
    expect(await queue.wait(runId)).toMatchObject({ status: 'failed', error: 'progress step must be an integer ≥ 0, got -2' })
  })

  it('runs a job that belongs to no case, keeping its run record in memory', async () => {
    const queue = new JobQueue()
    const events = record(queue)
    const runId = queue.enqueue({
      caseStore: null,
      method: 'verify-encoder',
      parameters: { pairs: 10 },
      softwareVersion: '0.1.0',
      totalSteps: 2,
      run: async (ctx) => {
        ctx.progress({ step: 2 })
        return { accuracy: 0.99 }
      }
    })
    expect(await queue.wait(runId)).toMatchObject({ id: runId, method: 'verify-encoder', status: 'succeeded', summary: { accuracy: 0.99 }, templateId: null })
    expect(events.at(-1)).toMatchObject({ runId, caseDir: '', status: 'succeeded' })
    expect(() => queue.enqueue({ caseStore: null, method: 'm', softwareVersion: '1', templateId: 't', totalSteps: 1, run: async () => ({}) })).toThrow(
      /a job without a case cannot refer to a template/
    )
  })

  it('ends a job whose case was closed underneath it, and says it could not be saved', async () => {
    const store = newCase()
    const queue = new JobQueue()
    const runId = queue.enqueue(
      spec(store, async () => {
        store.close()
        return {}
      })
    )
    await expect(queue.wait(runId)).rejects.toThrow(/ended failed but that could not be saved: .*is closed/)
    expect(queue.list()).toEqual([])
  })
})
