import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import type { ModelManifest } from '../../shared/types'
import type { InferenceEngine } from '../engine/inference-engine'
import { ARCFACE_112 } from '../imaging/alignment'
import { OnnxGraphBuilder } from '../models/onnx-builder'
import { randomizedPca } from './randomized-pca'

export interface EigenfacePrior {
  size: number
  mean: Float32Array
  /** K x D unit components. */
  components: Float32Array
  variances: Float64Array
  totalVariance: number
  /** Share of the total variance the K components explain. */
  explained: number
  count: number
  datasets: { dir: string; images: number }[]
}

export interface EigenfaceBuildOptions {
  /** Aligned dataset folders written by `unveil dataset align` (each with manifest.json). */
  datasets: string[]
  components: number
  /** Side of the square RGB images the PCA runs on. */
  size?: number
  seed?: number
  limitPerDataset?: number
  signal?: AbortSignal
  onProgress?: (phase: 'load' | 'pca', done: number, total: number) => void
}

interface AlignedManifest {
  format: string
  items: { file: string }[]
}

function alignedFiles(dir: string, limit?: number): string[] {
  let manifest: AlignedManifest
  try {
    manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as AlignedManifest
  } catch (err) {
    throw new Error(`${dir} is not an aligned dataset (run unveil dataset align first): ${(err as Error).message}`)
  }
  if (manifest.format !== 'unveil-aligned-dataset') throw new Error(`${dir}/manifest.json is not an unveil aligned dataset`)
  const files = manifest.items.map((i) => join(dir, i.file))
  return limit ? files.slice(0, limit) : files
}

/** Loads aligned crops as planar RGB in [0, 1] at size x size, one row per image. */
async function loadRows(files: string[], size: number, signal?: AbortSignal, onProgress?: (done: number) => void): Promise<Float32Array> {
  const d = 3 * size * size
  const rows = new Float32Array(files.length * d)
  const plane = size * size
  for (let i = 0; i < files.length; i++) {
    if (i % 64 === 0) signal?.throwIfAborted()
    const px = await sharp(files[i]).removeAlpha().resize(size, size, { fit: 'fill' }).raw().toBuffer()
    const base = i * d
    for (let p = 0; p < plane; p++) {
      rows[base + p] = px[p * 3] / 255
      rows[base + plane + p] = px[p * 3 + 1] / 255
      rows[base + 2 * plane + p] = px[p * 3 + 2] / 255
    }
    if (i % 256 === 0 || i === files.length - 1) onProgress?.(i + 1)
  }
  return rows
}

export async function buildEigenfacePrior(engine: InferenceEngine, options: EigenfaceBuildOptions): Promise<EigenfacePrior> {
  const size = options.size ?? 64
  const d = 3 * size * size
  const perDataset = options.datasets.map((dir) => ({ dir, files: alignedFiles(dir, options.limitPerDataset) }))
  const files = perDataset.flatMap((p) => p.files)
  if (files.length <= options.components) throw new Error(`need more than ${options.components} images, found ${files.length}`)
  const rows = await loadRows(files, size, options.signal, (done) => options.onProgress?.('load', done, files.length))
  const n = files.length
  const mean = new Float32Array(d)
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j]
  for (let j = 0; j < d; j++) mean[j] /= n
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) rows[i * d + j] -= mean[j]
  const pca = await randomizedPca(engine, rows, n, d, options.components, {
    seed: options.seed,
    signal: options.signal,
    onProgress: (done, total) => options.onProgress?.('pca', done, total)
  })
  const explained = pca.variances.reduce((a, b) => a + b, 0) / pca.totalVariance
  return {
    size,
    mean,
    components: pca.components,
    variances: pca.variances,
    totalVariance: pca.totalVariance,
    explained,
    count: n,
    datasets: perDataset.map((p) => ({ dir: p.dir, images: p.files.length }))
  }
}

/**
 * The prior as an ONNX generator: image = clip(mean + Σ z_k σ_k u_k) at size x size, resized
 * bilinearly in the graph to the 112x112 ArcFace-aligned frame. z ~ N(0, I); weights in fp16.
 */
export function eigenfaceGeneratorModel(prior: EigenfacePrior): Uint8Array {
  const k = prior.variances.length
  const d = prior.mean.length
  const scaled = new Float32Array(k * d)
  for (let c = 0; c < k; c++) {
    const sigma = Math.sqrt(prior.variances[c])
    for (let j = 0; j < d; j++) scaled[c * d + j] = prior.components[c * d + j] * sigma
  }
  const g = new OnnxGraphBuilder()
  g.input('z', ['batch', k])
  const w = g.constant('components', [k, d], scaled, true)
  const mean = g.constant('mean', [d], prior.mean, true)
  const flat = g.node('Add', [g.node('MatMul', ['z', w]), mean])
  const small = g.node('Reshape', [flat, g.int64('image_shape', [-1, 3, prior.size, prior.size])])
  const scale = 112 / prior.size
  const big = g.node('Resize', [small, '', g.floats('scales', [1, 1, scale, scale])], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' })
  g.node('Clip', [big, g.constant('lo', [], Float32Array.of(0)), g.constant('hi', [], Float32Array.of(1))], {}, 'image')
  g.output('image', ['batch', 3, 112, 112])
  return g.build('eigenface_prior', { latent: `standard normal, ${k} values`, images: String(prior.count) })
}

export function eigenfaceManifest(id: string, file: string, sha256: string, prior: EigenfacePrior): ModelManifest {
  const k = prior.variances.length
  return {
    id,
    name: `Eigenface prior (${k} components, ${prior.size}x${prior.size})`,
    role: 'generator',
    file,
    sha256,
    input: { name: 'z', shape: [-1, k], layout: 'NC' },
    output: { name: 'image', shape: [-1, 3, 112, 112] },
    latentDim: k,
    outputRange: [0, 1],
    alignment: { size: [112, 112], points: ARCFACE_112 },
    licence: 'Research use only (built from CelebA and UTKFace, both non-commercial research only)',
    source: 'built by `unveil prior build` from aligned CelebA-10k and UTKFace crops'
  }
}
