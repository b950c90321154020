// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ScoreTable from '../../../src/renderer/src/components/runs/ScoreTable.vue'
import RunResultView from '../../../src/renderer/src/components/runs/RunResultView.vue'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import type { EncoderScore } from '../../../src/shared/types'
import { reconstructionOf, scoresOf } from '../../../src/shared/reconstruction-record'
import { formatFar, passChips } from '../../../src/renderer/src/lib/reconstruction'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
import type { ResultRecord, RunRecord } from '../../../src/shared/types'
import { installFakeBridge, settle, templateRecord, freshRendererPerTest } from './fake-bridge'

const CASE_ID = '55555555-5555-4555-8555-555555555555'
const RUN_ID = 'bbbbbbbb-0000-4000-8000-000000000001'
const FARS = [
  { far: 1e-2, threshold: 0.2 },
  { far: 1e-3, threshold: 0.3 },
  { far: 1e-4, threshold: 0.4 }
]
const thresholds = { dataset: 'lfw', images: 2000, identities: 1680, impostorPairs: 1998000, fars: FARS, measuredAt: '2024-05-01T10:00:00.000Z' }

/** Scores as core stores them in result.json. */
const scores = [
  {
    encoderId: 'enc-a',
    encoderSha256: 'a'.repeat(64),
    target: 0.35,
    typeI: 0.25,
    typeII: [0.45, 0.1],
    thresholds,
    pass: { target: [true, true, false], typeI: [true, false, false], typeII: [[true, true, true], [false, false, false]] }
  },
  {
    encoderId: 'enc-b',
    encoderSha256: 'c'.repeat(64),
    target: null,
    typeI: 0.15,
    typeII: [],
    thresholds: null,
    pass: { target: null, typeI: null, typeII: [] }
  }
]

const run: RunRecord = {
  id: RUN_ID,
  method: 'ga',
  status: 'succeeded',
  parameters: { population: 32, generator: 'gen-1' },
  seed: 1234,
  modelSha256s: { target: 'a'.repeat(64) },
  softwareVersion: 'unveil@0.1.0',
  templateId: templateRecord().id,
  createdAt: '2024-05-01T10:00:00.000Z',
  startedAt: '2024-05-01T10:00:01.000Z',
  finishedAt: '2024-05-01T10:00:31.000Z',
  seconds: 30,
  error: null,
  summary: { similarity: 0.35, queries: 142 }
}

const result: ResultRecord = {
  id: 'r-1',
  runId: RUN_ID,
  kind: 'reconstruction',
  imageSha256: 'd'.repeat(64),
  createdAt: '2024-05-01T10:00:31.000Z',
  data: {
    method: 'ga',
    parameters: { generator: 'gen-1', population: 32, threads: 1 },
    seed: 1234,
    modelSha256s: { generator: 'e'.repeat(64), target: 'a'.repeat(64), 'encoder:enc-a': 'a'.repeat(64), 'encoder:enc-b': 'c'.repeat(64) },
    softwareVersion: 'unveil@0.1.0',
    queries: 142,
    seconds: 28.4,
    similarity: 0.35,
    scores,
    summary: { threadBest: [0.35], stoppedBy: ['generations'], generations: 5 }
  }
}

const currentPinia = freshRendererPerTest()

