import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { validateManifest } from '../../shared/validation'
import type { ModelManifest, ThresholdRecord } from '../../shared/types'
import { ARCFACE_112 } from '../imaging/alignment'

const PACKAGE = 'faceplugin-face-recognition-js'
const PACKAGE_VERSION = '0.0.1'
const LICENCE = `MIT (npm package ${PACKAGE}@${PACKAGE_VERSION})`
// The package's own preprocessing (lib/fr_*.js): 8-bit values mapped by (p - 127) / 128.
const CENTRED = { scale: 1, mean: [127, 127, 127] as [number, number, number], std: [128, 128, 128] as [number, number, number] }

export const DEFAULT_ENCODER_ID = 'faceplugin-fr-feature'
export const DEFAULT_DETECTOR_ID = 'faceplugin-fr-detect'
export const DEFAULT_LANDMARKER_ID = 'faceplugin-fr-landmark'

/** Manifests of the models shipped inside the npm dependency; sha256 pins the shipped files. */
export const BUNDLED_MANIFESTS: ModelManifest[] = [
  {
    id: DEFAULT_ENCODER_ID,
    name: 'Faceplugin face feature (512-d)',
    role: 'encoder',
    file: 'fr_feature.onnx',
    sha256: '87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581',
    input: { name: 'input', shape: [-1, 3, 112, 112], layout: 'NCHW', colorOrder: 'RGB', normalisation: CENTRED },
    output: { name: 'output', shape: [-1, 512] },
    embeddingDim: 512,
    alignment: { size: [112, 112], points: ARCFACE_112 },
    licence: LICENCE,
    source: `npm:${PACKAGE}@${PACKAGE_VERSION}/model/fr_feature.onnx`,
    notes: 'Shipped with a batch of 1 and 8,938 denormal weights; loaded with a free batch and denormals flushed.'
  },
  {
    id: DEFAULT_DETECTOR_ID,
    name: 'Faceplugin face detector (320x240)',
    role: 'detector',
    file: 'fr_detect.onnx',
    sha256: '6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854',
    input: { name: 'input', shape: [1, 3, 240, 320], layout: 'NCHW', colorOrder: 'RGB', normalisation: CENTRED },
    output: { name: 'boxes', shape: [1, 4420, 4] },
    licence: LICENCE,
    source: `npm:${PACKAGE}@${PACKAGE_VERSION}/model/fr_detect.onnx`
  },
  {
    id: DEFAULT_LANDMARKER_ID,
    name: 'Faceplugin 68-point landmarks',
    role: 'landmarker',
    file: 'fr_landmark.onnx',
    sha256: 'f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258',
    input: { name: 'input', shape: [-1, 1, 64, 64], layout: 'NCHW', colorOrder: 'GRAY', normalisation: { scale: 256, mean: [0], std: [1] } },
    output: { name: 'output', shape: [-1, 136] },
    licence: LICENCE,
    source: `npm:${PACKAGE}@${PACKAGE_VERSION}/model/fr_landmark.onnx`
  }
]

/** A folder of resources/ in the source tree, the CLI bundle or the packaged app, if any. */
function resourceDir(name: string): string | null {
  if (process.env.UNVEIL_RESOURCES) return join(process.env.UNVEIL_RESOURCES, name)
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++, dir = dirname(dir)) {
    const candidate = join(dir, 'resources', name)
    if (existsSync(candidate)) return candidate
  }
  return null
}

export function resourceModelDir(): string | null {
  return resourceDir('models')
}

/** Where measured thresholds of shipped encoders live, one JSON file per encoder. */
export function resourceThresholdDir(): string | null {
  return resourceDir('thresholds')
}

/**
 * FAR thresholds measured for the encoders Unveil ships (resources/thresholds), by encoder
 * sha256: a fresh install without the research data scores with them, and a copy of the same
 * file registered under another id gets them too.
 */
export function shippedThresholds(): Map<string, ThresholdRecord> {
  const dir = resourceThresholdDir()
  if (!dir || !existsSync(dir)) return new Map()
  const records = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as ThresholdRecord)
  return new Map(records.filter((r) => typeof r.encoderSha256 === 'string').map((r) => [r.encoderSha256!, r]))
}

/** Models trained or built by Unveil itself and shipped in resources/models (manifest + ONNX). */
export function resourceModels(): { manifest: ModelManifest; path: string }[] {
  const dir = resourceModelDir()
  if (!dir) return []
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const manifest = validateManifest(JSON.parse(readFileSync(join(dir, f), 'utf8')))
      return { manifest, path: join(dir, manifest.file) }
    })
}

export function bundledModelDir(): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve(`${PACKAGE}/package.json`)), 'model')
}
