import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { EngineInfo, ModelEntry } from '@shared/types'
import type { ModelRegistrationInput } from '@shared/ipc-contract'
import { api } from '../api'

export const useModels = defineStore('models', () => {
  const models = ref<ModelEntry[]>([])
  const engine = ref<EngineInfo | null>(null)
  const loaded = ref(false)
  /** modelId → job id of its running LFW verification. */
  const verifyJobs = ref<Record<string, string>>({})
  const thresholdJobs = ref<Record<string, string>>({})

  const encoders = computed(() => models.value.filter((m) => m.manifest.role === 'encoder'))

  async function load(): Promise<void> {
    models.value = await api().listModels()
    loaded.value = true
  }

  /** Models are needed by several pages; fetch them once unless asked to refresh. */
  async function ensure(): Promise<void> {
    if (!loaded.value) await load()
  }

  async function loadEngine(): Promise<void> {
    engine.value = await api().engineInfo()
  }

  async function register(input: ModelRegistrationInput): Promise<ModelEntry> {
    const entry = await api().registerModel(input)
    // Core starts an LFW verification and the FAR-threshold measurement of a new encoder when the data is available.
    if (entry.verificationJobId) verifyJobs.value[entry.manifest.id] = entry.verificationJobId
    if (entry.thresholdsJobId) thresholdJobs.value[entry.manifest.id] = entry.thresholdsJobId
    await load()
    return entry
  }

  async function verify(modelId: string): Promise<string> {
    const { jobId } = await api().verifyModel(modelId)
    verifyJobs.value[modelId] = jobId
    return jobId
  }

  return { models, engine, loaded, encoders, verifyJobs, thresholdJobs, load, ensure, loadEngine, register, verify }
})
