// Search-pipeline throughput: generator + target encoder evaluations per second at several
// batch sizes, through the same code path the GA uses (generateFaces + TemplateOracle), and
// the fraction of the machine's practical fp32 peak (a large sgemm in ONNX Runtime) it reaches.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InferenceEngine } from '../src/core/engine/inference-engine'
import { ModelRegistry } from '../src/core/models/model-registry'
import { ModelLoader } from '../src/core/models/model-loader'
import { OnnxGraphBuilder } from '../src/core/models/onnx-builder'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { DEFAULT_GENERATOR_ID } from '../src/core/methods/latent-search-setup'
import { generateFaces } from '../src/core/methods/face-generator'
import { TemplateOracle } from '../src/core/methods/template-oracle'
import { randomLatent } from '../src/core/methods/ga-search'
import { SeededRandom } from '../src/core/random/seeded-random'
import { machineLine, markdownTable, median } from './bench-support'

/** fr_feature multiply-adds per 112x112 face (environment notes, counted from the graph): 0.44 GFLOP. */
const ENCODER_GFLOP = 0.44
/** Practical fp32 peak of this machine type per the environment notes (large sgemm). */
const NOTES_PEAK = 195

async function sgemmPeak(engine: InferenceEngine): Promise<number> {
  const n = 1536
  const g = new OnnxGraphBuilder()
  g.input('a', [n, n])
  g.input('b', [n, n])
  g.node('MatMul', ['a', 'b'], {}, 'c')
  g.output('c', [n, n])
  await engine.load('sgemm', g.build('sgemm'))
  const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13)
  const times: number[] = []
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now()
    await engine.run('sgemm', { a: { data: a.slice(), dims: [n, n] }, b: { data: a.slice(), dims: [n, n] } })
    times.push(performance.now() - t0)
  }
  await engine.release('sgemm')
  return (2 * n ** 3) / (median(times.slice(1)) / 1000) / 1e9
}

export async function pipelineThroughput(): Promise<string> {
  const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-bench-')))
  const lines: string[] = ['### Search pipeline throughput (generator + encoder)', '', machineLine()]
  const rows: string[][] = []
  // One peak for every row: measured once, on an engine with ORT's default settings.
  const peakEngine = new InferenceEngine({ providers: ['cpu'] })
  const peak = await sgemmPeak(peakEngine)
  await peakEngine.close()
  lines.push(
    `Practical fp32 peak, ONNX Runtime sgemm 1536³ (median of 5): ${peak.toFixed(0)} GFLOP/s. ` +
      `The environment notes give about 195 GFLOP/s for a large sgemm on this machine type (230 theoretical); ` +
      `the last column uses that figure.`,
    ''
  )
  for (const spinning of [true, false]) {
    const engine = new InferenceEngine({ providers: ['cpu'], spinning })
    const loader = new ModelLoader(engine, registry)
    const generator = await loader.prepare(DEFAULT_GENERATOR_ID)
    const encoder = await loader.prepare(DEFAULT_ENCODER_ID)
    const latentDim = generator.entry.manifest.latentDim!
    const genGflop = (2 * latentDim * 3 * 64 * 64) / 1e9
    const rng = new SeededRandom(1)
    for (const batch of [1, 16, 64, 256]) {
      const total = Math.max(64, batch * 2)
      const latents = Array.from({ length: total }, () => randomLatent(latentDim, rng))
      const oracle = new TemplateOracle(engine, encoder)
      const times: number[] = []
      for (let rep = 0; rep < 4; rep++) {
        const t0 = performance.now()
        for (let i = 0; i < total; i += batch) {
          const images = await generateFaces(engine, generator, latents.slice(i, i + batch))
          await oracle.templates(images, undefined, batch)
        }
        times.push((performance.now() - t0) / total)
      }
      const ms = median(times.slice(1))
      const perSecond = 1000 / ms
      const gflops = perSecond * (ENCODER_GFLOP + genGflop)
      rows.push([spinning ? 'on (ORT default)' : 'off', String(batch), perSecond.toFixed(0), gflops.toFixed(0), `${((gflops / peak) * 100).toFixed(0)}%`, `${((gflops / NOTES_PEAK) * 100).toFixed(0)}%`])
    }
    await engine.close()
  }
  lines.push(markdownTable(['ORT thread spinning', 'batch', 'evaluations / s', 'GFLOP/s', 'of ORT sgemm', 'of 195 GFLOP/s'], rows))
  return lines.join('\n')
}
