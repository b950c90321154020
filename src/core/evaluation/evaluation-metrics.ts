import type {
  AttackCell,
  EncoderFigures,
  EvaluationMetrics,
  ProportionRecord,
  QualityFigures,
  ThresholdSource,
  VerificationFigures
} from '../../shared/evaluation-types'
import type { ThresholdRecord } from '../../shared/types'
import { cosine } from '../templates/vector-math'
import { countBySubject, meanBySubject, proportion } from './statistics'
import { verificationAccuracy } from './verification-accuracy'
import type { EvalAttempt, EvalPhoto } from './evaluation-plan'

/** One finished reconstruction as the metrics see it. */
export interface DoneAttempt {
  key: string
  method: string
  subject: string
  targetId: string
  mateIds: string[]
  psnr: number
  ssim: number
  msSsim: number
  /** sha256 of the encoder the method picked its result with (ALSUV's validation), if any. */
  validationSha256?: string | null
  /** Face-quality proxy: the detector's best central face score on the reconstruction, 0 when none. */
  faceScore: number
  seconds: number
  queries: number
}

/** Templates of every photo and reconstruction under one score encoder. */
export interface EncoderEmbeddings {
  encoderId: string
  encoderSha256: string
  thresholds: ThresholdRecord | null
  photos: Map<string, ArrayLike<number>>
  reconstructions: Map<string, ArrayLike<number>>
}

export interface MetricsInput {
  attempts: EvalAttempt[]
  done: DoneAttempt[]
  methods: string[]
  seenEncoderId: string
  encoders: EncoderEmbeddings[]
  listedImpostors: [EvalPhoto, EvalPhoto][]
  bootstrap?: { reps: number; seed: number }
}

interface Trial {
  subject: string
  score: number
}

function rates(trials: Trial[], thresholds: ThresholdRecord | null, boot: { reps: number; seed: number }): { far: number; rate: ProportionRecord }[] {
  if (!thresholds) return []
  return thresholds.fars.map((t) => ({ far: t.far, rate: proportion(countBySubject(trials.map((x) => ({ subject: x.subject, success: x.score > t.threshold }))), boot) }))
}

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null
}

/** Interleaves genuine and impostor pairs so that each of the 10 LFW folds holds both. */
function interleave(genuine: number[], impostor: number[]): { score: number; same: boolean }[] {
  const out: { score: number; same: boolean }[] = []
  for (let i = 0; i < Math.max(genuine.length, impostor.length); i++) {
    if (i < genuine.length) out.push({ score: genuine[i], same: true })
    if (i < impostor.length) out.push({ score: impostor[i], same: false })
  }
  return out
}

function verification(genuine: Trial[], impostor: number[], thresholds: ThresholdRecord | null, boot: { reps: number; seed: number }): VerificationFigures {
  // A balanced set for the LFW protocol: as many impostor pairs as genuine ones.
  const balanced = impostor.slice(0, genuine.length)
  const pairs = interleave(
    genuine.map((g) => g.score),
    balanced
  )
  const canFold = genuine.length >= 10 && balanced.length >= 10
  return {
    genuinePairs: genuine.length,
    impostorPairs: balanced.length,
    accuracy: canFold ? verificationAccuracy(pairs).accuracy : null,
    tar: rates(genuine, thresholds, boot)
  }
}

/** Rank (1-based) of the true subject when the probe is compared with every gallery subject (best photo per subject). */
export function identificationRank(probe: ArrayLike<number>, gallery: { subject: string; vector: ArrayLike<number> }[], subject: string): number {
  const best = new Map<string, number>()
  for (const g of gallery) best.set(g.subject, Math.max(best.get(g.subject) ?? -Infinity, cosine(probe, g.vector)))
  const own = best.get(subject)
  if (own === undefined) return Infinity
  let rank = 1
  for (const [s, v] of best) if (s !== subject && v >= own) rank++
  return rank
}

export function thresholdSource(t: ThresholdRecord | null): ThresholdSource | null {
  return t ? { dataset: t.dataset, impostorPairs: t.impostorPairs ?? null, images: t.images ?? null, fars: t.fars.map((f) => ({ far: f.far, threshold: f.threshold })) } : null
}

export const FACE_PROXY_NAME = 'face-quality proxy: bundled detector finds a face (rate; mean score where found)'

const round = (x: number): number => Math.round(x * 1e4) / 1e4

