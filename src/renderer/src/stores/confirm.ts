import { defineStore } from 'pinia'
import { shallowRef } from 'vue'

export interface ConfirmRequest {
  title: string
  message: string
  confirmLabel?: string
  /** Styles the confirm button as destructive. */
  danger?: boolean
}

interface Pending extends ConfirmRequest {
  resolve: (ok: boolean) => void
}

/** One modal confirmation at a time, awaited by the caller: `if (await ask({...})) ...`. */
export const useConfirm = defineStore('confirm', () => {
  const pending = shallowRef<Pending | null>(null)

  function ask(request: ConfirmRequest): Promise<boolean> {
    pending.value?.resolve(false)
    return new Promise((resolve) => {
      pending.value = { ...request, resolve }
    })
  }

  function answer(ok: boolean): void {
    const p = pending.value
    pending.value = null
    p?.resolve(ok)
  }

  return { pending, ask, answer }
})
