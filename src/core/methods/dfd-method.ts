import type { MethodInfo } from '../../shared/types'
import { generateFaces } from '../models/face-generator'
import type { ModelRegistry } from '../models/model-registry'
import { chooseDecoder } from './decoder-choice'
import type { ReconstructionMethod, TargetTemplate } from './reconstruction-method'
import { TemplateOracle } from './template-oracle'
import { cosine } from '../templates/vector-math'

const info: MethodInfo = {
  id: 'dfd',
  name: 'DFD decoder',
  description: 'Deep Face Decoder (Krizaj et al.): a network trained to map a template of one encoder straight to its face, in one forward pass.',
  parameters: [{ key: 'decoder', label: 'Decoder', type: 'model', role: 'decoder', default: '' }]
}

/** The plain (DFD) decoder for a template: the one asked for, or the one trained on its encoder. */
export function resolveDecoder(
  registry: ModelRegistry,
  template: Pick<TargetTemplate, 'encoderId' | 'encoderSha256'> & { vector: ArrayLike<number> },
  requested = ''
): string {
  return chooseDecoder(registry, template, requested, { method: 'dfd', noun: 'decoder' })
}

export const dfdMethod: ReconstructionMethod = {
  info,
  totalSteps: () => 1,
  async run(ctx) {
    const id = resolveDecoder(ctx.registry, ctx.template, String(ctx.parameters.decoder || ''))
    const entry = ctx.registry.getWithRole(id, 'decoder')
    const [decoder, encoder] = await Promise.all([ctx.loader.prepare(id), ctx.loader.prepare(ctx.template.encoderId)])
    // A decoder's input is a template, not a latent: the generator runner serves both.
    const [image] = await generateFaces(ctx.engine, decoder, [Float32Array.from(ctx.template.vector)], ctx.signal)
    const oracle = new TemplateOracle(ctx.engine, encoder, 1)
    const [template] = await oracle.templates([image], ctx.signal)
    const similarity = cosine(ctx.template.vector, template)
    ctx.progress({ step: 1, bestScore: similarity, message: 'decoded' })
    return {
      image,
      similarity,
      modelSha256s: { decoder: entry.manifest.sha256, target: encoder.entry.manifest.sha256 },
      queries: oracle.queries,
      trace: [{ thread: 0, generation: 0, best: similarity, mean: similarity, queries: 1, seconds: 0 }],
      summary: { decoder: id }
    }
  }
}
