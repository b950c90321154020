// Plain, serialisable records shared by core, main, preload, renderer and CLI.
// Everything here must survive structured clone (IPC) and JSON: no class instances.

export type ModelRole = 'encoder' | 'generator' | 'decoder' | 'detector' | 'landmarker'
export type ColorOrder = 'RGB' | 'BGR' | 'GRAY'
export type ExecutionProvider = 'cuda' | 'cpu'

/** Per-channel affine normalisation applied to 0..255 pixel values: (p/scale - mean)/std. */
export interface Normalisation {
  scale: number
  mean: [number, number, number] | [number]
  std: [number, number, number] | [number]
}

export interface ModelManifest {
  id: string
  name: string
  role: ModelRole
  /** Model file name, relative to the manifest's folder. */
  file: string
  sha256: string
  input: {
    name: string
    /** e.g. [-1, 3, 112, 112]; -1 marks a dynamic dimension. */
    shape: number[]
    layout: 'NCHW' | 'NHWC' | 'NC'
    colorOrder?: ColorOrder
    normalisation?: Normalisation
  }
  output: { name: string; shape: number[] }
  /** Encoders: dimension of the template the model produces. */
  embeddingDim?: number
  /** Generators: length of the latent vector z (standard normal prior). */
  latentDim?: number
  /** Generators and decoders: value range of the RGB image output, e.g. [0, 1]. */
  outputRange?: [number, number]
  /** Decoders: the encoder whose templates the decoder was trained to invert. */
  targetEncoder?: { id: string; sha256: string }
  /**
   * Feature-conditional generators (Vec2Face: DiBiGAN, DAB-GAN), a kind of decoder: the method that
   * runs the model and the input row's layout, the template's templateDim values then noiseDim
   * standard-normal values. A decoder without it is a plain template decoder (DFD).
   */
  conditional?: { method: string; templateDim: number; noiseDim: number }
  /** Encoders and decoders: the face alignment the model expects (5 points, image coordinates). */
  alignment?: { size: [number, number]; points: [number, number][] }
  licence: string
  source: string
  notes?: string
  /** A model served over HTTP instead of an ONNX file (then `file` is empty and `sha256` is the probe fingerprint). */
  remote?: RemoteEngineSpec
}

/** A model a run used: id and sha256; for a remote engine also its server, model name and versions. */
export interface ResolvedModel {
  id: string
  sha256: string
  remote?: { url: string; model: string; version: string | null; versions: string[] }
}

/**
 * An encoder behind an inference server that speaks the KServe v2 / Open Inference Protocol
 * (Triton, KServe, MLServer). It has no file to hash: registration records what the server
 * reports and the templates of a fixed probe input, whose float32 bytes' sha256 becomes the
 * manifest's sha256 (docs/architecture.md, "Remote engines").
 */
export interface RemoteEngineSpec {
  protocol: 'kserve-v2'
  /** Server base URL, http or https, e.g. http://gpu-box:8000 (no credentials). */
  url: string
  /** Model name on the server: v2/models/<model>. */
  model: string
  /** Version to address (v2/models/<model>/versions/<version>); absent: the server's default. */
  version?: string
  /** Tensors in the binary tensor data extension instead of JSON numbers (Triton supports it). */
  binary?: boolean
  /** Per request (default 30 s). */
  timeoutMs?: number
  /** Retries after a timeout, a refused connection or HTTP 5xx/429, with exponential backoff (default 2). */
  retries?: number
  /** Largest batch one request carries (default 64). */
  maxBatch?: number
  /** Recorded at registration from the model's metadata endpoint. */
  served?: { name: string; versions: string[]; platform: string }
  /** Recorded at registration: the template of the fixed probe input; each load compares the server's answer with it. */
  probe?: number[]
}

export interface VerificationRecord {
  dataset: string
  pairs: number
  accuracy: number
  threshold: number
  genuineMean: number
  impostorMean: number
  measuredAt: string
  seconds: number
}

export interface FarThreshold {
  far: number
  threshold: number
}

/** An encoder's decision thresholds, from impostor scores of different-person pairs. */
export interface ThresholdRecord {
  dataset: string
  images: number
  identities: number
  impostorPairs: number
  fars: FarThreshold[]
  measuredAt: string
  /** The encoder file the thresholds were measured with (records written since thresholds ship as data). */
  encoderSha256?: string
}

