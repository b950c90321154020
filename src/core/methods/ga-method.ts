import type { MethodInfo } from '../../shared/types'
import { GA_DEFAULTS, gaSearch, type GaParameters } from './ga-search'
import { DEFAULT_GENERATOR_ID, finishLatentSearch, setupLatentSearch } from './latent-search-setup'
import type { ReconstructionMethod } from './reconstruction-method'

const info: MethodInfo = {
  id: 'ga',
  name: 'GA latent search',
  description: 'Black-box genetic search over a face generator\'s latent space (Dong et al.): the target engine is only queried for templates.',
  parameters: [
    { key: 'generator', label: 'Generator', type: 'model', role: 'generator', default: DEFAULT_GENERATOR_ID },
    { key: 'population', label: 'Population', type: 'integer', default: GA_DEFAULTS.population, min: 4, max: 4096 },
    { key: 'selection', label: 'Selection rate', type: 'number', default: GA_DEFAULTS.selection, min: 0.01, max: 0.99 },
    { key: 'mutation', label: 'Mutation ratio', type: 'number', default: GA_DEFAULTS.mutation, min: 0, max: 1 },
    { key: 'mutationStd', label: 'Mutation std', type: 'number', default: GA_DEFAULTS.mutationStd, min: 0, max: 10 },
    { key: 'patience', label: 'Stop after generations without gain', type: 'integer', default: GA_DEFAULTS.patience, min: 1, max: 100000 },
    { key: 'generations', label: 'Max generations', type: 'integer', default: GA_DEFAULTS.generations, min: 1, max: 100000 },
    { key: 'threads', label: 'Independent threads', type: 'integer', default: GA_DEFAULTS.threads, min: 1, max: 32 },
    { key: 'budget', label: 'Query budget (0 = none)', type: 'integer', default: GA_DEFAULTS.budget, min: 0, max: 1e9, help: 'Templates the target engine may be asked for, over all threads.' }
  ]
}

function gaParameters(p: Record<string, number | string>): GaParameters {
  return {
    population: Number(p.population),
    selection: Number(p.selection),
    mutation: Number(p.mutation),
    mutationStd: Number(p.mutationStd),
    patience: Number(p.patience),
    generations: Number(p.generations),
    threads: Number(p.threads),
    budget: Number(p.budget)
  }
}

export const gaMethod: ReconstructionMethod = {
  info,
  totalSteps: (p) => {
    const g = gaParameters(p)
    const worst = g.threads * (g.population + (g.generations - 1) * (g.population - Math.ceil(g.selection * g.population)))
    return g.budget > 0 ? Math.min(g.budget, worst) : worst
  },
  async run(ctx) {
    const params = gaParameters(ctx.parameters)
    const setup = await setupLatentSearch(ctx, params.budget)
    const outcome = await gaSearch(setup.input, params)
    return finishLatentSearch(setup, outcome, { threadBest: outcome.threadBest, stoppedBy: outcome.stoppedBy, generations: outcome.trace.length })
  }
}
