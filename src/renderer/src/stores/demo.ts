import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import type { DemoStatus } from '@shared/demo-types'
import { api } from '../api'

/**
 * The guided demo as main reports it. Every change goes through main (which computes the step
 * and persists the tour), so a reload or a restart shows the same step.
 */
export const useDemo = defineStore('demo', () => {
  const status = shallowRef<DemoStatus | null>(null)
  /** What is being asked of main right now: start, a step, or reset. */
  const pending = ref<'start' | 'step' | 'reset' | null>(null)
  /** The step a pending move goes to (0-based). */
  const target = ref<number | null>(null)
  const urls = new Map<string, string>()

  async function load(): Promise<DemoStatus> {
    status.value = await api().demoStatus()
    return status.value
  }

  async function run(kind: 'start' | 'step' | 'reset', to: number | null, call: () => Promise<unknown>): Promise<void> {
    pending.value = kind
    target.value = to
    try {
      await call()
    } finally {
      pending.value = null
      target.value = null
      // Even a failed step may have moved the tour (the step shown is stored before it computes).
      await load().catch(() => undefined)
    }
  }

  const start = (): Promise<void> => run('start', 0, () => api().startDemo())
  const goTo = (step: number): Promise<void> => run('step', step, () => api().demoGoTo(step))

  async function reset(): Promise<string | null> {
    let removed: string | null = null
    await run('reset', null, async () => {
      removed = (await api().resetDemo()).removed
    })
    for (const url of urls.values()) URL.revokeObjectURL(url)
    urls.clear()
    return removed
  }

  /** An object URL of an image of the demo case (cached for the page's life). */
  async function imageUrl(caseId: string, sha256: string): Promise<string> {
    const key = `${caseId}:${sha256}`
    const known = urls.get(key)
    if (known) return known
    const { mime, bytes } = await api().getImage(caseId, sha256)
    const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime }))
    urls.set(key, url)
    return url
  }

  return { status, pending, target, load, start, goTo, reset, imageUrl }
})
