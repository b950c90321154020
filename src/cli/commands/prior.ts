import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { buildEigenfacePrior, eigenfaceGeneratorModel, eigenfaceManifest, type EigenfacePrior } from '../../core/priors/eigenface-prior'
import { sha256Hex } from '../../core/fs/sha256'
import { SeededRandom } from '../../core/methods/seeded-random'
import { randomLatent } from '../../core/methods/ga-search'
import { chwToImage } from '../../core/imaging/image-tensor'
import { contactSheet } from '../../core/imaging/contact-sheet'
import { InferenceEngine } from '../../core/engine/inference-engine'
import { inspectPrior } from '../../core/priors/prior-inspection'
import { UsageError, integer, parse, printJson, progressBar, required, withWorkbench } from '../cli-support'

const USAGE = `usage: unveil prior build --data DIR[,DIR…] [--components K] [--size S] [--seed N] [--id ID] --out DIR
       unveil prior inspect --generator ID [--samples N] [--seed N] [--sheet FILE.png] [--json]`
const SHEET_TILES = 24

/** A grid of random prior samples from a model that is not registered yet. */
async function writeContactSheet(engine: InferenceEngine, key: string, latentDim: number, seed: number, file: string): Promise<void> {
  const rng = new SeededRandom(seed)
  const z = new Float32Array(SHEET_TILES * latentDim)
  for (let i = 0; i < SHEET_TILES; i++) z.set(randomLatent(latentDim, rng), i * latentDim)
  const { outputs } = await engine.run(key, { z: { data: z, dims: [SHEET_TILES, latentDim] } })
  const plane = 3 * 112 * 112
  const images = Array.from({ length: SHEET_TILES }, (_, i) => chwToImage(outputs.image.data.subarray(i * plane, (i + 1) * plane), 112, 112))
  writeFileSync(file, await contactSheet(images))
}

function modelCard(id: string, prior: EigenfacePrior, sha256: string, command: string, seconds: number): string {
  const k = prior.variances.length
  const cumulative = (m: number): string => ((Array.from(prior.variances.slice(0, m)).reduce((a, b) => a + b, 0) / prior.totalVariance) * 100).toFixed(1)
  return `# Model card: ${id}

An eigenface face prior: the mean and top ${k} principal components of aligned face crops
at ${prior.size}x${prior.size} RGB, exported by Unveil's own code as an ONNX generator
(\`z\` of ${k} standard-normal values, scaled by the components' standard deviations, to a
112x112 ArcFace-aligned RGB image in [0, 1]; the upsampling is a bilinear Resize in the graph).

| | |
|---|---|
| file | \`${id}.onnx\` (fp16 weights, cast to fp32 in the graph) |
| sha256 | \`${sha256}\` |
| data | ${prior.datasets.map((d) => `${d.images} aligned crops from \`${d.dir.split('/').slice(-1)[0]}\``).join(', ')}; ${prior.count} in total. LFW is not used (it is for evaluation). |
| variance explained | ${cumulative(Math.min(16, k))}% by 16 components, ${cumulative(Math.min(64, k))}% by 64, ${cumulative(k)}% by all ${k} |
| method | randomized PCA (subspace iteration, ${k}+32 directions, 2 power iterations) |
| licence | **research use only**: CelebA and UTKFace are non-commercial research datasets, and this model inherits their terms |
| rebuild | \`${command}\` (${seconds.toFixed(0)} s on the machine that built it) |

Samples: \`docs/images/${id}-samples.png\`.
`
}

