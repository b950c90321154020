import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, extname, join, resolve } from 'node:path'
import type { DetectedFace } from '../../shared/types'
import { ValidationError, isObject } from '../../shared/validation'
import type { InferenceEngine } from '../engine/inference-engine'
import { writeFileAtomic } from '../fs/atomic-write'
import { sha256Hex } from '../fs/sha256'
import { alignFace, ARCFACE_112 } from '../imaging/alignment'
import { findFaces } from '../faces/face-finder'
import { decodeImage, encodePng, ImageDecodeError, type RgbImage } from '../imaging/image-io'
import type { PreparedModel } from '../models/model-loader'
import { softwareVersion } from '../env/software-version'
import { detectLayout, isWithin, walkImages, type DatasetLayoutKind } from './dataset-layout'

export const ALIGNED_DATASET_FORMAT = 'unveil-aligned-dataset'
export const ALIGNED_DATASET_VERSION = 1
export const MANIFEST_NAME = 'manifest.json'
const ALIGNED_SIZE: [number, number] = [112, 112]

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

type Outcome = { item: AlignedItem; skipped: boolean } | { failure: AlignFailure }

const round2 = (v: number): number => Math.round(v * 100) / 100

/**
 * Crop names: the source path with a .png extension, or the full source name plus .png when
 * two sources in one folder would otherwise share a crop (a.jpg beside a.png).
 */
export function cropNames(relPaths: string[]): string[] {
  const stem = (rel: string): string => rel.slice(0, rel.length - extname(rel).length)
  const uses = new Map<string, number>()
  for (const rel of relPaths) uses.set(stem(rel).toLowerCase(), (uses.get(stem(rel).toLowerCase()) ?? 0) + 1)
  return relPaths.map((rel) => ((uses.get(stem(rel).toLowerCase()) ?? 0) > 1 ? `${rel}.png` : `${stem(rel)}.png`))
}

/** A copy of `img` with a black border of `pad` pixels on every side. */
export function padImage(img: RgbImage, pad: number): RgbImage {
  const width = img.width + 2 * pad
  const height = img.height + 2 * pad
  const data = new Uint8Array(width * height * 3)
  const row = img.width * 3
  for (let y = 0; y < img.height; y++) data.set(img.data.subarray(y * row, (y + 1) * row), ((y + pad) * width + pad) * 3)
  return { data, width, height }
}

/** Border added, as a fraction of the longer side, when a first detection finds nothing. */
const RETRY_PAD = 0.3
/** Smallest face a retry accepts, as a fraction of the photo's shorter side. */
const RETRY_MIN_FACE = 0.25

/**
 * Faces of `img`, largest first, and whether they were found only with a border added.
 * Pre-cropped datasets (CelebA aligned, UTKFace) frame the face so tightly that the detector
 * misses some (12 of the first 500 of each, all found again once the photo had a 30% border),
 * so a miss is retried that way and the result mapped back to the photo's own coordinates.
 * The retry exists for faces that fill the frame, so it keeps only large ones: in the CelebA
 * misses it also "found" a 12-pixel face in a photo whose face is hidden under a hat.
 */
export async function detectWithContext(
  engine: InferenceEngine,
  detector: PreparedModel,
  landmarker: PreparedModel,
  img: RgbImage,
  signal?: AbortSignal
): Promise<{ faces: DetectedFace[]; padded: boolean }> {
  const faces = await findFaces(engine, detector, landmarker, img, signal)
  if (faces.length > 0) return { faces, padded: false }
  const pad = Math.round(Math.max(img.width, img.height) * RETRY_PAD)
  const minSide = RETRY_MIN_FACE * Math.min(img.width, img.height)
  const clampX = (v: number): number => Math.min(img.width, Math.max(0, v - pad))
  const clampY = (v: number): number => Math.min(img.height, Math.max(0, v - pad))
  const found = await findFaces(engine, detector, landmarker, padImage(img, pad), signal)
  return {
    faces: found
      .filter((f) => Math.min(f.box[2] - f.box[0], f.box[3] - f.box[1]) >= minSide)
      .map((f) => ({
        box: [clampX(f.box[0]), clampY(f.box[1]), clampX(f.box[2]), clampY(f.box[3])],
        score: f.score,
        landmarks: f.landmarks.map(([x, y]) => [x - pad, y - pad] as [number, number])
      })),
    padded: true
  }
}

