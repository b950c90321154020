import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { EncoderScore, ReconstructionRecord } from '../../shared/types'
import { decisionsByFar, reconstructionOf } from '../../shared/reconstruction-record'
import { ValidationError } from '../../shared/validation'
import { inversionRecord, type Workbench } from '../../core/workbench/workbench'
import { UsageError, followRun, inputFile, inputFileName, integer, parse, progressBar, required, seedOption, withWorkbench } from '../cli-support'

const SEARCH_OPTIONS = ['population', 'generations', 'patience', 'threads', 'budget'] as const
const METHODS = ['ga', 'random', 'dfd', 'alsuv', 'dibigan', 'dabgan']
const VEC2FACE = ['dibigan', 'dabgan']

/** `--method alsuv` options and the method parameters they set. */
const ALSUV_CLI_OPTIONS = {
  'validation-encoder': { type: 'string' },
  'no-validation': { type: 'boolean' },
  latents: { type: 'string' },
  steps: { type: 'string' },
  'avg-window': { type: 'string' },
  'top-k': { type: 'string' },
  flip: { type: 'boolean' },
  gradients: { type: 'string' },
  'queries-per-step': { type: 'string' }
} as const
const ALSUV_INTEGERS: Record<string, string> = { latents: 'latents', steps: 'steps', 'avg-window': 'avgWindow', 'top-k': 'topK', 'queries-per-step': 'queriesPerStep' }

function alsuvCliParameters(v: Record<string, unknown>, method: string): Record<string, number | string> {
  const out: Record<string, number | string> = {}
  for (const [flag, key] of Object.entries(ALSUV_INTEGERS)) {
    const n = integer(v, flag)
    if (n !== undefined) out[key] = n
  }
  if (v['validation-encoder']) out.validationEncoder = v['validation-encoder'] as string
  if (v['no-validation']) out.validation = 0
  if (v.flip) out.flip = 1
  if (v.gradients !== undefined) {
    if (v.gradients !== 'exact' && v.gradients !== 'zo') throw new UsageError('--gradients must be exact or zo')
    out.gradients = v.gradients as string
  }
  if (Object.keys(out).length > 0 && method !== 'alsuv') throw new UsageError(`--${Object.keys(ALSUV_CLI_OPTIONS).find((f) => v[f] !== undefined)} applies to --method alsuv only`)
  return out
}

function scoreLine(s: EncoderScore): string {
  if (s.error) return `  ${s.encoderId.padEnd(24)} skipped: ${s.error}`
  const fmt = (v: number | null, pass: boolean[] | null): string =>
    v === null ? '—' : `${v.toFixed(3)}${pass ? ` [${pass.map((p) => (p ? 'pass' : 'fail')).join('/')}]` : ''}`
  const t = s.thresholds ? `thresholds ${s.thresholds.fars.map((f) => `${f.far}:${f.threshold.toFixed(3)}`).join(' ')}` : 'no thresholds for this encoder'
  return `  ${s.encoderId.padEnd(24)} target ${fmt(s.target, s.pass.target)}  type I ${fmt(s.typeI, s.pass.typeI)}  type II ${s.typeII.map((x, i) => fmt(x, s.pass.typeII[i])).join(', ') || '—'}  (${t})`
}

/** The top-k candidates by the seen encoder, with their validation scores and the pick marked. */
function candidatesLine(record: ReconstructionRecord): string {
  const one = (c: ReconstructionRecord['candidates'][number]): string => `${c.picked ? '*' : ''}latent ${c.latent} seen ${c.seen.toFixed(3)}${c.validation === null ? '' : ` validation ${c.validation.toFixed(3)}`}`
  return `  candidates (* = pick): ${record.candidates.map(one).join(', ')}`
}

/** result.json: the stored record, the template it inverted, and pass/fail keyed by FAR per encoder. */
function resultJson(record: ReconstructionRecord, template: Record<string, unknown>): string {
  const decisions = Object.fromEntries(record.scores.map((s) => [s.encoderId, decisionsByFar(s)]))
  return `${JSON.stringify({ ...record, template, decisions }, null, 2)}\n`
}

