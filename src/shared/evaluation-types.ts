// Evaluation (leak assessment) records as they cross the process boundary and go into reports.

export type EvaluationStatus = 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface EvaluationDatasetSpec {
  /** 'aligned': an `unveil dataset align` folder (manifest.json); 'case': the case's templates with subjects. */
  kind: 'aligned' | 'case'
  dir: string | null
  manifestSha256: string | null
}

export interface EvaluationProtocolSpec {
  /** 'pairs': an LFW-style pair list; 'subjects': every subject with at least 2 photos. */
  kind: 'pairs' | 'subjects'
  file: string | null
  sha256: string | null
}

/** What an evaluation is: the same spec resumes the same evaluation. */
export interface EvaluationSpec {
  dataset: EvaluationDatasetSpec
  protocol: EvaluationProtocolSpec
  seenEncoderId: string
  methods: { id: string; parameters: Record<string, number | string> }[]
  encoderIds: string[]
  seed: number
  /** At most this many subjects (null: all). */
  limit: number | null
  /** Other photos of a subject used as type-II references (subjects protocol). */
  matesPerSubject: number
}

export interface EvaluationRecord {
  id: string
  spec: EvaluationSpec
  specSha256: string
  status: EvaluationStatus
  /** The job run that last worked on it. */
  jobRunId: string | null
  metrics: EvaluationMetrics | null
  error: string | null
  createdAt: string
  updatedAt: string
}

/** One reconstruction of an evaluation: the attempt and the run that holds its result. */
export interface EvaluationRunLink {
  evaluationId: string
  attemptKey: string
  method: string
  subject: string
  runId: string
  addedAt: string
}

export interface IntervalRecord {
  low: number
  high: number
  method: 'wilson' | 'rule-of-three' | 'bootstrap'
}

export interface ProportionRecord {
  successes: number
  trials: number
  subjects: number
  rate: number | null
  interval: IntervalRecord | null
  bootstrap: IntervalRecord | null
}

export interface MeanRecord {
  mean: number | null
  n: number
  subjects: number
  bootstrap: IntervalRecord | null
}

export interface ThresholdSource {
  dataset: string
  impostorPairs: number | null
  images: number | null
  /** far → cosine threshold. */
  fars: { far: number; threshold: number }[]
}

export interface AttackCell {
  method: string
  encoderId: string
  /** 'seen' is the encoder the templates came from (the attacker's oracle); the others validate transfer. */
  role: 'seen' | 'validation' | 'unseen'
  typeI: { far: number; rate: ProportionRecord }[]
  typeII: { far: number; rate: ProportionRecord }[]
  meanTypeI: number | null
  meanTypeII: number | null
}

export interface VerificationFigures {
  genuinePairs: number
  impostorPairs: number
  /** LFW protocol (10 folds); null with fewer than 20 pairs. */
  accuracy: number | null
  tar: { far: number; rate: ProportionRecord }[]
}

export interface EncoderFigures {
  encoderId: string
  encoderSha256: string
  role: 'seen' | 'validation' | 'unseen'
  thresholds: ThresholdSource | null
  /** Real photos: target photo vs its mate. */
  real: VerificationFigures
  /** Per method: the reconstruction replaces the target photo of each genuine pair. */
  attack: ({ method: string } & VerificationFigures)[]
  identification: { method: string; galleryWithOriginal: boolean; top1: ProportionRecord; top5: ProportionRecord; gallerySubjects: number }[]
  /** Score samples for plots (rounded). */
  scores: { genuine: number[]; impostor: number[]; attack: Record<string, number[]> }
}

export interface QualityFigures {
  method: string
  psnr: MeanRecord
  ssim: MeanRecord
  msSsim: MeanRecord
  /**
   * A face-quality PROXY, not a quality measure: the share of reconstructions in which the
   * bundled face detector finds a face, and its mean score where it does.
   */
  faceProxy: { name: string; detected: ProportionRecord; meanScore: number | null }
}

export interface EvaluationMetrics {
  computedAt: string
  attempts: number
  subjects: number
  methods: string[]
  seenEncoderId: string
  transfer: AttackCell[]
  encoders: EncoderFigures[]
  quality: QualityFigures[]
  /** Per method: attempts finished, mean seconds and queries. */
  runs: { method: string; attempts: number; meanSeconds: number | null; meanQueries: number | null }[]
  bootstrap: { reps: number; seed: number }
}

/** A queued evaluation's live state, sent with its job progress (`detail.queue`) for the UI. */
export interface EvaluationQueueStatus {
  /** The queue's address without a password. */
  url: string
  /** Workers connected to the queue now, and any that returned results to this evaluation. */
  workers: { name: string; connected: boolean; done: number; active: number }[]
  /** Reconstructions stored so far (earlier starts included) and in all. */
  done: number
  total: number
  /** Reconstructions per minute since this start enqueued its jobs; null until the first arrives. */
  perMinute: number | null
  /** Jobs a worker is on now, with that job's own progress. */
  active: { attemptKey: string; worker: string; step: number; totalSteps: number }[]
  /** Jobs put back in the queue because their worker stopped renewing its lock (died). */
  stalled: number
}
