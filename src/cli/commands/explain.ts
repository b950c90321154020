import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { AggregationRecord, CentroidsRecord, ExplainRecord, OcclusionRecord } from '../../shared/explain-types'
import type { RunRecord } from '../../shared/types'
import type { Workbench } from '../../core/workbench/workbench'
import { UsageError, followRun, inputFile, inputFileName, integer, parse, printJson, printable, required, withWorkbench } from '../cli-support'

const f3 = (x: number): string => x.toFixed(3)

/** What a finished Explain run shows, as text. */
export function explainText(r: ExplainRecord): string[] {
  const head = `${r.kind} · encoder ${r.models.encoder.id} · decoder ${r.models.decoder.id} (sha256 ${r.models.decoder.sha256.slice(0, 12)}…) · seed ${r.seed}`
  if (r.kind === 'aggregation') {
    const a = r as AggregationRecord
    return [
      head,
      `${printable(a.subject)}: ${a.gallery.length} gallery photos, ${a.heldOut.length} held out, ${a.impostors} impostors; threshold ${f3(a.threshold.value)} at FAR 1e-3 (${a.threshold.dataset})`,
      ...a.levels.map(
        (l) =>
          `  ${String(l.photos).padStart(3)} photos averaged: cos to held-out ${f3(l.meanGenuine)}  TAR@FAR1e-3 ${l.tar.accepted}/${l.tar.trials}  impostors accepted ${l.impostors.accepted}/${l.impostors.trials}  decoded face cos ${f3(l.fidelity)}`
      )
    ]
  }
  if (r.kind === 'centroids') {
    const c = r as CentroidsRecord
    return [
      head,
      `${c.templates} templates, k = ${c.k} (average linkage, cosine distance)${c.purity === null ? '' : `, purity ${f3(c.purity)}`}`,
      ...c.clusters.map(
        (k) =>
          `  cluster ${k.index + 1}: ${k.size} templates${k.majority ? `, ${printable(k.majority.identity)} ${k.majority.count}/${k.size}` : ''}, decoded face cos ${f3(k.fidelity)}`
      )
    ]
  }
  const o = r as OcclusionRecord
  const change = o.patches.map((p) => p.change)
  return [
    head,
    `${o.patches.length} patches of ${o.patch} px every ${o.stride} px: cosine change max ${f3(Math.max(...change))}, mean ${f3(change.reduce((a, b) => a + b, 0) / change.length)}${o.storedCosine === null ? '' : `; crop vs stored template cos ${f3(o.storedCosine)}`}`,
    ...o.occluded.map((x) => `  ${x.part} occluded: cos to unoccluded ${f3(x.cosine)}, decoded face cos ${f3(x.fidelity)}`)
  ]
}

async function finish(wb: Workbench, caseId: string, run: RunRecord, label: string, v: Record<string, unknown>): Promise<void> {
  const done = await followRun(wb, run.id, label)
  if (done.status !== 'succeeded') throw new Error(`explain ${label} ${done.status}${done.error ? `: ${done.error}` : ''}`)
  const stored = wb.explain.list(caseId).find((r) => r.runId === run.id)!
  if (v.out) writeFileSync(resolve(v.out as string), readFileSync(wb.cases.store(caseId).imagePath(stored.sheetSha256)))
  if (v.json) return printJson(stored)
  console.log(`run ${run.id}`)
  for (const line of explainText(stored.record)) console.log(line)
  if (v.out) console.log(`sheet → ${resolve(v.out as string)}`)
}

const seedOf = (v: Record<string, unknown>): number => {
  const seed = integer(v, 'seed', 1)!
  if (seed < 0 || seed > 2 ** 31 - 1) throw new UsageError('--seed must be between 0 and 2147483647')
  return seed
}

export async function explainCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  const common = {
    case: { type: 'string' },
    encoder: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean' }
  } as const
  switch (sub) {
    case 'aggregation': {
      const v = parse(rest, {
        ...common,
        subject: { type: 'string' },
        'person-dir': { type: 'string' },
        holdout: { type: 'string' },
        impostors: { type: 'string' }
      })
      if (!v.subject === !v['person-dir'])
        throw new UsageError('give --subject NAME (templates of the case) or --person-dir DIR (a folder of one person’s photos)')
      const holdout = integer(v, 'holdout')
      const impostors = integer(v, 'impostors')
      if (impostors !== undefined && impostors < 1) throw new UsageError('--impostors must be 1 or more')
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(resolve(required(v, 'case')))
        const run = wb.explain.aggregation({
          caseId: info.id,
          subject: (v.subject as string | undefined) ?? null,
          personDir: (v['person-dir'] as string | undefined) ?? null,
          encoderId: (v.encoder as string | undefined) ?? null,
          holdout: holdout ?? null,
          impostors: impostors ?? null,
          seed: seedOf(v)
        })
        await finish(wb, info.id, run, 'aggregation', v)
      })
      return
    }
    case 'centroids': {
      const v = parse(rest, { ...common, data: { type: 'string' }, k: { type: 'string' }, limit: { type: 'string' } })
      const limit = integer(v, 'limit')
      if (limit !== undefined && limit < 2) throw new UsageError('--limit must be 2 or more')
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(resolve(required(v, 'case')))
        const run = wb.explain.centroids({
          caseId: info.id,
          datasetDir: (v.data as string | undefined) ?? null,
          encoderId: (v.encoder as string | undefined) ?? null,
          k: integer(v, 'k', 4)!,
          limit: limit ?? null,
          seed: seedOf(v)
        })
        await finish(wb, info.id, run, 'centroids', v)
      })
      return
    }
    case 'occlusion': {
      const v = parse(rest, { ...common, 'template-id': { type: 'string' }, image: { type: 'string' }, patch: { type: 'string' }, stride: { type: 'string' } })
      if (!v['template-id'] === !v.image) throw new UsageError('give --template-id ID (a case template with its photo) or --image PHOTO')
      const photo = v.image ? { name: inputFileName(v.image as string), bytes: inputFile(v, 'image') } : null
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(resolve(required(v, 'case')))
        const run = wb.explain.occlusion({
          caseId: info.id,
          templateId: (v['template-id'] as string | undefined) ?? null,
          photo,
          encoderId: (v.encoder as string | undefined) ?? null,
          patch: integer(v, 'patch', 16)!,
          stride: integer(v, 'stride', 8)!,
          seed: seedOf(v)
        })
        await finish(wb, info.id, run, 'occlusion', v)
      })
      return
    }
    case 'list': {
      const v = parse(rest, { case: { type: 'string' }, json: { type: 'boolean' } })
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(resolve(required(v, 'case')))
        const runs = wb.explain.list(info.id)
        if (v.json) return printJson(runs)
        if (runs.length === 0) console.log('no Explain runs in this case yet')
        for (const r of runs) console.log(`${r.runId}  ${r.kind.padEnd(11)} ${r.createdAt}  sheet ${r.sheetSha256.slice(0, 12)}…`)
      })
      return
    }
    default:
      throw new UsageError(`unknown explain subcommand '${sub ?? ''}' (aggregation, centroids, occlusion, list)`)
  }
}
