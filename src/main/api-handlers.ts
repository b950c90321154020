// The IPC handler table: validates every argument the renderer sends, then calls the
// workbench. It imports nothing from electron so tests can drive the real handlers in Node.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ApiHandlers, FilePayload } from '../shared/ipc-contract'
import { DEMO_STEP_IDS } from '../shared/demo-types'
import {
  ValidationError,
  jsonErrorMessage,
  optionalString,
  requireId,
  requireInteger,
  requireNumber,
  requireObject,
  requireSha256,
  requireString,
  requireUuid,
  validateCaseCreate
} from '../shared/validation'
import type { Workbench } from '../core/workbench/workbench'
import { PathGrants } from './path-grants'

const MAX_UPLOAD_BYTES = 512 * 1024 * 1024

export interface HandlerDeps {
  workbench: Workbench
  /** The native folder dialog (a stand-in in tests); what it answers is granted in `grants`. */
  chooseFolder: (title: string) => Promise<string | null>
  /** Folders the renderer may name; by default a fresh set holding the workbench's case root. */
  grants?: PathGrants
}

function requireFile(v: unknown, field: string, maxBytes = 64 * 1024 * 1024): FilePayload {
  const o = requireObject(v, field)
  const name = requireString(o.name, `${field}.name`, { max: 500 })
  if (!(o.bytes instanceof Uint8Array)) throw new ValidationError(`${field}.bytes must be file contents`)
  if (o.bytes.byteLength === 0) throw new ValidationError(`${name} is empty`)
  if (o.bytes.byteLength > maxBytes) throw new ValidationError(`${name} is larger than ${Math.round(maxBytes / 1048576)} MiB`)
  return { name, bytes: o.bytes }
}

function requireRecord(v: unknown, field: string): Record<string, number | string> {
  const o = requireObject(v, field)
  for (const [k, val] of Object.entries(o)) {
    if (typeof val !== 'number' && typeof val !== 'string') throw new ValidationError(`${field}.${k} must be a number or text`)
  }
  return o as Record<string, number | string>
}

const optionalId = (v: unknown, field: string): string | null => (v === null || v === undefined || v === '' ? null : requireId(v, field))
/** Null, or an array of at most `max` items each checked by `item`. */
function optionalList<T>(v: unknown, field: string, max: number, item: (x: unknown, field: string) => T): T[] | null {
  if (v === null || v === undefined) return null
  if (!Array.isArray(v) || v.length === 0 || v.length > max) throw new ValidationError(`${field} must be a list of 1 to ${max} items`)
  return v.map((x, i) => item(x, `${field}[${i}]`))
}

const optionalInteger = (v: unknown, field: string, min: number, max: number): number | null =>
  v === null || v === undefined ? null : requireInteger(v, field, min, max)

