import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { PlotImage, RunRecord } from '../../shared/types'
import { reconstructionOf } from '../../shared/reconstruction-record'
import { ValidationError } from '../../shared/validation'
import type { CaseStore } from '../cases/case-store'
import { sha256Hex } from '../fs/sha256'
import { encodePng } from '../imaging/image-io'
import { checkWritableTarget, writePdf } from '../reports/pdf-printer'
import { caseUcoGraph } from '../reports/case-uco'
import { evaluationPlotSpecs, renderPlots, runPlotSpecs } from '../reports/plots'
import type { ReportPrinter } from '../reports/report-printer'
import { reportHtml, type ReportEvaluation, type ReportModel, type ReportRun } from '../reports/report-html'
import type { CaseService } from './case-service'
import type { EvaluationService } from './evaluation-service'
import type { RunService } from './run-service'

export interface ReportRequest {
  caseId: string
  /** Only these runs (default: every reconstruction run not made by an evaluation, and every evaluation). */
  runIds?: string[] | null
  /** Only this evaluation and its runs. */
  evaluationId?: string | null
  out: string
}

export type { ReportPrinter } from '../reports/report-printer'
export { REPORT_FOOTER, REPORT_MARGINS_MM } from '../reports/report-printer'

/** Which plots: an evaluation's, or one run's. */
export interface PlotsRequest {
  caseId: string
  evaluationId?: string | null
  runId?: string | null
}

/** The name of the CASE/UCO graph attached inside every report PDF. */
export const REPORT_GRAPH_ATTACHMENT = 'case-uco.jsonld'

export interface ReportOutcome {
  path: string
  sha256: string
  bytes: number
  runs: number
  evaluations: number
  auditOk: boolean
  printer: string
}

const ACTIVE = new Set(['queued', 'running'])

/** Case reports: one HTML template printed to PDF by Chromium, registered in the case's audit log with its sha256. */
export class ReportService {
  constructor(
    private readonly cases: CaseService,
    private readonly runs: RunService,
    private readonly evaluations: EvaluationService,
    private readonly version: string,
    private readonly printer: ReportPrinter
  ) {}

  private async reportRun(store: CaseStore, run: RunRecord): Promise<ReportRun> {
    const results = store.listResults(run.id)
    const record = reconstructionOf(results)
    const data = results.find((r) => r.kind === 'reconstruction')?.data as
      { evaluation?: { groundTruthSha256?: string; subject?: string; targetId?: string } } | undefined
    const blob = (sha: string | null | undefined): Uint8Array | null => (sha && store.getImage(sha) ? new Uint8Array(readFileSync(store.imagePath(sha))) : null)
    let groundTruthPng = blob(data?.evaluation?.groundTruthSha256)
    const template = run.templateId ? store.getTemplate(run.templateId) : null
    if (!groundTruthPng && template?.imageSha256) {
      const crop = await this.runs.groundTruthCrop(store, template).catch(() => null)
      if (crop) groundTruthPng = await encodePng(crop)
    }
    const target = data?.evaluation
      ? `${data.evaluation.subject ?? ''} (${data.evaluation.targetId ?? ''})`
      : template
        ? `${template.label}${template.subject ? ` — ${template.subject}` : ''}`
        : 'no template'
    return { run, record, reconstructionPng: blob(record?.imageSha256), groundTruthPng, target, plots: [] }
  }

  private evaluationPlots(store: CaseStore, evaluationId: string): Promise<PlotImage[]> {
    const record = store.evaluations.get(evaluationId)
    if (!record) throw new ValidationError(`no evaluation ${evaluationId} in this case`)
    if (!record.metrics) return Promise.resolve([])
    const traces = store.evaluations.runs(evaluationId).flatMap((link) => {
      const run = store.getRun(link.runId)
      const rec = run ? reconstructionOf(store.listResults(run.id)) : null
      return run && rec ? [{ method: run.method, runId: run.id, trace: rec.trace }] : []
    })
    return renderPlots(evaluationPlotSpecs(record.metrics, traces))
  }

