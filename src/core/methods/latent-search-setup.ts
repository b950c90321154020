import { ValidationError } from '../../shared/validation'
import { encodePng } from '../imaging/image-io'
import { chwToImage } from '../imaging/image-tensor'
import { generateFaces } from '../models/face-generator'
import type { GenerationRecord, SearchInput, SearchOutcome } from './ga-search'
import type { MethodContext, MethodOutput } from './reconstruction-method'
import { TemplateOracle } from './template-oracle'

/** The generator to search over unless the user picks another. */
export const DEFAULT_GENERATOR_ID = 'eigenface-celeba-utk-128'

export interface LatentSearchSetup {
  input: SearchInput
  oracle: TemplateOracle
  modelSha256s: Record<string, string>
  generate: (latents: Float32Array[]) => Promise<Float32Array[]>
}

/**
 * Prepares a black-box latent search: the generator runs freely, the target engine is reached
 * only through a counting oracle, and each generation is reported with a preview of the best.
 */
export async function setupLatentSearch(ctx: MethodContext, budget: number): Promise<LatentSearchSetup> {
  const generatorId = String(ctx.parameters.generator || DEFAULT_GENERATOR_ID)
  const generatorEntry = ctx.registry.getWithRole(generatorId, 'generator')
  const encoderEntry = ctx.registry.get(ctx.template.encoderId)
  if (encoderEntry.manifest.sha256 !== ctx.template.encoderSha256) {
    throw new ValidationError(`the template was made by ${ctx.template.encoderId} with sha256 ${ctx.template.encoderSha256.slice(0, 12)}…, which is not the registered model`)
  }
  const [generator, encoder] = await Promise.all([ctx.loader.prepare(generatorId), ctx.loader.prepare(ctx.template.encoderId)])
  const oracle = new TemplateOracle(ctx.engine, encoder, budget > 0 ? budget : Infinity)
  // Generator and encoder as one graph when they merge (UNVEIL_GRAPH_REWRITES; null otherwise).
  oracle.acceptLatentsOf(await ctx.loader.prepareFused(generatorId, ctx.template.encoderId))
  const generate = (latents: Float32Array[]): Promise<Float32Array[]> => generateFaces(ctx.engine, generator, latents, ctx.signal)
  const latentDim = generatorEntry.manifest.latentDim ?? generatorEntry.manifest.input.shape[1]
  // Each thread restarts its own best; the job reports the best over all threads so far.
  let overallBest = -Infinity
  return {
    oracle,
    generate,
    modelSha256s: { generator: generatorEntry.manifest.sha256, target: encoderEntry.manifest.sha256 },
    input: {
      generate,
      oracle,
      target: ctx.template.vector,
      latentDim,
      seed: ctx.seed,
      signal: ctx.signal,
      onGeneration: (record: GenerationRecord, improved) => {
        overallBest = Math.max(overallBest, record.best)
        void reportGeneration(ctx, record, overallBest, improved ? generate([improved.latent]) : null)
      }
    }
  }
}

/** Renders the winning latent and packages a search outcome as a method's output. */
export async function finishLatentSearch(setup: LatentSearchSetup, outcome: SearchOutcome, summary: Record<string, unknown>): Promise<MethodOutput> {
  const [image] = await setup.generate([outcome.latent])
  return {
    image,
    similarity: outcome.similarity,
    modelSha256s: setup.modelSha256s,
    queries: outcome.queries,
    trace: outcome.trace,
    summary: { ...summary, latent: Array.from(outcome.latent) }
  }
}

async function reportGeneration(ctx: MethodContext, record: GenerationRecord, overallBest: number, preview: Promise<Float32Array[]> | null): Promise<void> {
  let previewPng: string | undefined
  if (preview) {
    try {
      const [img] = await preview
      previewPng = Buffer.from(await encodePng(chwToImage(img, 112, 112))).toString('base64')
    } catch {
      // A preview is a nicety; a cancelled run may abort it.
    }
  }
  ctx.progress({
    step: record.queries,
    bestScore: overallBest,
    message: `thread ${record.thread + 1}, generation ${record.generation + 1}: best ${record.best.toFixed(4)}`,
    detail: { ...record, ...(previewPng ? { previewPng } : {}) }
  })
}
