import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { DEMO_STEP_IDS, type DemoEngineScore, type DemoStatus, type DemoStepId, type DemoStepResult } from '../../shared/demo-types'
import type { EncoderScore, RunRecord } from '../../shared/types'
import { reconstructionOf } from '../../shared/reconstruction-record'
import { ValidationError } from '../../shared/validation'
import { CaseStore } from '../cases/case-store'
import { DEMO_CASE_NUMBER, DEMO_FOLDER, DEMO_GA, DEMO_OCCLUSION, DEMO_SEED, DEMO_STEPS, DEMO_STEP_COUNT } from '../demo/demo-steps'
import { DemoStateFile, type DemoState } from '../demo/demo-state'
import { sampleImagePaths } from '../env/sample-images'
import { encodePng } from '../imaging/image-io'
import type { JobQueue } from '../jobs/job-queue'
import type { ModelRegistry } from '../models/model-registry'
import type { CaseService } from './case-service'
import type { CompareService } from './compare-service'
import type { ExplainService } from './explain-service'
import type { ReportService } from './report-service'
import type { RunService } from './run-service'
import type { TemplateService } from './template-service'

/** The FAR whose decision the tour quotes per engine. */
const QUOTED_FAR = 1e-3

export interface DemoServiceDeps {
  libraryDir: string
  caseRoot: string
  registry: ModelRegistry
  jobs: JobQueue
  cases: CaseService
  templates: TemplateService
  runs: RunService
  compare: CompareService
  explain: ExplainService
  reports: ReportService
}

/**
 * The guided demo for trainers: a case of its own (`<case root>/Unveil demo`, case number
 * UNVEIL-DEMO) built from the bundled sample photos, walked through in six steps, each a real
 * computation at a budget of seconds stored in that case. Where the tour stands lives in
 * `<library>/demo.json`, so a restarted app or a CLI call resumes it. Nothing here reads or
 * writes any other case: a user case in the demo's folder makes start refuse, and reset removes
 * only the case whose id the state file recorded.
 */
export class DemoService {
  private readonly state: DemoStateFile
  private busy: number | null = null

  constructor(private readonly deps: DemoServiceDeps) {
    this.state = new DemoStateFile(deps.libraryDir)
  }

  /** The folder the demo case lives in. */
  get dir(): string {
    return resolve(join(this.deps.caseRoot, DEMO_FOLDER))
  }

  status(): DemoStatus {
    const s = this.live()
    return {
      demo: s ? { caseId: s.caseId, dir: s.dir, startedAt: s.startedAt } : null,
      current: s?.current ?? 0,
      busy: this.busy,
      steps: DEMO_STEP_IDS.map((id) => ({ id, ...DEMO_STEPS[id], result: s?.steps[id] ?? null }))
    }
  }

  /** Starts the tour (the demo case, then its first step), or resumes the one that was started. */
  async start(): Promise<DemoStatus> {
    const existing = this.live()
    if (existing) {
      // The demo case may have been taken off the case list meanwhile; listing it again changes nothing else.
      const info = this.deps.cases.openFolder(existing.dir)
      if (info.id !== existing.caseId) throw new ValidationError(`${existing.dir} no longer holds the demo case; reset the demo (the folder is left untouched)`)
      return this.go(existing.current)
    }
    if (sampleImagePaths().length === 0) throw new ValidationError('the demo needs the sample photos of @vladmandic/face-api, which are not installed')
    const dir = this.dir
    if (existsSync(dir)) throw new ValidationError(`cannot start the demo: ${dir} already exists and is not the demo's case; move or rename that folder first`)
    const info = this.deps.cases.create({
      dir,
      name: 'Unveil demo',
      number: DEMO_CASE_NUMBER,
      examiner: null,
      notes: 'The guided demo: sample photos of @vladmandic/face-api, enrolled, reconstructed, compared and explained. "Reset demo" deletes this case.'
    })
    this.state.write({ version: 1, caseId: info.id, dir: info.dir, startedAt: new Date().toISOString(), current: 0, steps: {} })
    return this.go(0)
  }

