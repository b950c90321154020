// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ExplainPanel from '../../../src/renderer/src/components/case/ExplainPanel.vue'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
import type { RunRecord } from '../../../src/shared/types'
import type { CentroidsRecord, ExplainRun } from '../../../src/shared/explain-types'
import { freshRendererPerTest, installFakeBridge, settle } from './fake-bridge'

const CASE_ID = '77777777-7777-4777-8777-777777777777'
const detail = (): CaseDetail => ({
  info: { id: CASE_ID, dir: '/cases/e', name: 'E', number: null, examiner: null, notes: null, createdAt: '', templateCount: 0, imageCount: 0, runCount: 1 },
  templates: [],
  images: [],
  runs: []
})
const record: CentroidsRecord = {
  kind: 'centroids',
  parameters: { k: 2 },
  seed: 1,
  softwareVersion: 'unveil@0.1.0',
  modelSha256s: { encoder: 'a'.repeat(64), decoder: 'b'.repeat(64) },
  models: { encoder: { id: 'enc', sha256: 'a'.repeat(64) }, decoder: { id: 'dfd-x', sha256: 'b'.repeat(64) } },
  executionProvider: 'cpu',
  startedAt: '',
  finishedAt: '',
  templates: 5,
  k: 2,
  purity: 0.8,
  clusters: [
    { index: 0, size: 3, members: [], majority: null, fidelity: 0.8, imageSha256: 'c'.repeat(64) },
    { index: 1, size: 2, members: [], majority: null, fidelity: 0.7, imageSha256: 'd'.repeat(64) }
  ]
}
const run: ExplainRun = {
  runId: 'eeeeeeee-0000-4000-8000-000000000001',
  kind: 'centroids',
  createdAt: '2026-12-01T10:00:00.000Z',
  sheetSha256: 'e'.repeat(64),
  record
}

const currentPinia = freshRendererPerTest()

describe('Explain panel', () => {
  it("shows each stored Explain run's sheet and what it measured, and how to make one when there are none", async () => {
    let runs: ExplainRun[] = []
    const bridge = installFakeBridge({
      getCase: async () => detail(),
      listExplainRuns: async () => runs,
      getImage: async () => ({ mime: 'image/png', bytes: new Uint8Array([1]) })
    })
    await useCaseDetail().open(CASE_ID)
    const empty = mount(ExplainPanel, { global: { plugins: [currentPinia()] }, attachTo: document.body })
    await settle()
    expect(empty.text()).toContain('unveil explain aggregation|centroids|occlusion|equivariance|attributes --case /cases/e')
    runs = [run]
    const wrapper = mount(ExplainPanel, { global: { plugins: [currentPinia()] }, attachTo: document.body })
    await settle()
    const figure = wrapper.find('[data-testid="explain-centroids"]')
    expect(figure.text()).toContain('5 templates in 2 clusters of 3, 2; purity 0.800')
    expect(figure.text()).toContain('decoder dfd-x')
    expect(figure.find('img').attributes('src')).toMatch(/^blob:/)
    expect(bridge.getImage).toHaveBeenCalledWith(CASE_ID, 'e'.repeat(64))
  })

  it('starts equivariance and attribute runs of the chosen template once its encoder has maps and directions', async () => {
    const template = {
      id: '88888888-8888-4888-8888-888888888888',
      label: 'photo #1',
      encoderId: 'faceplugin-fr-feature',
      imageSha256: 'f'.repeat(64)
    }
    let fitted = false
    const bridge = installFakeBridge({
      getCase: async () => ({ ...detail(), templates: [template] }) as unknown as CaseDetail,
      listExplainRuns: async () => [],
      explainFits: async (encoderId: string) => ({
        encoderId,
        maps: fitted ? [{ transform: 'rotate:30', fittedAt: '', crops: 300, validation: { identity: 0.15, mapped: 0.22 } }] : [],
        attributes: fitted ? { fittedAt: '', crops: 1600, attributes: ['age', 'gender'] } : null
      }),
      explainEquivariance: async () => ({}) as RunRecord,
      explainAttributes: async () => ({}) as RunRecord
    })
    await useCaseDetail().open(CASE_ID)
    const bare = mount(ExplainPanel, { global: { plugins: [currentPinia()] }, attachTo: document.body })
    await settle()
    expect(bare.find('[data-testid="explain-fits"]').text()).toContain('no equivariance maps and no attribute directions fitted for faceplugin-fr-feature')
    expect(bare.find('[data-testid="explain-fits"]').text()).toContain('unveil explain equivariance --fit --encoder faceplugin-fr-feature')
    expect(bare.find('[data-testid="explain-start-equivariance"]').attributes('disabled')).toBeDefined()
    fitted = true
    const wrapper = mount(ExplainPanel, { global: { plugins: [currentPinia()] }, attachTo: document.body })
    await settle()
    expect(wrapper.find('[data-testid="explain-fits"]').text()).toBe('1 equivariance maps and age and gender directions fitted for faceplugin-fr-feature')
    await wrapper.find('[data-testid="explain-start-equivariance"]').trigger('click')
    await settle()
    await wrapper.find('[data-testid="explain-start-attributes"]').trigger('click')
    await settle()
    expect(bridge.explainEquivariance).toHaveBeenCalledWith({
      caseId: CASE_ID,
      templateId: template.id,
      photo: null,
      encoderId: null,
      transforms: null,
      seed: 1
    })
    expect(bridge.explainAttributes).toHaveBeenCalledWith({
      caseId: CASE_ID,
      templateId: template.id,
      attributes: null,
      ageSteps: null,
      genderSteps: null,
      seed: 1
    })
  })
})
