// Checks a derived gradient graph against central finite differences: for each model output o
// (loss = Σ seed_o ⊙ o with a random seed) and each of K seeded random directions v, the
// directional derivative ⟨∇loss, v⟩ from the graph (averaged over the step) is compared with
// Σ seed ⊙ (o(x + h v) − o(x − h v)) / 2h, the model running in its own precision (float32) and
// the sum taken in float64.
import { SeededRandom } from '../random/seeded-random'
import type { Normalisation } from '../../shared/types'
import type { WireTensor } from '../engine/engine-protocol'
import type { GradientGraph } from './gradient-graph'
import type { GraphRunner } from './graph-runner'
import { SEED_PREFIX } from './losses'

/**
 * Largest accepted relative error of a directional derivative. The central difference of the
 * float32 model (relative step 1e-3, the difference summed in float64) is compared with the
 * graph's directional derivative averaged over the step (see SEGMENT_POINTS); measured worst over
 * 8 directions: ~1e-4 on one-op graphs, 7e-3 on the deepest encoder (fr_feature). A wrong rule
 * gives errors near 1. (Compared with the derivative at x alone, deep ReLU/PReLU encoders differ
 * from any difference quotient by up to 7e-2 even in float64, because the step crosses kinks.)
 */
export const GRADIENT_CHECK_TOLERANCE = 2e-2
/** Points of the midpoint rule averaging the graph's directional derivative over the step. */
export const SEGMENT_POINTS = 8
/** Finite-difference step relative to the input's root-mean-square value. */
export const FD_RELATIVE_STEP = 1e-3

export interface GradientCheckOptions {
  /** Input to check (default: the graph's first differentiated input). */
  input?: string
  directions?: number
  seed?: number
  batch?: number
  /** Values of the input: 'uniform' in [0,1) (images) or 'normal' (latents, templates); default by rank. */
  distribution?: 'uniform' | 'normal'
  /**
   * An image encoder's normalisation: inputs are then 8-bit pixels (uniform in 0..255) mapped by
   * (p/scale − mean[c])/std[c] on axis 1, the values the model sees in use.
   */
  pixelNormalisation?: Normalisation
}

export interface DirectionRow {
  /** Model output whose seeded sum is differentiated. */
  output: string
  direction: number
  /** The graph's directional derivative averaged over the finite-difference segment. */
  analytic: number
  /** The graph's directional derivative at x itself (for reference). */
  atX: number
  numeric: number
  relError: number
}

export interface GradientCheckReport {
  input: string
  inputDims: number[]
  outputs: string[]
  directions: number
  batch: number
  seed: number
  step: number
  rows: DirectionRow[]
  worst: number
  tolerance: number
  passed: boolean
  seconds: number
}

