import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ValidationError, isObject, jsonErrorMessage } from '../../../shared/validation'
import { writeFileAtomic } from '../../fs/atomic-write'
import { ARCFACE_112 } from '../../imaging/alignment'
import { softwareVersion } from '../../env/software-version'
import type { DatasetLayoutKind } from '../dataset-layout'

export const ALIGNED_DATASET_FORMAT = 'unveil-aligned-dataset'
export const ALIGNED_DATASET_VERSION = 1
export const MANIFEST_NAME = 'manifest.json'
export const ALIGNED_SIZE: [number, number] = [112, 112]

export interface AlignedItem {
  /** The crop, relative to the output folder ('/' separated). */
  file: string
  /** The photo, relative to the manifest's `source` folder ('/' separated); `file` mirrors it. */
  source: string
  sourceSha256: string
  identity: string | null
  /** Five points (eyes, nose tip, mouth corners) in source image coordinates. */
  landmarks: [number, number][]
  box: [number, number, number, number]
  score: number
  /** Faces detected in the photo; the one aligned is chosen by subjectFace. */
  faces: number
  /** True when the face was found only after a border was added to the photo (see detectWithContext). */
  padded: boolean
}

export interface AlignFailure {
  source: string
  reason: string
}

/**
 * What an aligned dataset folder holds. Written at checkpoints during a run as well as at the
 * end: a run is complete when counts.aligned + counts.failed === counts.images.
 */
export interface AlignedDatasetManifest {
  format: typeof ALIGNED_DATASET_FORMAT
  version: typeof ALIGNED_DATASET_VERSION
  /**
   * The folder the images are in (absolute): --in, or its images/ subfolder when --in is a
   * dataset root. Item sources are relative to it, so join(source, item.source) is the photo.
   */
  source: string
  layout: DatasetLayoutKind
  detector: { id: string; sha256: string }
  landmarker: { id: string; sha256: string }
  alignment: { size: [number, number]; points: [number, number][] }
  createdAt: string
  updatedAt: string
  softwareVersion: string
  counts: { images: number; aligned: number; failed: number }
  items: AlignedItem[]
  failures: AlignFailure[]
}

/** What aligning one image came to: a crop (possibly kept from an earlier run) or a failure. */
export type Outcome = { item: AlignedItem; skipped: boolean } | { failure: AlignFailure }

/** The parts of a manifest fixed for the whole run. */
export type ManifestHead = Pick<AlignedDatasetManifest, 'source' | 'layout' | 'detector' | 'landmarker' | 'createdAt'>

/** Reads the manifest of an earlier run, or null when there is none. */
export function readAlignedManifest(outDir: string): AlignedDatasetManifest | null {
  const file = join(outDir, MANIFEST_NAME)
  if (!existsSync(file)) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ValidationError(`${file} is not valid JSON (${jsonErrorMessage(err)}); remove it or choose another output folder`)
  }
  if (!isObject(parsed) || parsed.format !== ALIGNED_DATASET_FORMAT || !Array.isArray(parsed.items) || typeof parsed.source !== 'string') {
    throw new ValidationError(`${file} is not an ${ALIGNED_DATASET_FORMAT} manifest; choose another output folder`)
  }
  if (parsed.version !== ALIGNED_DATASET_VERSION) {
    throw new ValidationError(
      `${file} is version ${JSON.stringify(parsed.version)?.slice(0, 40)} of the format; this software writes version ${ALIGNED_DATASET_VERSION}`
    )
  }
  return parsed as unknown as AlignedDatasetManifest
}

/**
 * Serialises with one item per line: a 10,000-image manifest stays a few MB, diffable, and
 * readable with line tools, where full pretty-printing would take ten times the lines.
 */
export function manifestJson(m: AlignedDatasetManifest): string {
  const { items, failures, ...head } = m
  const list = (xs: unknown[]): string => (xs.length ? `[\n${xs.map((x) => `    ${JSON.stringify(x)}`).join(',\n')}\n  ]` : '[]')
  // Number arrays (sizes, template points) on one line each.
  const compactHead = JSON.stringify(head, null, 2).replace(/\[[\d\s.,\-[\]e+]*\]/g, (m) => {
    try {
      return JSON.stringify(JSON.parse(m))
    } catch {
      return m
    }
  })
  return `${compactHead.slice(0, -2)},\n  "items": ${list(items)},\n  "failures": ${list(failures)}\n}\n`
}

/** The manifest of the images finished so far (`results` has a slot per image, empty while pending). */
export function buildManifest(head: ManifestHead, results: readonly (Outcome | undefined)[]): AlignedDatasetManifest {
  const items: AlignedItem[] = []
  const failures: AlignFailure[] = []
  for (const r of results) {
    if (!r) continue
    if ('item' in r) items.push(r.item)
    else failures.push(r.failure)
  }
  return {
    format: ALIGNED_DATASET_FORMAT,
    version: ALIGNED_DATASET_VERSION,
    source: head.source,
    layout: head.layout,
    detector: head.detector,
    landmarker: head.landmarker,
    alignment: { size: ALIGNED_SIZE, points: ARCFACE_112 },
    createdAt: head.createdAt,
    updatedAt: new Date().toISOString(),
    softwareVersion: softwareVersion(),
    counts: { images: results.length, aligned: items.length, failed: failures.length },
    items,
    failures
  }
}

/** Writes `<outDir>/manifest.json` (atomically, so a checkpoint never leaves half a manifest). */
export function writeAlignedManifest(outDir: string, manifest: AlignedDatasetManifest): AlignedDatasetManifest {
  writeFileAtomic(join(outDir, MANIFEST_NAME), manifestJson(manifest))
  return manifest
}
