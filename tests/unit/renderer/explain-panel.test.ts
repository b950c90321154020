// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import ExplainPanel from '../../../src/renderer/src/components/case/ExplainPanel.vue'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
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
    expect(empty.text()).toContain('unveil explain aggregation|centroids|occlusion --case /cases/e')
    runs = [run]
    const wrapper = mount(ExplainPanel, { global: { plugins: [currentPinia()] }, attachTo: document.body })
    await settle()
    const figure = wrapper.find('[data-testid="explain-centroids"]')
    expect(figure.text()).toContain('5 templates in 2 clusters of 3, 2; purity 0.800')
    expect(figure.text()).toContain('decoder dfd-x')
    expect(figure.find('img').attributes('src')).toMatch(/^blob:/)
    expect(bridge.getImage).toHaveBeenCalledWith(CASE_ID, 'e'.repeat(64))
  })
})
