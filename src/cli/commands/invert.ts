import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import type { EncoderScore } from '../../shared/types'
import { inversionRecord, type Workbench } from '../../core/workbench/workbench'
import { UsageError, integer, parse, progressBar, required, withWorkbench } from '../cli-support'

const SEARCH_OPTIONS = ['population', 'generations', 'patience', 'threads', 'budget'] as const

function alignedPhoto(wb: Workbench, file: string, encoderId: string): ReturnType<Workbench['faces']['alignedFace']> {
  return wb.faces.alignedFace(new Uint8Array(readFileSync(file)), basename(file), encoderId)
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
    out: { type: 'string' }
  })
  const method = required(v, 'method')
  if (method !== 'ga' && method !== 'random' && method !== 'dfd') throw new UsageError('--method must be ga, random or dfd')
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
  if (method === 'dfd') {
    if (Object.keys(parameters).length > 0) throw new UsageError('--method dfd takes --decoder only (one forward pass, no search)')
    if (v.decoder) parameters.decoder = v.decoder as string
  } else if (v.decoder) {
    throw new UsageError('--decoder applies to --method dfd only')
  }

  await withWorkbench(async (wb) => {
    const template = wb.templates.readTarget(new Uint8Array(readFileSync(templateFile)), basename(templateFile), v.encoder as string | undefined)
    const encoderId = template.encoderId
    const bar = progressBar(`${method} search`)
    const result = await wb.runs.invert({
      template,
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
