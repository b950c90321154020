// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { defineComponent, h } from 'vue'
import SimilarityChart from '../../../src/renderer/src/components/runs/SimilarityChart.vue'
import RunLiveView from '../../../src/renderer/src/components/runs/RunLiveView.vue'
import { useJobs } from '../../../src/renderer/src/stores/jobs'
import { layoutTrace, mergeTracePoint, niceTicks, tracePointFrom, type TracePoint } from '../../../src/renderer/src/lib/trace'
import type { JobProgress } from '../../../src/shared/types'
import { installFakeBridge, settle, freshRendererPerTest } from './fake-bridge'

const RUN = 'aaaaaaaa-0000-4000-8000-000000000009'
const PNG = 'iVBORw0KGgo='

/** A GA progress event as core sends it: detail is the generation record (+ preview when improved). */
function generation(thread: number, gen: number, best: number, mean: number, over: Partial<JobProgress> = {}, preview?: string): JobProgress {
  return {
    runId: RUN,
    caseDir: '/cases/x',
    status: 'running',
    step: (thread * 10 + gen + 1) * 22,
    totalSteps: 1000,
    bestScore: best,
    etaSeconds: 42,
    message: `thread ${thread + 1}, generation ${gen + 1}: best ${best.toFixed(4)}`,
    detail: { thread, generation: gen, best, mean, queries: (thread * 10 + gen + 1) * 22, seconds: gen * 0.5, ...(preview ? { previewPng: preview } : {}) },
    ...over
  }
}

const point = (thread: number, gen: number, best = 0.5, mean = 0.2): TracePoint => ({ thread, generation: gen, best, mean, queries: 0, seconds: 0 })

const currentPinia = freshRendererPerTest()

describe('trace accumulation in the jobs store', () => {
  it('collects one point per generation from detail events, in order, whatever order they arrive in', async () => {
    const bridge = installFakeBridge({ listJobs: async () => [] })
    const jobs = useJobs()
    await jobs.start()

    bridge.emitProgress(generation(0, 0, 0.2, 0.05, {}, 'first'))
    bridge.emitProgress(generation(0, 1, 0.25, 0.1))
    // The event with a preview is sent once its image is encoded, after the next generation's.
    bridge.emitProgress(generation(0, 3, 0.3, 0.15))
    bridge.emitProgress(generation(0, 2, 0.3, 0.12, {}, 'third'))
    // The final event repeats the last detail: no duplicate point.
    bridge.emitProgress(generation(0, 3, 0.3, 0.15, { status: 'succeeded' }))
    // Events without a generation record (queued, threshold measuring) add nothing.
    bridge.emitProgress({ ...generation(0, 0, 0, 0), runId: 'other', detail: null })
    bridge.emitProgress({ ...generation(0, 0, 0, 0), runId: 'other', detail: { message: 'thresholds: encode 3/2000' } })

    expect(jobs.traces[RUN].map((p) => [p.thread, p.generation, p.best])).toEqual([
      [0, 0, 0.2],
      [0, 1, 0.25],
      [0, 2, 0.3],
      [0, 3, 0.3]
    ])
    expect(jobs.traces.other).toBeUndefined()
    expect(jobs.previews[RUN].png).toBe('third')
  })

  it('keeps the latest preview: a late preview of an earlier generation does not replace it', async () => {
    const bridge = installFakeBridge({ listJobs: async () => [] })
    const jobs = useJobs()
    await jobs.start()
    bridge.emitProgress(generation(1, 4, 0.6, 0.3, {}, 'thread-2'))
    bridge.emitProgress(generation(0, 9, 0.5, 0.3, {}, 'thread-1'))
    expect(jobs.previews[RUN]).toMatchObject({ png: 'thread-2', thread: 1, generation: 4, best: 0.6 })
  })

  it('reports the best over all threads, not only the one under way', async () => {
    const bridge = installFakeBridge({ listJobs: async () => [] })
    const jobs = useJobs()
    await jobs.start()
    bridge.emitProgress(generation(0, 7, 0.61, 0.3))
    bridge.emitProgress(generation(1, 0, 0.2, 0.05))
    expect(jobs.jobs[RUN].bestScore).toBe(0.2)
    expect(jobs.bestSoFar(RUN)).toBe(0.61)
    expect(jobs.bestSoFar('unknown')).toBeNull()
  })

  it('starts the trace of a job already running from its current state', async () => {
    installFakeBridge({ listJobs: async () => [generation(0, 6, 0.4, 0.2, {}, PNG)] })
    const jobs = useJobs()
    await jobs.start()
    expect(jobs.traces[RUN]).toHaveLength(1)
    expect(jobs.previews[RUN].png).toBe(PNG)
  })
})

