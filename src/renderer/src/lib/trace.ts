// The live search trace of a reconstruction: one point per generation (GA) or batch (random
// search), taken from JobProgress.detail, and how the similarity chart lays the points out.
import type { GenerationRecord } from '@shared/types'

/** A chart point is exactly a method's generation record. */
export type TracePoint = GenerationRecord

/** The best face so far, as the method previewed it when the best improved. */
export interface TracePreview {
  png: string
  thread: number
  generation: number
  best: number
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)

/** The trace point of a progress event, or null when its detail is not one. */
export function tracePointFrom(detail: Record<string, unknown> | null | undefined): TracePoint | null {
  if (!detail) return null
  const { thread, generation, best, mean, queries, seconds } = detail
  if (!isInt(thread) || !isInt(generation) || !isNum(best) || !isNum(mean)) return null
  return { thread, generation, best, mean, queries: isNum(queries) ? queries : 0, seconds: isNum(seconds) ? seconds : 0 }
}

export function previewFrom(detail: Record<string, unknown> | null | undefined): TracePreview | null {
  const point = tracePointFrom(detail)
  const png = detail?.previewPng
  if (!point || typeof png !== 'string' || png === '') return null
  return { png, thread: point.thread, generation: point.generation, best: point.best }
}

const order = (a: { thread: number; generation: number }, b: { thread: number; generation: number }): number =>
  a.thread - b.thread || a.generation - b.generation

/** Whether `candidate` comes later in the search than `current` (a later preview is a better best). */
export function isLaterPreview(candidate: TracePreview, current: TracePreview | undefined): boolean {
  return !current || order(candidate, current) >= 0
}

/**
 * Adds a point in (thread, generation) order, replacing one for the same generation. Events
 * mostly arrive in order, but one carrying a preview is sent once its image is encoded, when
 * later generations may already have been reported, so order is not assumed.
 */
export function mergeTracePoint(points: TracePoint[], point: TracePoint): void {
  let i = points.length
  while (i > 0 && order(points[i - 1], point) > 0) i--
  if (i > 0 && order(points[i - 1], point) === 0) points.splice(i - 1, 1, point)
  else points.splice(i, 0, point)
}

export interface ChartPoint extends TracePoint {
  /** Position on the x axis: generations counted across all threads, from 1. */
  x: number
}

export interface TraceSegment {
  thread: number
  /** x of the thread's first generation (a thread-boundary marker goes just before it). */
  start: number
  points: ChartPoint[]
}

export interface TraceLayout {
  segments: TraceSegment[]
  /** Largest x of any point (0 when empty). */
  xMax: number
  yMin: number
  yMax: number
}

/**
 * Lays threads end to end: x counts generations over the whole run, each thread starting
 * after the last generation seen of the one before, so each thread is its own segment.
 */
export function layoutTrace(points: readonly TracePoint[]): TraceLayout {
  const byThread = new Map<number, TracePoint[]>()
  for (const p of points) {
    const list = byThread.get(p.thread)
    if (list) list.push(p)
    else byThread.set(p.thread, [p])
  }
  const segments: TraceSegment[] = []
  let offset = 0
  let xMax = 0
  let yMin = Infinity
  let yMax = -Infinity
  for (const thread of [...byThread.keys()].sort((a, b) => a - b)) {
    const list = (byThread.get(thread) as TracePoint[]).slice().sort(order)
    const chartPoints = list.map((p) => ({ ...p, x: offset + p.generation + 1 }))
    for (const p of chartPoints) {
      xMax = Math.max(xMax, p.x)
      yMin = Math.min(yMin, p.best, p.mean)
      yMax = Math.max(yMax, p.best, p.mean)
    }
    segments.push({ thread, start: offset + 1, points: chartPoints })
    offset += list[list.length - 1].generation + 1
  }
  if (segments.length === 0) return { segments, xMax: 0, yMin: 0, yMax: 1 }
  return { segments, xMax, yMin, yMax }
}

/** Round tick values covering [lo, hi] with about `count` steps of 1, 2 or 5 × 10^n. */
export function niceTicks(lo: number, hi: number, count = 5): { ticks: number[]; lo: number; hi: number } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.1 : 1
    return niceTicks(lo - pad, hi + pad, count)
  }
  const raw = (hi - lo) / Math.max(1, count)
  const power = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power
  const first = Math.floor(lo / step + 1e-9) * step
  const last = Math.ceil(hi / step - 1e-9) * step
  const ticks: number[] = []
  for (let v = first; v <= last + step / 2; v += step) ticks.push(Number(v.toPrecision(12)))
  return { ticks, lo: ticks[0], hi: ticks[ticks.length - 1] }
}