function traceCsv(record: ReconstructionRecord): string {
  const rows = record.trace.map((r) => [r.thread, r.generation, r.best.toFixed(6), r.mean.toFixed(6), r.queries, r.seconds.toFixed(3)].join(','))
  return ['thread,generation,best,mean,queries,seconds', ...rows].join('\n') + '\n'
}

/** Method parameters from the options, refusing those the method does not take. */
function methodParameters(v: Record<string, unknown>, method: string): Record<string, number | string> {
  const parameters: Record<string, number | string> = {}
  for (const key of SEARCH_OPTIONS) {
    const n = integer(v, key)
    if (n !== undefined) parameters[key] = n
  }
  if (method === 'random') for (const key of ['population', 'generations', 'patience', 'threads']) if (key in parameters) throw new UsageError(`--${key} applies to --method ga only`)
  if (v.generator) parameters.generator = v.generator as string
  Object.assign(parameters, alsuvCliParameters(v, method))
  if (method === 'dfd') {
    if (Object.keys(parameters).length > 0) throw new UsageError('--method dfd takes --decoder only (one forward pass, no search)')
    if (v.decoder) parameters.decoder = v.decoder as string
  } else if (v.decoder) {
    throw new UsageError('--decoder applies to --method dfd only')
  }
  if (VEC2FACE.includes(method)) {
    const other = Object.keys(parameters).find((k) => k !== 'generator')
    if (other) throw new UsageError(`--method ${method} takes --generator, --variations and --allow-other-encoder only (one pass per variation, no search)`)
    const k = integer(v, 'variations')
    if (k !== undefined) parameters.variations = k
    if (v['allow-other-encoder']) parameters.allowOtherEncoder = 1
  } else if (v.variations !== undefined || v['allow-other-encoder']) {
    throw new UsageError(`--${v.variations !== undefined ? 'variations' : 'allow-other-encoder'} applies to --method dibigan or dabgan only`)
  }
  return parameters
}

export async function invertCommand(argv: string[]): Promise<void> {
  const v = parse(argv, {
    template: { type: 'string' },
    case: { type: 'string' },
    'template-id': { type: 'string' },
    method: { type: 'string' },
    encoder: { type: 'string' },
    generator: { type: 'string' },
    decoder: { type: 'string' },
    population: { type: 'string' },
    generations: { type: 'string' },
    patience: { type: 'string' },
    threads: { type: 'string' },
    budget: { type: 'string' },
    seed: { type: 'string' },
    truth: { type: 'string' },
    'same-person': { type: 'string', multiple: true },
    out: { type: 'string' },
    variations: { type: 'string' },
    'allow-other-encoder': { type: 'boolean' },
    ...ALSUV_CLI_OPTIONS
  })
  const method = required(v, 'method')
  if (!METHODS.includes(method)) throw new UsageError(`--method must be ${METHODS.slice(0, -1).join(', ')} or ${METHODS.at(-1)}`)
  const parameters = methodParameters(v, method)
  const { seed, chosen } = seedOption(v)
  if (v.case) {
    if (v.template) throw new UsageError('give --template FILE or --case DIR --template-id ID, not both')
    if (v.truth || v['same-person'] || v.encoder) throw new UsageError("--truth, --same-person and --encoder come from the case: its template's photo, subject and encoder")
    const templateId = required(v, 'template-id')
    await withWorkbench((wb) => invertInCase(wb, { dir: v.case as string, templateId, method, parameters, seed, chosen, out: v.out as string | undefined }))
    return
  }
  if (v['template-id']) throw new UsageError('--template-id needs --case DIR')
  const templateFile = required(v, 'template')
  const outDir = required(v, 'out')
  const templateBytes = inputFile(v, 'template', templateFile)
  const truthBytes = v.truth ? inputFile(v, 'truth') : null
  const sameBytes = ((v['same-person'] as string[] | undefined) ?? []).map((f) => inputFile(v, 'same-person', f))

  await withWorkbench(async (wb) => {
    const template = wb.templates.readTarget(templateBytes, inputFileName(templateFile), v.encoder as string | undefined)
    const encoderId = template.encoderId
    if (!chosen) console.error(`seed ${seed} (none given; recorded in result.json)`)
    const truth = truthBytes ? await wb.faces.alignedFace(truthBytes, inputFileName(v.truth as string), encoderId) : null
    const bar = progressBar(`${method} search`)
    const result = await wb.runs.invert({
      template,
      method,
      parameters,
      seed,
      progress: (u) => bar(u.step, u.totalSteps ?? u.step, u.message ?? undefined),
      groundTruth: truth,
      sameIdentity: await Promise.all(sameBytes.map((b) => wb.faces.alignedFace(b, undefined, encoderId)))
    })
    const record = inversionRecord(result)
    mkdirSync(outDir, { recursive: true })
    writeFileSync(join(outDir, 'best.png'), result.png)
    if (truthBytes && truth) writeFileSync(join(outDir, 'comparison.png'), await wb.runs.comparisonPng([truthBytes, truth, result.png]))
    writeFileSync(join(outDir, 'trace.csv'), traceCsv(record))
    writeFileSync(join(outDir, 'result.json'), resultJson(record, { file: inputFileName(templateFile), encoderId, encoderSha256: template.encoderSha256 }))
    for (const c of result.candidates) writeFileSync(join(outDir, `candidate-${c.latent}.png`), c.png)
    console.log(`${method}: similarity ${result.similarity.toFixed(4)} to the target after ${result.queries} queries in ${result.seconds.toFixed(1)} s → ${outDir}/best.png`)
    if (result.candidates.length > 0) console.log(candidatesLine(record))
    for (const s of result.scores) console.log(scoreLine(s))
  })
}

