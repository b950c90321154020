import { readFileSync } from 'node:fs'
import type { EncoderScore, RunRecord, TemplateRecord } from '../../shared/types'
import { reconstructionOf } from '../../shared/reconstruction-record'
import { ValidationError } from '../../shared/validation'
import type { CaseStore } from '../cases/case-store'
import { compareGrid, type GridCell, type GridLine } from '../imaging/compare-grid'
import { decodeImage, type RgbImage } from '../imaging/image-io'
import { listMethods } from '../methods/method-registry'
import type { CaseService } from './case-service'
import type { FaceService } from './face-service'

/** One reconstruction of the compared template. */
export interface ComparedRun {
  runId: string
  method: string
  seed: number | null
  createdAt: string
  imageSha256: string
  similarity: number | null
  scores: EncoderScore[]
}

/** A template and every stored reconstruction of it (the compare view and `unveil case compare`). */
export interface TemplateComparison {
  template: { id: string; label: string; encoderId: string; imageSha256: string | null }
  runs: ComparedRun[]
  /** FARs the pass/fail marks are given at, largest first. */
  fars: number[]
}

export interface CompareGridResult {
  png: Uint8Array
  width: number
  height: number
  comparison: TemplateComparison
  /** What the grid shows, cell by cell, as text (for a terminal, or a grid rendered without fonts). */
  legend: string[]
}

const methodName = (id: string): string => listMethods().find((m) => m.id === id)?.name ?? id
const formatFar = (far: number): string => `${Number((far * 100).toPrecision(3))}%`
const fmt = (v: number | null): string => (v === null ? '—' : v.toFixed(4))

/** Pass/fail marks of one score kind at each FAR: ✓ pass, ✗ fail, · no threshold there. */
function marks(score: EncoderScore, decisions: boolean[] | null, fars: number[]): { text: string; tone: GridLine['tone'] } {
  const own = score.thresholds?.fars ?? []
  if (!decisions || own.length === 0) return { text: 'no thresholds', tone: 'muted' }
  const list = fars.map((far) => {
    const i = own.findIndex((f) => f.far === far)
    return i < 0 || decisions[i] === undefined ? null : decisions[i]
  })
  const text = list.map((d) => (d === null ? '·' : d ? '✓' : '✗')).join('')
  const known = list.filter((d): d is boolean => d !== null)
  const tone = known.length > 0 && known.every(Boolean) ? 'pass' : known.length > 0 && !known.some(Boolean) ? 'fail' : 'normal'
  return { text, tone }
}

/** Lines of one encoder's scores: target and type I where present, with their marks. */
function scoreLines(score: EncoderScore, fars: number[]): GridLine[] {
  const lines: GridLine[] = []
  const add = (kind: string, value: number | null, decisions: boolean[] | null): void => {
    if (value === null) return
    const m = marks(score, decisions, fars)
    lines.push({ text: `${score.encoderId} ${kind} ${fmt(value)} ${m.text}`, tone: m.tone })
  }
  add('T', score.target, score.pass.target)
  add('I', score.typeI, score.pass.typeI)
  return lines
}

/** Compares the reconstructions of one template: the data of the compare view and its PNG grid. */
export class CompareService {
  constructor(
    private readonly cases: CaseService,
    private readonly faces: FaceService
  ) {}

  /** The template and its reconstructions: the given runs in that order, or every succeeded run of it, oldest first. */
  comparison(caseId: string, templateId: string, runIds: readonly string[] | null = null): TemplateComparison {
    const store = this.cases.store(caseId)
    const template = store.getTemplate(templateId)
    if (!template) throw new ValidationError(`no template ${templateId} in this case`)
    let runs: RunRecord[]
    if (runIds) {
      runs = runIds.map((id) => {
        const run = store.getRun(id)
        if (!run) throw new ValidationError(`no run ${id} in this case`)
        if (run.templateId !== template.id) throw new ValidationError(`run ${id.slice(0, 8)} reconstructs another template`)
        return run
      })
    } else {
      runs = store
        .listRuns()
        .filter((r) => r.templateId === template.id && r.status === 'succeeded')
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    }
    const compared = runs.flatMap((run): ComparedRun[] => {
      const rec = reconstructionOf(store.listResults(run.id))
      if (!rec?.imageSha256) {
        if (runIds) throw new ValidationError(`run ${run.id.slice(0, 8)} stored no reconstruction`)
        return []
      }
      return [{ runId: run.id, method: rec.method ?? run.method, seed: rec.seed ?? run.seed, createdAt: run.createdAt, imageSha256: rec.imageSha256, similarity: rec.similarity, scores: rec.scores }]
    })
    const fars = [...new Set(compared.flatMap((r) => r.scores.flatMap((s) => s.thresholds?.fars.map((f) => f.far) ?? [])))].sort((a, b) => b - a)
    return {
      template: { id: template.id, label: template.label, encoderId: template.encoderId, imageSha256: template.imageSha256 },
      runs: compared,
      fars
    }
  }

