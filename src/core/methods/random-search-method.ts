import type { MethodInfo } from '../../shared/types'
import { randomSearch } from './ga-search'
import { DEFAULT_GENERATOR_ID, finishLatentSearch, setupLatentSearch } from './latent-search-setup'
import type { ReconstructionMethod } from './reconstruction-method'

const info: MethodInfo = {
  id: 'random',
  name: 'Random search (baseline)',
  description: 'Best of N faces drawn from the generator\'s prior, scored by the target engine: what a search adds over chance, at the same query budget.',
  parameters: [
    { key: 'generator', label: 'Generator', type: 'model', role: 'generator', default: DEFAULT_GENERATOR_ID },
    { key: 'budget', label: 'Samples (query budget)', type: 'integer', default: 10000, min: 1, max: 1e9 }
  ]
}

export const randomSearchMethod: ReconstructionMethod = {
  info,
  totalSteps: (p) => Number(p.budget),
  async run(ctx) {
    const budget = Number(ctx.parameters.budget)
    const setup = await setupLatentSearch(ctx, budget)
    const outcome = await randomSearch(setup.input, budget)
    return finishLatentSearch(setup, outcome, { samples: budget })
  }
}
