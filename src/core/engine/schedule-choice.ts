// Which schedule a batched call runs on: one session using ONNX Runtime's intra-op threads
// ('intra'), or one-thread sessions in parallel worker lanes, each taking chunks of the batch
// ('lanes'). Neither wins everywhere: on a quiet 2-core machine the lanes ran 1.85x the intra
// schedule, on a shared one 0.57x (docs/benchmarks.md, issue 10). So the choice is measured, per
// model and call size, while the calls run, and re-measured now and then as the load changes.

export type Schedule = 'intra' | 'lanes'

/** 'auto': measured choice; 'on' / 'off': always / never the lanes (UNVEIL_DATA_PARALLEL). */
export type DataParallelSetting = 'auto' | 'on' | 'off'

export function dataParallelFromEnv(env: NodeJS.ProcessEnv = process.env): DataParallelSetting {
  const v = (env.UNVEIL_DATA_PARALLEL ?? 'auto').trim().toLowerCase()
  if (v === 'on' || v === '1') return 'on'
  if (v === 'off' || v === '0') return 'off'
  return 'auto'
}

/** Every EXPLORE-th call of a settled bucket runs the other schedule, to notice a load change. */
const EXPLORE = 16
/** Weight of the newest measurement in a schedule's running estimate. */
const ALPHA = 0.4

interface Estimate {
  /** Runs seen; the first of each schedule warms its sessions and is not counted. */
  runs: number
  msPerSample: number | null
}

interface Bucket {
  calls: number
  intra: Estimate
  lanes: Estimate
}

export interface ScheduleState {
  bucket: string
  calls: number
  intraMsPerSample: number | null
  lanesMsPerSample: number | null
  choice: Schedule
}

export class ScheduleChooser {
  private readonly buckets = new Map<string, Bucket>()

  /** Calls of similar size share a bucket (powers of two), as their per-sample cost does. */
  private bucketOf(key: string, samples: number): string {
    return `${key}@${2 ** Math.ceil(Math.log2(Math.max(1, samples)))}`
  }

  private get(bucket: string): Bucket {
    let b = this.buckets.get(bucket)
    if (!b) {
      b = { calls: 0, intra: { runs: 0, msPerSample: null }, lanes: { runs: 0, msPerSample: null } }
      this.buckets.set(bucket, b)
    }
    return b
  }

  private static best(b: Bucket): Schedule {
    return b.lanes.msPerSample! < b.intra.msPerSample! ? 'lanes' : 'intra'
  }

  choose(key: string, samples: number): Schedule {
    const b = this.get(this.bucketOf(key, samples))
    b.calls++
    // Calibration: alternate until both schedules have a measurement past their warm-up run.
    if (b.intra.msPerSample === null || b.lanes.msPerSample === null) {
      if (b.intra.msPerSample === null && b.lanes.msPerSample === null) return b.intra.runs <= b.lanes.runs ? 'intra' : 'lanes'
      return b.intra.msPerSample === null ? 'intra' : 'lanes'
    }
    const best = ScheduleChooser.best(b)
    if (b.calls % EXPLORE === 0) return best === 'intra' ? 'lanes' : 'intra'
    return best
  }

  record(key: string, samples: number, schedule: Schedule, ms: number): void {
    const e = this.get(this.bucketOf(key, samples))[schedule]
    e.runs++
    if (e.runs === 1) return
    const m = ms / samples
    e.msPerSample = e.msPerSample === null ? m : ALPHA * m + (1 - ALPHA) * e.msPerSample
  }

  /** Forgets a model's measurements (released or reloaded). */
  forget(key: string): void {
    for (const bucket of [...this.buckets.keys()]) if (bucket.startsWith(`${key}@`)) this.buckets.delete(bucket)
  }

  state(): ScheduleState[] {
    return [...this.buckets.entries()].map(([bucket, b]) => ({
      bucket,
      calls: b.calls,
      intraMsPerSample: b.intra.msPerSample,
      lanesMsPerSample: b.lanes.msPerSample,
      choice: b.intra.msPerSample === null || b.lanes.msPerSample === null ? 'intra' : ScheduleChooser.best(b)
    }))
  }
}
