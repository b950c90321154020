// Each load-time graph rewrite preserves the model's outputs on real aligned face crops: the
// bundled encoder, the shared research encoders (when ../shared is present), and the merged
// generator + encoder graph the searches use.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InferenceEngine } from '../../src/core/engine/inference-engine'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { ModelLoader } from '../../src/core/models/model-loader'
import { patchModel } from '../../src/core/models/onnx-patch'
import { REWRITES, type PreluForm, type RewriteName, type RewriteOptions } from '../../src/core/models/graph-rewrites'
import { alignPhotos } from '../../src/core/faces/aligned-faces'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { imageToChw } from '../../src/core/imaging/image-tensor'
import { generateFaces } from '../../src/core/models/face-generator'
import { TemplateOracle } from '../../src/core/methods/template-oracle'
import { randomLatent } from '../../src/core/methods/ga-search'
import { SeededRandom } from '../../src/core/random/seeded-random'
import type { ModelManifest } from '../../src/shared/types'
import { dataDirOrSkip, lfwImage, sharedEncoder } from '../helpers/data'

const data = dataDirOrSkip('graph rewrites on the shared encoders')
const SHARED = [
  ['mobilefacenet-foamliu.onnx', 'mobilefacenet-foamliu.json'],
  ['mobileface-v2.onnx', 'mobileface-v2.json']
] as const

const only = (names: RewriteName[], preluForm: PreluForm = 'neg-sum'): RewriteOptions => ({ enabled: new Set(names), preluForm })

function compare(a: Float32Array[], b: Float32Array[]): { maxAbs: number; minCos: number } {
  let maxAbs = 0
  let minCos = 1
  for (let s = 0; s < a.length; s++) {
    let dot = 0
    let na = 0
    let nb = 0
    for (let i = 0; i < a[s].length; i++) {
      maxAbs = Math.max(maxAbs, Math.abs(a[s][i] - b[s][i]))
      dot += a[s][i] * b[s][i]
      na += a[s][i] ** 2
      nb += b[s][i] ** 2
    }
    minCos = Math.min(minCos, dot / Math.sqrt(na * nb))
  }
  return { maxAbs, minCos }
}