export interface ModelEntry {
  manifest: ModelManifest
  /** Absolute path of the model file as registered (patching happens in memory). */
  path: string
  bundled: boolean
  verification?: VerificationRecord
  thresholds?: ThresholdRecord
  registeredAt: string
}

export interface CaseInfo {
  id: string
  dir: string
  name: string
  number: string | null
  examiner: string | null
  notes: string | null
  createdAt: string
  templateCount: number
  imageCount: number
  runCount: number
}

export interface CaseCreateInput {
  dir: string
  name: string
  number?: string | null
  examiner?: string | null
  notes?: string | null
}

export type TemplateFormat = 'json' | 'npy' | 'csv' | 'bin'
export type TemplateOrigin = 'import' | 'enrolment'

export interface TemplateRecord {
  id: string
  label: string
  encoderId: string
  encoderSha256: string
  dimension: number
  norm: number
  vector: number[]
  origin: TemplateOrigin
  /** Format of the imported file (imports only). */
  format: TemplateFormat | null
  /** sha256 of the file the template came from (the template file, or the enrolled photo). */
  sourceFileSha256: string
  sourceFileName: string | null
  /** Content-store sha256 of the photo the template was enrolled from: the ground truth. */
  imageSha256: string | null
  /** Enrolment only: which detected face, and where it was. */
  face?: { index: number; box: [number, number, number, number]; score: number } | null
  /** The person the template shows, when known: photos of the same subject give type II scores. */
  subject?: string | null
  createdAt: string
}

export interface ImageRecord {
  sha256: string
  mime: string
  width: number
  height: number
  originalName: string | null
  addedAt: string
}

export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'

export interface RunRecord {
  id: string
  method: string
  status: RunStatus
  parameters: Record<string, unknown>
  seed: number | null
  modelSha256s: Record<string, string>
  softwareVersion: string
  templateId: string | null
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  seconds: number | null
  error: string | null
  summary: Record<string, unknown> | null
  /** The process that queued and runs it, as host:pid (absent in runs stored before schema v3). */
  owner?: string | null
}

/**
 * Thresholds as a stored score carries them. The core writes a full ThresholdRecord; results
 * written by other software versions may lack the counts, which readers then give as null.
 */
export interface ScoreThresholds {
  dataset: string
  images: number | null
  identities: number | null
  impostorPairs: number | null
  fars: FarThreshold[]
}

/** A reconstruction scored under one encoder, with decisions aligned with thresholds.fars. */
export interface EncoderScore {
  encoderId: string
  encoderSha256: string | null
  /** Reconstruction vs the target template: only for the encoder that made the template. */
  target: number | null
  /** Reconstruction vs the ground-truth photo's template under this encoder (type I). */
  typeI: number | null
  /** Reconstruction vs other photos of the same person (type II), one score each. */
  typeII: number[]
  thresholds: ScoreThresholds | null
  pass: { target: boolean[] | null; typeI: boolean[] | null; typeII: boolean[][] }
  /**
   * How the search used this encoder: 'seen' (it made the target and was queried) or
   * 'validation' (it picked among candidates). Transfer is read from the encoders with neither.
   */
  usedInSearch?: 'seen' | 'validation' | null
  /** Why this encoder could not score the reconstruction (it failed or timed out); scores are then null. */
  error?: string
}

/**
 * A reconstruction's stored result (ResultRecord.data of kind 'reconstruction', and the CLI's
 * result.json): scores, thresholds and provenance. The core fills every field; a record
 * written by another software version may lack some, which readers give as null or empty.
 */
export interface ReconstructionRecord {
  method: string | null
  parameters: Record<string, unknown>
  seed: number | null
  modelSha256s: Record<string, string>
  softwareVersion: string | null
  queries: number | null
  seconds: number | null
  similarity: number | null
  scores: EncoderScore[]
  /** Method-specific facts, e.g. {stoppedBy, threadBest}. */
  summary: Record<string, unknown>
  trace: GenerationRecord[]
  startedAt: string | null
  finishedAt: string | null
  /** Where inference ran (cpu, cuda). */
  executionProvider: string | null
  /** sha256 of the target template's float32 little-endian vector, as the case's audit log records it. */
  templateVectorSha256: string | null
  /**
   * The models the method resolved, by role (generator, decoder, target): id and sha256 (a remote
   * engine's probe fingerprint), and for a remote engine where it was reached and the versions it reported.
   */
  models: Record<string, ResolvedModel>
  /** Methods that choose among candidates (ALSUV's top k): each, best by the seen encoder first. */
  candidates: ReconstructionCandidate[]
}

