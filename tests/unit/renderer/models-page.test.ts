// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import ModelsPage from '../../../src/renderer/src/pages/ModelsPage.vue'
import { useJobs } from '../../../src/renderer/src/stores/jobs'
import { useModels } from '../../../src/renderer/src/stores/models'
import type { JobProgress, ModelEntry } from '../../../src/shared/types'
import { encoderEntry, freshRendererPerTest, installFakeBridge } from './fake-bridge'

const currentPinia = freshRendererPerTest()
const engine = { provider: 'cpu' as const, requestedProviders: ['cpu' as const], fallbackReason: null, threads: 2 }
const thresholds = { dataset: 'LFW', images: 2000, identities: 858, impostorPairs: 1962839, fars: [{ far: 0.001, threshold: 0.34 }], measuredAt: '2026-12-01T11:43:17.370Z' }

describe('models page, FAR thresholds', () => {
  it("shows each encoder's thresholds, and a just-registered encoder's measurement while it runs", async () => {
    const withThresholds: ModelEntry = { ...encoderEntry('bundled-enc'), bundled: true, thresholds }
    const fresh = encoderEntry('my-enc', 128)
    let entries = [withThresholds, fresh]
    const bridge = installFakeBridge({
      listModels: async () => entries,
      engineInfo: async () => engine,
      listJobs: async () => [],
      registerModel: async () => ({ ...fresh, thresholdsJobId: 'thr-1' })
    })
    await useJobs().start()
    const wrapper = mount(ModelsPage, { global: { plugins: [currentPinia()] } })
    await flushPromises()
    const cell = (id: string): string => wrapper.find(`[data-model-id="${id}"] [data-testid="model-thresholds"]`).text()
    expect(cell('bundled-enc')).toContain('FAR thresholds from 1,962,839 impostor pairs')
    expect(cell('my-enc')).toBe('no FAR thresholds: scores carry no pass/fail')

    await useModels().register({ model: { name: 'm.onnx', bytes: new Uint8Array([1]) }, manifestJson: '{}' })
    const progress: JobProgress = { runId: 'thr-1', caseDir: '', status: 'running', step: 30, totalSteps: 100, bestScore: null, etaSeconds: 90, message: 'thresholds: align 1000/2000' }
    bridge.emitProgress(progress)
    await flushPromises()
    expect(cell('my-enc')).toMatch(/FAR thresholds: thresholds: align 1000\/2000\s+· ETA/)

    entries = [withThresholds, { ...fresh, thresholds }]
    bridge.emitProgress({ ...progress, status: 'succeeded', step: 100 })
    await flushPromises()
    expect(cell('my-enc')).toContain('FAR thresholds from 1,962,839 impostor pairs')
  })
})