describe('exact load-time graph rewrites', () => {
  let engine: InferenceEngine
  let registry: ModelRegistry
  let loader: ModelLoader
  const encoders: string[] = ['faceplugin-fr-feature']
  let photos: string[]

  beforeAll(async () => {
    engine = new InferenceEngine({ providers: ['cpu'] })
    registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-rw-')))
    loader = new ModelLoader(engine, registry, { rewrites: false, fuse: false })
    photos = sampleImagePaths()
    if (data) {
      // A few LFW development people (the first genuine pairs of pairsDevTrain.txt).
      const pairs = readFileSync(join(data, 'datasets', 'lfw', 'pairsDevTrain.txt'), 'utf8').split('\n').slice(1, 5)
      for (const line of pairs) {
        const [name, i] = line.trim().split(/\s+/)
        photos.push(lfwImage(data, name, Number(i)))
      }
      for (const [file, manifestFile] of SHARED) {
        const path = sharedEncoder(data, file)
        if (!path) continue
        const manifest = JSON.parse(readFileSync(join(__dirname, '../../resources/manifests', manifestFile), 'utf8'))
        const prepared = registry.prepareRegistration(path, manifest)
        registry.commitRegistration(prepared.manifest, path)
        encoders.push(prepared.manifest.id)
      }
    }
  }, 120_000)
  afterAll(async () => engine.close())

  async function crops(manifest: ModelManifest): Promise<Float32Array[]> {
    const [detector, landmarker] = await Promise.all([loader.prepare('faceplugin-fr-detect'), loader.prepare('faceplugin-fr-landmark')])
    const { faces } = await alignPhotos(engine, detector, landmarker, manifest, photos)
    return faces.map((f) => imageToChw(f, manifest.input.colorOrder ?? 'RGB', manifest.input.normalisation!))
  }

  async function run(key: string, bytes: Uint8Array, manifest: ModelManifest, inputs: Float32Array[]): Promise<Float32Array[]> {
    await engine.load(key, bytes)
    const out = await engine.runBatched(key, { name: manifest.input.name, sampleDims: manifest.input.shape.slice(1), samples: inputs }, manifest.output.name, { maxBatch: 4 })
    await engine.release(key)
    return out
  }

  it('preserves every encoder\'s templates under each rewrite and all of them together', { timeout: 300_000 }, async () => {
    expect(photos.length).toBeGreaterThanOrEqual(6)
    for (const id of encoders) {
      const entry = registry.get(id)
      const original = registry.readModel(entry)
      const inputs = await crops(entry.manifest)
      const reference = await run(`${id}:none`, patchModel(original, id, { rewrites: false }).bytes, entry.manifest, inputs)
      const variants: [string, RewriteOptions][] = [
        ...REWRITES.map((r): [string, RewriteOptions] => [r, only([r])]),
        ['prelu relu-neg', only(['prelu'], 'relu-neg')],
        ['prelu bn-sum', only(['prelu'], 'bn-sum')],
        ['prelu mul-add', only(['prelu'], 'mul-add')],
        ['all', only([...REWRITES])]
      ]
      for (const [name, rewrites] of variants) {
        const patched = patchModel(original, id, { rewrites })
        const out = await run(`${id}:${name}`, patched.bytes, entry.manifest, inputs)
        const { maxAbs, minCos } = compare(reference, out)
        console.log(`${id} / ${name}: ${JSON.stringify(patched.report.rewrites)} max abs diff ${maxAbs.toExponential(2)}, min cosine ${minCos.toFixed(9)} over ${inputs.length} faces`)
        // Folding BatchNormalization into Conv weights changes the rounding, not the maths.
        expect(maxAbs <= 1e-5 || minCos >= 0.99999).toBe(true)
        // PRelu as Relu(y) + (-a) Relu(-y), and Max/Min as Clip, are bit-exact.
        if (name === 'prelu relu-neg' || name === 'clip') expect(maxAbs).toBe(0)
      }
    }
  })

  it('rewrites what the bundled encoder and the shared encoders contain', () => {
    const report = patchModel(registry.readModel(registry.get('faceplugin-fr-feature')), 'fr', { rewrites: only([...REWRITES]) }).report.rewrites
    expect(report).toEqual({ prelu: 33, bnFolded: 0, clip: 0 })
    if (encoders.includes('mobileface-v2')) {
      const v2 = patchModel(registry.readModel(registry.get('mobileface-v2')), 'v2', { rewrites: only([...REWRITES]) }).report.rewrites
      expect(v2!.bnFolded).toBeGreaterThan(30)
      expect(v2!.clip).toBe(25)
    }
  })

  it('merges generator and encoder into one graph whose templates match the two-step path, and the oracle counts them', { timeout: 300_000 }, async () => {
    const fusingRegistry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-rw2-')))
    const fusing = new ModelLoader(engine, fusingRegistry, { fuse: true })
    const combos = [['eigenface-celeba-utk-128', 'faceplugin-fr-feature'], ['dcgan-celeba-utk-64', 'faceplugin-fr-feature']]
    for (const id of encoders.slice(1)) {
      const entry = registry.get(id)
      fusingRegistry.commitRegistration(entry.manifest, entry.path)
      combos.push(['eigenface-celeba-utk-128', id])
    }
    for (const [generatorId, encoderId] of combos) {
      const pipeline = await fusing.prepareFused(generatorId, encoderId)
      expect(pipeline).not.toBeNull()
      const rng = new SeededRandom(7)
      const latents = Array.from({ length: 8 }, () => randomLatent(pipeline!.latentDim, rng))
      const twoStep = new TemplateOracle(engine, pipeline!.encoder)
      const expected = await twoStep.templates(await generateFaces(engine, pipeline!.generator, latents))
      const oracle = new TemplateOracle(engine, pipeline!.encoder, 10)
      oracle.acceptLatentsOf(pipeline)
      const got = await oracle.templatesOfLatents(latents)
      expect(oracle.queries).toBe(8)
      await expect(oracle.templatesOfLatents(latents.slice(0, 3))).rejects.toThrow(/budget/)
      const { maxAbs, minCos } = compare(expected, got)
      console.log(`${generatorId} + ${encoderId} merged: max abs diff ${maxAbs.toExponential(2)}, min cosine ${minCos.toFixed(9)}`)
      expect(minCos).toBeGreaterThanOrEqual(0.99999)
    }
  })
})
