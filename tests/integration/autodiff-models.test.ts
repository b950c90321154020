// Every bundled and shared encoder and every shipped generator and decoder: the derived gradient
// graph passes the finite-difference check, and the encoders' gradients match PyTorch autograd on
// the same weights (float64) when torch is importable.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GradientGraphCache } from '../../src/core/autodiff/gradient-cache'
import { deriveGradientGraph } from '../../src/core/autodiff/gradient-graph'
import { localRunner } from '../../src/core/autodiff/graph-runner'
import { weightedSumLoss } from '../../src/core/autodiff/losses'
import { checkModelGradients } from '../../src/core/autodiff/model-gradient-check'
import { DEFAULT_ENCODER_ID } from '../../src/core/models/bundled-models'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { dataDirOrSkip, sharedEncoder } from '../helpers/data'

const ROOT = join(__dirname, '../..')
const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-autodiff-lib-')))
const cache = new GradientGraphCache(null)
const runner = async (_key: string, bytes: Uint8Array) => localRunner(bytes, { threads: 2 })
const data = dataDirOrSkip('gradient checks of the shared encoders')
const shared = (file: string): string | null => (data ? sharedEncoder(data, file) : null)

const torchProbe = spawnSync('python3', ['-c', 'import torch, onnxruntime, onnx'], { encoding: 'utf8' })
const torch = torchProbe.status === 0
if (!torch) console.log(`SKIP PyTorch autograd comparison: python3 cannot import torch/onnxruntime/onnx (${(torchProbe.stderr || torchProbe.error?.message || '').trim().split('\n').pop()})`)

const MODELS: { name: string; model: () => string | null }[] = [
  { name: DEFAULT_ENCODER_ID, model: () => DEFAULT_ENCODER_ID },
  { name: 'mobileface-v2 (shared)', model: () => shared('mobileface-v2.onnx') },
  { name: 'mobilefacenet-foamliu (shared)', model: () => shared('mobilefacenet-foamliu.onnx') },
  { name: 'eigenface-celeba-utk-128', model: () => 'eigenface-celeba-utk-128' },
  { name: 'dcgan-celeba-utk-64', model: () => 'dcgan-celeba-utk-64' },
  { name: 'dfd-fr-feature-64', model: () => 'dfd-fr-feature-64' }
]

describe('gradient check of every shipped and shared model', () => {
  for (const { name, model } of MODELS) {
    const m = model()
    it.skipIf(!m)(`${name} passes against finite differences`, async () => {
      const r = await checkModelGradients({ model: m!, directions: 4, seed: 1 }, { registry, cache, runner })
      console.log(`${name}: input ${r.input} [${r.inputDims.join(',')}], ${r.directions} directions, worst rel. error ${r.worst.toExponential(2)}, ${(r.deriveSeconds + r.seconds).toFixed(1)} s (ops ${r.ops.join(',')})`)
      expect(r.passed).toBe(true)
    })
  }
})

const ENCODERS: { name: string; path: () => string | null; input: string; output: string }[] = [
  { name: DEFAULT_ENCODER_ID, path: () => registry.get(DEFAULT_ENCODER_ID).path, input: 'input', output: 'output' },
  { name: 'mobileface-v2', path: () => shared('mobileface-v2.onnx'), input: 'data', output: 'embedding' },
  { name: 'mobilefacenet-foamliu', path: () => shared('mobilefacenet-foamliu.onnx'), input: 'input0', output: 'output0' }
]

describe.skipIf(!torch)('encoder gradients vs PyTorch autograd on the same weights', () => {
  for (const { name, path, input, output } of ENCODERS) {
    const file = path()
    it.skipIf(!file)(name, async () => {
      const graph = await deriveGradientGraph(new Uint8Array(readFileSync(file!)), { label: name, loss: weightedSumLoss() })
      const derived = join(mkdtempSync(join(tmpdir(), 'unveil-grad-')), 'derived.onnx')
      writeFileSync(derived, graph.bytes)
      const r = spawnSync('python3', [join(ROOT, 'tests/integration/python/autodiff_vs_torch.py'), file!, derived, input, output, graph.gradients[input]], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' } })
      expect(r.status, r.stderr).toBe(0)
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rel_l2: number; torch32_rel_l2: number; cosine: number }
      console.log(`${name}: derived graph vs float64 autograd rel. L2 ${result.rel_l2.toExponential(2)} (float32 autograd vs float64: ${result.torch32_rel_l2.toExponential(2)})`)
      expect(result.rel_l2).toBeLessThan(1e-4)
    })
  }
})
