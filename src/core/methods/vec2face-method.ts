// Vec2Face (Truong et al.): a feature-conditional generator (DiBiGAN, or its attention variant
// DAB-GAN) maps the template plus a noise vector v straight to a face, one forward pass per v.
// Each of the K variations (v drawn from the run's seed) is scored by the seen encoder; the best
// is the reconstruction and all K are kept as candidates, shown side by side.
import type { MethodInfo } from '../../shared/types'
import { generateFaces } from '../models/face-generator'
import { SeededRandom } from '../random/seeded-random'
import { cosine } from '../templates/vector-math'
import { chooseDecoder } from './decoder-choice'
import type { ReconstructionMethod } from './reconstruction-method'
import { TemplateOracle } from './template-oracle'

export const VEC2FACE_DEFAULT_VARIATIONS = 4

function vec2faceInfo(id: 'dibigan' | 'dabgan', name: string, description: string): MethodInfo {
  return {
    id,
    name,
    description,
    parameters: [
      {
        key: 'generator',
        label: 'Generator',
        type: 'model',
        role: 'decoder',
        decoderMethod: id,
        default: '',
        help: `Empty: the ${id} generator trained for the template's encoder.`
      },
      { key: 'variations', label: 'Variations (one pass each, seeded v)', type: 'integer', default: VEC2FACE_DEFAULT_VARIATIONS, min: 1, max: 64 },
      {
        key: 'allowOtherEncoder',
        label: 'Generator of another encoder (transfer)',
        type: 'integer',
        default: 0,
        min: 0,
        max: 1,
        choices: [
          { value: 0, label: 'refuse' },
          { value: 1, label: 'allow' }
        ]
      }
    ]
  }
}

function vec2faceMethod(info: MethodInfo): ReconstructionMethod {
  return {
    info,
    totalSteps: (p) => Number(p.variations) + 1,
    async run(ctx) {
      const allowOtherEncoder = Number(ctx.parameters.allowOtherEncoder) === 1
      const id = chooseDecoder(ctx.registry, ctx.template, String(ctx.parameters.generator || ''), { method: info.id, noun: 'generator', allowOtherEncoder })
      const entry = ctx.registry.getWithRole(id, 'decoder')
      const { templateDim, noiseDim } = entry.manifest.conditional!
      const k = Number(ctx.parameters.variations)
      const [generator, encoder] = await Promise.all([ctx.loader.prepare(id), ctx.loader.prepare(ctx.template.encoderId)])
      const rng = new SeededRandom(ctx.seed)
      const rows = Array.from({ length: k }, () => {
        const row = new Float32Array(templateDim + noiseDim)
        row.set(ctx.template.vector)
        for (let i = templateDim; i < row.length; i++) row[i] = rng.normal()
        return row
      })
      const t0 = performance.now()
      const images: Float32Array[] = []
      for (const [i, row] of rows.entries()) {
        images.push(...(await generateFaces(ctx.engine, generator, [row], ctx.signal)))
        ctx.progress({ step: i + 1, totalSteps: k + 1, message: `variation ${i + 1}/${k}` })
      }
      const oracle = new TemplateOracle(ctx.engine, encoder, k)
      const sims = (await oracle.templates(images, ctx.signal)).map((t) => cosine(ctx.template.vector, t))
      const order = sims.map((_, i) => i).sort((a, b) => sims[b] - sims[a])
      const best = order[0]
      ctx.progress({ step: k + 1, totalSteps: k + 1, bestScore: sims[best], message: `scored ${k} variations` })
      const target = entry.manifest.targetEncoder
      const transfer = target && target.sha256 !== ctx.template.encoderSha256 ? { from: ctx.template.encoderId, to: target.id } : null
      return {
        image: images[best],
        similarity: sims[best],
        modelSha256s: { generator: entry.manifest.sha256, target: encoder.entry.manifest.sha256 },
        queries: oracle.queries,
        trace: [
          { thread: 0, generation: 0, best: sims[best], mean: sims.reduce((a, b) => a + b, 0) / k, queries: k, seconds: (performance.now() - t0) / 1000 }
        ],
        summary: { generator: id, variations: k, picked: best, similarities: sims, noiseDim, transfer },
        candidates: order.map((i) => ({ latent: i, seen: sims[i], validation: null, picked: i === best, image: images[i] }))
      }
    }
  }
}

export const dibiganMethod = vec2faceMethod(
  vec2faceInfo(
    'dibigan',
    'Vec2Face DiBiGAN',
    'Feature-conditional GAN (Truong et al.): a CNN generator with the template injected at every scale, trained with a bijective metric and distillation from the engine; one forward pass per noise variation.'
  )
)

export const dabganMethod = vec2faceMethod(
  vec2faceInfo(
    'dabgan',
    'Vec2Face DAB-GAN',
    'The attention variant of DiBiGAN: windowed self-attention blocks with the template injected at every scale; one forward pass per noise variation.'
  )
)