/** Samples a registered generator: the detector's face rate and a contact sheet. */
async function inspect(argv: string[]): Promise<void> {
  const v = parse(argv, { generator: { type: 'string' }, samples: { type: 'string' }, seed: { type: 'string' }, sheet: { type: 'string' }, json: { type: 'boolean' } })
  const id = required(v, 'generator')
  const samples = integer(v, 'samples', 500)!
  const seed = integer(v, 'seed', 1)!
  if (samples < 1 || samples > 100_000) throw new UsageError('--samples must be between 1 and 100000')
  await withWorkbench(async (wb) => {
    wb.registry.getWithRole(id, 'generator')
    const [generator, detector] = await Promise.all([wb.loader.prepare(id), wb.loader.prepare(wb.registry.defaults().detector)])
    const t0 = performance.now()
    const r = await inspectPrior(wb.engine, generator, detector, { samples, seed, onProgress: progressBar(`detecting faces in ${id} samples`) })
    const seconds = (performance.now() - t0) / 1000
    if (v.sheet) {
      mkdirSync(resolve(v.sheet as string, '..'), { recursive: true })
      writeFileSync(v.sheet as string, await contactSheet(r.samples.slice(0, SHEET_TILES)))
    }
    const { detection: d } = r
    if (v.json) return printJson({ generator: id, sha256: r.generatorSha256, seed, samples, detected: d.detected, rate: d.rate, meanScore: d.meanScore, seconds, sheet: v.sheet ?? null })
    console.log(
      `${id}: the detector finds a face in ${d.detected} of ${d.images} samples (${(d.rate * 100).toFixed(1)}%, mean score ${d.meanScore.toFixed(4)}); seed ${seed}, ${seconds.toFixed(1)} s` +
        (v.sheet ? `; contact sheet → ${v.sheet}` : '')
    )
  })
}

export async function priorCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  if (sub === 'inspect') return inspect(rest)
  if (sub !== 'build') throw new UsageError(USAGE)
  const v = parse(rest, { data: { type: 'string' }, components: { type: 'string' }, size: { type: 'string' }, seed: { type: 'string' }, id: { type: 'string' }, out: { type: 'string' }, sheet: { type: 'string' }, limit: { type: 'string' } })
  const datasets = required(v, 'data').split(',').map((d) => resolve(d))
  const components = integer(v, 'components', 128)!
  const seed = integer(v, 'seed', 1)!
  const id = (v.id as string) ?? `eigenface-celeba-utk-${components}`
  const outDir = required(v, 'out')
  const t0 = performance.now()
  const engine = new InferenceEngine({ providers: ['cpu'] })
  try {
    const bar = progressBar('eigenface prior')
    const prior = await buildEigenfacePrior(engine, {
      datasets,
      components,
      size: integer(v, 'size', 64),
      seed,
      limitPerDataset: integer(v, 'limit'),
      onProgress: (phase, done, total) => (phase === 'load' ? bar(done, total) : undefined)
    })
    const bytes = eigenfaceGeneratorModel(prior)
    const sha = sha256Hex(bytes)
    mkdirSync(outDir, { recursive: true })
    writeFileSync(join(outDir, `${id}.onnx`), bytes)
    writeFileSync(join(outDir, `${id}.json`), `${JSON.stringify(eigenfaceManifest(id, `${id}.onnx`, sha, prior), null, 2)}\n`)
    const seconds = (performance.now() - t0) / 1000
    const command = `unveil prior build --data ${datasets.map((d) => d.split('/').slice(-2).join('/')).join(',')} --components ${components} --seed ${seed} --out ${outDir}`
    writeFileSync(join(outDir, `${id}.md`), modelCard(id, prior, sha, command, seconds))
    const sheet = (v.sheet as string) ?? join('docs', 'images', `${id}-samples.png`)
    mkdirSync(resolve(sheet, '..'), { recursive: true })
    await engine.load('prior', bytes)
    await writeContactSheet(engine, 'prior', components, seed, sheet)
    console.log(`${id}: ${prior.count} images, ${components} components explain ${(prior.explained * 100).toFixed(1)}% of the variance; ${(bytes.length / 1e6).toFixed(1)} MB, sha256 ${sha}; samples → ${sheet} (${seconds.toFixed(0)} s)`)
  } finally {
    await engine.close()
  }
}
