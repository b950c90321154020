// Black-box genetic search over a face generator's latent space, after Dong et al.: a
// population of latents is scored by the cosine between the target template and the
// template the target engine returns for each generated face; the fittest share survives,
// children come from single-point crossover of two survivors plus Gaussian mutation.
import type { GenerationRecord } from '../../shared/types'
import { SeededRandom } from '../random/seeded-random'

export type { GenerationRecord }
import { QueryBudgetExceeded, type TemplateOracle } from './template-oracle'
import { cosine } from '../templates/vector-math'

export interface GaParameters {
  population: number
  /** Share of the population that survives each generation. */
  selection: number
  /** Probability that a child's gene is mutated. */
  mutation: number
  /** Standard deviation of the Gaussian a mutated gene is redrawn from (the prior is N(0, 1)). */
  mutationStd: number
  /** Stop a thread after this many generations without a better best. */
  patience: number
  generations: number
  /** Independent searches; the best of them is the result. */
  threads: number
  /** Total template queries allowed over all threads; 0 means no limit. */
  budget: number
}

export const GA_DEFAULTS: GaParameters = {
  population: 256,
  selection: 0.3,
  mutation: 0.3,
  mutationStd: 1,
  patience: 20,
  generations: 1000,
  threads: 3,
  budget: 0
}


export type StopReason = 'patience' | 'generations' | 'budget'

export interface SearchOutcome {
  latent: Float32Array
  similarity: number
  queries: number
  trace: GenerationRecord[]
  threadBest: number[]
  stoppedBy: StopReason[]
}

export interface SearchInput {
  generate: (latents: Float32Array[], signal?: AbortSignal) => Promise<Float32Array[]>
  oracle: TemplateOracle
  target: ArrayLike<number>
  latentDim: number
  seed: number
  signal?: AbortSignal
  onGeneration?: (record: GenerationRecord, improved: { latent: Float32Array; similarity: number } | null) => void
}

/** Indices of the fittest ceil(rate x N) members, fittest first. */
export function selectSurvivors(fitness: ArrayLike<number>, rate: number): number[] {
  const keep = Math.max(2, Math.min(fitness.length, Math.ceil(rate * fitness.length)))
  return Array.from({ length: fitness.length }, (_, i) => i)
    .sort((a, b) => fitness[b] - fitness[a] || a - b)
    .slice(0, keep)
}

/** Single-point crossover: genes before `point` from a, the rest from b. */
export function crossover(a: Float32Array, b: Float32Array, point: number): Float32Array {
  const child = new Float32Array(a.length)
  child.set(a.subarray(0, point), 0)
  child.set(b.subarray(point), point)
  return child
}

/** Redraws each gene with probability `ratio` from N(0, std²); returns how many changed. */
export function mutate(z: Float32Array, ratio: number, std: number, rng: SeededRandom): number {
  let changed = 0
  for (let i = 0; i < z.length; i++) {
    if (rng.uniform() < ratio) {
      z[i] = rng.normal() * std
      changed++
    }
  }
  return changed
}

export function randomLatent(dim: number, rng: SeededRandom): Float32Array {
  const z = new Float32Array(dim)
  for (let i = 0; i < dim; i++) z[i] = rng.normal()
  return z
}

async function fitnessOf(input: SearchInput, latents: Float32Array[]): Promise<number[]> {
  // With a merged generator + encoder graph the oracle takes the latents; either way the search
  // sees only the templates the oracle counts.
  const templates = input.oracle.acceptsLatents
    ? await input.oracle.templatesOfLatents(latents, input.signal)
    : await input.oracle.templates(await input.generate(latents, input.signal), input.signal)
  return templates.map((t) => cosine(input.target, t))
}

