import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { CaseCreateInput, CaseInfo } from '@shared/types'
import type { CaseDetail } from '@shared/ipc-contract'
import { api } from '../api'

export const useCases = defineStore('cases', () => {
  const cases = ref<CaseInfo[]>([])
  const loaded = ref(false)
  const loading = ref(false)

  async function load(): Promise<void> {
    loading.value = true
    try {
      cases.value = await api().listCases()
      loaded.value = true
    } finally {
      loading.value = false
    }
  }

  function upsert(info: CaseInfo): void {
    const i = cases.value.findIndex((c) => c.id === info.id)
    if (i >= 0) cases.value.splice(i, 1, info)
    else cases.value.unshift(info)
  }

  async function create(input: CaseCreateInput): Promise<CaseInfo> {
    const info = await api().createCase(input)
    upsert(info)
    return info
  }

  /** Asks for a folder, then adds it; null when the user cancels the picker. */
  async function openFolder(): Promise<CaseInfo | null> {
    const dir = await api().chooseFolder('Open case folder')
    if (!dir) return null
    const info = await api().openCaseFolder(dir)
    upsert(info)
    return info
  }

  async function createSample(): Promise<CaseDetail> {
    const detail = await api().createSampleCase()
    upsert(detail.info)
    return detail
  }

  return { cases, loaded, loading, load, create, openFolder, createSample }
})
