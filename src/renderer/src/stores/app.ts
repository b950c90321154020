import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { AppInfo } from '@shared/ipc-contract'
import { api } from '../api'
import { errorMessage } from '../lib/errors'

export const useAppInfo = defineStore('appInfo', () => {
  const info = ref<AppInfo | null>(null)
  const error = ref<string | null>(null)
  let loading: Promise<AppInfo | null> | null = null

  /** Loads once; later calls share the first answer. */
  function load(): Promise<AppInfo | null> {
    loading ??= api()
      .appInfo()
      .then((i) => {
        info.value = i
        error.value = null
        return i
      })
      .catch((err: unknown) => {
        error.value = errorMessage(err)
        loading = null
        return null
      })
    return loading
  }

  return { info, error, load }
})
