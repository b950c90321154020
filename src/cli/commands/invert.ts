import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { ValidationError } from '../../shared/validation'
import { decodeImage, type RgbImage } from '../../core/imaging/image-io'
import { enrolFace } from '../../core/faces/enrolment'
import { parseTemplateFile } from '../../core/templates/template-codec'
import { inversionRecord, type Workbench } from '../../core/workbench/workbench'
import type { EncoderScore } from '../../core/evaluation/cross-encoder-scoring'
import { UsageError, integer, parse, progressBar, required, withWorkbench } from '../cli-support'

const SEARCH_OPTIONS = ['population', 'generations', 'patience', 'threads', 'budget'] as const

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

async function alignedPhoto(wb: Workbench, file: string, encoderId: string): Promise<RgbImage> {
  const img = await decodeImage(new Uint8Array(readFileSync(file)), basename(file))
  return (await enrolFace(wb.engine, await wb.pipeline(encoderId), img, 0)).aligned
}

function scoreLine(s: EncoderScore): string {
  const fmt = (v: number | null, pass: boolean[] | null): string =>
    v === null ? '—' : `${v.toFixed(3)}${pass ? ` [${pass.map((p) => (p ? 'pass' : 'fail')).join('/')}]` : ''}`
  const t = s.thresholds ? `thresholds ${s.thresholds.fars.map((f) => `${f.far}:${f.threshold.toFixed(3)}`).join(' ')}` : 'no thresholds (LFW data absent)'
  return `  ${s.encoderId.padEnd(24)} target ${fmt(s.target, s.pass.target)}  type I ${fmt(s.typeI, s.pass.typeI)}  type II ${s.typeII.map((x, i) => fmt(x, s.pass.typeII[i])).join(', ') || '—'}  (${t})`
}

export async function invertCommand(argv: string[]): Promise<void> {
  const v = parse(argv, {
    template: { type: 'string' },
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
    ...ALSUV_CLI_OPTIONS
  })
  const method = required(v, 'method')
  if (method !== 'ga' && method !== 'random' && method !== 'dfd' && method !== 'alsuv') throw new UsageError('--method must be ga, random, dfd or alsuv')
  const seed = integer(v, 'seed')
  if (seed === undefined) throw new UsageError('--seed is required (every reconstruction is reproducible)')
  const outDir = required(v, 'out')
  const templateFile = required(v, 'template')
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

  await withWorkbench(async (wb) => {
    const encoderId = (v.encoder as string) ?? wb.registry.defaults().encoder
    const encoder = wb.registry.getWithRole(encoderId, 'encoder').manifest
    const parsed = parseTemplateFile(new Uint8Array(readFileSync(templateFile)), { fileName: basename(templateFile), expectedDim: encoder.embeddingDim, expectedEncoder: encoderId })
    if (parsed.vectors.length !== 1) throw new ValidationError(`${basename(templateFile)} holds ${parsed.vectors.length} templates; invert one at a time`)
    if (parsed.encoderSha256 && parsed.encoderSha256 !== encoder.sha256) throw new ValidationError(`${basename(templateFile)} was made by a different model than '${encoderId}'`)
    const bar = progressBar(`${method} search`)
    const result = await wb.invert({
      template: { vector: Array.from(parsed.vectors[0]), encoderId, encoderSha256: encoder.sha256 },
      method,
      parameters,
      seed,
      progress: (u) => (u.totalSteps ? bar(u.step, u.totalSteps) : undefined),
      groundTruth: v.truth ? await alignedPhoto(wb, v.truth as string, encoderId) : null,
      sameIdentity: await Promise.all(((v['same-person'] as string[] | undefined) ?? []).map((f) => alignedPhoto(wb, f, encoderId)))
    })
    mkdirSync(outDir, { recursive: true })
    writeFileSync(join(outDir, 'best.png'), result.png)
    writeFileSync(
      join(outDir, 'trace.csv'),
      ['thread,generation,best,mean,queries,seconds', ...result.trace.map((r) => [r.thread, r.generation, r.best.toFixed(6), r.mean.toFixed(6), r.queries, r.seconds.toFixed(3)].join(','))].join('\n') + '\n'
    )
    writeFileSync(join(outDir, 'result.json'), `${JSON.stringify({ ...inversionRecord(result), template: { file: basename(templateFile), encoderId } }, null, 2)}\n`)
    console.log(`${method}: similarity ${result.similarity.toFixed(4)} to the target after ${result.queries} queries in ${result.seconds.toFixed(1)} s → ${outDir}/best.png`)
    for (const s of result.scores) console.log(scoreLine(s))
  })
}
