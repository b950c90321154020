// Running a derived graph: the workbench runs it in the inference worker (InferenceEngine); tests
// and benchmarks may run it on the calling thread with onnxruntime-node directly.
import { createRequire } from 'node:module'
import type * as OrtTypes from 'onnxruntime-node'
import type { WireTensor } from '../engine/engine-protocol'

export interface GraphRunner {
  run(feeds: Record<string, WireTensor>, outputs: string[]): Promise<Record<string, WireTensor>>
  release(): Promise<void>
}

/** A runner on the calling thread (CPU provider). */
export async function localRunner(bytes: Uint8Array, options: { threads?: number } = {}): Promise<GraphRunner> {
  const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof OrtTypes
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 3,
    ...(options.threads ? { intraOpNumThreads: options.threads } : {})
  })
  return {
    async run(feeds, outputs) {
      const f: Record<string, OrtTypes.Tensor> = {}
      for (const [k, t] of Object.entries(feeds)) f[k] = new ort.Tensor('float32', t.data, t.dims)
      const r = await session.run(f, outputs)
      return Object.fromEntries(Object.entries(r).map(([k, t]) => [k, { data: t.data as Float32Array, dims: [...t.dims] }]))
    },
    release: () => session.release()
  }
}