/**
 * The face a dataset photo is about: the largest of those covering the photo's centre, or the
 * largest of all when none does. Face datasets centre their subject (LFW by construction,
 * CelebA and UTKFace by cropping); taking the largest face alone picked a bystander or a false
 * detection in about 17 of 9,525 LFW photos (Elena_de_Chavez_0001 gave Hugo Chavez).
 */
export function subjectFace(faces: DetectedFace[], width: number, height: number): DetectedFace | undefined {
  const cx = width / 2
  const cy = height / 2
  const area = (f: DetectedFace): number => (f.box[2] - f.box[0]) * (f.box[3] - f.box[1])
  const central = faces.filter((f) => f.box[0] <= cx && cx <= f.box[2] && f.box[1] <= cy && cy <= f.box[3])
  const pool = central.length > 0 ? central : faces
  return pool.reduce<DetectedFace | undefined>((best, f) => (!best || area(f) > area(best) ? f : best), undefined)
}

/** Reads the manifest of an earlier run, or null when there is none. */
export function readAlignedManifest(outDir: string): AlignedDatasetManifest | null {
  const file = join(outDir, MANIFEST_NAME)
  if (!existsSync(file)) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ValidationError(`${file} is not valid JSON (${(err as Error).message}); remove it or choose another output folder`)
  }
  if (!isObject(parsed) || parsed.format !== ALIGNED_DATASET_FORMAT || !Array.isArray(parsed.items)) {
    throw new ValidationError(`${file} is not an ${ALIGNED_DATASET_FORMAT} manifest; choose another output folder`)
  }
  if (parsed.version !== ALIGNED_DATASET_VERSION) {
    throw new ValidationError(`${file} is version ${String(parsed.version)} of the format; this software writes version ${ALIGNED_DATASET_VERSION}`)
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

/**
 * Detects the subject's face (see subjectFace) in every image of a dataset and writes its ArcFace 112x112 crop as
 * PNG under `outDir` (mirroring the source paths), with `manifest.json` describing each crop.
 * Images that cannot be read or show no face are listed as failures, never dropped. Re-running
 * into the same folder skips images whose crop exists and whose source bytes are unchanged, so
 * an interrupted run continues where its last checkpoint left off.
 */
export async function alignDataset(options: AlignDatasetOptions): Promise<AlignedDatasetManifest> {
  const { engine, detector, landmarker } = options
  const inDir = resolve(options.inDir)
  const outDir = resolve(options.outDir)
  const layout = detectLayout(inDir)
  if (isWithin(outDir, layout.imagesDir)) throw new ValidationError(`the output folder ${outDir} must not be inside the input images ${layout.imagesDir}`)

  // Paths only (not pixels) are held for the whole run: the manifest needs them all anyway.
  let relPaths = [...walkImages(layout.imagesDir)]
  if (relPaths.length === 0) throw new ValidationError(`no images (jpg, jpeg, png, webp) under ${layout.imagesDir}`)
  if (options.limit !== undefined) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new ValidationError('limit must be a positive whole number')
    relPaths = relPaths.slice(0, options.limit)
  }
  const crops = cropNames(relPaths)

  const detectorRef = { id: detector.entry.manifest.id, sha256: detector.entry.manifest.sha256 }
  const landmarkerRef = { id: landmarker.entry.manifest.id, sha256: landmarker.entry.manifest.sha256 }
  const previous = readAlignedManifest(outDir)
  if (previous) {
    if (previous.source !== layout.imagesDir) {
      throw new ValidationError(`${outDir} holds crops of ${previous.source}, not ${layout.imagesDir}; choose another output folder`)
    }
    if (previous.detector?.sha256 !== detectorRef.sha256 || previous.landmarker?.sha256 !== landmarkerRef.sha256) {
      throw new ValidationError(`${outDir} was aligned with other detector or landmark models; choose another output folder`)
    }
  }
  const earlierItems = new Map((previous?.items ?? []).map((it) => [it.source, it]))
  mkdirSync(outDir, { recursive: true })

  const createdAt = previous?.createdAt ?? new Date().toISOString()
  const results: (Outcome | undefined)[] = new Array(relPaths.length)
  const madeDirs = new Set<string>()

  const manifest = (): AlignedDatasetManifest => {
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
      source: layout.imagesDir,
      layout: layout.kind,
      detector: detectorRef,
      landmarker: landmarkerRef,
      alignment: { size: ALIGNED_SIZE, points: ARCFACE_112 },
      createdAt,
      updatedAt: new Date().toISOString(),
      softwareVersion: softwareVersion(),
      counts: { images: relPaths.length, aligned: items.length, failed: failures.length },
      items,
      failures
    }
  }
  const writeManifest = (): AlignedDatasetManifest => {
    const m = manifest()
    writeFileAtomic(join(outDir, MANIFEST_NAME), manifestJson(m))
    return m
  }

  const alignOne = async (index: number, signal: AbortSignal): Promise<Outcome> => {
    const rel = relPaths[index]
    const fail = (reason: string): Outcome => ({ failure: { source: rel, reason } })
    let bytes: Uint8Array
    try {
      bytes = new Uint8Array(readFileSync(join(layout.imagesDir, rel)))
    } catch (err) {
      return fail(`unreadable image: ${(err as Error).message}`)
    }
    const sourceSha256 = sha256Hex(bytes)
    const earlier = earlierItems.get(rel)
    if (earlier && earlier.sourceSha256 === sourceSha256 && earlier.file === crops[index] && existsSync(join(outDir, earlier.file))) {
      // The identity is looked up afresh: an edited identity file must not need a re-alignment.
      return { item: { ...earlier, identity: layout.identityOf(rel) }, skipped: true }
    }
    let img: RgbImage
    try {
      img = await decodeImage(bytes, rel)
    } catch (err) {
      if (err instanceof ImageDecodeError) return fail(`unreadable image: ${err.message}`)
      throw err
    }
    const { faces, padded } = await detectWithContext(engine, detector, landmarker, img, signal)
    const face = subjectFace(faces, img.width, img.height)
    if (!face) return fail('no face detected')
    let crop: RgbImage
    try {
      crop = alignFace(img, face.landmarks, ARCFACE_112, ALIGNED_SIZE)
    } catch (err) {
      return fail(`alignment failed: ${(err as Error).message}`)
    }
    const file = crops[index]
    const target = join(outDir, file)
    const dir = dirname(target)
    if (!madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true })
      madeDirs.add(dir)
    }
    // Atomic, so a crash never leaves a half-written crop that a resumed run would trust.
    writeFileAtomic(target, await encodePng(crop))
    return {
      item: {
        file,
        source: rel,
        sourceSha256,
        identity: layout.identityOf(rel),
        landmarks: face.landmarks.map(([x, y]) => [round2(x), round2(y)] as [number, number]),
        box: face.box.map(round2) as [number, number, number, number],
        score: Math.round(face.score * 10000) / 10000,
        faces: faces.length,
        padded
      },
      skipped: false
    }
  }

  const stop = new AbortController()
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal
  const checkpointEvery = Math.max(1, options.checkpointEvery ?? 500)
  const progress: AlignProgress = { done: 0, total: relPaths.length, aligned: 0, failed: 0, skipped: 0 }
  let next = 0
  let sinceCheckpoint = 0

  const worker = async (): Promise<void> => {
    while (next < relPaths.length) {
      signal.throwIfAborted()
      const i = next++
      const r = await alignOne(i, signal)
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
  // Whatever finished is recorded even when the run stops early, so a rerun resumes from here.
  const final = writeManifest()
  if (firstError) throw (firstError as { error: unknown }).error
  return final
}