describe('reconstruction results', () => {
  it('reads the stored result and tolerates missing pieces', () => {
    const r = reconstructionOf([{ ...result, kind: 'other' }, result])
    expect(r).toMatchObject({ imageSha256: 'd'.repeat(64), seed: 1234, queries: 142, similarity: 0.35, softwareVersion: 'unveil@0.1.0' })
    expect(r?.scores.map((s) => s.encoderId)).toEqual(['enc-a', 'enc-b'])
    expect(r?.modelSha256s['encoder:enc-b']).toBe('c'.repeat(64))

    const sparse = reconstructionOf([{ ...result, data: { scores: [{ encoderId: 'x' }, { nonsense: true }] } }])
    expect(sparse).toMatchObject({ seed: null, similarity: null, modelSha256s: {}, parameters: {} })
    expect(sparse?.scores).toEqual([
      { encoderId: 'x', encoderSha256: null, target: null, typeI: null, typeII: [], thresholds: null, pass: { target: null, typeI: null, typeII: [] } }
    ])
    expect(reconstructionOf([])).toBeNull()
  })

  it('turns decisions at a FAR into pass/fail chips', () => {
    const [a, b] = scoresOf(scores) as [EncoderScore, EncoderScore]
    expect(passChips(a, 1e-2)).toEqual({
      threshold: 0.2,
      chips: [
        { label: 'Target', decision: 'pass', detail: 'Target 0.3500 ≥ 0.2000: pass' },
        { label: 'Type I', decision: 'pass', detail: 'Type I 0.2500 ≥ 0.2000: pass' },
        { label: 'Type II 1/2', decision: 'partial', detail: '1 of 2 other photos of the person ≥ 0.2000' }
      ]
    })
    expect(passChips(a, 1e-4)?.chips.map((c) => `${c.label}:${c.decision}`)).toEqual(['Target:fail', 'Type I:fail', 'Type II 1/2:partial'])
    expect(passChips(a, 1e-5)).toBeNull()
    expect(passChips(b, 1e-2)).toBeNull()
    expect([1e-2, 1e-3, 1e-4].map(formatFar)).toEqual(['1 %', '0.1 %', '0.01 %'])
  })
})

describe('ScoreTable', () => {
  it('shows one row per encoder, marks the target, and colours each decision per FAR', () => {
    const wrapper = mount(ScoreTable, { props: { scores: scoresOf(scores), targetEncoderId: 'enc-a' }, global: { plugins: [currentPinia()] } })
    expect(wrapper.findAll('thead th').map((th) => th.text())).toEqual(['Encoder', 'Target', 'Type I', 'Type II', 'FAR 1 %', 'FAR 0.1 %', 'FAR 0.01 %'])
    const [a, b] = wrapper.findAll('[data-testid="score-row"]')
    expect(a.attributes('data-encoder-id')).toBe('enc-a')
    expect(a.find('.badge').text()).toBe('target')
    expect(a.find('[data-testid="score-target"]').text()).toBe('0.3500')
    expect(a.find('[data-testid="score-type-i"]').text()).toBe('0.2500')
    expect(a.find('[data-testid="score-type-ii"]').text()).toBe('0.4500, 0.1000')
    expect(a.text()).toContain('lfw · 2,000 images · 1,680 identities · 1,998,000 impostor pairs')

    const cells = a.findAll('td.far')
    expect(cells.map((c) => c.find('.threshold').text())).toEqual(['≥ 0.2000', '≥ 0.3000', '≥ 0.4000'])
    const chips = (i: number) => cells[i].findAll('[data-testid="pass-chip"]').map((c) => [c.text(), c.classes().find((k) => k !== 'chip')])
    expect(chips(0)).toEqual([
      ['Target pass', 'pass'],
      ['Type I pass', 'pass'],
      ['Type II 1/2 partial', 'partial']
    ])
    expect(chips(1)).toEqual([
      ['Target pass', 'pass'],
      ['Type I fail', 'fail'],
      ['Type II 1/2 partial', 'partial']
    ])
    expect(chips(2).slice(0, 2)).toEqual([
      ['Target fail', 'fail'],
      ['Type I fail', 'fail']
    ])
    expect(cells[0].find('[data-decision="pass"]').attributes('title')).toBe('Target 0.3500 ≥ 0.2000: pass')

    // An encoder without thresholds: its scores, and one cell across the FAR columns.
    expect(b.find('.badge').exists()).toBe(false)
    expect(b.find('[data-testid="score-target"]').text()).toBe('—')
    expect(b.find('[data-testid="score-type-i"]').text()).toBe('0.1500')
    expect(b.findAll('[data-testid="pass-chip"]')).toHaveLength(0)
    const none = b.find('[data-testid="no-thresholds"]')
    expect(none.attributes('colspan')).toBe('3')
    expect(none.text()).toMatch(/^no thresholds/)
  })

  it('keeps the FAR columns when no encoder has thresholds', () => {
    const wrapper = mount(ScoreTable, { props: { scores: scoresOf([scores[1]]), targetEncoderId: null }, global: { plugins: [currentPinia()] } })
    expect(wrapper.findAll('thead th.far').map((th) => th.text())).toEqual(['FAR 1 %', 'FAR 0.1 %', 'FAR 0.01 %'])
    expect(wrapper.find('[data-testid="no-thresholds"]').exists()).toBe(true)
  })
})