function fill(rng: SeededRandom, n: number, kind: 'uniform' | 'normal'): Float32Array {
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = kind === 'uniform' ? rng.uniform() : rng.normal()
  return out
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

export async function checkGradientGraph(graph: GradientGraph, runner: GraphRunner, options: GradientCheckOptions = {}): Promise<GradientCheckReport> {
  const t0 = performance.now()
  const input = options.input ?? Object.keys(graph.gradients)[0]
  if (!graph.gradients[input]) throw new Error(`no gradient for input '${input}' (differentiated: ${Object.keys(graph.gradients).join(', ')})`)
  const directions = options.directions ?? 4
  const seed = options.seed ?? 1
  const batch = options.batch ?? 2
  const rng = new SeededRandom(seed)
  const concrete = (dims: number[]): number[] => dims.map((d) => (d < 0 ? batch : d))
  const size = (dims: number[]): number => dims.reduce((a, b) => a * b, 1)

  // Inputs: the checked one and any other model inputs, fixed for the whole check.
  const base: Record<string, WireTensor> = {}
  const modelInputs = graph.inputs.filter((i) => !i.name.startsWith(SEED_PREFIX))
  for (const i of modelInputs) {
    const dims = concrete(i.dims)
    const data = fill(rng, size(dims), options.distribution ?? (dims.length >= 4 ? 'uniform' : 'normal'))
    const norm = options.pixelNormalisation
    if (norm && i.name === input && dims.length === 4) {
      const plane = dims[2] * dims[3]
      for (let k = 0; k < data.length; k++) {
        const c = Math.floor(k / plane) % dims[1]
        const m = norm.mean[c] ?? norm.mean[0]
        const s = norm.std[c] ?? norm.std[0]
        data[k] = ((rng.uniform() * 255) / norm.scale - m) / s
      }
    }
    base[i.name] = { data, dims }
  }
  const seeds = graph.inputs.filter((i) => i.name.startsWith(SEED_PREFIX))
  const x = base[input]
  const rms = Math.sqrt(dot(x.data, x.data) / x.data.length) || 1
  const step = FD_RELATIVE_STEP * rms
  const rows: DirectionRow[] = []
  // A graph without seed inputs (a fixed loss such as the search pipeline's) is checked on its loss.
  const targets = seeds.length ? seeds : [{ name: '', dims: [] as number[] }]
  for (const s of targets) {
    const output = s.name ? s.name.slice(SEED_PREFIX.length) : graph.loss
    const feeds: Record<string, WireTensor> = { ...base }
    for (const other of seeds) {
      const dims = concrete(other.dims)
      feeds[other.name] = { data: other === s ? fill(rng, size(dims), 'normal') : new Float32Array(size(dims)), dims }
    }
    const copy = (f: Record<string, WireTensor>): Record<string, WireTensor> => Object.fromEntries(Object.entries(f).map(([k, t]) => [k, { data: t.data.slice(), dims: t.dims }]))
    const gradOut = await runner.run(copy(feeds), [graph.gradients[input]])
    const grad = gradOut[graph.gradients[input]].data
    const gradNorm = Math.sqrt(dot(grad, grad))
    // Gradients at several values of the checked input: stacked along the batch in one run when
    // every input's batch is free, one run per point otherwise.
    const stackable = graph.inputs.every((i) => i.dims[0] < 0)
    const gradientsAt = async (points: Float32Array[]): Promise<Float32Array[]> => {
      if (!stackable) {
        const out: Float32Array[] = []
        for (const p of points) out.push((await runner.run({ ...copy(feeds), [input]: { data: p, dims: x.dims } }, [graph.gradients[input]]))[graph.gradients[input]].data)
        return out
      }
      const stacked: Record<string, WireTensor> = {}
      for (const [name, t] of Object.entries(feeds)) {
        const data = new Float32Array(t.data.length * points.length)
        points.forEach((p, j) => data.set(name === input ? p : t.data, j * t.data.length))
        stacked[name] = { data, dims: [t.dims[0] * points.length, ...t.dims.slice(1)] }
      }
      const all = (await runner.run(stacked, [graph.gradients[input]]))[graph.gradients[input]].data
      return points.map((_, j) => all.slice(j * x.data.length, (j + 1) * x.data.length))
    }
    for (let k = 0; k < directions; k++) {
      const v = fill(rng, x.data.length, 'normal')
      const shifted = (sign: number): Float32Array => {
        const d = new Float32Array(x.data.length)
        for (let i = 0; i < d.length; i++) d[i] = x.data[i] + sign * step * v[i]
        return d
      }
      const xPlus = shifted(1)
      const xMinus = shifted(-1)
      // The model output, not the float32 loss, is fetched: Σ seed ⊙ (y+ − y−) summed in float64
      // avoids cancelling two large float32 sums.
      const plus = (await runner.run({ ...copy(feeds), [input]: { data: xPlus, dims: x.dims } }, [output]))[output].data
      const minus = (await runner.run({ ...copy(feeds), [input]: { data: xMinus, dims: x.dims } }, [output]))[output].data
      const w = s.name ? feeds[s.name].data : Float32Array.of(1)
      let diff = 0
      for (let i = 0; i < w.length; i++) diff += w[i] * (plus[i] - minus[i])
      const numeric = diff / (2 * step)
      // The graph's side: its directional derivative averaged over the segment [x−hv, x+hv]
      // (midpoint rule, SEGMENT_POINTS points), along the step actually taken (x+ − x− as rounded
      // to float32). By the fundamental theorem of calculus this equals the central difference
      // exactly for any piecewise-smooth model, so ReLU/PReLU kinks inside the step, which make
      // the derivative at x alone differ from the difference quotient by several percent in deep
      // networks (even in float64), do not count as gradient error.
      const taken = new Float32Array(x.data.length)
      for (let i = 0; i < taken.length; i++) taken[i] = (xPlus[i] - xMinus[i]) / (2 * step)
      const points = Array.from({ length: SEGMENT_POINTS }, (_, j) => {
        const t = -1 + (2 * j + 1) / SEGMENT_POINTS
        const d = new Float32Array(x.data.length)
        for (let i = 0; i < d.length; i++) d[i] = x.data[i] + t * step * v[i]
        return d
      })
      const grads = await gradientsAt(points)
      const analytic = grads.reduce((sum, g) => sum + dot(g, taken), 0) / SEGMENT_POINTS
      const atX = dot(grad, taken)
      // Relative to the larger of the two estimates and of ‖∇‖·‖v‖/√n, the typical size of a
      // random directional derivative: a direction nearly orthogonal to the gradient must not turn
      // float32 rounding into a large relative error.
      const scale = Math.max(Math.abs(numeric), Math.abs(analytic), (gradNorm * Math.sqrt(dot(v, v))) / Math.sqrt(v.length))
      const relError = scale === 0 ? 0 : Math.abs(numeric - analytic) / scale
      rows.push({ output, direction: k, analytic, atX, numeric, relError })
    }
  }
  const worst = rows.reduce((m, r) => Math.max(m, Number.isFinite(r.relError) ? r.relError : Infinity), 0)
  return {
    input,
    inputDims: x.dims,
    outputs: targets.map((s) => (s.name ? s.name.slice(SEED_PREFIX.length) : graph.loss)),
    directions,
    batch,
    seed,
    step,
    rows,
    worst,
    tolerance: GRADIENT_CHECK_TOLERANCE,
    passed: worst <= GRADIENT_CHECK_TOLERANCE,
    seconds: (performance.now() - t0) / 1000
  }
}
