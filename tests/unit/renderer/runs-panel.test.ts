// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia, type Pinia } from 'pinia'
import RunsPanel from '../../../src/renderer/src/components/case/RunsPanel.vue'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import { useJobs } from '../../../src/renderer/src/stores/jobs'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
import type { MethodInfo, RunRecord } from '../../../src/shared/types'
import { encoderEntry, installFakeBridge, removeFakeBridge, settle, templateRecord } from './fake-bridge'

const CASE_ID = '44444444-4444-4444-8444-444444444444'
const run: RunRecord = {
  id: 'aaaaaaaa-0000-4000-8000-000000000001',
  method: 'latent-search',
  status: 'running',
  parameters: {},
  seed: 7,
  modelSha256s: {},
  softwareVersion: '0.1.0',
  templateId: templateRecord().id,
  createdAt: '2024-05-01T10:00:00.000Z',
  startedAt: '2024-05-01T10:00:01.000Z',
  finishedAt: null,
  seconds: null,
  error: null,
  summary: null
}
const detail = (runs: RunRecord[] = []): CaseDetail => ({
  info: { id: CASE_ID, dir: '/cases/x', name: 'X', number: null, examiner: null, notes: null, createdAt: '', templateCount: 1, imageCount: 0, runCount: runs.length },
  templates: [templateRecord()],
  images: [],
  runs
})
const method: MethodInfo = {
  id: 'latent-search',
  name: 'Latent search',
  description: 'Searches a generator latent space.',
  parameters: [
    { key: 'iterations', label: 'Iterations', type: 'integer', default: 200, min: 1, max: 10000 },
    { key: 'encoder', label: 'Encoder', type: 'model', default: 'enc-a', role: 'encoder' }
  ]
}

let pinia: Pinia
beforeEach(() => {
  pinia = createPinia()
  setActivePinia(pinia)
})
afterEach(() => {
  document.body.innerHTML = ''
  removeFakeBridge()
})

async function mountPanel() {
  await useCaseDetail().open(CASE_ID)
  const wrapper = mount(RunsPanel, { global: { plugins: [pinia] }, attachTo: document.body })
  await settle()
  return wrapper
}

describe('Runs panel', () => {
  it('says so when no method is registered', async () => {
    installFakeBridge({ getCase: async () => detail(), listMethods: async () => [], listModels: async () => [] })
    const wrapper = await mountPanel()
    expect(wrapper.find('[data-testid="methods-empty"]').text()).toBe('No reconstruction methods are registered yet.')
  })

  it('builds the form from the method parameters and starts a run with them', async () => {
    const bridge = installFakeBridge({
      getCase: async () => detail(),
      listMethods: async () => [method],
      listModels: async () => [encoderEntry('enc-a')],
      startRun: async () => run
    })
    const wrapper = await mountPanel()
    const iterations = wrapper.find<HTMLInputElement>('[data-testid="param-iterations"]')
    expect(iterations.element.value).toBe('200')
    await iterations.setValue('50')
    await wrapper.find('[data-testid="run-seed"]').setValue('42')
    await wrapper.find('form').trigger('submit')
    await settle()
    expect(bridge.startRun).toHaveBeenCalledWith({
      caseId: CASE_ID,
      method: 'latent-search',
      templateId: templateRecord().id,
      parameters: { iterations: 50, encoder: 'enc-a' },
      seed: 42
    })
  })

  it('shows live progress of a running job', async () => {
    const bridge = installFakeBridge({
      getCase: async () => detail([run]),
      listMethods: async () => [],
      listModels: async () => [],
      listJobs: async () => []
    })
    await useJobs().start()
    const wrapper = await mountPanel()
    bridge.emitProgress({ runId: run.id, caseDir: '/cases/x', status: 'running', step: 30, totalSteps: 120, bestScore: 0.4321, etaSeconds: 90, message: null })
    await settle()
    const row = wrapper.find('[data-testid="run-row"]')
    expect(row.text()).toContain('30 / 120')
    expect(row.text()).toContain('0.4321')
    expect(row.text()).toContain('ETA 1 min 30 s')
    expect(row.find('[data-testid="job-cancel"]').exists()).toBe(true)
  })
})