  /**
   * The plots the report prints for an evaluation or a run, as SVG: the UI shows exactly these,
   * so a plot on screen and in the PDF come from one spec and one renderer.
   */
  async plots(request: PlotsRequest): Promise<PlotImage[]> {
    if (!!request.evaluationId === !!request.runId) throw new ValidationError('give an evaluation or a run, not both or neither')
    const store = this.cases.store(request.caseId)
    if (request.evaluationId) return this.evaluationPlots(store, request.evaluationId)
    const run = store.getRun(request.runId!)
    if (!run) throw new ValidationError(`no run ${request.runId} in this case`)
    return renderPlots(runPlotSpecs(reconstructionOf(store.listResults(run.id))?.trace ?? []))
  }

  private async reportEvaluation(store: CaseStore, evaluationId: string): Promise<ReportEvaluation> {
    const record = store.evaluations.get(evaluationId)
    if (!record) throw new ValidationError(`no evaluation ${evaluationId} in this case`)
    let description = record.spec.protocol.kind === 'pairs' ? `pair list ${record.spec.protocol.file}` : 'every subject with at least 2 photos'
    try {
      description = this.evaluations.plan(store, record.spec).description
    } catch (err) {
      description += ` (dataset not readable now: ${(err as Error).message})`
    }
    const runs: ReportRun[] = []
    for (const link of store.evaluations.runs(evaluationId)) {
      const run = store.getRun(link.runId)
      if (run) runs.push(await this.reportRun(store, run))
    }
    return { record, description, plots: await this.evaluationPlots(store, evaluationId), runs }
  }

  /** Everything the report shows, read from the case. */
  async model(request: Omit<ReportRequest, 'out'>): Promise<ReportModel> {
    const store = this.cases.store(request.caseId)
    const info = store.info()
    const allRuns = store.listRuns()
    const templates = store.listTemplates()
    const evaluations = store.evaluations.list()
    if (allRuns.length === 0 && templates.length === 0 && evaluations.length === 0)
      throw new ValidationError(`case '${info.name}' is empty: no templates, runs or evaluations to report`)
    if (request.runIds?.length && request.evaluationId) throw new ValidationError('give runs or an evaluation, not both')
    const inEvaluation = new Set(evaluations.flatMap((e) => store.evaluations.runs(e.id).map((l) => l.runId)))
    let chosenRuns: RunRecord[]
    let chosenEvaluations: string[]
    if (request.runIds?.length) {
      chosenRuns = request.runIds.map((id) => {
        const r = store.getRun(id)
        if (!r) throw new ValidationError(`no run ${id} in this case`)
        return r
      })
      chosenEvaluations = []
    } else if (request.evaluationId) {
      chosenRuns = []
      chosenEvaluations = [this.evaluations.get(request.caseId, request.evaluationId).id]
    } else {
      chosenRuns = allRuns.filter((r) => r.method !== 'evaluation' && !inEvaluation.has(r.id))
      chosenEvaluations = evaluations.map((e) => e.id)
    }
    const inProgress = chosenRuns.filter((r) => ACTIVE.has(r.status))
    const reportRuns: ReportRun[] = []
    for (const r of chosenRuns.filter((x) => !ACTIVE.has(x.status))) {
      const reportRun = await this.reportRun(store, r)
      reportRuns.push({ ...reportRun, plots: await renderPlots(runPlotSpecs(reportRun.record?.trace ?? [])) })
    }
    const reportEvaluations: ReportEvaluation[] = []
    for (const id of chosenEvaluations) reportEvaluations.push(await this.reportEvaluation(store, id))
    const audit = store.verifyAudit()
    const log = store.auditLog()
    const excerpt = log.length <= 25 ? log : [...log.slice(0, 3), ...log.slice(-22)]
    const warnings: string[] = []
    if (!audit.ok)
      warnings.push(`AUDIT CHAIN DOES NOT VERIFY (entry ${audit.firstBrokenSeq}: ${audit.reason}); the case may have been modified outside Unveil.`)
    if (inProgress.length) warnings.push(`${inProgress.length} run(s) still in progress are not reported.`)
    for (const e of reportEvaluations)
      if (e.record.status !== 'succeeded') warnings.push(`Evaluation ${e.record.id} is ${e.record.status.toUpperCase()}: its metrics are not available.`)
    return {
      info,
      generatedAt: new Date().toISOString(),
      softwareVersion: this.version,
      examiner: info.examiner,
      audit,
      auditExcerpt: excerpt,
      auditTotal: log.length,
      images: store.listImages(),
      templates,
      models: store.listModelRefs(),
      runs: reportRuns,
      inProgress,
      evaluations: reportEvaluations,
      warnings
    }
  }

