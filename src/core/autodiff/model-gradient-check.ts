// `unveil gradients check`: derive the gradient graph of any ONNX file (or registered model) and
// compare it with finite differences. The model's manifest, when one is known, gives the input
// values a realistic range (an encoder's pixel normalisation, a generator's latent prior).
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import type { ModelManifest } from '../../shared/types'
import { validateManifest } from '../../shared/validation'
import type { InferenceEngine } from '../engine/inference-engine'
import { sha256Hex } from '../fs/sha256'
import { resourceModelDir } from '../models/bundled-models'
import type { ModelRegistry } from '../models/model-registry'
import { checkGradientGraph, type GradientCheckReport } from './gradient-check'
import type { GradientGraphCache } from './gradient-cache'
import type { GraphRunner } from './graph-runner'
import { weightedSumLoss } from './losses'

export interface ModelGradientCheckRequest {
  /** An ONNX file, or the id of a registered model. */
  model: string
  input?: string
  directions?: number
  seed?: number
  batch?: number
  /** A manifest for an unregistered file (its input normalisation is used). */
  manifest?: unknown
}

export interface ModelGradientCheckResult extends GradientCheckReport {
  model: string
  sha256: string
  /** Where the input range came from: a registered model, a given or example manifest, or none. */
  manifest: string | null
  ops: string[]
  forwardNodes: number
  backwardNodes: number
  deriveSeconds: number
}

export type RunnerFactory = (key: string, bytes: Uint8Array) => Promise<GraphRunner>

/** Runs derived graphs in the inference worker. */
export function engineRunnerFactory(engine: InferenceEngine): RunnerFactory {
  return async (key, bytes) => {
    await engine.load(key, bytes)
    return {
      run: async (feeds, outputs) => (await engine.run(key, feeds, { outputs })).outputs,
      release: () => engine.release(key)
    }
  }
}

function exampleManifest(file: string): ModelManifest | null {
  const models = resourceModelDir()
  if (!models) return null
  const dir = join(dirname(models), 'manifests')
  if (!existsSync(dir)) return null
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    try {
      const m = validateManifest(JSON.parse(readFileSync(join(dir, f), 'utf8')))
      if (m.file === file) return m
    } catch {
      // Not a manifest this check can use.
    }
  }
  return null
}

export async function checkModelGradients(
  request: ModelGradientCheckRequest,
  deps: { registry: ModelRegistry; cache: GradientGraphCache; runner: RunnerFactory }
): Promise<ModelGradientCheckResult> {
  let bytes: Uint8Array
  let label: string
  let manifest: ModelManifest | null = null
  let manifestSource: string | null = null
  const registered = deps.registry.list().find((e) => e.manifest.id === request.model)
  if (registered) {
    bytes = deps.registry.readModel(registered)
    label = `model '${registered.manifest.id}'`
    manifest = registered.manifest
    manifestSource = `registered model ${registered.manifest.id}`
  } else {
    if (!existsSync(request.model)) throw new Error(`no ONNX file or registered model '${request.model}'`)
    bytes = new Uint8Array(readFileSync(request.model))
    label = `model ${basename(request.model)}`
  }
  const sha256 = sha256Hex(bytes)
  if (!manifest && request.manifest !== undefined) {
    manifest = validateManifest(request.manifest)
    manifestSource = 'given manifest'
  }
  if (!manifest) {
    const bySha = deps.registry.list().find((e) => e.manifest.sha256 === sha256)
    if (bySha) {
      manifest = bySha.manifest
      manifestSource = `registered model ${bySha.manifest.id}`
    }
  }
  if (!manifest && !registered) {
    const example = exampleManifest(basename(request.model))
    if (example) {
      manifest = example
      manifestSource = `example manifest ${example.id}`
    }
  }
  const input = request.input ?? manifest?.input.name
  const t0 = performance.now()
  const graph = await deps.cache.get(bytes, { label, loss: weightedSumLoss(), wrt: input ? [input] : undefined }, sha256)
  const deriveSeconds = (performance.now() - t0) / 1000
  const key = `gradients:${sha256}:${graph.rulesetVersion}:${input ?? ''}`
  const runner = await deps.runner(key, graph.bytes)
  try {
    const isImage = manifest?.input.layout === 'NCHW' && manifest.input.normalisation
    const report = await checkGradientGraph(graph, runner, {
      input,
      directions: request.directions,
      seed: request.seed,
      batch: request.batch,
      pixelNormalisation: isImage ? manifest!.input.normalisation : undefined,
      distribution: manifest?.role === 'generator' || manifest?.role === 'decoder' ? 'normal' : undefined
    })
    return { ...report, model: label, sha256, manifest: manifestSource, ops: graph.ops, forwardNodes: graph.forwardNodes, backwardNodes: graph.backwardNodes, deriveSeconds }
  } finally {
    await runner.release()
  }
}