/** One of the faces a method chose among, with the scores it was chosen by. */
export interface ReconstructionCandidate {
  /** Index of the latent (the search's own numbering). */
  latent: number
  /** Cosine to the target under the seen encoder. */
  seen: number
  /** Cosine to the validation pseudo target (mean feature of the candidates), when validation ran. */
  validation: number | null
  /** The candidate the method returned as its reconstruction. */
  picked: boolean
  /** Content-store sha256 of the candidate's PNG (112x112). */
  imageSha256: string | null
}

/** The summary a finished reconstruction run stores with the run. */
export interface ReconstructionRunSummary {
  similarity: number
  queries: number
  imageSha256: string
  modelSha256s: Record<string, string>
  scores: EncoderScore[]
}

/** The summary of an encoder check on LFW pairs. */
export interface VerificationRunSummary extends VerificationRecord {
  /** Photos in which no face was found. */
  undetected: number
}

/** A stored outcome of a run; for reconstructions `data` is a ReconstructionRecord. */
export interface ResultRecord {
  id: string
  runId: string
  kind: string
  data: unknown
  imageSha256: string | null
  createdAt: string
}

export interface JobProgress {
  runId: string
  caseDir: string
  status: RunStatus
  step: number
  totalSteps: number
  bestScore: number | null
  etaSeconds: number | null
  message: string | null
  /** Method-specific live data, e.g. {generation, best, mean, queries, previewPng (base64)} or a LatentSimilaritiesDetail. */
  detail?: Record<string, unknown> | null
}

/**
 * Progress detail of a search over many latents at once (ALSUV), one per step: the trace point
 * plus every latent's current cosine to the target under the seen encoder, so the UI can draw
 * their distribution. Numbers only (a few hundred bytes per step).
 */
export interface LatentSimilaritiesDetail extends GenerationRecord {
  step: number
  steps: number
  /** Cosine of each latent, in latent order, rounded to 1e-4. */
  latentSimilarities: number[]
}

export interface AuditEntry {
  seq: number
  at: string
  actor: string
  action: string
  details: Record<string, unknown>
  prevHash: string
  hash: string
}

export interface AuditVerification {
  ok: boolean
  entries: number
  /** First entry (sequence number) whose content, link or presence does not verify, or that the case's rows or files contradict. */
  firstBrokenSeq: number | null
  reason: string | null
  /** Every disagreement between the log and the case's rows and files, when the chain itself holds. */
  problems?: string[]
}

export interface DetectedFace {
  box: [number, number, number, number]
  score: number
  /** Five points: left eye, right eye, nose tip, left and right mouth corners. */
  landmarks: [number, number][]
}

/** A plot rendered to SVG in the core from the same Vega-Lite spec the report prints. */
export interface PlotImage {
  id: string
  title: string
  /** A standalone SVG document (vega's renderer output); the UI shows it as an image, never as markup. */
  svg: string
}

/** One point of a search trace: a generation (GA) or batch (random search). */
export interface GenerationRecord {
  /** Independent search the point belongs to (0-based). */
  thread: number
  /** Generation (or batch) within its thread, 0-based. */
  generation: number
  /** Best similarity of the thread so far. */
  best: number
  /** Mean similarity of the generation's population. */
  mean: number
  /** Template queries used so far, over all threads. */
  queries: number
  /** Seconds since the search started. */
  seconds: number
}

export interface MethodParameterSpec {
  key: string
  label: string
  type: 'integer' | 'number' | 'string' | 'model'
  default: number | string
  min?: number
  max?: number
  role?: ModelRole
  /** For role 'decoder': the method whose decoders fit (see decoderMethod; default 'dfd'). */
  decoderMethod?: string
  help?: string
  /** A closed set of values (the form offers a choice; core still checks the value). */
  choices?: { value: number | string; label: string }[]
}

export interface MethodInfo {
  id: string
  name: string
  description: string
  parameters: MethodParameterSpec[]
}

export interface EngineInfo {
  provider: ExecutionProvider
  requestedProviders: ExecutionProvider[]
  fallbackReason: string | null
  threads: number
}