  /** The whole case as a CASE/UCO graph; `files` are an export bundle's files, if any. */
  private caseGraph(store: CaseStore, files: Record<string, string>): Record<string, unknown> {
    const runs = store.listRuns()
    return caseUcoGraph({
      info: store.info(),
      softwareVersion: this.version,
      images: store.listImages(),
      templates: store.listTemplates(),
      models: store.listModelRefs(),
      runs,
      results: runs.flatMap((r) => store.listResults(r.id)),
      evaluations: store.evaluations.list(),
      audit: store.verifyAudit(),
      files
    })
  }

  /**
   * Prints the PDF, attaches the case's CASE/UCO graph inside it, writes it (temp file, then
   * rename) and appends an audit entry with the sha256 of the final bytes.
   */
  async write(request: ReportRequest): Promise<ReportOutcome> {
    checkWritableTarget(request.out)
    const model = await this.model(request)
    const store = this.cases.store(request.caseId)
    const graph = `${JSON.stringify(this.caseGraph(store, {}), null, 2)}\n`
    const printer = this.printer
    const { path, bytes } = await writePdf(printer, reportHtml(model), request.out, [
      {
        name: REPORT_GRAPH_ATTACHMENT,
        bytes: Buffer.from(graph),
        mimeType: 'application/ld+json',
        description: 'The case as a CASE/UCO JSON-LD graph (investigation, actions, instruments, results)'
      }
    ])
    const sha256 = sha256Hex(bytes)
    store.exports.record({
      kind: 'report',
      path,
      sha256,
      bytes: bytes.length,
      scope: {
        runIds: model.runs.map((r) => r.run.id),
        evaluationIds: model.evaluations.map((e) => e.record.id),
        auditOk: model.audit.ok,
        printer: printer.name,
        attachments: [REPORT_GRAPH_ATTACHMENT]
      }
    })
    return { path, sha256, bytes: bytes.length, runs: model.runs.length, evaluations: model.evaluations.length, auditOk: model.audit.ok, printer: printer.name }
  }

