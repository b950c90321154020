// @vitest-environment happy-dom
// ALSUV in the renderer: the per-step latent similarities of progress events, their live
// distribution view, and the top-k candidates of a stored result with the pick highlighted.
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { defineComponent, h } from 'vue'
import LatentDistribution from '../../../src/renderer/src/components/runs/LatentDistribution.vue'
import CandidateGrid from '../../../src/renderer/src/components/runs/CandidateGrid.vue'
import RunLiveView from '../../../src/renderer/src/components/runs/RunLiveView.vue'
import { latentDistribution, latentSimilaritiesFrom } from '../../../src/renderer/src/lib/latents'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import { useJobs } from '../../../src/renderer/src/stores/jobs'
import type { JobProgress, LatentSimilaritiesDetail, ReconstructionCandidate } from '../../../src/shared/types'
import { freshRendererPerTest, installFakeBridge, settle } from './fake-bridge'

const RUN = 'aaaaaaaa-0000-4000-8000-0000000000a1'

/** An ALSUV progress event as core sends it: the trace point plus every latent's cosine. */
function alsuvStep(step: number, sims: number[], over: Partial<JobProgress> = {}): JobProgress {
  const sorted = [...sims].sort((a, b) => a - b)
  const detail: LatentSimilaritiesDetail = {
    thread: 0,
    generation: step - 1,
    best: sorted[sorted.length - 1],
    mean: sims.reduce((a, b) => a + b, 0) / sims.length,
    queries: step * sims.length,
    seconds: step * 0.4,
    step,
    steps: 100,
    latentSimilarities: sims
  }
  return {
    runId: RUN,
    caseDir: '/cases/x',
    status: 'running',
    step,
    totalSteps: 100,
    bestScore: detail.best,
    etaSeconds: 30,
    message: `step ${step}/100: latent cosine min ${sorted[0].toFixed(4)}, median …`,
    detail: { ...detail },
    ...over
  }
}

const currentPinia = freshRendererPerTest()

describe('latent similarities of a progress event', () => {
  it('reads only well-formed step details', () => {
    const ok = alsuvStep(3, [0.1, 0.2, 0.3]).detail
    expect(latentSimilaritiesFrom(ok)).toMatchObject({ step: 3, steps: 100, latentSimilarities: [0.1, 0.2, 0.3], generation: 2 })
    expect(latentSimilaritiesFrom({ ...ok, latentSimilarities: [0.1, 'x'] })).toBeNull()
    expect(latentSimilaritiesFrom({ ...ok, latentSimilarities: [] })).toBeNull()
    expect(latentSimilaritiesFrom({ ...ok, step: -1 })).toBeNull()
    // A GA generation record is a trace point but carries no latents.
    expect(latentSimilaritiesFrom({ thread: 0, generation: 1, best: 0.3, mean: 0.2 })).toBeNull()
    expect(latentSimilaritiesFrom(null)).toBeNull()
  })

  it('bins the cosines over a range rounded out to 0.05, with min, median and max', () => {
    const d = latentDistribution([0.12, 0.31, 0.2, 0.44, 0.29], 4)!
    expect(d).toMatchObject({ count: 5, min: 0.12, median: 0.29, max: 0.44, lo: 0.1, hi: 0.45 })
    // Bins of 0.0875 from 0.1: [0.12] [0.2] [0.29, 0.31] [0.44]
    expect(d.counts).toEqual([1, 1, 2, 1])
    expect(latentDistribution([0.3, 0.3])!.counts.reduce((a, b) => a + b, 0)).toBe(2)
    expect(latentDistribution([0.1, 0.2, 0.3, 0.4])!.median).toBeCloseTo(0.25, 12)
    expect(latentDistribution([])).toBeNull()
  })

  it('keeps the latest step of each run in the jobs store, whatever order events arrive in', async () => {
    const bridge = installFakeBridge({ listJobs: async () => [] })
    const jobs = useJobs()
    await jobs.start()
    bridge.emitProgress(alsuvStep(1, [0.1, 0.2]))
    bridge.emitProgress(alsuvStep(3, [0.3, 0.4]))
    bridge.emitProgress(alsuvStep(2, [0.2, 0.3]))
    expect(jobs.latents[RUN].step).toBe(3)
    expect(jobs.latents[RUN].latentSimilarities).toEqual([0.3, 0.4])
    // The steps are also the similarity chart's points.
    expect(jobs.traces[RUN].map((p) => p.generation)).toEqual([0, 1, 2])
  })
})

