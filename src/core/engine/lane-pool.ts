// Worker lanes for data-parallel batches: each lane is its own worker with a one-thread
// ONNX Runtime session of the model, and a batch is cut into chunks that idle lanes take in
// turn. Taking chunks (rather than a fixed half each) lets the other lane finish the work when
// one lane's core is busy with something else.
import type { InferenceEngine } from './inference-engine'

export interface LaneInput {
  name: string
  sampleDims: number[]
  samples: Float32Array[]
}

export class LanePool {
  private readonly lanes: InferenceEngine[]
  private readonly ready = new Map<string, Promise<void>>()

  constructor(count: number, makeLane: () => InferenceEngine) {
    this.lanes = Array.from({ length: count }, makeLane)
  }

  get size(): number {
    return this.lanes.length
  }

  /** Loads the model into every lane once (the bytes are copied to each worker). */
  load(key: string, bytes: () => Promise<Uint8Array>): Promise<void> {
    let p = this.ready.get(key)
    if (!p) {
      p = bytes().then(async (b) => {
        await Promise.all(this.lanes.map((l) => l.load(key, b)))
      })
      this.ready.set(key, p)
      p.catch(() => this.ready.delete(key))
    }
    return p
  }

  async release(key: string): Promise<void> {
    if (!this.ready.delete(key)) return
    await Promise.all(this.lanes.map((l) => l.release(key)))
  }

  /** Chunk size: about four chunks per lane, so a slow lane holds up at most a quarter of its share. */
  chunkOf(samples: number, maxBatch: number): number {
    return Math.max(1, Math.min(maxBatch, Math.ceil(samples / (4 * this.lanes.length))))
  }

  /** Runs the samples in chunks on the lanes; one output row per sample, in input order. */
  async run(
    key: string,
    input: LaneInput,
    output: string,
    options: { maxBatch: number; signal?: AbortSignal; onBatch?: (done: number, total: number) => void }
  ): Promise<Float32Array[]> {
    const total = input.samples.length
    const chunk = this.chunkOf(total, options.maxBatch)
    const results: Float32Array[] = new Array(total)
    let next = 0
    let done = 0
    await Promise.all(
      this.lanes.map(async (lane) => {
        while (next < total) {
          const start = next
          next += chunk
          try {
            const rows = await lane.runBatched(key, { ...input, samples: input.samples.slice(start, start + chunk) }, output, {
              maxBatch: chunk,
              signal: options.signal
            })
            rows.forEach((r, i) => (results[start + i] = r))
            done += rows.length
            options.onBatch?.(done, total)
          } catch (err) {
            next = total // the other lanes stop taking chunks
            throw err
          }
        }
      })
    )
    return results
  }

  async close(): Promise<void> {
    await Promise.all(this.lanes.map((l) => l.close()))
  }
}