export function createApiHandlers({ workbench: wb, chooseFolder, grants = new PathGrants() }: HandlerDeps): ApiHandlers {
  // The default case root is main's own choice (new cases go to <root>/<name> without a dialog).
  grants.grant(wb.appInfo().defaultCaseRoot)
  const granted = (v: unknown, field: string): string => grants.require(requireString(v, field, { max: 1000 }), field)
  const optionalPath = (v: unknown, field: string): string | null => (v === null || v === undefined || v === '' ? null : granted(v, field))
  return {
    appInfo: async () => wb.appInfo(),
    listCases: async () => wb.cases.list(),
    createCase: async (input) => {
      const c = validateCaseCreate(input)
      return wb.cases.create({ ...c, dir: granted(c.dir, 'case folder') })
    },
    openCaseFolder: async (dir) => wb.cases.openFolder(granted(dir, 'case folder')),
    createSampleCase: async () => wb.createSampleCase(),
    demoStatus: async () => wb.demo.status(),
    startDemo: async () => wb.demo.start(),
    demoGoTo: async (step) => wb.demo.go(requireInteger(step, 'demo step', 0, DEMO_STEP_IDS.length - 1)),
    resetDemo: async () => wb.demo.reset(),
    getCase: async (caseId) => wb.cases.get(requireUuid(caseId, 'case id')),
    chooseFolder: async (title) => {
      const dir = await chooseFolder(requireString(title, 'dialog title', { max: 200 }))
      if (dir) grants.grant(dir)
      return dir
    },
    detectFaces: async (image) => {
      const f = requireFile(image, 'photo')
      return wb.faces.detect(f.bytes, f.name)
    },
    enrolFromPhoto: async (caseId, image, options) => {
      const f = requireFile(image, 'photo')
      const o = requireObject(options, 'enrolment options')
      return wb.templates.enrolFromPhoto(requireUuid(caseId, 'case id'), f.bytes, f.name, {
        encoderId: requireId(o.encoderId, 'encoder'),
        faceIndex: requireInteger(o.faceIndex ?? 0, 'face index', 0, 1000),
        label: optionalString(o.label, 'label', 200) ?? undefined,
        subject: optionalString(o.subject, 'subject', 200) ?? undefined
      })
    },
    importTemplates: async (caseId, file, encoderId) => {
      const f = requireFile(file, 'template file')
      return wb.templates.import(requireUuid(caseId, 'case id'), f.bytes, f.name, requireId(encoderId, 'encoder'))
    },
    exportTemplate: async (caseId, templateId, format) => {
      if (format !== 'json' && format !== 'npy') throw new ValidationError('export format must be json or npy')
      return wb.templates.export(requireUuid(caseId, 'case id'), requireUuid(templateId, 'template id'), format)
    },
    deleteTemplate: async (caseId, templateId) => wb.templates.delete(requireUuid(caseId, 'case id'), requireUuid(templateId, 'template id')),
    getImage: async (caseId, sha) => wb.cases.getImage(requireUuid(caseId, 'case id'), requireSha256(sha, 'image sha256')),
    listModels: async () => wb.models.list(),
    registerModel: async (input) => {
      const o = requireObject(input, 'model registration')
      const model = requireFile(o.model, 'model file', MAX_UPLOAD_BYTES)
      let manifest: unknown
      try {
        manifest = JSON.parse(requireString(o.manifestJson, 'manifest', { max: 1_000_000 }))
      } catch (err) {
        if (err instanceof ValidationError) throw err
        throw new ValidationError(`manifest is not valid JSON: ${jsonErrorMessage(err)}`)
      }
      // The registry reads models from disk (they may be large); stage the upload in a temp folder.
      const dir = mkdtempSync(join(tmpdir(), 'unveil-model-'))
      try {
        const path = join(dir, 'model.onnx')
        writeFileSync(path, model.bytes)
        const { entry, verification, thresholds } = await wb.models.register(path, manifest)
        return { ...entry, ...(verification ? { verificationJobId: verification.runId } : {}), ...(thresholds ? { thresholdsJobId: thresholds.runId } : {}) }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    engineInfo: async () => wb.models.engineInfo(),
    listMethods: async () => wb.runs.methods(),
    startRun: async (input) => {
      const o = requireObject(input, 'run')
      return wb.runs.start({
        caseId: requireUuid(o.caseId, 'case id'),
        method: requireId(o.method, 'method'),
        templateId: o.templateId === null || o.templateId === undefined ? null : requireUuid(o.templateId, 'template id'),
        parameters: requireRecord(o.parameters ?? {}, 'parameters'),
        seed: requireInteger(o.seed, 'seed', 0, 2 ** 31 - 1)
      })
    },
    getRunResults: async (caseId, runId) => wb.runs.results(requireUuid(caseId, 'case id'), requireUuid(runId, 'run id')),
    cancelRun: async (runId) => wb.runs.cancel(requireUuid(runId, 'run id')),
    listJobs: async () => wb.runs.list(),
    verifyModel: async (modelId) => ({ jobId: wb.models.verify(requireId(modelId, 'model id')).runId }),
    auditLog: async (caseId) => wb.cases.auditLog(requireUuid(caseId, 'case id')),
    verifyAudit: async (caseId) => wb.cases.verifyAudit(requireUuid(caseId, 'case id')),
    compareGrid: async (caseId, templateId, runIds) => {
      let runs: string[] | null = null
      if (runIds !== null && runIds !== undefined) {
        if (!Array.isArray(runIds)) throw new ValidationError('run ids must be a list')
        if (runIds.length === 0) throw new ValidationError('choose at least one run to compare')
        if (runIds.length > 64) throw new ValidationError('at most 64 runs can be compared at once')
        runs = runIds.map((id, i) => requireUuid(id, `run id ${i + 1}`))
      }
      const grid = await wb.compare.grid(requireUuid(caseId, 'case id'), requireUuid(templateId, 'template id'), runs)
      const label = grid.comparison.template.label.replace(/[^\w.-]+/g, '_').replace(/\.[a-z]+$/i, '')
      return { name: `compare-${label || 'template'}-${grid.comparison.template.id.slice(0, 8)}.png`, bytes: grid.png }
    },
    listEvaluations: async (caseId) => wb.evaluations.list(requireUuid(caseId, 'case id')),
    startEvaluation: async (input) => {
      const o = requireObject(input, 'evaluation')
      if (!Array.isArray(o.methods) || o.methods.length === 0 || o.methods.length > 32) throw new ValidationError('choose between 1 and 32 methods')
      if (!Array.isArray(o.encoderIds) || o.encoderIds.length > 64) throw new ValidationError('encoderIds must be a list of encoder ids')
      const evaluation = {
        caseId: requireUuid(o.caseId, 'case id'),
        datasetDir: optionalPath(o.datasetDir, 'dataset folder'),
        pairsFile: optionalPath(o.pairsFile, 'pair list'),
        seenEncoderId: requireId(o.seenEncoderId, 'seen encoder'),
        methods: o.methods.map((m, i) => {
          const mo = requireObject(m, `methods[${i}]`)
          return { id: requireId(mo.id, `methods[${i}].id`), parameters: requireRecord(mo.parameters ?? {}, `methods[${i}].parameters`) }
        }),
        encoderIds: o.encoderIds.map((e, i) => requireId(e, `encoderIds[${i}]`)),
        budget: o.budget === null || o.budget === undefined ? null : requireInteger(o.budget, 'budget', 1, 1e9),
        seed: requireInteger(o.seed, 'seed', 0, 2 ** 31 - 1),
        limit: o.limit === null || o.limit === undefined ? null : requireInteger(o.limit, 'limit', 1, 1e6),
        // The URL itself is checked (scheme, host) by the core before it connects.
        queueUrl: optionalString(o.queueUrl, 'queue URL', 2048)
      }
      return evaluation.queueUrl ? wb.evaluations.startQueued(evaluation) : wb.evaluations.start(evaluation)
    },
    exportReport: async (input) => {
      const o = requireObject(input, 'report')
      const caseId = requireUuid(o.caseId, 'case id')
      const dir = granted(o.dir, 'report folder')
      const runIds =
        o.runIds === null || o.runIds === undefined
          ? null
          : Array.isArray(o.runIds)
            ? o.runIds.map((r, i) => requireUuid(r, `runIds[${i}]`))
            : (() => {
                throw new ValidationError('runIds must be a list of run ids')
              })()
      const evaluationId = o.evaluationId === null || o.evaluationId === undefined ? null : requireUuid(o.evaluationId, 'evaluation id')
      const info = wb.cases.get(caseId).info
      const stamp = new Date().toISOString().replace(/[:.]/g, '-')
      const name = `${(info.number ?? info.name).replace(/[^\w.-]+/g, '_')}-report-${stamp}.pdf`
      const r = await wb.reports.write({ caseId, runIds, evaluationId, out: join(dir, name) })
      return { path: r.path, sha256: r.sha256, bytes: r.bytes, auditOk: r.auditOk }
    },
    reportPlots: async (input) => {
      const o = requireObject(input, 'plots')
      const caseId = requireUuid(o.caseId, 'case id')
      const evaluationId = o.evaluationId === null || o.evaluationId === undefined ? null : requireUuid(o.evaluationId, 'evaluation id')
      const runId = o.runId === null || o.runId === undefined ? null : requireUuid(o.runId, 'run id')
      if (!evaluationId === !runId) throw new ValidationError('plots: give an evaluation id or a run id, not both or neither')
      return wb.reports.plots({ caseId, evaluationId, runId })
    },
    explainAggregation: async (input) => {
      const o = requireObject(input, 'aggregation')
      return wb.explain.aggregation({
        caseId: requireUuid(o.caseId, 'case id'),
        subject: optionalString(o.subject, 'subject', 200),
        personDir: optionalPath(o.personDir, 'person folder'),
        encoderId: optionalId(o.encoderId, 'encoder'),
        holdout: optionalInteger(o.holdout, 'holdout', 1, 10_000),
        impostors: optionalInteger(o.impostors, 'impostors', 1, 10_000),
        seed: requireInteger(o.seed, 'seed', 0, 2 ** 31 - 1)
      })
    },
    explainCentroids: async (input) => {
      const o = requireObject(input, 'centroids')
      return wb.explain.centroids({
        caseId: requireUuid(o.caseId, 'case id'),
        datasetDir: optionalPath(o.datasetDir, 'dataset folder'),
        encoderId: optionalId(o.encoderId, 'encoder'),
        k: requireInteger(o.k, 'k', 2, 64),
        limit: optionalInteger(o.limit, 'limit', 2, 100_000),
        seed: requireInteger(o.seed, 'seed', 0, 2 ** 31 - 1)
      })
    },
    explainOcclusion: async (input) => {
      const o = requireObject(input, 'occlusion')
      return wb.explain.occlusion({
        caseId: requireUuid(o.caseId, 'case id'),
        templateId: o.templateId === null || o.templateId === undefined ? null : requireUuid(o.templateId, 'template id'),
        photo: o.photo === null || o.photo === undefined ? null : requireFile(o.photo, 'photo'),
        encoderId: optionalId(o.encoderId, 'encoder'),
        patch: requireInteger(o.patch, 'patch', 2, 112),
        stride: requireInteger(o.stride, 'stride', 1, 112),
        seed: requireInteger(o.seed, 'seed', 0, 2 ** 31 - 1)
      })
    },
    listExplainRuns: async (caseId) => wb.explain.list(requireUuid(caseId, 'case id')),
    explainEquivariance: async (input) => {
      const o = requireObject(input, 'equivariance')
      return wb.explain.equivariance({
        caseId: requireUuid(o.caseId, 'case id'),
        templateId: o.templateId === null || o.templateId === undefined ? null : requireUuid(o.templateId, 'template id'),
        photo: o.photo === null || o.photo === undefined ? null : requireFile(o.photo, 'photo'),
        encoderId: optionalId(o.encoderId, 'encoder'),
        transforms: optionalList(o.transforms, 'transforms', 20, (x, f) => requireString(x, f, { max: 40 })),
        seed: requireInteger(o.seed, 'seed', 0, 2 ** 31 - 1)
      })
    },
    explainAttributes: async (input) => {
      const o = requireObject(input, 'attributes')
      return wb.explain.attributes({
        caseId: requireUuid(o.caseId, 'case id'),
        templateId: requireUuid(o.templateId, 'template id'),
        attributes: optionalList(o.attributes, 'attributes', 2, (x, f) => {
          if (x !== 'age' && x !== 'gender') throw new ValidationError(`${f} must be age or gender`)
          return x
        }),
        ageSteps: optionalList(o.ageSteps, 'age steps', 9, (x, f) => requireNumber(x, f, -100, 100)),
        genderSteps: optionalList(o.genderSteps, 'gender steps', 9, (x, f) => requireNumber(x, f, -5, 5)),
        seed: requireInteger(o.seed, 'seed', 0, 2 ** 31 - 1)
      })
    },
    explainFits: async (encoderId) => wb.explainFits.fits(requireId(encoderId, 'encoder'))
  }
}
