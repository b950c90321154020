import { mkdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { ExecutionProvider } from '../../shared/types'
import type { AppInfo, CaseDetail } from '../../shared/ipc-contract'
import { CaseLibrary } from '../cases/case-library'
import { InferenceEngine, type IsolatedHostFactory } from '../engine/inference-engine'
import { sampleImagePaths } from '../env/sample-images'
import { softwareVersion } from '../env/software-version'
import { JobQueue } from '../jobs/job-queue'
import { registerBuiltinMethods } from '../methods/builtin-methods'
import { ModelLoader } from '../models/model-loader'
import { ModelRegistry } from '../models/model-registry'
import { ModelTrial } from '../models/model-trial'
import { CaseService } from './case-service'
import { CompareService } from './compare-service'
import { DatasetService } from './dataset-service'
import { DemoService } from './demo-service'
import { EvaluationService } from './evaluation-service'
import { ExplainService } from './explain-service'
import { ExplainFitService } from './explain-fit-service'
import { FaceService } from './face-service'
import { GradientService } from './gradient-service'
import { ModelService } from './model-service'
import { PriorService } from './prior-service'
import { ChromiumPrinter } from '../reports/chromium-printer'
import { ReportService, type ReportPrinter } from './report-service'
import { QueueWorkerService } from './queue-worker-service'
import { RunService } from './run-service'
import { TemplateService } from './template-service'
import { removeStaleTempFiles } from '../fs/atomic-write'

export { inversionRecord, type InversionRequest, type InversionResult } from './run-service'
export { defaultCaseRoot, defaultLibraryDir } from '../env/library-dir'
export { softwareVersion } from '../env/software-version'
export type { JobHandle } from '../jobs/job-queue'
export type { IsolatedHostFactory, WorkerHost } from '../engine/inference-engine'
export { WORKER_SETTINGS_ENV } from '../engine/engine-protocol'
export type { AlignProgress } from '../datasets/dataset-aligner'
export type { EvaluationInput, EvaluationStart } from './evaluation-service'
export { serveEvaluationQueue, type ServeOptions } from './queue-worker-service'
export { WORKER_NAME_ENV } from '../queue/queue-worker'
export type { AttemptJobResult } from '../queue/evaluation-job'
export { REPORT_FOOTER, REPORT_MARGINS_MM, type ReportPrinter } from './report-service'

export interface WorkbenchOptions {
  /** Where the registry, case list and caches live (the app's user-data folder). */
  libraryDir: string
  /** Default parent folder for new cases. */
  caseRoot: string
  providers?: ExecutionProvider[]
  threads?: number
  /** What prints case reports: the app passes Electron's printToPDF; default a local Chromium via playwright-core. */
  reportPrinter?: ReportPrinter
  /** How user models' isolated trial runs start their process (default: a Node fork; the app passes utilityProcess). */
  isolatedHost?: IsolatedHostFactory
}

/**
 * Unveil's composition root: the IPC handlers, the CLI and the end-to-end tests all reach the
 * core through it, one service per domain, so they exercise the same code.
 */
export class Workbench {
  readonly version = softwareVersion()
  readonly registry: ModelRegistry
  readonly engine: InferenceEngine
  readonly loader: ModelLoader
  readonly jobs: JobQueue
  readonly cases: CaseService
  readonly faces: FaceService
  readonly templates: TemplateService
  readonly models: ModelService
  readonly runs: RunService
  readonly priors: PriorService
  readonly datasets: DatasetService
  readonly compare: CompareService
  readonly gradients: GradientService
  readonly evaluations: EvaluationService
  /** Runs evaluation jobs that come from a queue (`unveil worker`). */
  readonly queueJobs: QueueWorkerService
  readonly reports: ReportService
  readonly explain: ExplainService
  readonly demo: DemoService
  readonly explainFits: ExplainFitService

  private constructor(readonly options: WorkbenchOptions) {
    mkdirSync(options.libraryDir, { recursive: true })
    // Temp files of library writers killed mid-write (registry.json, cases.json); live writers' stay.
    removeStaleTempFiles(options.libraryDir)
    removeStaleTempFiles(join(options.libraryDir, 'trials'))
    this.registry = new ModelRegistry(options.libraryDir)
    this.engine = new InferenceEngine({ providers: options.providers, threads: options.threads })
    this.loader = new ModelLoader(this.engine, this.registry, {
      trial: new ModelTrial({ threads: options.threads, isolatedHost: options.isolatedHost, recordDir: join(options.libraryDir, 'trials') })
    })
    this.jobs = new JobQueue()
    this.cases = new CaseService(new CaseLibrary(options.libraryDir), options.caseRoot, (runId) => this.jobs.list().some((j) => j.runId === runId))
    this.faces = new FaceService(this.engine, this.registry, this.loader)
    this.templates = new TemplateService(this.cases, this.faces, this.registry)
    this.models = new ModelService(this.engine, this.registry, this.loader, this.faces, this.jobs, this.version)
    this.runs = new RunService(this.engine, this.registry, this.loader, this.cases, this.faces, this.jobs, this.version)
    this.priors = new PriorService(this.engine, this.registry, this.loader)
    this.datasets = new DatasetService(this.engine, this.registry, this.loader)
    this.compare = new CompareService(this.cases, this.faces)
    this.gradients = new GradientService(this.engine, this.registry, options.libraryDir)
    this.evaluations = new EvaluationService(this.engine, this.registry, this.loader, this.cases, this.runs, this.jobs, this.version)
    this.queueJobs = new QueueWorkerService(this.registry, this.loader, this.evaluations, this.version)
    this.explainFits = new ExplainFitService(this.engine, this.registry, this.loader, this.jobs, this.version, options.libraryDir)
    this.explain = new ExplainService(this.engine, this.registry, this.loader, this.cases, this.faces, this.runs, this.jobs, this.version, this.explainFits.artefacts)
    this.reports = new ReportService(this.cases, this.runs, this.evaluations, this.version, options.reportPrinter ?? new ChromiumPrinter())
    this.demo = new DemoService({
      libraryDir: options.libraryDir,
      caseRoot: options.caseRoot,
      registry: this.registry,
      jobs: this.jobs,
      cases: this.cases,
      templates: this.templates,
      runs: this.runs,
      compare: this.compare,
      explain: this.explain,
      reports: this.reports
    })
  }

  static async open(options: WorkbenchOptions): Promise<Workbench> {
    registerBuiltinMethods()
    return new Workbench(options)
  }

  appInfo(): AppInfo {
    return {
      version: this.version,
      libraryDir: this.options.libraryDir,
      engine: this.engine.info(),
      sampleAvailable: sampleImagePaths().length > 0,
      defaultCaseRoot: this.options.caseRoot
    }
  }

  /** A case holding the sample photos of @vladmandic/face-api, each enrolled with the default encoder. */
  async createSampleCase(): Promise<CaseDetail> {
    const photos = sampleImagePaths()
    if (photos.length === 0) throw new Error('the sample photos (@vladmandic/face-api) are not installed')
    const info = this.cases.create({
      dir: this.cases.uniqueDir('Sample case'),
      name: 'Sample case',
      number: 'SAMPLE-001',
      examiner: null,
      notes: 'Created from the sample photos shipped with @vladmandic/face-api, enrolled with the bundled encoder.'
    })
    const encoderId = this.registry.defaults().encoder
    for (const photo of photos) {
      await this.templates.enrolFromPhoto(info.id, new Uint8Array(readFileSync(photo)), basename(photo), { encoderId, faceIndex: 0 })
    }
    return this.cases.get(info.id)
  }

  async close(): Promise<void> {
    for (const job of this.jobs.list()) this.jobs.cancel(job.runId)
    await this.jobs.idle()
    this.cases.close()
    await this.engine.close()
  }
}