  /**
   * Shows step `index` (0-based), running its computation first when it has none stored yet.
   * Steps are reached in order: every step before it must be done (Next), going back is free.
   */
  async go(index: number): Promise<DemoStatus> {
    const s = this.live()
    if (!s) throw new ValidationError('no demo is running; start it first')
    if (!Number.isInteger(index) || index < 0 || index >= DEMO_STEP_COUNT)
      throw new ValidationError(`the demo has steps 1 to ${DEMO_STEP_COUNT}, not ${index + 1}`)
    const missing = DEMO_STEP_IDS.slice(0, index).findIndex((id) => !s.steps[id])
    if (missing >= 0) throw new ValidationError(`step ${missing + 1} (${DEMO_STEPS[DEMO_STEP_IDS[missing]].title}) is not done yet`)
    if (this.busy !== null) throw new ValidationError(`the demo is still computing step ${this.busy + 1}`)
    s.current = index
    this.state.write(s)
    const id = DEMO_STEP_IDS[index]
    if (!s.steps[id]) {
      this.busy = index
      try {
        s.steps[id] = await this.compute(id, s)
      } finally {
        this.busy = null
      }
      // Re-read: a reset in the meantime must not be undone by writing the old state back.
      if (this.live()?.caseId === s.caseId) this.state.write({ ...s, current: index })
    }
    return this.status()
  }

  async next(): Promise<DemoStatus> {
    const s = this.live()
    if (!s) throw new ValidationError('no demo is running; start it first')
    if (s.current + 1 >= DEMO_STEP_COUNT) throw new ValidationError('this is the last step of the demo')
    return this.go(s.current + 1)
  }

  async back(): Promise<DemoStatus> {
    const s = this.live()
    if (!s) throw new ValidationError('no demo is running; start it first')
    if (s.current === 0) throw new ValidationError('this is the first step of the demo')
    return this.go(s.current - 1)
  }

  /**
   * Deletes the demo case (its folder, and its entry in the case list) and the tour state. Only
   * the folder holding the case whose id the state recorded, marked with the demo case number,
   * is deleted; anything else found there is left alone and named in the error.
   */
  async reset(): Promise<{ removed: string | null }> {
    let s: DemoState | null
    try {
      s = this.state.read()
    } catch {
      // A state this version cannot read names no case it could safely delete: only the file goes.
      this.state.remove()
      return { removed: null }
    }
    if (!s) return { removed: null }
    for (const job of this.deps.jobs.list()) if (resolve(job.caseDir) === resolve(s.dir)) this.deps.jobs.cancel(job.runId)
    await this.deps.jobs.idle()
    const there = existsSync(s.dir)
    if (there) {
      const found = caseIn(s.dir)
      if (!found || found.id !== s.caseId || found.number !== DEMO_CASE_NUMBER)
        throw new ValidationError(
          `${s.dir} no longer holds the demo case (${found ? `it holds case '${found.name}'` : 'it is not a case'}); it was left untouched`
        )
    }
    this.deps.cases.forget(s.dir)
    if (there) rmSync(s.dir, { recursive: true, force: true })
    this.state.remove()
    return { removed: there ? s.dir : null }
  }

  /** The stored state if its case is still there; a state whose folder was deleted by hand is dropped. */
  private live(): DemoState | null {
    const s = this.state.read()
    if (!s) return null
    if (!existsSync(s.dir)) {
      this.deps.cases.forget(s.dir)
      this.state.remove()
      return null
    }
    return s
  }

  private async compute(id: DemoStepId, s: DemoState): Promise<DemoStepResult> {
    switch (id) {
      case 'enrol':
        return this.enrol(s)
      case 'dfd': {
        const r = await this.reconstruct(s, 'dfd', {})
        return { step: 'dfd', ...r }
      }
      case 'ga': {
        const r = await this.reconstruct(s, 'ga', { ...DEMO_GA })
        return { step: 'ga', ...r }
      }
      case 'compare':
        return this.compareStep(s)
      case 'explain':
        return this.explainStep(s)
      case 'report':
        return this.report(s)
    }
  }

  /** The sample photos, each enrolled once (a resumed enrolment skips those already in the case). */
  private async enrol(s: DemoState): Promise<DemoStepResult> {
    const encoderId = this.deps.registry.defaults().encoder
    const store = this.deps.cases.store(s.caseId)
    for (const photo of sampleImagePaths()) {
      const name = basename(photo)
      if (store.listTemplates().some((t) => t.sourceFileName === name)) continue
      await this.deps.templates.enrolFromPhoto(s.caseId, new Uint8Array(readFileSync(photo)), name, {
        encoderId,
        faceIndex: 0,
        subject: name.replace(/\.jpg$/, '')
      })
    }
    const templates = store.listTemplates().sort((a, b) => (a.sourceFileName ?? '').localeCompare(b.sourceFileName ?? ''))
    // The target's face as the encoder saw it: the sample photos are group photos, the reconstructions are of one face.
    const crop = (await this.deps.runs.groundTruthCrop(store, templates[0]))!
    const cropImage = store.addImage(await encodePng(crop), {
      mime: 'image/png',
      width: crop.width,
      height: crop.height,
      originalName: 'demo-target-aligned.png'
    })
    return {
      step: 'enrol',
      templateId: templates[0].id,
      templates: templates.length,
      encoderId,
      imageSha256s: templates.flatMap((t) => (t.imageSha256 ? [t.imageSha256] : [])),
      targetCropSha256: cropImage.sha256
    }
  }

