// The search pipeline graph (generator → encoder preprocessing → encoder → cosine to the target):
// its forward values equal the separate models run as the workbench runs them, and its gradient
// w.r.t. the latents passes the finite-difference check, with and without flip averaging.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { checkGradientGraph } from '../../src/core/autodiff/gradient-check'
import { deriveGradientGraph } from '../../src/core/autodiff/gradient-graph'
import { localRunner } from '../../src/core/autodiff/graph-runner'
import { weightedSumLoss } from '../../src/core/autodiff/losses'
import { EMBEDDING, IMAGE, LATENT, TARGET, deriveSearchPipeline, searchPipelineModel, withFixedBatch, type PipelinePart } from '../../src/core/autodiff/search-pipeline'
import { planarToModelInput } from '../../src/core/imaging/image-tensor'
import { DEFAULT_ENCODER_ID } from '../../src/core/models/bundled-models'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { patchModel } from '../../src/core/models/onnx-patch'
import { SeededRandom } from '../../src/core/random/seeded-random'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-pipeline-lib-')))
const part = (id: string): PipelinePart => {
  const entry = registry.get(id)
  return { bytes: new Uint8Array(readFileSync(entry.path)), manifest: entry.manifest }
}

function normals(n: number, seed: number): Float32Array {
  const r = new SeededRandom(seed)
  return Float32Array.from({ length: n }, () => r.normal())
}

const cos = (a: Float32Array, b: Float32Array): number => {
  let ab = 0, aa = 0, bb = 0
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i]
    aa += a[i] * a[i]
    bb += b[i] * b[i]
  }
  return ab / Math.sqrt(aa * bb)
}

describe('search pipeline graph', () => {
  for (const generatorId of ['eigenface-celeba-utk-128', 'dcgan-celeba-utk-64']) {
    it(`${generatorId} → ${DEFAULT_ENCODER_ID}: same similarities as the separate models`, async () => {
      const gen = part(generatorId)
      const enc = part(DEFAULT_ENCODER_ID)
      const graph = await deriveSearchPipeline(gen, enc)
      const batch = 3
      const latents = normals(batch * 128, 3)
      const target = normals(512, 4)
      const runner = await localRunner(graph.bytes, { threads: 2 })
      const feeds = { [LATENT]: { data: latents, dims: [batch, 128] }, [TARGET]: { data: target, dims: [1, 512] } }
      const out = await runner.run(feeds, [graph.loss, graph.similarity, IMAGE, EMBEDDING, graph.latentGradient])
      await runner.release()
      // The graph with the batch fixed computes the same gradient (up to float32 summation order).
      const fixed = await localRunner(withFixedBatch(graph.bytes, batch), { threads: 2 })
      const fixedGrad = (await fixed.run(feeds, [graph.latentGradient]))[graph.latentGradient].data
      await fixed.release()
      const grad = out[graph.latentGradient].data
      let diff = 0, norm = 0
      for (let i = 0; i < grad.length; i++) {
        diff += (grad[i] - fixedGrad[i]) ** 2
        norm += grad[i] ** 2
      }
      expect(Math.sqrt(diff / norm)).toBeLessThan(1e-5)
      // The same faces through the generator and encoder sessions, preprocessed on the host.
      const g = await localRunner(patchModel(gen.bytes).bytes, { threads: 2 })
      const images = (await g.run({ [gen.manifest.input.name]: { data: latents.slice(), dims: [batch, 128] } }, [gen.manifest.output.name]))[gen.manifest.output.name].data
      await g.release()
      const e = await localRunner(patchModel(enc.bytes).bytes, { threads: 2 })
      const plane = 112 * 112
      const inputs = new Float32Array(images.length)
      for (let i = 0; i < batch; i++) inputs.set(planarToModelInput(images.slice(i * 3 * plane, (i + 1) * 3 * plane), plane, 'RGB', enc.manifest.input.normalisation!), i * 3 * plane)
      const emb = (await e.run({ [enc.manifest.input.name]: { data: inputs, dims: [batch, 3, 112, 112] } }, [enc.manifest.output.name]))[enc.manifest.output.name].data
      await e.release()
      let total = 0
      for (let i = 0; i < batch; i++) {
        const expected = cos(emb.slice(i * 512, (i + 1) * 512), target)
        expect(out[graph.similarity].data[i]).toBeCloseTo(expected, 4)
        total += expected
      }
      expect(out[graph.loss].data[0]).toBeCloseTo(-total, 3)
      expect(out[graph.latentGradient].dims).toEqual([batch, 128])
    })
  }

  it('the composed model (eigenface → encoder) passes the check on both outputs', async () => {
    const model = searchPipelineModel(part('eigenface-celeba-utk-128'), part(DEFAULT_ENCODER_ID))
    const graph = await deriveGradientGraph(model, { label: 'pipeline', loss: weightedSumLoss(), freeBatch: false })
    const runner = await localRunner(graph.bytes, { threads: 2 })
    const r = await checkGradientGraph(graph, runner, { directions: 3, distribution: 'normal' })
    await runner.release()
    console.log(`composed eigenface → ${DEFAULT_ENCODER_ID}: outputs ${r.outputs.join(', ')}, worst rel. error ${r.worst.toExponential(2)}`)
    expect(r.outputs.sort()).toEqual([EMBEDDING, IMAGE].sort())
    expect(r.passed).toBe(true)
  })

  for (const flip of [false, true]) {
    it(`the cosine loss gradient w.r.t. the latents passes the check (flip ${flip})`, async () => {
      const graph = await deriveSearchPipeline(part('dcgan-celeba-utk-64'), part(DEFAULT_ENCODER_ID), { flip })
      const runner = await localRunner(graph.bytes, { threads: 2 })
      const r = await checkGradientGraph(graph, runner, { input: LATENT, directions: 3, distribution: 'normal' })
      await runner.release()
      console.log(`dcgan → ${DEFAULT_ENCODER_ID} cosine loss (flip ${flip}): worst rel. error ${r.worst.toExponential(2)}`)
      expect(r.passed).toBe(true)
    })
  }
})