describe('RunResultView', () => {
  const detail = (): CaseDetail => ({
    info: { id: CASE_ID, dir: '/cases/x', name: 'X', number: null, examiner: null, notes: null, createdAt: '', templateCount: 1, imageCount: 1, runCount: 1 },
    templates: [templateRecord({ encoderId: 'enc-a', imageSha256: 'f'.repeat(64), face: { index: 0, box: [10, 10, 60, 70], score: 0.9 } })],
    images: [{ sha256: 'f'.repeat(64), mime: 'image/jpeg', width: 200, height: 150, originalName: 'sample1.jpg', addedAt: '' }],
    runs: [run]
  })

  it('puts ground truth and reconstruction side by side, with scores and provenance', async () => {
    const bridge = installFakeBridge({
      getCase: async () => detail(),
      getRunResults: async () => [result],
      getImage: async () => ({ mime: 'image/png', bytes: new Uint8Array([1, 2, 3]) })
    })
    const store = useCaseDetail()
    await store.open(CASE_ID)
    const wrapper = mount(RunResultView, {
      props: { run, template: store.templates[0], methodName: 'GA latent search' },
      global: { plugins: [currentPinia()] }
    })
    await settle()
    expect(bridge.getRunResults).toHaveBeenCalledWith(CASE_ID, RUN_ID)
    expect(bridge.getImage.mock.calls.map((c) => c[1]).sort()).toEqual(['d'.repeat(64), 'f'.repeat(64)])
    expect(wrapper.find('[data-testid="result-ground-truth"]').attributes('src')).toMatch(/^blob:/)
    // Cropped around the face box, not squeezed.
    expect(wrapper.find('[data-testid="result-ground-truth"]').classes()).toContain('cropped')
    expect(wrapper.find('[data-testid="result-reconstruction"]').attributes('src')).toMatch(/^blob:/)
    expect(wrapper.find('[data-testid="result-similarity"]').text()).toBe('0.3500')
    expect(wrapper.find('[data-testid="result-queries"]').text()).toBe('142')
    expect(wrapper.find('[data-testid="result-seconds"]').text()).toBe('28 s')
    expect(wrapper.findAll('[data-testid="score-row"]')).toHaveLength(2)
    expect(wrapper.find('[data-testid="run-seed-value"]').text()).toBe('1234')
    expect(wrapper.find('[data-testid="run-software"]').text()).toBe('unveil@0.1.0')
    expect(wrapper.find('[data-param="population"]').text()).toContain('32')
    const models = wrapper.findAll('[data-testid="run-models"] tr').map((tr) => [tr.attributes('data-model-key'), tr.find('[data-sha]').attributes('data-sha')])
    expect(models).toEqual([
      ['generator', 'e'.repeat(64)],
      ['target', 'a'.repeat(64)],
      ['encoder:enc-a', 'a'.repeat(64)],
      ['encoder:enc-b', 'c'.repeat(64)]
    ])
    // Short on screen, full on hover.
    const sha = wrapper.find('[data-model-key="generator"] [data-sha]')
    expect(sha.text()).toBe('e'.repeat(16))
    expect(sha.attributes('title')).toContain('e'.repeat(64))
  })

  it('says so when the run stored no reconstruction, and shows a load failure verbatim', async () => {
    let fail = false
    installFakeBridge({
      getCase: async () => detail(),
      getRunResults: async () => {
        if (fail) throw new Error("Error invoking remote method 'unveil:getRunResults': Error: case folder is not readable")
        return []
      }
    })
    await useCaseDetail().open(CASE_ID)
    const wrapper = mount(RunResultView, { props: { run, template: null, methodName: null }, global: { plugins: [currentPinia()] } })
    await settle()
    expect(wrapper.find('[data-testid="result-missing"]').exists()).toBe(true)
    fail = true
    await wrapper.setProps({ run: { ...run, id: 'bbbbbbbb-0000-4000-8000-000000000002' } })
    await settle()
    expect(wrapper.find('[data-testid="result-error"]').text()).toContain('Could not load the result: case folder is not readable')
  })
})