  private async reconstruct(
    s: DemoState,
    method: 'dfd' | 'ga',
    parameters: Record<string, number>
  ): Promise<{ runId: string; imageSha256: string; similarity: number | null; seconds: number } & { queries: number | null }> {
    const run = this.deps.runs.start({ caseId: s.caseId, method, templateId: this.templateId(s), parameters, seed: DEMO_SEED })
    const done = await this.finished(run)
    const rec = reconstructionOf(this.deps.cases.store(s.caseId).listResults(run.id))
    if (!rec?.imageSha256) throw new Error(`the ${method} run ${run.id} stored no reconstruction`)
    return { runId: run.id, imageSha256: rec.imageSha256, similarity: rec.similarity, seconds: done.seconds ?? 0, queries: rec.queries }
  }

  private async compareStep(s: DemoState): Promise<DemoStepResult> {
    const runIds = [s.steps.dfd!, s.steps.ga!].map((r) => (r as { runId: string }).runId)
    const grid = await this.deps.compare.grid(s.caseId, this.templateId(s), runIds)
    const image = this.deps.cases
      .store(s.caseId)
      .addImage(grid.png, { mime: 'image/png', width: grid.width, height: grid.height, originalName: 'demo-compare.png' })
    return {
      step: 'compare',
      imageSha256: image.sha256,
      runs: grid.comparison.runs.map((r) => ({ runId: r.runId, method: r.method, scores: r.scores.map(engineScore) }))
    }
  }

  private async explainStep(s: DemoState): Promise<DemoStepResult> {
    const run = this.deps.explain.occlusion({
      caseId: s.caseId,
      templateId: this.templateId(s),
      photo: null,
      encoderId: null,
      ...DEMO_OCCLUSION,
      seed: DEMO_SEED
    })
    await this.finished(run)
    const stored = this.deps.explain.list(s.caseId).find((r) => r.runId === run.id)
    if (!stored || stored.record.kind !== 'occlusion') throw new Error(`the occlusion run ${run.id} stored no sheet`)
    const part = (p: 'eyes' | 'mouth'): number => (stored.record as { occluded: { part: string; cosine: number }[] }).occluded.find((o) => o.part === p)!.cosine
    return { step: 'explain', runId: run.id, sheetSha256: stored.sheetSha256, eyesCosine: part('eyes'), mouthCosine: part('mouth') }
  }

  private async report(s: DemoState): Promise<DemoStepResult> {
    const runIds = [s.steps.dfd!, s.steps.ga!].map((r) => (r as { runId: string }).runId)
    const out = join(s.dir, 'reports', 'unveil-demo-report.pdf')
    mkdirSync(dirname(out), { recursive: true })
    const r = await this.deps.reports.write({ caseId: s.caseId, runIds, out })
    return { step: 'report', path: r.path, sha256: r.sha256, bytes: r.bytes }
  }

  private templateId(s: DemoState): string {
    const enrol = s.steps.enrol
    if (enrol?.step !== 'enrol') throw new Error('the demo has no enrolled template')
    return enrol.templateId
  }

  /** Waits for a run; a failed or cancelled one is an error naming why. */
  private async finished(run: RunRecord): Promise<RunRecord> {
    const done = await this.deps.jobs.wait(run.id)
    if (done.status !== 'succeeded') throw new Error(`the demo's ${run.method} run ${done.status}${done.error ? `: ${done.error}` : ''}`)
    return done
  }
}

function engineScore(score: EncoderScore): DemoEngineScore {
  const i = score.thresholds?.fars.findIndex((f) => f.far === QUOTED_FAR) ?? -1
  const typeI = score.typeI !== null
  const decisions = typeI ? score.pass.typeI : score.pass.target
  return {
    encoderId: score.encoderId,
    cosine: typeI ? score.typeI : score.target,
    acceptedAt1e3: i >= 0 && decisions ? (decisions[i] ?? null) : null,
    usedInSearch: score.usedInSearch ?? null
  }
}

/** The case a folder holds, read without listing it; null when it is not a case. */
function caseIn(dir: string): { id: string; name: string; number: string | null } | null {
  let store: CaseStore
  try {
    store = CaseStore.open(dir)
  } catch {
    return null
  }
  try {
    const info = store.info()
    return { id: info.id, name: info.name, number: info.number }
  } finally {
    store.close()
  }
}
