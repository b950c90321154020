// Speed of the bundled encoder per face at batch 1 and 16: as shipped, with only the batch freed,
// and as the issue-2 patch loads it (batch freed, denormal weights flushed; no graph rewrites:
// those are measured by the pipeline bench). Variants are interleaved and repeated so that
// machine noise hits them alike; medians are reported.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InferenceEngine } from '../src/core/engine/inference-engine'
import { ModelRegistry } from '../src/core/models/model-registry'
import { patchModel } from '../src/core/models/onnx-patch'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { machineLine, markdownTable, median } from './bench-support'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 7)
const FACES = 64

interface Variant {
  label: string
  engine: InferenceEngine
  key: string
  /** Largest batch the variant can take. */
  maxBatch: number
}

export async function encoderSpeed(): Promise<string> {
  const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-bench-')))
  const shipped = registry.readModel(registry.get(DEFAULT_ENCODER_ID))
  // Denormal-keeping variants run without the run-time flush too, as a plain loader would.
  const plain = new InferenceEngine({ providers: ['cpu'], denormalAsZero: false })
  const unveil = new InferenceEngine({ providers: ['cpu'] })
  await plain.load('shipped', shipped)
  await plain.load('freed', patchModel(shipped, 'fr_feature', { flushDenormals: false, rewrites: false }).bytes)
  await unveil.load('unveil', patchModel(shipped, 'fr_feature', { rewrites: false }).bytes)
  const variants: Variant[] = [
    { label: 'as shipped (batch fixed at 1, denormals kept)', engine: plain, key: 'shipped', maxBatch: 1 },
    { label: 'batch freed, denormals kept', engine: plain, key: 'freed', maxBatch: 256 },
    { label: 'batch freed, denormals flushed (as Unveil loads it)', engine: unveil, key: 'unveil', maxBatch: 256 }
  ]
  const samples = Array.from({ length: FACES }, (_, s) => Float32Array.from({ length: 3 * 112 * 112 }, (_, i) => Math.sin(i * 0.37 + s) * 0.9))
  const input = { name: 'input', sampleDims: [3, 112, 112], samples }
  const times = new Map<string, number[]>()
  for (let rep = 0; rep <= REPEATS; rep++) {
    for (const batch of [1, 16]) {
      for (const v of variants) {
        const effective = Math.min(batch, v.maxBatch)
        const t0 = performance.now()
        await v.engine.runBatched(v.key, input, 'output', { maxBatch: effective })
        const ms = (performance.now() - t0) / FACES
        if (rep === 0) continue // warm-up round
        const key = `${v.label}|${batch}${effective !== batch ? ' (runs 16 × 1)' : ''}`
        times.set(key, [...(times.get(key) ?? []), ms])
      }
    }
  }
  await plain.close()
  await unveil.close()
  const rows = [...times].map(([key, list]) => {
    const [label, batch] = key.split('|')
    const ms = median(list)
    return [label, batch, ms.toFixed(2), (1000 / ms).toFixed(0)]
  })
  return [
    `### Bundled encoder (${DEFAULT_ENCODER_ID}) speed per face`,
    '',
    machineLine(),
    `${FACES} faces per measurement, median of ${REPEATS} interleaved repeats, ONNX Runtime CPU provider, default threads.`,
    '',
    markdownTable(['model as loaded', 'batch', 'ms / face', 'faces / s'], rows)
  ].join('\n')
}