/** Every figure of an evaluation from the templates of its photos and reconstructions. */
export function computeMetrics(input: MetricsInput): EvaluationMetrics {
  const boot = input.bootstrap ?? { reps: 2000, seed: 1 }
  const transfer: AttackCell[] = []
  const encoders: EncoderFigures[] = []

  for (const enc of input.encoders) {
    // Seen: the attacked encoder. Per method, an encoder that picked the results is 'validation'; the rest are unseen (transfer).
    const role = enc.encoderId === input.seenEncoderId ? 'seen' : 'unseen'
    const v = (id: string): ArrayLike<number> => {
      const x = enc.photos.get(id)
      if (!x) throw new Error(`no ${enc.encoderId} template of photo ${id}`)
      return x
    }
    // Real photos: target vs each of its mates (genuine); target vs other subjects' mates (impostor).
    const genuine: Trial[] = input.attempts.flatMap((a) => a.mates.map((m) => ({ subject: a.subject, score: cosine(v(a.target.id), v(m.id)) })))
    const impostor = input.listedImpostors.map(([a, b]) => cosine(v(a.id), v(b.id)))
    const n = input.attempts.length
    if (impostor.length < genuine.length && n > 1) {
      // Cross-subject pairs, in a fixed order (subject i's target with subject i+k's first mate).
      for (let k = 1; k < n && impostor.length < Math.max(genuine.length, 10 * n); k++) {
        for (let i = 0; i < n; i++) impostor.push(cosine(v(input.attempts[i].target.id), v(input.attempts[(i + k) % n].mates[0].id)))
      }
    }
    const galleryWith = input.attempts.flatMap((a) => [a.target, ...a.mates].map((p) => ({ subject: a.subject, vector: v(p.id) })))
    const galleryWithout = input.attempts.flatMap((a) => a.mates.map((p) => ({ subject: a.subject, vector: v(p.id) })))

    const figures: EncoderFigures = {
      encoderId: enc.encoderId,
      encoderSha256: enc.encoderSha256,
      role,
      thresholds: thresholdSource(enc.thresholds),
      real: verification(genuine, impostor, enc.thresholds, boot),
      attack: [],
      identification: [],
      scores: { genuine: genuine.map((g) => round(g.score)), impostor: impostor.map(round), attack: {} }
    }
    for (const method of input.methods) {
      const done = input.done.filter((d) => d.method === method && enc.reconstructions.has(d.key))
      const r = (d: DoneAttempt): ArrayLike<number> => enc.reconstructions.get(d.key)!
      const typeI: Trial[] = done.map((d) => ({ subject: d.subject, score: cosine(r(d), v(d.targetId)) }))
      const typeII: Trial[] = done.flatMap((d) => d.mateIds.map((m) => ({ subject: d.subject, score: cosine(r(d), v(m)) })))
      transfer.push({
        method,
        encoderId: enc.encoderId,
        role: role === 'unseen' && done.some((d) => d.validationSha256 === enc.encoderSha256) ? 'validation' : role,
        typeI: rates(typeI, enc.thresholds, boot),
        typeII: rates(typeII, enc.thresholds, boot),
        meanTypeI: mean(typeI.map((t) => t.score)),
        meanTypeII: mean(typeII.map((t) => t.score))
      })
      figures.attack.push({ method, ...verification(typeII, impostor, enc.thresholds, boot) })
      figures.scores.attack[method] = typeI.map((t) => round(t.score))
      for (const withOriginal of [true, false]) {
        const gallery = withOriginal ? galleryWith : galleryWithout
        const ranks = done.map((d) => ({ subject: d.subject, rank: identificationRank(r(d), gallery, d.subject) }))
        figures.identification.push({
          method,
          galleryWithOriginal: withOriginal,
          top1: proportion(countBySubject(ranks.map((x) => ({ subject: x.subject, success: x.rank <= 1 }))), boot),
          top5: proportion(countBySubject(ranks.map((x) => ({ subject: x.subject, success: x.rank <= 5 }))), boot),
          gallerySubjects: new Set(gallery.map((g) => g.subject)).size
        })
      }
    }
    encoders.push(figures)
  }

  const quality: QualityFigures[] = input.methods.map((method) => {
    const done = input.done.filter((d) => d.method === method)
    const m = (f: (d: DoneAttempt) => number): ReturnType<typeof meanBySubject> =>
      meanBySubject(
        done.filter((d) => Number.isFinite(f(d))).map((d) => ({ subject: d.subject, value: f(d) })),
        boot.reps,
        boot.seed
      )
    const hits = done.filter((d) => d.faceScore > 0)
    return {
      method,
      psnr: m((d) => d.psnr),
      ssim: m((d) => d.ssim),
      msSsim: m((d) => d.msSsim),
      faceProxy: {
        name: FACE_PROXY_NAME,
        detected: proportion(countBySubject(done.map((d) => ({ subject: d.subject, success: d.faceScore > 0 }))), boot),
        meanScore: mean(hits.map((d) => d.faceScore))
      }
    }
  })
  return {
    computedAt: new Date().toISOString(),
    attempts: input.done.length,
    subjects: new Set(input.done.map((d) => d.subject)).size,
    methods: input.methods,
    seenEncoderId: input.seenEncoderId,
    transfer,
    encoders,
    quality,
    runs: input.methods.map((method) => {
      const done = input.done.filter((d) => d.method === method)
      return { method, attempts: done.length, meanSeconds: mean(done.map((d) => d.seconds)), meanQueries: mean(done.map((d) => d.queries)) }
    }),
    bootstrap: boot
  }
}
