// `npm run bench -- gradients`: time per latent of one search step (forward + backward through
// generator → encoder preprocessing → encoder → cosine, d/d latent) as Unveil runs it (the
// derived ONNX graph in the inference worker) and with PyTorch autograd on the same weights
// (channels_last, eval mode, gradients only w.r.t. the latent), in the same run.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveSearchPipeline, LATENT, TARGET, withFixedBatch } from '../src/core/autodiff/search-pipeline'
import { InferenceEngine } from '../src/core/engine/inference-engine'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { ModelRegistry } from '../src/core/models/model-registry'
import { SeededRandom } from '../src/core/random/seeded-random'
import { machineLine, markdownTable, median } from './bench-support'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const THREADS = Number(process.env.BENCH_THREADS ?? 2)
const BATCHES = (process.env.BENCH_BATCHES ?? '16,64').split(',').map(Number)
const GENERATORS = ['eigenface-celeba-utk-128', 'dcgan-celeba-utk-64']

interface StepTimes {
  wall: number[]
  cpu: number[]
}

function torchStep(generatorId: string, generatorPath: string, encoderPath: string, batch: number): StepTimes | string {
  const r = spawnSync('python3', [join(import.meta.dirname ?? '.', '../../bench/python/torch_pipeline_step.py'), generatorId, generatorPath, encoderPath, String(batch), String(REPEATS), String(THREADS)], { encoding: 'utf8' })
  if (r.status !== 0) return (r.stderr || r.error?.message || 'python3 failed').trim().split('\n').pop()!
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ms_per_step: number[]; cpu_ms_per_step: number[] }
  return { wall: out.ms_per_step, cpu: out.cpu_ms_per_step }
}

export async function gradientSpeed(): Promise<string> {
  const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-bench-')))
  const encoder = registry.get(DEFAULT_ENCODER_ID)
  const engine = new InferenceEngine({ providers: ['cpu'], threads: THREADS })
  const rows: string[][] = []
  const notes: string[] = []
  try {
    for (const id of GENERATORS) {
      const generator = registry.get(id)
      const graph = await deriveSearchPipeline({ bytes: new Uint8Array(readFileSync(generator.path)), manifest: generator.manifest }, { bytes: new Uint8Array(readFileSync(encoder.path)), manifest: encoder.manifest })
      const dim = generator.manifest.latentDim ?? 128
      for (const batch of BATCHES) {
        const rng = new SeededRandom(batch)
        const feeds = (): Record<string, { data: Float32Array; dims: number[] }> => ({
          [LATENT]: { data: Float32Array.from({ length: batch * dim }, () => rng.normal()), dims: [batch, dim] },
          [TARGET]: { data: Float32Array.from({ length: 512 }, () => rng.normal()), dims: [1, 512] }
        })
        // The graph as derived (any batch) and with the batch fixed (withFixedBatch), steps interleaved.
        const free = `bench:${id}:free`
        const fixed = `bench:${id}:${batch}`
        await engine.load(free, graph.bytes)
        await engine.load(fixed, withFixedBatch(graph.bytes, batch))
        const times: Record<string, StepTimes> = { [free]: { wall: [], cpu: [] }, [fixed]: { wall: [], cpu: [] } }
        for (let r = -1; r < REPEATS; r++) {
          for (const key of [free, fixed]) {
            const f = feeds()
            const t0 = performance.now()
            const c0 = process.cpuUsage()
            await engine.run(key, f, { outputs: [graph.latentGradient, graph.loss] })
            const c = process.cpuUsage(c0)
            if (r >= 0) {
              times[key].wall.push(performance.now() - t0)
              times[key].cpu.push((c.user + c.system) / 1000)
            }
          }
        }
        await engine.release(free)
        await engine.release(fixed)
        const theirs = torchStep(id, generator.path, encoder.path, batch)
        const u = median(times[fixed].wall) / batch
        const uFree = median(times[free].wall) / batch
        const uCpu = median(times[fixed].cpu) / batch
        const t = typeof theirs === 'string' ? null : median(theirs.wall) / batch
        const tCpu = typeof theirs === 'string' ? null : median(theirs.cpu) / batch
        if (typeof theirs === 'string') notes.push(`PyTorch baseline unavailable for ${id} batch ${batch}: ${theirs}`)
        const ratio = (x: number, y: number | null): string => (y === null ? '—' : (x / y).toFixed(2))
        rows.push([id, String(batch), u.toFixed(1), uFree.toFixed(1), t === null ? '—' : t.toFixed(1), ratio(u, t), ratio(uFree, t), uCpu.toFixed(1), tCpu === null ? '—' : tCpu.toFixed(1), ratio(uCpu, tCpu)])
      }
    }
  } finally {
    await engine.close()
  }
  return [
    '## Gradient step speed (generator + encoder, forward + backward w.r.t. the latent)',
    '',
    `${machineLine()} ${THREADS} threads for both; medians of ${REPEATS} steps after one warm-up; encoder ${DEFAULT_ENCODER_ID}. CPU: the process's user + system time over the step, all threads (PyTorch's OpenMP threads spin-wait between ops, which counts).`,
    '',
    markdownTable(['generator', 'batch', 'Unveil ms / latent (batch fixed)', 'Unveil ms / latent (any batch)', 'PyTorch autograd ms / latent', 'ratio, batch fixed (≤ 1: Unveil no slower)', 'ratio, any batch', 'Unveil CPU ms / latent (batch fixed)', 'PyTorch CPU ms / latent', 'CPU ratio'], rows),
    ...(notes.length ? ['', ...notes] : [])
  ].join('\n')
}