  /** The compare grid as a PNG: ground truth first, then each reconstruction with its scores and pass/fail. */
  async grid(caseId: string, templateId: string, runIds: readonly string[] | null = null): Promise<CompareGridResult> {
    const comparison = this.comparison(caseId, templateId, runIds)
    const store = this.cases.store(caseId)
    const template = store.getTemplate(templateId)!
    const fars = comparison.fars
    const sources = [...new Set(comparison.runs.flatMap((r) => r.scores.flatMap((s) => (s.thresholds ? [s.thresholds.dataset] : []))))]
    const truth = await this.groundTruth(store, template)
    const cells: GridCell[] = [
      {
        image: truth?.image ?? null,
        title: 'Ground truth',
        lines: [
          { text: template.label },
          { text: template.encoderId, tone: 'muted' },
          { text: truth ? truth.how : 'no photo: imported template', tone: 'muted' }
        ]
      }
    ]
    const legend = [
      `template ${template.label} (${template.id}), encoder ${template.encoderId}`,
      `marks per score at FAR ${fars.length > 0 ? `${fars.map(formatFar).join(' / ')} (thresholds: ${sources.join(', ')})` : '(no thresholds)'}: ✓ pass, ✗ fail, · no threshold; T = target template, I = ground-truth photo (type I)`,
      `1. ground truth: ${truth ? truth.how : 'none (imported template)'}`
    ]
    for (const [i, run] of comparison.runs.entries()) {
      const bytes = new Uint8Array(readFileSync(store.imagePath(run.imageSha256)))
      const image = await decodeImage(bytes, `reconstruction of run ${run.runId.slice(0, 8)}`)
      const lines: GridLine[] = [{ text: `run ${run.runId.slice(0, 8)} · seed ${run.seed ?? '—'}`, tone: 'muted' }, { text: `similarity ${fmt(run.similarity)}` }]
      for (const s of run.scores) lines.push(...scoreLines(s, fars))
      cells.push({ image, title: methodName(run.method), lines })
      legend.push(`${i + 2}. ${run.method} run ${run.runId} seed ${run.seed ?? '—'} similarity ${fmt(run.similarity)}: ${lines.slice(2).map((l) => l.text).join('; ') || 'no scores'}`)
    }
    const { png, layout } = await compareGrid({
      title: `${template.label} · ${template.encoderId} · ${comparison.runs.length} reconstruction${comparison.runs.length === 1 ? '' : 's'}`,
      subtitle: `${fars.length > 0 ? `✓ pass, ✗ fail at FAR ${fars.map(formatFar).join(' / ')} (thresholds: ${sources.join(', ')})` : 'no FAR thresholds: scores only'} · T: vs the target template · I: vs the ground-truth photo`,
      cells
    })
    return { png: new Uint8Array(png), width: layout.width, height: layout.height, comparison, legend }
  }

  /** The aligned crop of the template's photo as its encoder sees it; the whole photo when alignment fails. */
  private async groundTruth(store: CaseStore, template: TemplateRecord): Promise<{ image: RgbImage; how: string } | null> {
    if (!template.imageSha256) return null
    const bytes = new Uint8Array(readFileSync(store.imagePath(template.imageSha256)))
    try {
      return { image: await this.faces.alignedFace(bytes, template.sourceFileName ?? undefined, template.encoderId, template.face?.index ?? 0), how: 'aligned crop of the photo' }
    } catch {
      return { image: await decodeImage(bytes, 'ground-truth photo'), how: 'the photo (alignment failed)' }
    }
  }
}
