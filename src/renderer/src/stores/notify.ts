import { defineStore } from 'pinia'
import { ref } from 'vue'
import { errorMessage } from '../lib/errors'

export type ToastKind = 'error' | 'success' | 'info'

export interface Toast {
  id: number
  kind: ToastKind
  title: string
  message: string
}

const AUTO_DISMISS_MS = 5000

/** Banners in the corner. Errors stay until dismissed: an analyst must not miss one. */
export const useNotify = defineStore('notify', () => {
  const toasts = ref<Toast[]>([])
  let nextId = 1

  function push(kind: ToastKind, title: string, message = ''): number {
    const id = nextId++
    toasts.value.push({ id, kind, title, message })
    if (kind !== 'error') setTimeout(() => dismiss(id), AUTO_DISMISS_MS)
    return id
  }

  function dismiss(id: number): void {
    toasts.value = toasts.value.filter((t) => t.id !== id)
  }

  return {
    toasts,
    dismiss,
    success: (title: string, message = '') => push('success', title, message),
    info: (title: string, message = '') => push('info', title, message),
    error: (title: string, err: unknown) => push('error', title, errorMessage(err))
  }
})