export async function gaSearch(input: SearchInput, params: GaParameters): Promise<SearchOutcome> {
  const root = new SeededRandom(input.seed)
  const trace: GenerationRecord[] = []
  const threadBest: number[] = []
  const stoppedBy: StopReason[] = []
  let best: { latent: Float32Array; similarity: number } = { latent: new Float32Array(input.latentDim), similarity: -Infinity }
  const t0 = performance.now()
  const perThreadBudget = params.budget > 0 ? Math.floor(params.budget / params.threads) : Infinity

  for (let thread = 0; thread < params.threads; thread++) {
    const rng = root.fork()
    const startQueries = input.oracle.queries
    let population = Array.from({ length: params.population }, () => randomLatent(input.latentDim, rng))
    let fitness: number[]
    if (params.population > perThreadBudget) break
    fitness = await fitnessOf(input, population)
    let threadTop = -Infinity
    let stale = 0
    let reason: StopReason = 'generations'
    for (let generation = 0; generation < params.generations; generation++) {
      input.signal?.throwIfAborted()
      const order = selectSurvivors(fitness, 1)
      const top = fitness[order[0]]
      let improved: { latent: Float32Array; similarity: number } | null = null
      if (top > threadTop) {
        threadTop = top
        stale = 0
        if (top > best.similarity) {
          best = { latent: population[order[0]].slice(), similarity: top }
          improved = best
        }
      } else {
        stale++
      }
      const record = {
        thread,
        generation,
        best: threadTop,
        mean: fitness.reduce((a, b) => a + b, 0) / fitness.length,
        queries: input.oracle.queries,
        seconds: (performance.now() - t0) / 1000
      }
      trace.push(record)
      input.onGeneration?.(record, improved)
      if (stale >= params.patience) {
        reason = 'patience'
        break
      }
      // Children bred now would only be scored in a generation that never comes.
      if (generation === params.generations - 1) break
      const survivors = selectSurvivors(fitness, params.selection)
      const children: Float32Array[] = []
      const childCount = params.population - survivors.length
      if (input.oracle.queries - startQueries + childCount > perThreadBudget) {
        reason = 'budget'
        break
      }
      for (let c = 0; c < childCount; c++) {
        const a = population[survivors[rng.int(survivors.length)]]
        const b = population[survivors[rng.int(survivors.length)]]
        const child = crossover(a, b, 1 + rng.int(input.latentDim - 1))
        mutate(child, params.mutation, params.mutationStd, rng)
        children.push(child)
      }
      // Survivors keep their known fitness: the generator and engine are deterministic, so
      // only the children cost queries.
      let childFitness: number[]
      try {
        childFitness = await fitnessOf(input, children)
      } catch (err) {
        if (err instanceof QueryBudgetExceeded) {
          reason = 'budget'
          break
        }
        throw err
      }
      population = [...survivors.map((i) => population[i]), ...children]
      fitness = [...survivors.map((i) => fitness[i]), ...childFitness]
    }
    threadBest.push(threadTop)
    stoppedBy.push(reason)
  }
  if (best.similarity === -Infinity) throw new Error('the query budget is smaller than one population')
  return { latent: best.latent, similarity: best.similarity, queries: input.oracle.queries, trace, threadBest, stoppedBy }
}

/** The baseline: best of N latents drawn from the prior, with the same query budget. */
export async function randomSearch(input: SearchInput, samples: number, batch = 64): Promise<SearchOutcome> {
  const rng = new SeededRandom(input.seed)
  let best: { latent: Float32Array; similarity: number } = { latent: new Float32Array(input.latentDim), similarity: -Infinity }
  const trace: GenerationRecord[] = []
  const t0 = performance.now()
  let sum = 0
  for (let done = 0, step = 0; done < samples; done += batch, step++) {
    input.signal?.throwIfAborted()
    const latents = Array.from({ length: Math.min(batch, samples - done) }, () => randomLatent(input.latentDim, rng))
    const fitness = await fitnessOf(input, latents)
    let improved: { latent: Float32Array; similarity: number } | null = null
    fitness.forEach((f, i) => {
      sum += f
      if (f > best.similarity) {
        best = { latent: latents[i], similarity: f }
        improved = best
      }
    })
    const record = { thread: 0, generation: step, best: best.similarity, mean: sum / (done + latents.length), queries: input.oracle.queries, seconds: (performance.now() - t0) / 1000 }
    trace.push(record)
    input.onGeneration?.(record, improved)
  }
  return { latent: best.latent, similarity: best.similarity, queries: input.oracle.queries, trace, threadBest: [best.similarity], stoppedBy: ['budget'] }
}
