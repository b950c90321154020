// The one definition of what the renderer may ask of the main process. The preload exposes
// exactly these functions (named, never ipcRenderer itself); main registers one handler each
// and validates every argument before it reaches src/core.
import type {
  AuditEntry,
  AuditVerification,
  CaseCreateInput,
  CaseInfo,
  DetectedFace,
  EngineInfo,
  ImageRecord,
  JobProgress,
  MethodInfo,
  ModelEntry,
  PlotImage,
  ResultRecord,
  RunRecord,
  TemplateRecord
} from './types'
import type { EvaluationRecord } from './evaluation-types'
import type {
  ExplainAggregationInput,
  ExplainAttributesInput,
  ExplainCentroidsInput,
  ExplainEquivarianceInput,
  ExplainFits,
  ExplainOcclusionInput,
  ExplainRun
} from './explain-types'
import type { DemoStatus } from './demo-types'

/** A file the user picked or dropped, read in the renderer. */
export interface FilePayload {
  name: string
  bytes: Uint8Array
}

export interface AppInfo {
  version: string
  libraryDir: string
  engine: EngineInfo
  /** Whether the sample photos of @vladmandic/face-api are installed (for the sample case). */
  sampleAvailable: boolean
  defaultCaseRoot: string
}

export interface CaseDetail {
  info: CaseInfo
  templates: TemplateRecord[]
  images: ImageRecord[]
  runs: RunRecord[]
  /**
   * The quick audit verification made when the case was opened (chain, anchor, rows against
   * the log, blobs present; no re-hash of blob bytes). A case that fails it takes no writes.
   * Always filled by the core; optional so that hand-made details (tests) may leave it out.
   */
  integrity?: AuditVerification
}

export interface FaceDetectionResult {
  width: number
  height: number
  faces: DetectedFace[]
}

export interface EnrolOptions {
  encoderId: string
  /** Which detected face (0 = largest). */
  faceIndex: number
  label?: string
  /** The person shown, when known (links photos of one person for type II scoring). */
  subject?: string
}

export interface StartRunInput {
  caseId: string
  method: string
  templateId: string | null
  parameters: Record<string, number | string>
  seed: number
}

export interface ModelRegistrationInput {
  model: FilePayload
  /** The manifest as the user wrote it (JSON text); validated in main. */
  manifestJson: string
}

export interface StartEvaluationInput {
  caseId: string
  /** An aligned dataset folder (manifest.json); null: the case's templates with subjects. */
  datasetDir: string | null
  /** An LFW-style pair list; null: every subject with at least 2 photos. */
  pairsFile: string | null
  seenEncoderId: string
  methods: { id: string; parameters: Record<string, number | string> }[]
  /** Empty: every registered encoder. */
  encoderIds: string[]
  budget: number | null
  seed: number
  limit: number | null
  /** A Redis URL: the reconstructions go to `unveil worker` processes on a queue; null or absent: this computer. */
  queueUrl?: string | null
}

export interface EvaluationStarted {
  evaluation: EvaluationRecord
  runId: string
  resumed: boolean
  alreadyDone: number
  total: number
}

export interface ReportExportInput {
  caseId: string
  /** The folder the PDF goes into (the file is named after the case number and time). */
  dir: string
  runIds: string[] | null
  evaluationId: string | null
}

/** An evaluation's plots, or one run's (exactly one of the two ids). */
export interface PlotsInput {
  caseId: string
  evaluationId: string | null
  runId: string | null
}

export interface ReportWritten {
  path: string
  sha256: string
  bytes: number
  auditOk: boolean
}

