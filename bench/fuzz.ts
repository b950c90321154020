// `npm run bench -- fuzz`: the fuzz suite at full size (issue 13: >= 10,000 cases), every
// mutation class included, with the figures the closing note asks for per input kind.
// FUZZ_SCALE=0.1 runs a tenth of it; FUZZ_SEED changes the (deterministic) base seed.
import { runFuzz, DOMAINS, type CaseResult, type Domain } from '../tests/fuzz/fuzz-suite'
import { machineLine, markdownTable } from './bench-support'

const COUNTS: Record<Domain, number> = { template: 6000, image: 1600, model: 1200, manifest: 1000, 'dataset-manifest': 400 }

export async function fuzz(): Promise<string> {
  const scale = Number(process.env.FUZZ_SCALE ?? 1)
  const seed = Number(process.env.FUZZ_SEED ?? 13)
  const counts = Object.fromEntries(DOMAINS.map((d) => [d, Math.max(1, Math.round(COUNTS[d] * scale))])) as Record<Domain, number>
  const uncaught: string[] = []
  const onUncaught = (err: unknown): void => void uncaught.push(err instanceof Error ? err.message : String(err))
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onUncaught)
  const t0 = performance.now()
  let done = 0
  const total = Object.values(counts).reduce((a, b) => a + b, 0)
  const { results, stats } = await runFuzz({
    seed,
    counts,
    onResult: () => {
      if (++done % 500 === 0) process.stderr.write(`fuzz: ${done}/${total} cases, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`)
    }
  })
  process.off('uncaughtException', onUncaught)
  process.off('unhandledRejection', onUncaught)
  const seconds = (performance.now() - t0) / 1000

  const rows = DOMAINS.map((d) => {
    const s = stats[d]
    return [d, s.tried, s.rejected, s.accepted, s.writtenOnRejection, s.badMessages, s.crashes, s.hangs, s.wronglyAccepted, (s.ms / 1000).toFixed(1)].map(
      String
    )
  })
  const sum = (k: keyof (typeof stats)['template']): number => DOMAINS.reduce((a, d) => a + stats[d][k], 0)
  rows.push([
    '**all**',
    ...(['tried', 'rejected', 'accepted', 'writtenOnRejection', 'badMessages', 'crashes', 'hangs', 'wronglyAccepted'] as const).map((k) => `**${sum(k)}**`),
    `**${seconds.toFixed(0)}**`
  ])

  // Every failing case by mutation class, with one example each: the list to fix from.
  const failing = new Map<string, { n: number; example: CaseResult }>()
  for (const r of results) {
    if (r.problems.length === 0 && r.outcome !== 'crash' && r.outcome !== 'hang') continue
    const key = `${r.domain} / ${r.mutation}`
    const f = failing.get(key)
    if (f) f.n++
    else failing.set(key, { n: 1, example: r })
  }
  const failRows = [...failing].map(([k, { n, example }]) => [
    k,
    String(n),
    `#${example.index}: ${example.outcome}; ${[...new Set(example.problems)].slice(0, 3).join('; ').replace(/\|/g, '\\|')}${
      example.message
        ? ` — "${example.message
            .slice(0, 160)
            .replace(/[\r\n]+/g, '⏎')
            .replace(/\|/g, '\\|')}"`
        : ''
    }`
  ])
  const perMutation = new Map<string, [number, number]>()
  for (const r of results) {
    const e = perMutation.get(r.mutation) ?? [0, 0]
    e[r.outcome === 'accepted' ? 1 : 0]++
    perMutation.set(r.mutation, e)
  }

  return [
    `## Fuzz suite (seed ${seed})`,
    machineLine() + ' The machine was shared.',
    `Command: \`npm run bench -- fuzz\`${scale !== 1 ? ` (FUZZ_SCALE=${scale})` : ''}. Uncaught exceptions or unhandled rejections in the process: ${uncaught.length}${uncaught.length ? ` (first: ${uncaught[0].slice(0, 200)})` : ''}.`,
    markdownTable(['input', 'tried', 'rejected', 'accepted', 'written on rejection', 'bad messages', 'crashes', 'hangs', 'wrongly accepted', 'seconds'], rows),
    failing.size ? `Failing mutation classes:\n\n${markdownTable(['input / mutation', 'cases', 'example'], failRows)}` : 'No failing case.',
    `Cases per mutation (rejected/accepted): ${[...perMutation]
      .sort()
      .map(([m, [rej, acc]]) => `${m} ${rej}/${acc}`)
      .join(', ')}.`
  ].join('\n\n')
}
