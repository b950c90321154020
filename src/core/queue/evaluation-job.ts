import type { ReconstructionRecord } from '../../shared/types'
import { isObject, requireInteger, requireObject, requireId, requireSha256, requireString, requireUuid, ValidationError } from '../../shared/validation'
import { sha256Hex } from '../fs/sha256'

/** The one BullMQ queue evaluation attempts go through; every owner and worker on a Redis shares it. */
export const EVALUATION_QUEUE = 'unveil-evaluations'

/** A model the attempt may use, named by id and pinned by the sha256 of its file. */
export interface JobModel {
  id: string
  sha256: string
}

/** One reconstruction of an evaluation, as a worker on any machine receives it: everything it needs but the models. */
export interface AttemptJobData {
  kind: 'evaluation-attempt'
  /** The owner's software version; a worker of another version refuses the job. */
  softwareVersion: string
  evaluationId: string
  attemptKey: string
  method: { id: string; parameters: Record<string, number | string> }
  seed: number
  seenEncoder: JobModel
  /** Every model the attempt may touch (seen encoder, scoring encoders, the method's models). */
  models: JobModel[]
  /** The encoders the reconstruction is scored under: the owner's registered encoders. */
  scoringEncoderIds: string[]
  /** The target's template (a case template), or null: the worker encodes the ground-truth crop with the seen encoder. */
  vector: number[] | null
  /** Aligned crops as image files (base64): the ground truth and the subject's other photos. */
  groundTruth: string
  mates: string[]
}

/** A reconstruction's record, image-quality figures against the ground truth, and when it ran. */
export interface AttemptFigures {
  record: ReconstructionRecord
  psnr: number
  ssim: number
  msSsim: number
  startedAt: string
  finishedAt: string
}

/** What a worker returns: the reconstruction and its figures. */
export interface AttemptJobResult extends AttemptFigures {
  kind: 'evaluation-attempt-result'
  evaluationId: string
  attemptKey: string
  /** The worker that made it (host/pid). */
  worker: string
  /** The reconstruction as PNG (base64). */
  png: string
}

/** Live progress of one job, as a worker reports it. */
export interface AttemptJobProgress {
  worker: string
  attemptKey: string
  step: number
  totalSteps: number
  bestScore: number | null
}

/**
 * The job id of an attempt: the same evaluation, target, method and seed give the same id, so
 * enqueueing an evaluation twice (or resuming it) adds no second copy of a job.
 */
export function attemptJobId(evaluationId: string, attemptKey: string, seed: number): string {
  // BullMQ refuses ':' in custom ids; the hash keeps ids short whatever the photo names are.
  return `eval-${evaluationId}-${sha256Hex(`${attemptKey}|${seed}`).slice(0, 24)}`
}

const MAX_IMAGE_BASE64 = 8 * 1024 * 1024

function base64Image(v: unknown, field: string): string {
  const s = requireString(v, field, { max: MAX_IMAGE_BASE64 })
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) throw new ValidationError(`${field} must be base64`)
  return s
}

function jobModel(v: unknown, field: string): JobModel {
  const o = requireObject(v, field)
  return { id: requireId(o.id, `${field}.id`), sha256: requireSha256(o.sha256, `${field}.sha256`) }
}

function list<T>(v: unknown, field: string, max: number, item: (x: unknown, f: string) => T): T[] {
  if (!Array.isArray(v) || v.length > max) throw new ValidationError(`${field} must be a list of at most ${max}`)
  return v.map((x, i) => item(x, `${field}[${i}]`))
}

/** Reads a job's data as it came out of Redis: anything malformed is refused in one line. */
export function readAttemptJob(data: unknown): AttemptJobData {
  const o = requireObject(data, 'job data')
  if (o.kind !== 'evaluation-attempt') throw new ValidationError('job is not an evaluation attempt')
  const method = requireObject(o.method, 'job method')
  const parameters = requireObject(method.parameters, 'job method parameters')
  for (const [k, p] of Object.entries(parameters)) if (typeof p !== 'number' && typeof p !== 'string') throw new ValidationError(`job method parameter ${k} must be a number or a string`)
  let vector: number[] | null = null
  if (o.vector !== null) {
    vector = list(o.vector, 'job vector', 65536, (x, f) => {
      if (typeof x !== 'number' || !Number.isFinite(x)) throw new ValidationError(`${f} must be a finite number`)
      return x
    })
  }
  return {
    kind: 'evaluation-attempt',
    softwareVersion: requireString(o.softwareVersion, 'job software version', { max: 200 }),
    evaluationId: requireUuid(o.evaluationId, 'job evaluation id'),
    attemptKey: requireString(o.attemptKey, 'job attempt key', { max: 2000 }),
    method: { id: requireId(method.id, 'job method id'), parameters: parameters as Record<string, number | string> },
    seed: requireInteger(o.seed, 'job seed', 0, 2 ** 31),
    seenEncoder: jobModel(o.seenEncoder, 'job seen encoder'),
    models: list(o.models, 'job models', 256, jobModel),
    scoringEncoderIds: list(o.scoringEncoderIds, 'job scoring encoders', 256, requireId),
    vector,
    groundTruth: base64Image(o.groundTruth, 'job ground truth'),
    mates: list(o.mates, 'job mates', 100, base64Image)
  }
}

/** Reads a finished job's return value (anyone who reaches the Redis can write one); null when it is not a well-formed attempt result. */
export function readAttemptResult(value: unknown): AttemptJobResult | null {
  if (!isObject(value) || value.kind !== 'evaluation-attempt-result') return null
  if (typeof value.png !== 'string' || !isObject(value.record) || typeof value.attemptKey !== 'string' || typeof value.evaluationId !== 'string' || typeof value.worker !== 'string') return null
  if (![value.psnr, value.ssim, value.msSsim].every((x) => typeof x === 'number' && Number.isFinite(x))) return null
  if (![value.startedAt, value.finishedAt].every((t) => typeof t === 'string' && Number.isFinite(Date.parse(t)))) return null
  const record = value.record
  if (!isObject(record.modelSha256s) || typeof record.similarity !== 'number' || !Array.isArray(record.scores)) return null
  return value as unknown as AttemptJobResult
}

/** The evaluation a job id belongs to (ids are `eval-<evaluation uuid>-<hash>`). */
export function jobEvaluationId(jobId: string): string {
  return jobId.startsWith('eval-') ? jobId.slice(5, 41) : ''
}
