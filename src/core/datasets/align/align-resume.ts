import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { printable } from '../../../shared/printable'
import { ValidationError, isObject } from '../../../shared/validation'
import { readAlignedManifest, type AlignedDatasetManifest, type AlignedItem } from './aligned-manifest'

type ModelRef = AlignedDatasetManifest['detector']

/** What an earlier run into the same output folder left that this run may keep. */
export interface ResumeState {
  /** The first run's start, kept across resumed runs. */
  createdAt: string
  /** The earlier crop of `source`, when its photo is unchanged and the crop file is still there. */
  earlierCrop(source: string, sourceSha256: string, file: string): AlignedItem | undefined
}

/**
 * Step 2: reads the manifest of an earlier run into `outDir`, refusing one made from other
 * images or with other models: its crops would not be this run's.
 */
export function resumeFrom(outDir: string, imagesDir: string, detector: ModelRef, landmarker: ModelRef): ResumeState {
  const previous = readAlignedManifest(outDir)
  if (previous) {
    if (previous.source !== imagesDir) {
      throw new ValidationError(`${outDir} holds crops of ${printable(previous.source)}, not ${imagesDir}; choose another output folder`)
    }
    if (previous.detector?.sha256 !== detector.sha256 || previous.landmarker?.sha256 !== landmarker.sha256) {
      throw new ValidationError(`${outDir} was aligned with other detector or landmark models; choose another output folder`)
    }
  }
  // A hand-edited or damaged manifest may hold anything: only well-formed entries can be kept.
  const earlierItems = new Map((previous?.items ?? []).filter((it) => isObject(it) && typeof it.source === 'string').map((it) => [it.source, it]))
  return {
    createdAt: previous?.createdAt ?? new Date().toISOString(),
    earlierCrop(source, sourceSha256, file) {
      const earlier = earlierItems.get(source)
      return earlier && earlier.sourceSha256 === sourceSha256 && earlier.file === file && existsSync(join(outDir, earlier.file)) ? earlier : undefined
    }
  }
}