  /**
   * Export bundle: case.json, results.json and results.csv (every run's scores), evaluations.json
   * and evaluations.csv (the transfer matrices), images/ (every stored image by sha256),
   * case-uco.jsonld (CASE/UCO graph) and SHA256SUMS. Written into a temporary folder that is
   * renamed to `out` when complete; `out` must not exist yet (or be an empty folder).
   */
  async bundle(request: { caseId: string; out: string }): Promise<{ path: string; files: number; sha256sums: string }> {
    const store = this.cases.store(request.caseId)
    const out = resolve(request.out)
    if (existsSync(out) && (!statSync(out).isDirectory() || readdirSync(out).length > 0))
      throw new ValidationError(`${out} already exists and is not an empty folder`)
    checkWritableTarget(join(dirname(out), `${basename(out)}.check`)) // the parent folder must exist and be writable
    const info = store.info()
    const runs = store.listRuns()
    const templates = store.listTemplates()
    const evaluations = store.evaluations.list()
    if (runs.length === 0 && templates.length === 0 && evaluations.length === 0)
      throw new ValidationError(`case '${info.name}' is empty: no templates, runs or evaluations to export`)
    const active = runs.filter((r) => ACTIVE.has(r.status))
    if (active.length)
      throw new ValidationError(`${active.length} run(s) of case '${info.name}' are still in progress (${active[0].id}); export when they have finished`)
    const temp = join(dirname(out), `.${basename(out)}.${process.pid}.tmp`)
    rmSync(temp, { recursive: true, force: true })
    mkdirSync(join(temp, 'images'), { recursive: true })
    try {
      const files: Record<string, string> = {}
      const write = (name: string, text: string): void => {
        writeFileSync(join(temp, name), text)
        files[name] = sha256Hex(text)
      }
      const images = store.listImages()
      for (const img of images) {
        const ext = img.mime === 'image/png' ? 'png' : img.mime === 'image/jpeg' ? 'jpg' : 'bin'
        const name = `images/${img.sha256}.${ext}`
        copyFileSync(store.imagePath(img.sha256), join(temp, name))
        files[name] = img.sha256
      }
      const results = runs.flatMap((r) => store.listResults(r.id))
      const audit = store.verifyAudit()
      const templatesOut = templates.map((t) => ({ ...t, vector: undefined, vectorFile: null }))
      write(
        'case.json',
        `${JSON.stringify({ info, softwareVersion: this.version, exportedAt: new Date().toISOString(), audit, auditLog: store.auditLog(), templates: templatesOut, images, models: store.listModelRefs(), runs }, null, 2)}\n`
      )
      write('results.json', `${JSON.stringify(results, null, 2)}\n`)
      write(
        'evaluations.json',
        `${JSON.stringify(
          evaluations.map((e) => ({ ...e, runs: store.evaluations.runs(e.id) })),
          null,
          2
        )}\n`
      )
      const csv = (rows: unknown[][]): string =>
        rows
          .map((r) =>
            r.map((v) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v))).join(',')
          )
          .join('\n') + '\n'
      const resultRows: unknown[][] = [
        [
          'run_id',
          'method',
          'status',
          'seed',
          'template_id',
          'image_sha256',
          'encoder_id',
          'encoder_sha256',
          'target',
          'type_i',
          'type_ii_mean',
          'far',
          'threshold',
          'pass_target',
          'pass_type_i',
          'threshold_source',
          'impostor_pairs'
        ]
      ]
      for (const run of runs) {
        const rec = reconstructionOf(store.listResults(run.id))
        if (!rec) continue
        for (const s of rec.scores) {
          const fars = s.thresholds?.fars ?? [null]
          fars.forEach((f, i) => {
            const mean = s.typeII.length ? s.typeII.reduce((a, b) => a + b, 0) / s.typeII.length : null
            resultRows.push([
              run.id,
              run.method,
              run.status,
              run.seed,
              run.templateId,
              rec.imageSha256,
              s.encoderId,
              s.encoderSha256,
              s.target,
              s.typeI,
              mean,
              f?.far,
              f?.threshold,
              s.pass.target?.[i],
              s.pass.typeI?.[i],
              s.thresholds?.dataset,
              s.thresholds?.impostorPairs
            ])
          })
        }
      }
      write('results.csv', csv(resultRows))
      const evalRows: unknown[][] = [
        [
          'evaluation_id',
          'method',
          'encoder_id',
          'role',
          'kind',
          'far',
          'successes',
          'trials',
          'subjects',
          'rate',
          'low',
          'high',
          'interval',
          'bootstrap_low',
          'bootstrap_high'
        ]
      ]
      for (const e of evaluations) {
        for (const c of e.metrics?.transfer ?? []) {
          for (const kind of ['typeI', 'typeII'] as const) {
            for (const r of c[kind])
              evalRows.push([
                e.id,
                c.method,
                c.encoderId,
                c.role,
                kind,
                r.far,
                r.rate.successes,
                r.rate.trials,
                r.rate.subjects,
                r.rate.rate,
                r.rate.interval?.low,
                r.rate.interval?.high,
                r.rate.interval?.method,
                r.rate.bootstrap?.low,
                r.rate.bootstrap?.high
              ])
          }
        }
      }
      write('evaluations.csv', csv(evalRows))
      write('case-uco.jsonld', `${JSON.stringify(this.caseGraph(store, { ...files }), null, 2)}\n`)
      const sums =
        Object.entries(files)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([f, h]) => `${h}  ${f}`)
          .join('\n') + '\n'
      writeFileSync(join(temp, 'SHA256SUMS'), sums)
      if (existsSync(out)) rmSync(out, { recursive: true })
      renameSync(temp, out)
      const sha256sums = sha256Hex(sums)
      store.exports.record({
        kind: 'bundle',
        path: out,
        sha256: sha256sums,
        bytes: Buffer.byteLength(sums),
        scope: { files: Object.keys(files).length + 1, what: 'sha256 of SHA256SUMS' }
      })
      return { path: out, files: Object.keys(files).length + 1, sha256sums }
    } catch (err) {
      rmSync(temp, { recursive: true, force: true })
      throw err
    }
  }

  /** The report as HTML (the UI previews it; the app prints it with Electron's printToPDF). */
  async html(request: Omit<ReportRequest, 'out'>): Promise<string> {
    return reportHtml(await this.model(request))
  }
}
