import type { TopLevelSpec } from 'vega-lite'
import type { EncoderFigures, EvaluationMetrics } from '../../shared/evaluation-types'
import type { GenerationRecord, PlotImage } from '../../shared/types'

// Plots as Vega-Lite specs (plain JSON) and their rendering to SVG in Node. The report inlines
// the SVG; the UI gets the same SVG over IPC and shows it as an image, so both show one spec
// rendered by one function and the renderer runs no vega code under its CSP.

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json'
const FONT = {
  config: {
    font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
    view: { stroke: '#ccc' },
    axis: { labelFontSize: 9, titleFontSize: 10 },
    legend: { labelFontSize: 9, titleFontSize: 10 }
  }
}

/** ROC points (FPR, TPR) of genuine vs impostor scores at every distinct threshold. */
export function rocPoints(genuine: number[], impostor: number[]): { fpr: number; tpr: number }[] {
  if (genuine.length === 0 || impostor.length === 0) return []
  const thresholds = [...new Set([...genuine, ...impostor])].sort((a, b) => b - a)
  const out = [{ fpr: 0, tpr: 0 }]
  for (const t of thresholds)
    out.push({ fpr: impostor.filter((s) => s >= t).length / impostor.length, tpr: genuine.filter((s) => s >= t).length / genuine.length })
  return out
}

/** ROC (log FPR) of the real photos with the attacks' operating points at the registry thresholds. */
export function rocSpec(e: EncoderFigures, m: EvaluationMetrics, kind: 'roc' | 'det'): TopLevelSpec {
  const floor = 1e-4
  const curve = rocPoints(e.scores.genuine, e.scores.impostor).map((p) => ({
    fpr: Math.max(floor, p.fpr),
    y: kind === 'roc' ? p.tpr : Math.max(floor, 1 - p.tpr),
    series: 'real photos'
  }))
  const points = m.transfer
    .filter((c) => c.encoderId === e.encoderId)
    .flatMap((c) =>
      (['typeI', 'typeII'] as const).flatMap((k) =>
        c[k]
          .filter((r) => r.rate.rate !== null)
          .map((r) => ({
            fpr: r.far,
            y: kind === 'roc' ? r.rate.rate! : Math.max(floor, 1 - r.rate.rate!),
            series: `${c.method} ${k === 'typeI' ? 'type I' : 'type II'}`
          }))
      )
    )
  const y =
    kind === 'roc'
      ? { field: 'y', type: 'quantitative', title: 'true accept rate', scale: { domain: [0, 1] } }
      : { field: 'y', type: 'quantitative', title: 'false reject rate', scale: { type: 'log', domain: [floor, 1] } }
  return {
    $schema: SCHEMA,
    title: { text: `${kind.toUpperCase()} — ${e.encoderId} (${e.role})`, fontSize: 11 },
    width: 230,
    height: 170,
    layer: [
      {
        data: { values: curve },
        mark: { type: 'line', interpolate: 'step-after', color: '#444' },
        encoding: { x: { field: 'fpr', type: 'quantitative', title: 'false accept rate', scale: { type: 'log', domain: [floor, 1] } }, y }
      },
      {
        data: { values: points },
        mark: { type: 'point', filled: true, size: 50 },
        encoding: {
          x: { field: 'fpr', type: 'quantitative' },
          y: { field: 'y', type: 'quantitative' },
          color: { field: 'series', type: 'nominal', title: 'attack at threshold' },
          shape: { field: 'series', type: 'nominal' }
        }
      }
    ],
    ...FONT
  } as TopLevelSpec
}

/** Genuine / impostor / attack score histograms with the FAR thresholds as rules (GA paper Fig. 6). */
export function histogramSpec(e: EncoderFigures): TopLevelSpec {
  const values = [
    ...e.scores.genuine.map((s) => ({ score: s, kind: 'genuine' })),
    ...e.scores.impostor.map((s) => ({ score: s, kind: 'impostor' })),
    ...Object.entries(e.scores.attack).flatMap(([m, xs]) => xs.map((s) => ({ score: s, kind: `attack ${m}` })))
  ]
  const rules = (e.thresholds?.fars ?? []).map((f) => ({ threshold: f.threshold, far: `FAR ${f.far}` }))
  return {
    $schema: SCHEMA,
    title: { text: `Scores — ${e.encoderId}`, fontSize: 11 },
    width: 230,
    height: 170,
    layer: [
      {
        data: { values },
        mark: { type: 'bar', opacity: 0.55 },
        encoding: {
          x: { field: 'score', type: 'quantitative', bin: { maxbins: 40, extent: [-0.4, 1] }, title: 'cosine similarity' },
          y: { aggregate: 'count', type: 'quantitative', stack: null, title: 'pairs' },
          color: { field: 'kind', type: 'nominal', title: null }
        }
      },
      { data: { values: rules }, mark: { type: 'rule', strokeDash: [3, 2], color: '#a00' }, encoding: { x: { field: 'threshold', type: 'quantitative' } } }
    ],
    ...FONT
  } as TopLevelSpec
}

