// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import EvaluatePage from '../../../src/renderer/src/pages/EvaluatePage.vue'
import type { EvaluationQueueStatus, EvaluationRecord } from '../../../src/shared/evaluation-types'
import type { MethodInfo } from '../../../src/shared/types'
import { useJobs } from '../../../src/renderer/src/stores/jobs'
import { encoderEntry, freshRendererPerTest, installFakeBridge, settle } from './fake-bridge'

const CASE_ID = '55555555-5555-4555-8555-555555555555'
const methods: MethodInfo[] = [
  { id: 'ga', name: 'GA latent search', description: '', parameters: [] },
  { id: 'dfd', name: 'DFD decoder', description: '', parameters: [] }
]
const prop = (k: number, n: number) => ({
  successes: k,
  trials: n,
  subjects: n,
  rate: k / n,
  interval: { low: 0.1, high: 0.9, method: 'wilson' as const },
  bootstrap: null
})
const evaluation: EvaluationRecord = {
  id: 'eeeeeeee-0000-4000-8000-000000000001',
  spec: {
    dataset: { kind: 'aligned', dir: '/d', manifestSha256: 'a'.repeat(64) },
    protocol: { kind: 'subjects', file: null, sha256: null },
    seenEncoderId: 'enc',
    methods: [{ id: 'ga', parameters: {} }],
    encoderIds: ['enc'],
    seed: 1,
    limit: 2,
    matesPerSubject: 4
  },
  specSha256: 'b'.repeat(64),
  status: 'succeeded',
  jobRunId: null,
  error: null,
  createdAt: '',
  updatedAt: '',
  metrics: {
    computedAt: '',
    attempts: 2,
    subjects: 2,
    methods: ['ga'],
    seenEncoderId: 'enc',
    transfer: [
      {
        method: 'ga',
        encoderId: 'enc',
        role: 'seen',
        typeI: [{ far: 0.001, rate: prop(1, 2) }],
        typeII: [{ far: 0.001, rate: prop(0, 2) }],
        meanTypeI: 0.5,
        meanTypeII: 0.2
      }
    ],
    encoders: [],
    quality: [],
    runs: [],
    bootstrap: { reps: 10, seed: 1 }
  }
}