describe('LatentDistribution', () => {
  it('draws a bar per bin, a tick per latent and the min–median–max band of the step', () => {
    const sims = Array.from({ length: 40 }, (_, i) => 0.1 + 0.005 * i)
    const step = latentSimilaritiesFrom(alsuvStep(7, sims).detail)
    const wrapper = mount(LatentDistribution, { props: { step } })
    const root = wrapper.find('[data-testid="latent-distribution"]')
    expect(root.attributes()).toMatchObject({ 'data-step': '7', 'data-count': '40', 'data-min': '0.1' })
    const bins = wrapper.findAll('[data-testid="latent-bin"]')
    expect(bins).toHaveLength(24)
    expect(bins.map((b) => Number(b.attributes('data-count'))).reduce((a, b) => a + b, 0)).toBe(40)
    expect(wrapper.findAll('line.tick')).toHaveLength(40)
    expect(wrapper.find('[data-testid="latent-min"]').text()).toBe('0.1000')
    expect(wrapper.find('[data-testid="latent-median"]').text()).toBe('0.1975')
    expect(wrapper.find('[data-testid="latent-max"]').text()).toBe('0.2950')
    expect(wrapper.text()).toContain('40 latents · step 7 / 100')
  })

  it('waits for the first step', () => {
    const wrapper = mount(LatentDistribution, { props: { step: null } })
    expect(wrapper.text()).toContain('Waiting for the first step')
    expect(wrapper.find('[data-testid="latent-min"]').text()).toBe('—')
  })

  it('follows the run live in RunLiveView: steps instead of queries, the distribution instead of a best face', async () => {
    const bridge = installFakeBridge({ listJobs: async () => [] })
    const jobs = useJobs()
    await jobs.start()
    const Host = defineComponent(() => () => h(RunLiveView, { runId: RUN, live: jobs.jobs[RUN] ?? null, xLabel: 'Step', perLatent: true }))
    const wrapper = mount(Host, { global: { plugins: [currentPinia()] } })
    bridge.emitProgress(alsuvStep(1, [0.05, 0.1, 0.15]))
    await settle()
    bridge.emitProgress(alsuvStep(2, [0.1, 0.2, 0.3]))
    await settle()
    const dist = wrapper.find('[data-testid="latent-distribution"]')
    expect(dist.attributes('data-step')).toBe('2')
    expect(dist.attributes('data-max')).toBe('0.3')
    expect(wrapper.find('[data-testid="run-best-image"]').exists()).toBe(false)
    expect(wrapper.text()).toContain('Steps')
    expect(wrapper.find('[data-testid="run-queries"]').text()).toBe('2 / 100 · 2 %')
    expect(wrapper.find('[data-testid="similarity-chart"]').attributes('data-points')).toBe('2')
    expect(wrapper.find('[data-testid="run-eta"]').text()).toBe('30 s')
  })
})

describe('CandidateGrid', () => {
  it('shows each candidate with its seen and validation scores, the pick highlighted', async () => {
    const bridge = installFakeBridge({ getImage: async () => ({ mime: 'image/png', bytes: new Uint8Array([137, 80, 78, 71]) }) })
    const store = useCaseDetail()
    store.caseId = 'case-1'
    const sha = (c: string): string => c.repeat(64)
    const candidates: ReconstructionCandidate[] = [
      { latent: 4, seen: 0.61, validation: 0.82, picked: false, imageSha256: sha('a') },
      { latent: 0, seen: 0.58, validation: 0.9, picked: true, imageSha256: sha('b') },
      { latent: 2, seen: 0.5, validation: 0.77, picked: false, imageSha256: null }
    ]
    const wrapper = mount(CandidateGrid, {
      props: { candidates, seenEncoderId: 'seen-enc', validationEncoderId: 'val-enc' },
      global: { plugins: [currentPinia()] }
    })
    await settle()
    const items = wrapper.findAll('[data-testid="candidate"]')
    expect(items.map((i) => i.attributes('data-latent'))).toEqual(['4', '0', '2'])
    expect(items.map((i) => i.classes('picked'))).toEqual([false, true, false])
    expect(wrapper.findAll('[data-testid="candidate-pick"]')).toHaveLength(1)
    expect(items[1].text()).toContain('0.5800')
    expect(items[1].text()).toContain('0.9000')
    expect(wrapper.findAll('[data-testid="candidate-image"]')).toHaveLength(2)
    expect(items[2].text()).toContain('not stored')
    expect(bridge.getImage.mock.calls.map((c) => c[1])).toEqual([sha('a'), sha('b')])
  })
})
