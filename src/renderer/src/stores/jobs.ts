import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { JobProgress, LatentSimilaritiesDetail, RunStatus } from '@shared/types'
import { api } from '../api'
import { latentSimilaritiesFrom } from '../lib/latents'
import { isLaterPreview, mergeTracePoint, previewFrom, tracePointFrom, type TracePoint, type TracePreview } from '../lib/trace'

export const FINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled']
export const isFinal = (status: RunStatus): boolean => FINAL_STATUSES.includes(status)

/** Live progress of every job (reconstruction runs and model verifications), keyed by run id. */
export const useJobs = defineStore('jobs', () => {
  const jobs = ref<Record<string, JobProgress>>({})
  /**
   * Per run, the generations reported so far. Only the latest event of a job is kept in `jobs`,
   * and core does not store the trace, so the chart's history exists only here, for this session.
   */
  const traces = ref<Record<string, TracePoint[]>>({})
  /** Per run, the best face so far (base64 PNG). */
  const previews = ref<Record<string, TracePreview>>({})
  /** Per run, the latest step's similarity of every latent (many-latent searches such as ALSUV). */
  const latents = ref<Record<string, LatentSimilaritiesDetail>>({})
  const finishedListeners = new Set<(p: JobProgress) => void>()
  let unsubscribe: (() => void) | null = null

  function record(p: JobProgress): void {
    const point = tracePointFrom(p.detail)
    if (point) {
      const list = traces.value[p.runId]
      if (list) mergeTracePoint(list, point)
      else traces.value[p.runId] = [point]
    }
    const preview = previewFrom(p.detail)
    if (preview && isLaterPreview(preview, previews.value[p.runId])) previews.value[p.runId] = preview
    const step = latentSimilaritiesFrom(p.detail)
    if (step && step.step >= (latents.value[p.runId]?.step ?? 0)) latents.value[p.runId] = step
  }

  function apply(p: JobProgress): void {
    const before = jobs.value[p.runId]
    jobs.value[p.runId] = p
    record(p)
    if (isFinal(p.status) && (!before || !isFinal(before.status))) {
      for (const listener of finishedListeners) listener(p)
    }
  }

  /** Subscribes to the push channel (once) and fetches what is already running. */
  async function start(): Promise<void> {
    if (unsubscribe) return
    unsubscribe = api().onJobProgress(apply)
    const current = await api().listJobs()
    for (const p of current) {
      if (!jobs.value[p.runId]) {
        jobs.value[p.runId] = p
        record(p)
      }
    }
  }

  function stop(): void {
    unsubscribe?.()
    unsubscribe = null
  }

  /** Called once per job when it reaches succeeded, failed or cancelled. */
  function onFinished(listener: (p: JobProgress) => void): () => void {
    finishedListeners.add(listener)
    return () => finishedListeners.delete(listener)
  }

  /**
   * Best similarity of a run so far over all its threads: a GA's progress carries the best of
   * the thread under way, which starts low again with each new thread.
   */
  function bestSoFar(runId: string): number | null {
    let best = jobs.value[runId]?.bestScore ?? null
    for (const p of traces.value[runId] ?? []) if (best === null || p.best > best) best = p.best
    return best
  }

  async function cancel(runId: string): Promise<void> {
    await api().cancelRun(runId)
  }

  return { jobs, traces, previews, latents, start, stop, apply, onFinished, bestSoFar, cancel }
})