describe('Evaluate page', () => {
  freshRendererPerTest()

  it('lists evaluations with their transfer matrix and starts one with the form settings', async () => {
    const bridge = installFakeBridge({
      listMethods: async () => methods,
      listModels: async () => [encoderEntry('enc')],
      listEvaluations: async () => [evaluation],
      startEvaluation: async () => ({ evaluation, runId: 'rrrrrrrr-0000-4000-8000-000000000001', resumed: false, alreadyDone: 0, total: 4 }),
      reportPlots: async () => []
    })
    const w = mount(EvaluatePage, { props: { id: CASE_ID }, global: { stubs: { RouterLink: true } } })
    await settle()
    const matrix = w.get('[data-testid="transfer-matrix"]').text()
    expect(matrix).toContain('50.0% (1/2; 10.0%–90.0%)')
    expect(matrix).toContain('seen')
    await w.get('[data-testid="eval-dataset"]').setValue('/data/aligned')
    await w.get('[data-testid="eval-budget"]').setValue('300')
    await w.get('[data-testid="evaluate-form"]').trigger('submit')
    await settle()
    expect(bridge.startEvaluation).toHaveBeenCalledWith(
      expect.objectContaining({
        caseId: CASE_ID,
        datasetDir: '/data/aligned',
        pairsFile: null,
        budget: 300,
        methods: [
          { id: 'ga', parameters: {} },
          { id: 'dfd', parameters: {} }
        ],
        encoderIds: []
      })
    )
  })

  it('shows the core-rendered plots of a finished evaluation as SVG images, not as markup', async () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200"><script>alert(1)</script><rect width="10" height="10"/></svg>'
    const bridge = installFakeBridge({
      listMethods: async () => methods,
      listModels: async () => [encoderEntry('enc')],
      listEvaluations: async () => [evaluation],
      reportPlots: async () => [
        { id: 'roc-enc', title: 'ROC of enc with attack operating points', svg },
        { id: 'broken', title: 'not an svg', svg: '<html><body>x</body></html>' }
      ]
    })
    const w = mount(EvaluatePage, { props: { id: CASE_ID }, global: { stubs: { RouterLink: true } } })
    await settle()
    expect(bridge.reportPlots).toHaveBeenCalledWith({ caseId: CASE_ID, evaluationId: evaluation.id, runId: null })
    const img = w.get('[data-testid="plot-roc-enc"] img')
    expect(img.attributes('src')).toBe(`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`)
    expect(img.attributes('alt')).toBe('ROC of enc with attack operating points')
    expect(img.attributes('width')).toBe('320')
    // The SVG never becomes part of the page's DOM: no script element, no inline svg.
    expect(w.find('script').exists()).toBe(false)
    expect(w.find('svg').exists()).toBe(false)
    expect(w.get('[data-testid="plot-broken"]').text()).toContain('could not be shown')
    expect(w.get('[data-testid="plot-broken"]').find('img').exists()).toBe(false)
  })

  it('shows no plots while an evaluation has no metrics, and a one-line error when rendering fails', async () => {
    const bridge = installFakeBridge({
      listMethods: async () => methods,
      listModels: async () => [encoderEntry('enc')],
      listEvaluations: async () => [{ ...evaluation, id: 'eeeeeeee-0000-4000-8000-000000000002', status: 'running', metrics: null }, evaluation],
      reportPlots: async () => {
        throw new Error('no evaluation eeeeeeee in this case')
      }
    })
    const w = mount(EvaluatePage, { props: { id: CASE_ID }, global: { stubs: { RouterLink: true } } })
    await settle()
    expect(bridge.reportPlots).toHaveBeenCalledTimes(1)
    expect(w.get('[data-testid="plot-gallery"]').text()).toContain('Plots: no evaluation eeeeeeee in this case')
  })

  it('starts a queued evaluation with the Redis URL and shows its workers and throughput from the job progress', async () => {
    const runId = 'rrrrrrrr-0000-4000-8000-000000000002'
    const bridge = installFakeBridge({
      listMethods: async () => methods,
      listModels: async () => [encoderEntry('enc')],
      listEvaluations: async () => [],
      startEvaluation: async () => ({ evaluation, runId, resumed: false, alreadyDone: 0, total: 6 }),
      listJobs: async () => [],
      reportPlots: async () => []
    })
    const w = mount(EvaluatePage, { props: { id: CASE_ID }, global: { stubs: { RouterLink: true } } })
    await useJobs().start()
    await settle()
    await w.get('[data-testid="eval-queue-url"]').setValue(' redis://10.0.0.5:6379 ')
    await w.get('[data-testid="evaluate-form"]').trigger('submit')
    await settle()
    expect(bridge.startEvaluation).toHaveBeenCalledWith(expect.objectContaining({ queueUrl: 'redis://10.0.0.5:6379' }))
    const queue: EvaluationQueueStatus = {
      url: 'redis://10.0.0.5:6379',
      workers: [
        { name: 'lab-1/4242', connected: true, done: 3, active: 1 },
        { name: 'lab-2/77', connected: false, done: 1, active: 0 }
      ],
      done: 4,
      total: 6,
      perMinute: 2.5,
      active: [{ attemptKey: 'ga|Subject1/Subject1_0001.png', worker: 'lab-1/4242', step: 12, totalSteps: 40 }],
      stalled: 1
    }
    bridge.emitProgress({ runId, caseDir: '/c', status: 'running', step: 4, totalSteps: 7, bestScore: null, etaSeconds: null, message: '4/6 reconstructions on 1 workers', detail: { done: 4, total: 6, queue } })
    await settle()
    const panel = w.get('[data-testid="eval-queue"]').text()
    expect(panel).toContain('4/6 reconstructions, 2.5 per minute; 1 job(s) taken back from workers that stopped')
    expect(w.get('[data-testid="eval-worker-lab-1/4242"]').text()).toMatch(/lab-1\/4242\s*connected\s*3\s*ga\|Subject1\/Subject1_0001\.png \(12\/40\)/)
    expect(w.get('[data-testid="eval-worker-lab-2/77"]').text()).toContain('gone')
  })
})
