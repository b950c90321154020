import { describe, expect, it } from 'vitest'
import { crossover, gaSearch, GA_DEFAULTS, mutate, randomSearch, selectSurvivors } from '../../../src/core/methods/ga-search'
import { SeededRandom } from '../../../src/core/random/seeded-random'
import { QueryBudgetExceeded, TemplateOracle } from '../../../src/core/methods/template-oracle'

describe('GA operators', () => {
  it('selection keeps the fittest share, fittest first, at least two', () => {
    expect(selectSurvivors([0.1, 0.9, 0.5, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6, 0.0], 0.3)).toEqual([1, 6, 3])
    expect(selectSurvivors([0.5, 0.1, 0.9], 0.01)).toEqual([2, 0])
    expect(selectSurvivors(new Array(256).fill(0).map((_, i) => i), 0.3)).toHaveLength(77)
  })

  it('single-point crossover takes the head of one parent and the tail of the other', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5])
    const b = Float32Array.from([-1, -2, -3, -4, -5])
    expect(Array.from(crossover(a, b, 2))).toEqual([1, 2, -3, -4, -5])
    expect(Array.from(crossover(a, b, 4))).toEqual([1, 2, 3, 4, -5])
  })

  it('mutation redraws about the given share of genes from N(0, std²)', () => {
    const rng = new SeededRandom(5)
    const z = new Float32Array(20000).fill(100)
    const changed = mutate(z, 0.3, 2, rng)
    expect(changed / z.length).toBeGreaterThan(0.28)
    expect(changed / z.length).toBeLessThan(0.32)
    const redrawn = Array.from(z).filter((v) => v !== 100)
    expect(redrawn).toHaveLength(changed)
    const mean = redrawn.reduce((a, b) => a + b, 0) / redrawn.length
    const sd = Math.sqrt(redrawn.reduce((a, b) => a + (b - mean) ** 2, 0) / redrawn.length)
    expect(Math.abs(mean)).toBeLessThan(0.1)
    expect(sd).toBeGreaterThan(1.9)
    expect(sd).toBeLessThan(2.1)
  })

  it('the seeded generator reproduces its stream and forks independent ones', () => {
    const a = new SeededRandom(42), b = new SeededRandom(42)
    const xs = Array.from({ length: 5 }, () => a.normal())
    expect(Array.from({ length: 5 }, () => b.normal())).toEqual(xs)
    expect(new SeededRandom(43).normal()).not.toBe(xs[0])
    const u = Array.from({ length: 10000 }, () => new SeededRandom(1).fork().uniform())
    expect(new Set(u).size).toBe(1)
  })
})

/**
 * A stand-in "engine" for the search logic only: the oracle's real inference path is covered by
 * the integration tests; here templates are the latents themselves, so the optimum is known.
 */
function identitySearch(dim: number, budget = Infinity) {
  const target = Float32Array.from({ length: dim }, (_, i) => Math.sin(i + 1))
  const oracle = new TemplateOracle(null as never, null as never, budget)
  Object.assign(oracle, {
    async templates(images: Float32Array[]) {
      const self = oracle as unknown as { used: number; budget: number }
      if (self.used + images.length > self.budget) throw new QueryBudgetExceeded(self.budget)
      self.used += images.length
      return images
    }
  })
  return { target, oracle, generate: async (z: Float32Array[]) => z.map((v) => v.slice()) }
}

describe('GA search loop', () => {
  it('improves on random search at the same budget and is reproducible for a seed', async () => {
    const dim = 16
    const run = async (seed: number) => {
      const s = identitySearch(dim)
      return gaSearch({ ...s, latentDim: dim, seed }, { ...GA_DEFAULTS, population: 64, threads: 2, generations: 60, patience: 10 })
    }
    const first = await run(9)
    const again = await run(9)
    expect(again.similarity).toBe(first.similarity)
    expect(Array.from(again.latent)).toEqual(Array.from(first.latent))
    const r = identitySearch(dim)
    const baseline = await randomSearch({ ...r, latentDim: dim, seed: 9 }, first.queries)
    expect(first.similarity).toBeGreaterThan(baseline.similarity)
    expect(first.similarity).toBeGreaterThan(0.9)
    expect(first.threadBest).toHaveLength(2)
    // Best per thread never decreases over its generations.
    for (const thread of [0, 1]) {
      const bests = first.trace.filter((t) => t.thread === thread).map((t) => t.best)
      for (let i = 1; i < bests.length; i++) expect(bests[i]).toBeGreaterThanOrEqual(bests[i - 1])
    }
  })

  it('stops on patience, on the generation cap and on the query budget', async () => {
    const dim = 8
    const s1 = identitySearch(dim)
    const capped = await gaSearch({ ...s1, latentDim: dim, seed: 1 }, { ...GA_DEFAULTS, population: 16, threads: 1, generations: 3, patience: 100 })
    expect(capped.stoppedBy).toEqual(['generations'])
    expect(capped.trace).toHaveLength(3)
    const s2 = identitySearch(dim, 100)
    const budgeted = await gaSearch({ ...s2, latentDim: dim, seed: 1 }, { ...GA_DEFAULTS, population: 16, threads: 1, generations: 1000, patience: 1000, budget: 100 })
    expect(budgeted.stoppedBy).toEqual(['budget'])
    expect(budgeted.queries).toBeLessThanOrEqual(100)
    const s3 = identitySearch(dim)
    const patient = await gaSearch({ ...s3, latentDim: dim, seed: 1 }, { ...GA_DEFAULTS, population: 16, selection: 0.5, mutation: 0, threads: 1, generations: 1000, patience: 3 })
    expect(patient.stoppedBy).toEqual(['patience'])
  })
})