describe('trace layout', () => {
  it('reads only well-formed generation records', () => {
    expect(tracePointFrom({ thread: 0, generation: 2, best: 0.5, mean: 0.1, queries: 10, seconds: 1 })).toEqual({
      thread: 0,
      generation: 2,
      best: 0.5,
      mean: 0.1,
      queries: 10,
      seconds: 1
    })
    expect(tracePointFrom({ thread: 0, generation: 2, best: 'high', mean: 0.1 })).toBeNull()
    expect(tracePointFrom({ generation: 2, best: 0.5, mean: 0.1 })).toBeNull()
    expect(tracePointFrom(null)).toBeNull()
  })

  it('replaces a repeated generation and inserts late ones in place', () => {
    const list: TracePoint[] = []
    for (const p of [point(0, 0), point(0, 2), point(1, 0), point(0, 1), point(0, 2, 0.9)]) mergeTracePoint(list, p)
    expect(list.map((p) => `${p.thread}:${p.generation}:${p.best}`)).toEqual(['0:0:0.5', '0:1:0.5', '0:2:0.9', '1:0:0.5'])
  })

  it('lays threads end to end, each its own segment starting after the previous one', () => {
    const layout = layoutTrace([point(0, 0, 0.1, -0.05), point(0, 1), point(0, 2), point(1, 0), point(1, 1, 0.7), point(2, 0)])
    expect(layout.segments.map((s) => [s.thread, s.start, s.points.map((p) => p.x)])).toEqual([
      [0, 1, [1, 2, 3]],
      [1, 4, [4, 5]],
      [2, 6, [6]]
    ])
    expect(layout.xMax).toBe(6)
    expect(layout.yMin).toBe(-0.05)
    expect(layout.yMax).toBe(0.7)
  })

  it('picks round tick steps', () => {
    expect(niceTicks(0.12, 0.48, 4).ticks).toEqual([0.1, 0.2, 0.3, 0.4, 0.5])
    expect(niceTicks(0, 1000, 5).ticks).toEqual([0, 200, 400, 600, 800, 1000])
    expect(niceTicks(0.3, 0.3, 4).ticks.length).toBeGreaterThan(1)
  })
})

describe('SimilarityChart', () => {
  it('draws a best and a mean line per thread, with a marker where each new thread starts', () => {
    const points = [point(0, 0, 0.2, 0.1), point(0, 1, 0.3, 0.15), point(1, 0, 0.25, 0.1), point(1, 1, 0.35, 0.2), point(2, 0, 0.3, 0.1)]
    const wrapper = mount(SimilarityChart, { props: { points } })
    expect(wrapper.attributes('data-points')).toBe('5')
    expect(wrapper.findAll('path.best')).toHaveLength(3)
    expect(wrapper.findAll('path.mean')).toHaveLength(3)
    // Two points of thread 1: one move and one line segment.
    expect(wrapper.findAll('path.best')[0].attributes('d')).toMatch(/^M[\d.]+,[\d.]+L[\d.]+,[\d.]+$/)
    expect(wrapper.findAll('[data-testid="thread-marker"]')).toHaveLength(2)
    expect(wrapper.text()).toContain('thread 3')
    expect(wrapper.text()).toContain('Overall best 0.3500')
  })

  it('has no thread markers for a single search and says when nothing has arrived yet', () => {
    const empty = mount(SimilarityChart, { props: { points: [] } })
    expect(empty.text()).toContain('Waiting for the first generation')
    const one = mount(SimilarityChart, { props: { points: [point(0, 0), point(0, 1)] } })
    expect(one.findAll('[data-testid="thread-marker"]')).toHaveLength(0)
    expect(one.text()).not.toContain('thread 1')
  })
})

describe('RunLiveView', () => {
  it('grows the chart with each generation and shows the best face, queries and ETA', async () => {
    const bridge = installFakeBridge({ listJobs: async () => [] })
    const jobs = useJobs()
    await jobs.start()
    // The panel passes the job's latest progress; the trace and preview come from the store.
    const Host = defineComponent(() => () => h(RunLiveView, { runId: RUN, live: jobs.jobs[RUN] ?? null }))
    const wrapper = mount(Host, { global: { plugins: [currentPinia()] } })
    bridge.emitProgress(generation(0, 0, 0.21, 0.05, {}, PNG))
    await settle()
    expect(wrapper.find('[data-testid="similarity-chart"]').attributes('data-points')).toBe('1')
    bridge.emitProgress(generation(0, 1, 0.2345, 0.08, { step: 44, totalSteps: 400, etaSeconds: 75 }))
    await settle()
    expect(wrapper.find('[data-testid="similarity-chart"]').attributes('data-points')).toBe('2')
    expect(wrapper.find('[data-testid="run-best-image"]').attributes('src')).toBe(`data:image/png;base64,${PNG}`)
    expect(wrapper.find('[data-testid="run-queries"]').text()).toBe('44 / 400 · 11 %')
    expect(wrapper.find('[data-testid="run-best-score"]').text()).toBe('0.2345')
    expect(wrapper.find('[data-testid="run-eta"]').text()).toBe('1 min 15 s')
    expect(wrapper.find('[data-testid="run-message"]').text()).toBe('thread 1, generation 2: best 0.2345')
  })

  it('says a queued run is waiting', async () => {
    installFakeBridge({ listJobs: async () => [] })
    const wrapper = mount(RunLiveView, {
      props: { runId: RUN, live: { ...generation(0, 0, 0, 0), status: 'queued', detail: null } },
      global: { plugins: [currentPinia()] }
    })
    expect(wrapper.find('[data-testid="run-queued"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="similarity-chart"]').exists()).toBe(false)
  })
})
