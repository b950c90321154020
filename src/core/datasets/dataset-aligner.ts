import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import type { InferenceEngine } from '../engine/inference-engine'
import type { PreparedModel } from '../models/model-loader'
import { alignImage, type AlignImageContext } from './align/align-image'
import { resumeFrom } from './align/align-resume'
import { listSources } from './align/align-sources'
import { buildManifest, writeAlignedManifest, type AlignedDatasetManifest, type Outcome } from './align/aligned-manifest'
import { CropWriter } from './align/crop-writer'

// Dataset alignment, in named steps (each in align/): list the sources, resume from an earlier
// run's manifest, align each image, write its crop, write the manifest (at checkpoints and at
// the end). This module runs them; it is also the entry point for what they export.

export {
  ALIGNED_DATASET_FORMAT,
  ALIGNED_DATASET_VERSION,
  MANIFEST_NAME,
  manifestJson,
  readAlignedManifest,
  type AlignFailure,
  type AlignedDatasetManifest,
  type AlignedItem
} from './align/aligned-manifest'
export { cropNames } from './align/align-sources'
export { detectWithContext, padImage, subjectFace } from './align/subject-face'

export interface AlignProgress {
  /** Images finished so far in this run (aligned, failed or skipped). */
  done: number
  total: number
  aligned: number
  failed: number
  /** Images already aligned by an earlier run into the same folder. */
  skipped: number
}

export interface AlignDatasetOptions {
  engine: InferenceEngine
  detector: PreparedModel
  landmarker: PreparedModel
  inDir: string
  outDir: string
  /** Only the first N images (in the stable walk order). */
  limit?: number
  /** Images in flight at once: decoding and PNG encoding overlap inference (default 2). */
  concurrency?: number
  /** Write the manifest after every this many images (default 500). */
  checkpointEvery?: number
  signal?: AbortSignal
  onProgress?: (p: AlignProgress) => void
}

/**
 * Detects the subject's face (see subjectFace) in every image of a dataset and writes its ArcFace 112x112 crop as
 * PNG under `outDir` (mirroring the source paths), with `manifest.json` describing each crop.
 * Images that cannot be read or show no face are listed as failures, never dropped. Re-running
 * into the same folder skips images whose crop exists and whose source bytes are unchanged, so
 * an interrupted run continues where its last checkpoint left off.
 */
export async function alignDataset(options: AlignDatasetOptions): Promise<AlignedDatasetManifest> {
  const { engine, detector, landmarker } = options
  const outDir = resolve(options.outDir)
  const { layout, relPaths, crops } = listSources(options.inDir, outDir, options.limit)

  const detectorRef = { id: detector.entry.manifest.id, sha256: detector.entry.manifest.sha256 }
  const landmarkerRef = { id: landmarker.entry.manifest.id, sha256: landmarker.entry.manifest.sha256 }
  const resume = resumeFrom(outDir, layout.imagesDir, detectorRef, landmarkerRef)
  mkdirSync(outDir, { recursive: true })

  const head = { source: layout.imagesDir, layout: layout.kind, detector: detectorRef, landmarker: landmarkerRef, createdAt: resume.createdAt }
  const results: (Outcome | undefined)[] = new Array(relPaths.length)
  const writeManifest = (): AlignedDatasetManifest => writeAlignedManifest(outDir, buildManifest(head, results))
  const ctx: AlignImageContext = { engine, detector, landmarker, layout, resume, crops: new CropWriter(outDir) }

  const progress: AlignProgress = { done: 0, total: relPaths.length, aligned: 0, failed: 0, skipped: 0 }
  const checkpointEvery = Math.max(1, options.checkpointEvery ?? 500)
  let sinceCheckpoint = 0
  const failure = await runPool(relPaths.length, options, async (i, signal) => {
    const r = await alignImage(ctx, relPaths[i], crops[i], signal)
    results[i] = r
    progress.done++
    if ('failure' in r) progress.failed++
    else {
      progress.aligned++
      if (r.skipped) progress.skipped++
    }
    options.onProgress?.({ ...progress })
    if (++sinceCheckpoint >= checkpointEvery) {
      sinceCheckpoint = 0
      writeManifest()
    }
  })
  // Whatever finished is recorded even when the run stops early, so a rerun resumes from here.
  const final = writeManifest()
  if (failure) throw failure.error
  return final
}

/**
 * Runs `task` on indices 0..count-1 in order with `concurrency` workers. The first error stops
 * the other workers after their current task and is returned (not thrown), so the caller can
 * record what finished first.
 */
async function runPool(
  count: number,
  options: Pick<AlignDatasetOptions, 'concurrency' | 'signal'>,
  task: (index: number, signal: AbortSignal) => Promise<void>
): Promise<{ error: unknown } | null> {
  const stop = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < count) {
      signal.throwIfAborted()
      await task(next++, signal)
    }
  }
  const concurrency = Math.max(1, Math.min(16, Math.floor(options.concurrency ?? 2)))
  let firstError: { error: unknown } | null = null
  await Promise.all(
    Array.from({ length: concurrency }, () =>
      worker().catch((error: unknown) => {
        // The first error stops the other workers after their current image; theirs are echoes.
        firstError ??= { error }
        stop.abort(error)
      })
    )
  )
  return firstError
}