/** Runs the method on a case's template exactly as the app does: a run, its result and audit entries in the case. */
async function invertInCase(
  wb: Workbench,
  o: { dir: string; templateId: string; method: string; parameters: Record<string, number | string>; seed: number; chosen: boolean; out?: string }
): Promise<void> {
  const info = wb.cases.openFolder(o.dir)
  const template = wb.templates.get(info.id, o.templateId)
  const run = wb.runs.start({ caseId: info.id, method: o.method, templateId: template.id, parameters: o.parameters, seed: o.seed })
  console.error(`run ${run.id} in case '${info.name}' (seed ${o.seed}${o.chosen ? '' : ', none given'})`)
  const finished = await followRun(wb, run.id, `${o.method} search`)
  if (finished.status !== 'succeeded') throw new ValidationError(`run ${run.id} ${finished.status}${finished.error ? `: ${finished.error}` : ''}`)
  const stored = reconstructionOf(wb.runs.results(info.id, run.id))
  if (!stored) throw new Error(`run ${run.id} stored no reconstruction`)
  if (o.out && stored.imageSha256) {
    mkdirSync(o.out, { recursive: true })
    const png = wb.cases.getImage(info.id, stored.imageSha256).bytes
    writeFileSync(join(o.out, 'best.png'), png)
    if (template.imageSha256) {
      const truth = await wb.runs.groundTruthCrop(wb.cases.store(info.id), template)
      if (truth) writeFileSync(join(o.out, 'comparison.png'), await wb.runs.comparisonPng([wb.cases.getImage(info.id, template.imageSha256).bytes, truth, png]))
    }
    writeFileSync(join(o.out, 'trace.csv'), traceCsv(stored))
    writeFileSync(join(o.out, 'result.json'), resultJson(stored, { case: info.dir, templateId: template.id, encoderId: template.encoderId, encoderSha256: template.encoderSha256, runId: run.id }))
  }
  console.log(`${o.method}: similarity ${stored.similarity?.toFixed(4)} to the target after ${stored.queries} queries → run ${run.id}${o.out ? ` (${o.out}/best.png)` : ''}`)
  if (stored.candidates.length > 0) console.log(candidatesLine(stored))
  for (const s of stored.scores) console.log(scoreLine(s))
}
