import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { TemplateRecord } from '../../shared/types'
import type { EvaluationSpec } from '../../shared/evaluation-types'
import { ValidationError } from '../../shared/validation'
import { MANIFEST_NAME, readAlignedManifest, type AlignedDatasetManifest } from '../datasets/align/aligned-manifest'
import { readLfwPairs, type FacePair } from '../datasets/lfw-pairs'
import { sha256Hex } from '../fs/sha256'

/** A photo an evaluation uses: an aligned crop of a dataset folder, or a case template's photo. */
export interface EvalPhoto {
  /** Stable id: the crop's path in the dataset folder, or the template id. */
  id: string
  subject: string
  /** Aligned crop file (aligned datasets). */
  cropFile: string | null
  /** The case template (case datasets). */
  templateId: string | null
  /** sha256 of the source photo. */
  sourceSha256: string | null
  source: string | null
}

/** One source photo to reconstruct, with the subject's other photos as type-II references. */
export interface EvalAttempt {
  subject: string
  target: EvalPhoto
  mates: EvalPhoto[]
}

export interface EvaluationPlan {
  attempts: EvalAttempt[]
  /** Different-person pairs from the pair list whose photos are both present (pairs protocol). */
  listedImpostors: [EvalPhoto, EvalPhoto][]
  /** How the dataset and protocol were read, for the report. */
  description: string
}

export const DEFAULT_MATES_PER_SUBJECT = 4

/** Reads an aligned dataset folder's manifest; a folder without one is refused in one line. */
export function alignedDataset(dir: string): { manifest: AlignedDatasetManifest; sha256: string; dir: string } {
  const abs = resolve(dir)
  if (!existsSync(abs) || !statSync(abs).isDirectory()) throw new ValidationError(`dataset ${abs} is not a folder`)
  const manifest = readAlignedManifest(abs)
  if (!manifest) throw new ValidationError(`dataset ${abs} has no ${MANIFEST_NAME}; align it first with unveil dataset align --in PHOTOS --out ${abs}`)
  if (manifest.counts.aligned + manifest.counts.failed !== manifest.counts.images) throw new ValidationError(`dataset ${abs} is only partly aligned (${manifest.counts.aligned + manifest.counts.failed}/${manifest.counts.images}); finish unveil dataset align first`)
  return { manifest, sha256: sha256Hex(readFileSync(join(abs, MANIFEST_NAME))), dir: abs }
}

function pairListSha256(file: string): string {
  return sha256Hex(readFileSync(file))
}

export function protocolOf(pairsFile: string | null): EvaluationSpec['protocol'] {
  if (!pairsFile) return { kind: 'subjects', file: null, sha256: null }
  const abs = resolve(pairsFile)
  if (!existsSync(abs)) throw new ValidationError(`pair list ${abs} does not exist`)
  return { kind: 'pairs', file: abs, sha256: pairListSha256(abs) }
}

function bySubject(photos: EvalPhoto[]): Map<string, EvalPhoto[]> {
  const out = new Map<string, EvalPhoto[]>()
  for (const p of photos) out.set(p.subject, [...(out.get(p.subject) ?? []), p])
  return out
}

/** "Every subject with ≥ 2 photos": the first photo (by id) is the target, up to `mates` others the references. */
function subjectsProtocol(photos: EvalPhoto[], spec: EvaluationSpec): EvalAttempt[] {
  const attempts: EvalAttempt[] = []
  for (const [subject, list] of [...bySubject(photos)].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    if (list.length < 2) continue
    const sorted = [...list].sort((a, b) => (a.id < b.id ? -1 : 1))
    attempts.push({ subject, target: sorted[0], mates: sorted.slice(1, 1 + spec.matesPerSubject) })
    if (spec.limit !== null && attempts.length >= spec.limit) break
  }
  return attempts
}

/** Pair list: the first genuine pair of each person whose photos are both present (a is the target, b its mate). */
function pairsProtocol(photos: EvalPhoto[], pairs: FacePair[], spec: EvaluationSpec): { attempts: EvalAttempt[]; impostors: [EvalPhoto, EvalPhoto][] } {
  const bySource = new Map(photos.filter((p) => p.source).map((p) => [p.source!, p]))
  const attempts: EvalAttempt[] = []
  const seen = new Set<string>()
  for (const pair of pairs) {
    if (!pair.same) continue
    const a = bySource.get(pair.a)
    const b = bySource.get(pair.b)
    if (!a || !b || seen.has(a.subject)) continue
    if (spec.limit !== null && attempts.length >= spec.limit) break
    seen.add(a.subject)
    attempts.push({ subject: a.subject, target: a, mates: [b] })
  }
  const impostors: [EvalPhoto, EvalPhoto][] = []
  for (const pair of pairs) {
    if (pair.same) continue
    const a = bySource.get(pair.a)
    const b = bySource.get(pair.b)
    if (a && b) impostors.push([a, b])
  }
  return { attempts, impostors }
}

/** The photos of an aligned dataset folder with their identities. */
export function alignedPhotos(dir: string, manifest: AlignedDatasetManifest): EvalPhoto[] {
  return manifest.items
    .filter((i) => i.identity)
    .map((i) => ({ id: i.file, subject: i.identity!, cropFile: join(dir, i.file), templateId: null, sourceSha256: i.sourceSha256, source: i.source }))
}

/** The case's templates of the seen encoder that have a photo and a subject. */
export function casePhotos(templates: TemplateRecord[], seenEncoderId: string): EvalPhoto[] {
  return templates
    .filter((t) => t.subject && t.imageSha256 && t.encoderId === seenEncoderId)
    .map((t) => ({ id: t.id, subject: t.subject!, cropFile: null, templateId: t.id, sourceSha256: t.imageSha256, source: t.sourceFileName }))
}

export function buildPlan(spec: EvaluationSpec, photos: EvalPhoto[]): EvaluationPlan {
  let plan: EvaluationPlan
  if (spec.protocol.kind === 'pairs') {
    if (spec.dataset.kind !== 'aligned') throw new ValidationError('a pair list needs an aligned dataset folder (--dataset DIR)')
    const pairs = readLfwPairs(spec.protocol.file!)
    const { attempts, impostors } = pairsProtocol(photos, pairs, spec)
    plan = { attempts, listedImpostors: impostors, description: `${pairs.length} pairs in ${spec.protocol.file}; first genuine pair of each person with both photos aligned` }
  } else {
    plan = { attempts: subjectsProtocol(photos, spec), listedImpostors: [], description: `every subject with at least 2 photos (first photo reconstructed, up to ${spec.matesPerSubject} others as references)` }
  }
  if (plan.attempts.length === 0) {
    throw new ValidationError(
      spec.dataset.kind === 'case'
        ? `the case has no subject with 2 or more photos enrolled with ${spec.seenEncoderId}; enrol photos with --subject first`
        : 'the dataset has no subject with 2 or more aligned photos under this protocol'
    )
  }
  return plan
}

/** Key of one reconstruction: the target photo and the method. */
export function attemptKey(attempt: EvalAttempt, method: string): string {
  return `${method}|${attempt.target.id}`
}

/** A per-attempt seed derived from the evaluation's seed, the method and the photo, so resuming reproduces it. */
export function attemptSeed(seed: number, key: string): number {
  return parseInt(sha256Hex(`${seed}|${key}`).slice(0, 8), 16) % 2147483647
}