export interface UnveilApi {
  appInfo(): Promise<AppInfo>
  listCases(): Promise<CaseInfo[]>
  createCase(input: CaseCreateInput): Promise<CaseInfo>
  /** Adds an existing case folder to the case list. */
  openCaseFolder(dir: string): Promise<CaseInfo>
  createSampleCase(): Promise<CaseDetail>
  /** The guided demo: where the tour stands (demo null when none was started). */
  demoStatus(): Promise<DemoStatus>
  /** Creates the demo case and computes its first step, or resumes the tour that was started. */
  startDemo(): Promise<DemoStatus>
  /** Shows a step of the tour (0-based; every step before it must be done), computing it first when needed. */
  demoGoTo(step: number): Promise<DemoStatus>
  /** Deletes the demo case and the tour state; no other case is touched. */
  resetDemo(): Promise<{ removed: string | null }>
  getCase(caseId: string): Promise<CaseDetail>
  /** Native folder picker; null when the user cancels. */
  chooseFolder(title: string): Promise<string | null>
  detectFaces(image: FilePayload): Promise<FaceDetectionResult>
  enrolFromPhoto(caseId: string, image: FilePayload, options: EnrolOptions): Promise<TemplateRecord>
  importTemplates(caseId: string, file: FilePayload, encoderId: string): Promise<TemplateRecord[]>
  exportTemplate(caseId: string, templateId: string, format: 'json' | 'npy'): Promise<FilePayload>
  deleteTemplate(caseId: string, templateId: string): Promise<void>
  getImage(caseId: string, sha256: string): Promise<{ mime: string; bytes: Uint8Array }>
  listModels(): Promise<ModelEntry[]>
  /** The entry, and the ids of the LFW check and FAR-threshold jobs started for an encoder when the data is present. */
  registerModel(input: ModelRegistrationInput): Promise<ModelEntry & { verificationJobId?: string; thresholdsJobId?: string }>
  engineInfo(): Promise<EngineInfo>
  listMethods(): Promise<MethodInfo[]>
  startRun(input: StartRunInput): Promise<RunRecord>
  /** Stored results of a run (for reconstructions: image sha256 and the scores per encoder). */
  getRunResults(caseId: string, runId: string): Promise<ResultRecord[]>
  cancelRun(runId: string): Promise<void>
  listJobs(): Promise<JobProgress[]>
  /** Starts a job measuring an encoder's verification accuracy on LFW pairs (needs UNVEIL_DATA). */
  verifyModel(modelId: string): Promise<{ jobId: string }>
  auditLog(caseId: string): Promise<AuditEntry[]>
  verifyAudit(caseId: string): Promise<AuditVerification>
  /**
   * The compare grid of a template as a PNG: its ground truth and the reconstructions of the
   * given runs (null: every succeeded run of it), each with its scores and pass/fail.
   */
  compareGrid(caseId: string, templateId: string, runIds: string[] | null): Promise<FilePayload>
  /** The case's evaluations (leak assessments), with their metrics once complete. */
  listEvaluations(caseId: string): Promise<EvaluationRecord[]>
  /** Starts an evaluation as a job (here, or on a queue of workers), or resumes the unfinished one with the same settings. */
  startEvaluation(input: StartEvaluationInput): Promise<EvaluationStarted>
  /** Writes the case report PDF into a folder; its sha256 goes into the audit log. */
  exportReport(input: ReportExportInput): Promise<ReportWritten>
  /** The report's plots of an evaluation or a run, rendered to SVG in the core from the report's specs. */
  reportPlots(input: PlotsInput): Promise<PlotImage[]>
  /** Explain: one subject's templates averaged over 1, 2, 5, … photos and decoded, with TAR@FAR 1e-3; queued as a run of the case. */
  explainAggregation(input: ExplainAggregationInput): Promise<RunRecord>
  /** Explain: agglomerative clustering of templates, each centroid decoded; queued as a run of the case. */
  explainCentroids(input: ExplainCentroidsInput): Promise<RunRecord>
  /** Explain: occlusion sensitivity map and decoded eye-/mouth-occluded templates; queued as a run of the case. */
  explainOcclusion(input: ExplainOcclusionInput): Promise<RunRecord>
  /** The case's stored Explain runs (records and sheet sha256), newest first. */
  listExplainRuns(caseId: string): Promise<ExplainRun[]>
  /** Explain: each perturbed crop's template decoded without and with its fitted equivariance map; queued as a run of the case. */
  explainEquivariance(input: ExplainEquivarianceInput): Promise<RunRecord>
  /** Explain: a template moved in steps along the fitted age and gender directions, each decoded; queued as a run of the case. */
  explainAttributes(input: ExplainAttributesInput): Promise<RunRecord>
  /** The equivariance maps and attribute directions fitted for an encoder (made with `unveil explain … --fit`). */
  explainFits(encoderId: string): Promise<ExplainFits>
}

export type ApiMethod = keyof UnveilApi

/** Method names, in one list, so preload and main iterate over the same set. */
export const API_METHODS = [
  'appInfo',
  'listCases',
  'createCase',
  'openCaseFolder',
  'createSampleCase',
  'demoStatus',
  'startDemo',
  'demoGoTo',
  'resetDemo',
  'getCase',
  'chooseFolder',
  'detectFaces',
  'enrolFromPhoto',
  'importTemplates',
  'exportTemplate',
  'deleteTemplate',
  'getImage',
  'listModels',
  'registerModel',
  'engineInfo',
  'listMethods',
  'startRun',
  'getRunResults',
  'cancelRun',
  'listJobs',
  'verifyModel',
  'auditLog',
  'verifyAudit',
  'compareGrid',
  'listEvaluations',
  'startEvaluation',
  'exportReport',
  'reportPlots',
  'explainAggregation',
  'explainCentroids',
  'explainOcclusion',
  'listExplainRuns',
  'explainEquivariance',
  'explainAttributes',
  'explainFits'
] as const satisfies readonly ApiMethod[]

// Compile-time check that API_METHODS lists every method of UnveilApi.
type Missing = Exclude<ApiMethod, (typeof API_METHODS)[number]>
const _complete: Missing extends never ? true : Missing = true
void _complete

export const channelFor = (method: ApiMethod): string => `unveil:${method}`

/** Main → renderer push events. */
export const JOB_PROGRESS_CHANNEL = 'unveil:job-progress'

/** What the preload puts on window.unveil. */
export interface UnveilBridge extends UnveilApi {
  onJobProgress(listener: (p: JobProgress) => void): () => void
}

/** Handler table main registers; the same table backs the CLI-free end-to-end bridge. */
export type ApiHandlers = { [K in ApiMethod]: (...args: unknown[]) => ReturnType<UnveilApi[K]> }
