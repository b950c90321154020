import { resolve } from 'node:path'
import type { EvaluationMetrics, ProportionRecord } from '../../shared/evaluation-types'
import { UsageError, followRun, integer, parse, printJson, printable, required, seedOption, withWorkbench } from '../cli-support'

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`

/** "k/n 12.0% [95% 5.1–24.3 Wilson; bootstrap 4.0–26.0]" */
export function formatProportion(p: ProportionRecord): string {
  if (p.rate === null || !p.interval) return `0/0 —`
  const boot = p.bootstrap ? `; subj. bootstrap ${pct(p.bootstrap.low)}–${pct(p.bootstrap.high)}` : ''
  return `${p.successes}/${p.trials} ${pct(p.rate)} [${pct(p.interval.low)}–${pct(p.interval.high)} ${p.interval.method}${boot}]`
}

/** The transfer matrix and the other figures as plain text. */
export function metricsText(m: EvaluationMetrics): string {
  const lines: string[] = [`${m.attempts} reconstructions of ${m.subjects} subjects; seen encoder ${m.seenEncoderId}`]
  for (const e of m.encoders) {
    const t = e.thresholds
    lines.push('')
    lines.push(`${e.encoderId} (${e.role}) — thresholds: ${t ? `${t.dataset}, ${t.impostorPairs ?? '?'} impostor pairs` : 'none'}`)
    for (const cell of m.transfer.filter((c) => c.encoderId === e.encoderId)) {
      for (const kind of ['typeI', 'typeII'] as const) {
        lines.push(`  ${cell.method.padEnd(8)} ${kind === 'typeI' ? 'type I ' : 'type II'} SAR ${cell[kind].map((r) => `@FAR ${r.far}: ${formatProportion(r.rate)}`).join('  ')}`)
      }
    }
    const v = e.real
    lines.push(`  real photos   verification acc ${v.accuracy === null ? '—' : pct(v.accuracy)} (${v.genuinePairs} genuine, ${v.impostorPairs} impostor pairs); TAR ${v.tar.map((r) => `@${r.far}: ${formatProportion(r.rate)}`).join('  ')}`)
    for (const a of e.attack) lines.push(`  ${a.method.padEnd(8)} replaces one photo: acc ${a.accuracy === null ? '—' : pct(a.accuracy)}; TAR ${a.tar.map((r) => `@${r.far}: ${formatProportion(r.rate)}`).join('  ')}`)
    for (const i of e.identification) lines.push(`  ${i.method.padEnd(8)} identification (${i.galleryWithOriginal ? 'with' : 'without'} original, ${i.gallerySubjects} subjects): top-1 ${formatProportion(i.top1)}  top-5 ${formatProportion(i.top5)}`)
  }
  lines.push('')
  for (const q of m.quality) {
    const f = (x: { mean: number | null; bootstrap: { low: number; high: number } | null }, d: number): string =>
      x.mean === null ? '—' : `${x.mean.toFixed(d)}${x.bootstrap ? ` [${x.bootstrap.low.toFixed(d)}–${x.bootstrap.high.toFixed(d)}]` : ''}`
    lines.push(`${q.method.padEnd(8)} PSNR ${f(q.psnr, 2)} dB  SSIM ${f(q.ssim, 3)}  MS-SSIM ${f(q.msSsim, 3)}  (n=${q.psnr.n})`)
    if (q.faceProxy) lines.push(`${''.padEnd(8)} face-quality PROXY (detector finds a face): ${formatProportion(q.faceProxy.detected)}; mean detector score ${q.faceProxy.meanScore === null ? '—' : q.faceProxy.meanScore.toFixed(3)}`)
  }
  return lines.join('\n')
}

export async function evalCommand(argv: string[]): Promise<void> {
  const v = parse(argv, {
    case: { type: 'string' },
    dataset: { type: 'string' },
    pairs: { type: 'string' },
    seen: { type: 'string' },
    methods: { type: 'string' },
    encoders: { type: 'string' },
    budget: { type: 'string' },
    seed: { type: 'string' },
    limit: { type: 'string' },
    mates: { type: 'string' },
    param: { type: 'string', multiple: true },
    queue: { type: 'string' },
    json: { type: 'boolean' }
  })
  const caseDir = resolve(required(v, 'case'))
  const seen = required(v, 'seen')
  const methods = required(v, 'methods')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (methods.length === 0) throw new UsageError('--methods needs at least one method id, e.g. ga,dfd')
  const parameters = new Map<string, Record<string, number | string>>(methods.map((m) => [m, {}]))
  for (const p of (v.param as string[] | undefined) ?? []) {
    const match = /^([\w-]+)\.(\w+)=(.+)$/.exec(p)
    if (!match) throw new UsageError(`--param ${p}: expected METHOD.KEY=VALUE, e.g. ga.population=64`)
    const [, method, key, value] = match
    if (!parameters.has(method)) throw new UsageError(`--param ${p}: ${method} is not among --methods`)
    parameters.get(method)![key] = Number.isFinite(Number(value)) ? Number(value) : value
  }
  const encoders = v.encoders ? (v.encoders as string).split(',').map((s) => s.trim()).filter(Boolean) : null
  const budget = integer(v, 'budget')
  if (budget !== undefined && budget < 1) throw new UsageError('--budget must be 1 or more')
  const limit = integer(v, 'limit')
  if (limit !== undefined && limit < 1) throw new UsageError('--limit must be 1 or more')
  const mates = integer(v, 'mates')
  if (mates !== undefined && (mates < 1 || mates > 100)) throw new UsageError('--mates must be between 1 and 100')
  if (v.pairs && !v.dataset) throw new UsageError('--pairs needs --dataset DIR (an aligned dataset folder)')
  // The seed identifies the evaluation (a rerun with the same options resumes it), so it defaults to 1 rather than a fresh one.
  const { seed } = v.seed === undefined ? { seed: 1 } : seedOption(v)

  await withWorkbench(async (wb) => {
    const info = wb.cases.openFolder(caseDir)
    const input = {
      caseId: info.id,
      datasetDir: (v.dataset as string | undefined) ?? null,
      pairsFile: (v.pairs as string | undefined) ?? null,
      seenEncoderId: seen,
      methods: methods.map((id) => ({ id, parameters: parameters.get(id) })),
      encoderIds: encoders,
      budget: budget ?? null,
      seed,
      limit: limit ?? null,
      matesPerSubject: mates,
      queueUrl: (v.queue as string | undefined) ?? null
    }
    const started = input.queueUrl ? await wb.evaluations.startQueued(input) : wb.evaluations.start(input)
    const e = started.evaluation
    console.error(
      `evaluation ${e.id} in case '${info.name}' (job ${started.runId}): ${started.total} reconstructions` +
        (started.resumed ? `, resuming with ${started.alreadyDone} already done` : '') +
        `; scored under ${e.spec.encoderIds.join(', ')}` +
        (input.queueUrl ? `; jobs on ${printable(input.queueUrl.replace(/\/\/[^@/]*@/, '//'))} for unveil worker` : '')
    )
    const finished = await followRun(wb, started.runId, 'evaluation')
    if (finished.status !== 'succeeded') throw new Error(`evaluation ${e.id} ${finished.status}${finished.error ? `: ${finished.error}` : ''}; run the same command again to resume`)
    const stored = wb.evaluations.get(info.id, e.id)
    if (v.json) printJson(stored)
    else {
      console.log(`evaluation ${e.id}`)
      console.log(metricsText(stored.metrics!))
    }
  })
}
