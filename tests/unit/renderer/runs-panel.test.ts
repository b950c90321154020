// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import RunsPanel from '../../../src/renderer/src/components/case/RunsPanel.vue'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import { useConfirm } from '../../../src/renderer/src/stores/confirm'
import { useJobs } from '../../../src/renderer/src/stores/jobs'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
import type { MethodInfo, ModelEntry, RunRecord } from '../../../src/shared/types'
import { encoderEntry, installFakeBridge, settle, templateRecord, freshRendererPerTest } from './fake-bridge'

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

const ga: MethodInfo = {
  id: 'ga',
  name: 'GA latent search',
  description: 'Genetic search over a generator latent space.',
  parameters: [
    { key: 'generator', label: 'Generator', type: 'model', role: 'generator', default: 'gen-1' },
    { key: 'population', label: 'Population', type: 'integer', default: 256, min: 4, max: 4096 }
  ]
}
const generatorEntry = (id: string): ModelEntry => {
  const e = encoderEntry(id)
  return { ...e, manifest: { ...e.manifest, role: 'generator', name: `Generator ${id}`, latentDim: 128 } }
}

const currentPinia = freshRendererPerTest()

async function mountPanel() {
  await useCaseDetail().open(CASE_ID)
  const wrapper = mount(RunsPanel, { global: { plugins: [currentPinia()] }, attachTo: document.body })
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

  it('starts the run on the template, shows its encoder as the target, and selects the new run', async () => {
    const started = { ...run, id: 'aaaaaaaa-0000-4000-8000-000000000002', method: 'ga', status: 'queued' as const }
    let runs: RunRecord[] = []
    const bridge = installFakeBridge({
      getCase: async () => detail(runs),
      listMethods: async () => [ga],
      listModels: async () => [encoderEntry('enc-a'), generatorEntry('gen-1')],
      listJobs: async () => [],
      startRun: async () => {
        runs = [started]
        return started
      }
    })
    await useJobs().start()
    const wrapper = await mountPanel()
    expect(wrapper.find<HTMLInputElement>('[data-testid="run-target-encoder"]').element.value).toBe('enc-a')
    expect(wrapper.find<HTMLInputElement>('[data-testid="run-target-encoder"]').element.readOnly).toBe(true)
    // Generators only, the spec's default preselected.
    const generator = wrapper.find<HTMLSelectElement>('[data-testid="param-generator"]')
    expect(generator.findAll('option').map((o) => o.element.value)).toEqual(['gen-1'])
    expect(generator.element.value).toBe('gen-1')
    expect(wrapper.find<HTMLInputElement>('[data-testid="param-population"]').element.value).toBe('256')
    expect(wrapper.text()).toContain('Default 256 · 4 – 4,096')

    await wrapper.find('[data-testid="param-population"]').setValue('32')
    expect(wrapper.find('[data-testid="param-population"]').classes()).toContain('changed')
    await wrapper.find('[data-testid="run-seed"]').setValue('99')
    await wrapper.find('form').trigger('submit')
    await settle()
    expect(bridge.startRun).toHaveBeenCalledWith({
      caseId: CASE_ID,
      method: 'ga',
      templateId: templateRecord().id,
      parameters: { generator: 'gen-1', population: 32 },
      seed: 99
    })
    const panel = wrapper.find('[data-testid="run-detail"]')
    expect(panel.attributes('data-run-id')).toBe(started.id)
    expect(panel.find('[data-testid="run-queued"]').exists()).toBe(true)
    expect(wrapper.find('tr.selected').attributes('data-run-id')).toBe(started.id)
    // The next run gets a fresh seed; the used one stays with the run.
    expect(wrapper.find<HTMLInputElement>('[data-testid="run-seed"]').element.value).not.toBe('99')

    await wrapper.find('[data-testid="params-reset"]').trigger('click')
    expect(wrapper.find<HTMLInputElement>('[data-testid="param-population"]').element.value).toBe('256')
  })

  it("shows core's refusal next to the form, exactly as written", async () => {
    installFakeBridge({
      getCase: async () => detail(),
      listMethods: async () => [ga],
      listModels: async () => [encoderEntry('enc-a')],
      startRun: async () => {
        throw new Error("Error invoking remote method 'unveil:startRun': ValidationError: parameter 'population' must be between 4 and 4096")
      }
    })
    const wrapper = await mountPanel()
    // The default generator is not registered: still chosen, and marked.
    const generator = wrapper.find<HTMLSelectElement>('[data-testid="param-generator"]')
    expect(generator.element.value).toBe('gen-1')
    expect(generator.text()).toContain('gen-1 (not registered)')
    expect(wrapper.text()).toContain('Not registered: add it on the Models page.')
    await wrapper.find('[data-testid="param-population"]').setValue('')
    await wrapper.find('form').trigger('submit')
    await settle()
    expect(wrapper.find('[data-testid="run-error"]').text()).toBe("parameter 'population' must be between 4 and 4096")
  })

  it('opens the live view of a running run and cancels it after confirmation', async () => {
    const bridge = installFakeBridge({
      getCase: async () => detail([{ ...run, method: 'ga' }]),
      listMethods: async () => [ga],
      listModels: async () => [],
      listJobs: async () => [],
      cancelRun: async () => undefined
    })
    await useJobs().start()
    const wrapper = await mountPanel()
    // A run under way is shown when the tab opens.
    expect(wrapper.find('[data-testid="run-detail"]').attributes('data-run-id')).toBe(run.id)
    bridge.emitProgress({
      runId: run.id,
      caseDir: '/cases/x',
      status: 'running',
      step: 64,
      totalSteps: 640,
      bestScore: 0.3,
      etaSeconds: 30,
      message: 'thread 1, generation 1: best 0.3000',
      detail: { thread: 0, generation: 0, best: 0.3, mean: 0.1, queries: 64, seconds: 1, previewPng: 'AAAA' }
    })
    await settle()
    expect(wrapper.find('[data-testid="run-best-image"]').attributes('src')).toBe('data:image/png;base64,AAAA')
    await wrapper.find('[data-testid="detail-cancel"]').trigger('click')
    useConfirm().answer(true)
    await settle()
    expect(bridge.cancelRun).toHaveBeenCalledWith(run.id)
  })

  it('opens a finished run on click: result, error or cancellation', async () => {
    const done = { ...run, id: 'aaaaaaaa-0000-4000-8000-000000000003', method: 'ga', status: 'succeeded' as const, summary: { similarity: 0.61, queries: 1200 } }
    const failed = { ...run, id: 'aaaaaaaa-0000-4000-8000-000000000004', method: 'ga', status: 'failed' as const, error: "model 'gen-1' is not registered" }
    const cancelled = { ...run, id: 'aaaaaaaa-0000-4000-8000-000000000005', method: 'ga', status: 'cancelled' as const, seconds: 3 }
    const bridge = installFakeBridge({
      getCase: async () => detail([done, failed, cancelled]),
      listMethods: async () => [ga],
      listModels: async () => [],
      getRunResults: async () => []
    })
    const wrapper = await mountPanel()
    expect(wrapper.find('[data-testid="run-detail"]').exists()).toBe(false)
    const row = (id: string) => wrapper.find(`[data-testid="run-row"][data-run-id="${id}"]`)
    expect(row(done.id).text()).toContain('0.6100')
    expect(row(done.id).text()).toContain('1,200 queries')
    expect(row(done.id).text()).toContain('GA latent search')

    await row(done.id).trigger('click')
    await settle()
    expect(bridge.getRunResults).toHaveBeenCalledWith(CASE_ID, done.id)
    expect(wrapper.find('[data-testid="run-result"]').exists()).toBe(true)

    await row(failed.id).trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="run-failed"]').text()).toBe("The run failed. model 'gen-1' is not registered")

    await row(cancelled.id).trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="run-cancelled"]').text()).toContain('The run was cancelled')
    expect(wrapper.find('[data-testid="run-seed-value"]').text()).toBe(String(run.seed))

    await wrapper.find('[data-testid="detail-close"]').trigger('click')
    expect(wrapper.find('[data-testid="run-detail"]').exists()).toBe(false)
  })

  it('DFD: shows the automatic decoder by name, and disables Start with the reason when none fits', async () => {
    const dfd: MethodInfo = {
      id: 'dfd',
      name: 'DFD decoder',
      description: 'One forward pass of a decoder.',
      parameters: [{ key: 'decoder', label: 'Decoder', type: 'model', role: 'decoder', default: '' }]
    }
    const decoderEntry = (id: string, targetSha: string): ModelEntry => {
      const e = encoderEntry(id)
      return { ...e, manifest: { ...e.manifest, role: 'decoder', name: `Decoder ${id}`, targetEncoder: { id: 'enc-x', sha256: targetSha } } }
    }
    // The template's encoder sha256 is 'a' × 64 (templateRecord()).
    let models = [encoderEntry('enc-a'), decoderEntry('dec-other', 'c'.repeat(64)), decoderEntry('dec-fit', 'a'.repeat(64))]
    const bridge = installFakeBridge({
      getCase: async () => detail(),
      listMethods: async () => [dfd],
      listModels: async () => models,
      startRun: async () => ({ ...run, method: 'dfd', status: 'queued' as const }),
      listJobs: async () => []
    })
    const wrapper = await mountPanel()
    const select = wrapper.find<HTMLSelectElement>('[data-testid="param-decoder"]')
    expect(select.element.value).toBe('')
    expect(select.findAll('option')[0].text()).toBe('Automatic: Decoder dec-fit')
    expect(wrapper.find('[data-testid="auto-model"]').attributes('data-model-id')).toBe('dec-fit')
    expect(wrapper.text()).not.toContain('Not registered')
    expect(wrapper.find('[data-testid="run-blocked"]').exists()).toBe(false)
    expect(wrapper.find<HTMLButtonElement>('[data-testid="run-start"]').element.disabled).toBe(false)

    // A decoder trained on another encoder, chosen by hand: refused before the run starts.
    await select.setValue('dec-other')
    expect(wrapper.find('[data-testid="run-blocked"]').text()).toContain('dec-other inverts templates of enc-x')
    expect(wrapper.find<HTMLButtonElement>('[data-testid="run-start"]').element.disabled).toBe(true)
    await select.setValue('')
    await wrapper.find('form').trigger('submit')
    await settle()
    expect(bridge.startRun).toHaveBeenCalledTimes(1)
    expect(bridge.startRun.mock.calls[0][0].parameters).toEqual({ decoder: '' })
    wrapper.unmount()

    // No decoder fits: Start is disabled and says why.
    models = [encoderEntry('enc-a'), decoderEntry('dec-other', 'c'.repeat(64))]
    const { useModels } = await import('../../../src/renderer/src/stores/models')
    await useModels().load()
    const again = await mountPanel()
    expect(again.find('[data-testid="param-decoder"]').findAll('option')[0].text()).toBe('Automatic: none fits this template')
    expect(again.find('[data-testid="run-blocked"]').text()).toBe('No registered decoder inverts templates of enc-a: register one on the Models page.')
    expect(again.find<HTMLButtonElement>('[data-testid="run-start"]').element.disabled).toBe(true)
    await again.find('form').trigger('submit')
    await settle()
    expect(bridge.startRun).toHaveBeenCalledTimes(1)
  })

  it('Vec2Face: offers only its own generators, and a generator of another encoder only with transfer allowed', async () => {
    const dibigan: MethodInfo = {
      id: 'dibigan',
      name: 'Vec2Face DiBiGAN',
      description: 'One pass per noise variation.',
      parameters: [
        { key: 'generator', label: 'Generator', type: 'model', role: 'decoder', decoderMethod: 'dibigan', default: '' },
        { key: 'allowOtherEncoder', label: 'Transfer', type: 'integer', default: 0, min: 0, max: 1, choices: [{ value: 0, label: 'refuse' }, { value: 1, label: 'allow' }] }
      ]
    }
    const decoderEntry = (id: string, targetSha: string, method?: string): ModelEntry => {
      const e = encoderEntry(id)
      const conditional = method ? { method, templateDim: 512, noiseDim: 32 } : undefined
      return { ...e, manifest: { ...e.manifest, role: 'decoder', name: `Decoder ${id}`, targetEncoder: { id: 'enc-x', sha256: targetSha }, conditional } }
    }
    // A plain decoder and a DAB-GAN generator fit the template's encoder ('a' × 64) but not this method.
    const models = [encoderEntry('enc-a'), decoderEntry('dfd-fit', 'a'.repeat(64)), decoderEntry('dab-fit', 'a'.repeat(64), 'dabgan'), decoderEntry('dibi-other', 'c'.repeat(64), 'dibigan')]
    installFakeBridge({
      getCase: async () => detail(),
      listMethods: async () => [dibigan],
      listModels: async () => models,
      startRun: async () => ({ ...run, method: 'dibigan', status: 'queued' as const }),
      listJobs: async () => []
    })
    const wrapper = await mountPanel()
    const select = wrapper.find<HTMLSelectElement>('[data-testid="param-generator"]')
    expect(select.findAll('option').map((o) => o.element.value)).toEqual(['', 'dibi-other'])
    expect(select.findAll('option')[0].text()).toBe('Automatic: none fits this template')
    expect(wrapper.find('[data-testid="run-blocked"]').text()).toBe(
      'No registered dibigan generator inverts templates of enc-a: register one on the Models page, or allow another encoder.'
    )
    await wrapper.find<HTMLSelectElement>('[data-testid="param-allowOtherEncoder"]').setValue('1')
    expect(select.findAll('option')[0].text()).toBe('Automatic: Decoder dibi-other')
    expect(wrapper.find('[data-testid="run-blocked"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('ALSUV: choices as selects, the automatic validation encoder by name, and Start blocked without a second encoder', async () => {
    const alsuv: MethodInfo = {
      id: 'alsuv',
      name: 'ALSUV transfer attack',
      description: 'Many latents, averaged, picked by a validation encoder.',
      parameters: [
        { key: 'validationEncoder', label: 'Validation encoder', type: 'model', role: 'encoder', default: '' },
        { key: 'validation', label: 'Validation pick', type: 'integer', default: 1, min: 0, max: 1, choices: [{ value: 1, label: 'on' }, { value: 0, label: 'off' }] },
        { key: 'gradients', label: 'Gradients', type: 'string', default: 'exact', choices: [{ value: 'exact', label: 'exact (white-box)' }, { value: 'zo', label: 'zo (black-box queries)' }] }
      ]
    }
    // enc-a made the template (templateRecord()); enc-b is another engine.
    const other = (id: string): ModelEntry => ({ ...encoderEntry(id), manifest: { ...encoderEntry(id).manifest, sha256: 'd'.repeat(64) } })
    let models = [encoderEntry('enc-a'), other('enc-b')]
    const bridge = installFakeBridge({
      getCase: async () => detail(),
      listMethods: async () => [alsuv],
      listModels: async () => models,
      startRun: async () => ({ ...run, method: 'alsuv', status: 'queued' as const }),
      listJobs: async () => []
    })
    const wrapper = await mountPanel()
    const validator = wrapper.find<HTMLSelectElement>('[data-testid="param-validationEncoder"]')
    expect(validator.findAll('option')[0].text()).toBe('Automatic: Encoder enc-b')
    expect(wrapper.find('[data-testid="auto-model"]').attributes('data-model-id')).toBe('enc-b')
    const gradients = wrapper.find<HTMLSelectElement>('[data-testid="param-gradients"]')
    expect(gradients.element.tagName).toBe('SELECT')
    expect(gradients.findAll('option').map((o) => o.text())).toEqual(['exact (white-box)', 'zo (black-box queries)'])
    expect(wrapper.text()).toContain('Default exact (white-box)')
    expect(wrapper.find<HTMLSelectElement>('[data-testid="param-validation"]').element.tagName).toBe('SELECT')

    // The seen encoder chosen by hand as validator: refused before the run starts.
    await validator.setValue('enc-a')
    expect(wrapper.find('[data-testid="run-blocked"]').text()).toBe('enc-a made this template: the validation encoder must be another one.')
    await validator.setValue('')
    await gradients.setValue('zo')
    await wrapper.find<HTMLSelectElement>('[data-testid="param-validation"]').setValue('0')
    await wrapper.find('form').trigger('submit')
    await settle()
    // Choices go to core typed as the spec's default: validation a number, gradients a string.
    expect(bridge.startRun.mock.calls[0][0].parameters).toEqual({ validationEncoder: '', validation: 0, gradients: 'zo' })
    wrapper.unmount()

    // Only the template's own encoder registered: validation cannot run, and Start says so.
    models = [encoderEntry('enc-a')]
    const { useModels } = await import('../../../src/renderer/src/stores/models')
    await useModels().load()
    const again = await mountPanel()
    expect(again.find('[data-testid="run-blocked"]').text()).toBe('Validation needs a second registered encoder: register one on the Models page, or turn validation off.')
    expect(again.find<HTMLButtonElement>('[data-testid="run-start"]').element.disabled).toBe(true)
    await again.find<HTMLSelectElement>('[data-testid="param-validation"]').setValue('0')
    expect(again.find('[data-testid="run-blocked"]').exists()).toBe(false)
  })
})