/** Type-I success attack rate at one FAR per method and encoder, with 95% Wilson intervals. */
export function barsSpec(m: EvaluationMetrics, far: number, kind: 'typeI' | 'typeII'): TopLevelSpec {
  const values = m.transfer.flatMap((c) => {
    const r = c[kind].find((x) => x.far === far)?.rate
    if (!r || r.rate === null || !r.interval) return []
    return [{ method: c.method, encoder: `${c.encoderId}${c.role === 'seen' ? ' (seen)' : ''}`, rate: r.rate, low: r.interval.low, high: r.interval.high }]
  })
  return {
    $schema: SCHEMA,
    title: { text: `${kind === 'typeI' ? 'Type-I' : 'Type-II'} success attack rate at FAR ${far} (95% Wilson)`, fontSize: 11 },
    data: { values },
    width: 200,
    height: 150,
    encoding: { x: { field: 'method', type: 'nominal', title: null }, xOffset: { field: 'encoder' } },
    layer: [
      {
        mark: 'bar',
        encoding: {
          y: { field: 'rate', type: 'quantitative', title: 'rate', scale: { domain: [0, 1] } },
          color: { field: 'encoder', type: 'nominal', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 260 } }
        }
      },
      // The same axis title as the bars, or Vega-Lite merges the two into "rate, low".
      { mark: { type: 'errorbar', ticks: true }, encoding: { y: { field: 'low', type: 'quantitative', title: 'rate' }, y2: { field: 'high' } } }
    ],
    ...FONT
  } as TopLevelSpec
}

/** Best and mean similarity per generation of a search run. */
export function traceSpec(trace: GenerationRecord[]): TopLevelSpec {
  const values = trace.flatMap((r) => [
    { queries: r.queries, value: r.best, series: `best (thread ${r.thread})` },
    { queries: r.queries, value: r.mean, series: `mean (thread ${r.thread})` }
  ])
  return {
    $schema: SCHEMA,
    title: { text: 'Optimisation trace', fontSize: 11 },
    data: { values },
    width: 230,
    height: 120,
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'queries', type: 'quantitative', title: 'queries' },
      y: { field: 'value', type: 'quantitative', title: 'cosine to target' },
      color: { field: 'series', type: 'nominal', title: null }
    },
    ...FONT
  } as TopLevelSpec
}

/** One search run's trace, for the per-method traces of an evaluation. */
export interface RunTrace {
  method: string
  runId: string
  trace: GenerationRecord[]
}

/** Best similarity so far against queries, one line per run, coloured by method. */
export function evaluationTracesSpec(traces: RunTrace[]): TopLevelSpec {
  // What each run had found after so many queries: the running best over all its threads
  // (threads may run one after another, so generations of different threads are not aligned).
  const values = traces.flatMap((t) => {
    let best = -Infinity
    return [...t.trace]
      .sort((a, b) => a.queries - b.queries)
      .map((r) => ({ queries: r.queries, best: (best = Math.max(best, r.best)), method: t.method, run: t.runId }))
  })
  return {
    $schema: SCHEMA,
    title: { text: 'Optimisation traces (best so far, one line per reconstruction)', fontSize: 11 },
    data: { values },
    width: 230,
    height: 150,
    mark: { type: 'line', strokeWidth: 1, opacity: 0.7 },
    encoding: {
      x: { field: 'queries', type: 'quantitative', title: 'queries' },
      y: { field: 'best', type: 'quantitative', title: 'cosine to target' },
      color: { field: 'method', type: 'nominal', title: 'method' },
      detail: { field: 'run', type: 'nominal' }
    },
    ...FONT
  } as TopLevelSpec
}

export interface PlotSpec {
  /** Stable within its evaluation or run (the UI keys and tests address plots by it). */
  id: string
  title: string
  spec: TopLevelSpec
}

/** Every plot of an evaluation, in report order: SAR bars, per encoder ROC, DET and histogram, then the traces. */
export function evaluationPlotSpecs(m: EvaluationMetrics, traces: RunTrace[]): PlotSpec[] {
  const out: PlotSpec[] = []
  for (const kind of ['typeI', 'typeII'] as const) {
    const far = 1e-3
    out.push({ id: `bars-${kind}`, title: `${kind === 'typeI' ? 'Type-I' : 'Type-II'} SAR at FAR ${far} per method and encoder`, spec: barsSpec(m, far, kind) })
  }
  for (const e of m.encoders) {
    out.push({ id: `roc-${e.encoderId}`, title: `ROC of ${e.encoderId} with attack operating points`, spec: rocSpec(e, m, 'roc') })
    out.push({ id: `det-${e.encoderId}`, title: `DET of ${e.encoderId} with attack operating points`, spec: rocSpec(e, m, 'det') })
    out.push({ id: `hist-${e.encoderId}`, title: `Genuine, impostor and attack (type I) scores under ${e.encoderId}`, spec: histogramSpec(e) })
  }
  const searched = traces.filter((t) => t.trace.length > 1)
  if (searched.length) out.push({ id: 'traces', title: 'Optimisation traces of the search methods', spec: evaluationTracesSpec(searched) })
  return out
}

/** The plots of one run: its optimisation trace, when the method searched (a one-shot decoder records one point). */
export function runPlotSpecs(trace: GenerationRecord[]): PlotSpec[] {
  return trace.length > 1 ? [{ id: 'trace', title: 'Optimisation trace: best and mean similarity per generation', spec: traceSpec(trace) }] : []
}

/** Renders plots to SVG one after another (vega views are not cheap; reports have a dozen). */
export async function renderPlots(plots: PlotSpec[]): Promise<PlotImage[]> {
  const out: PlotImage[] = []
  for (const p of plots) out.push({ id: p.id, title: p.title, svg: await renderSvg(p.spec) })
  return out
}

/** Renders a Vega-Lite spec to an SVG string (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use, like the printer: not every command draws.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')])
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
