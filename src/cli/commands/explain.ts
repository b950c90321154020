import { readFileSync, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { AggregationRecord, AttributesRecord, CentroidsRecord, EquivarianceMapArtefact, EquivarianceRecord, ExplainRecord, OcclusionRecord } from '../../shared/explain-types'
import type { RunRecord } from '../../shared/types'
import type { Workbench } from '../../core/workbench/workbench'
import { UsageError, followJob, followRun, inputFile, inputFileName, integer, parse, printJson, printable, required, withWorkbench } from '../cli-support'

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
  if (r.kind === 'equivariance') {
    const e = r as EquivarianceRecord
    return [
      head,
      `cosine to the unperturbed crop's template, without → with the map (decoded face cos of the mapped template):`,
      ...e.transforms.map((t) => `  ${t.transform.padEnd(15)} ${f3(t.perturbedCosine)} → ${f3(t.mappedCosine)}  (${f3(t.mapped.fidelity)})`)
    ]
  }
  if (r.kind === 'attributes') {
    const a = r as AttributesRecord
    return [
      head,
      ...a.attributes.flatMap((x) => [
        `${x.attribute} (steps in ${x.stepUnit}): identity cos of the decoded face, and what the direction reads from it`,
        ...x.steps.map((s) => `  ${String(s.offset).padStart(6)}: identity cos ${f3(s.identityCosine)}  reads ${x.attribute === 'age' ? s.decodedReading.toFixed(1) : f3(s.decodedReading)}  moved template cos ${f3(s.templateCosine)}`)
      ])
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

const mapLine = (m: EquivarianceMapArtefact): string =>
  `${m.transform.padEnd(15)} ${m.encoder.id}  ${m.counts.train + m.counts.validation} crops of ${m.data.dir}  validation cos ${f3(m.fit.validation.identity)} → ${f3(m.fit.validation.mapped)}  λ ${m.ridge.relative}×n  ${m.createdAt}`

/** Comma-separated list, each entry trimmed; undefined when the option is absent. */
const list = (v: Record<string, unknown>, name: string): string[] | undefined =>
  typeof v[name] === 'string' ? (v[name] as string).split(',').map((x) => x.trim()).filter(Boolean) : undefined

function numbers(v: Record<string, unknown>, name: string): number[] | null {
  const items = list(v, name)
  if (!items) return null
  const out = items.map(Number)
  if (out.length === 0 || out.some((x) => !Number.isFinite(x))) throw new UsageError(`--${name} takes comma-separated numbers, e.g. -30,-15,0,15,30`)
  return out
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
    case 'equivariance': {
      const v = parse(rest, {
        ...common,
        fit: { type: 'boolean' },
        list: { type: 'boolean' },
        data: { type: 'string' },
        limit: { type: 'string' },
        transform: { type: 'string' },
        template: { type: 'string' },
        'template-id': { type: 'string' },
        image: { type: 'string' }
      })
      const forms = [v.fit, v.list, v.template, v.case].filter(Boolean).length
      if (forms !== 1)
        throw new UsageError('give one of --fit --encoder ID --data DIR, --template T.json --transform T --out MAPPED.json, --case DIR (--template-id ID | --image PHOTO), or --list')
      if (v.list) {
        await withWorkbench(async (wb) => {
          const encoders = v.encoder ? [v.encoder as string] : wb.explainFits.artefacts.encodersWithMaps()
          const maps = encoders.flatMap((e) => wb.explainFits.artefacts.maps(e))
          if (v.json) return printJson(maps)
          if (maps.length === 0) console.log('no equivariance maps fitted yet')
          for (const m of maps) console.log(mapLine(m))
        })
        return
      }
      if (v.fit) {
        const limit = integer(v, 'limit')
        await withWorkbench(async (wb) => {
          const job = wb.explainFits.fitEquivariance({
            encoderId: required(v, 'encoder'),
            datasetDir: required(v, 'data'),
            transforms: list(v, 'transform') ?? null,
            limit: limit ?? null,
            seed: seedOf(v)
          })
          const done = await followJob(wb, job, 'fitting equivariance maps', 'equivariance fit')
          if (v.json) return printJson(done!.maps)
          for (const m of done!.maps) console.log(mapLine(m))
          console.log(`maps and model cards → ${wb.explainFits.artefacts.mapFolder(required(v, 'encoder'))}`)
        })
        return
      }
      if (v.template) {
        const transform = required(v, 'transform')
        const out = required(v, 'out')
        const bytes = inputFile(v, 'template')
        await withWorkbench(async (wb) => {
          const mapped = wb.explainFits.mapTemplateFile(bytes, inputFileName(v.template as string), transform, (v.encoder as string | undefined) ?? null)
          writeFileSync(resolve(out), mapped.json)
          if (v.json) return printJson({ transform: mapped.transform, encoderId: mapped.encoderId, movedCosine: mapped.movedCosine, map: mapped.map, out: resolve(out) })
          console.log(`${mapped.transform} map of ${mapped.encoderId} (fitted ${mapped.map.createdAt}) applied: cosine to the template given ${f3(mapped.movedCosine)} → ${resolve(out)}`)
        })
        return
      }
      if (!v['template-id'] === !v.image) throw new UsageError('give --template-id ID (a case template with its photo) or --image PHOTO')
      const photo = v.image ? { name: inputFileName(v.image as string), bytes: inputFile(v, 'image') } : null
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(resolve(required(v, 'case')))
        const run = wb.explain.equivariance({
          caseId: info.id,
          templateId: (v['template-id'] as string | undefined) ?? null,
          photo,
          encoderId: (v.encoder as string | undefined) ?? null,
          transforms: list(v, 'transform') ?? null,
          seed: seedOf(v)
        })
        await finish(wb, info.id, run, 'equivariance', v)
      })
      return
    }
    case 'attributes': {
      const v = parse(rest, {
        ...common,
        fit: { type: 'boolean' },
        data: { type: 'string' },
        limit: { type: 'string' },
        'template-id': { type: 'string' },
        attribute: { type: 'string' },
        'age-steps': { type: 'string' },
        'gender-steps': { type: 'string' }
      })
      if (!v.fit === !v.case) throw new UsageError('give --fit --encoder ID --data DIR, or --case DIR --template-id ID')
      if (v.fit) {
        const limit = integer(v, 'limit')
        await withWorkbench(async (wb) => {
          const job = wb.explainFits.fitAttributes({ encoderId: required(v, 'encoder'), datasetDir: required(v, 'data'), limit: limit ?? null, seed: seedOf(v) })
          const a = (await followJob(wb, job, 'fitting attribute directions', 'attribute fit'))!
          if (v.json) return printJson(a)
          console.log(`attribute directions of ${a.encoder.id} from ${a.counts.train} crops of ${a.data.dir} (${a.counts.validation} held out):`)
          for (const d of a.directions) console.log(`  ${d.attribute.padEnd(7)} step = ${d.stepUnit}; held-out ${d.validation.metric} ${f3(d.validation.value)}`)
        })
        return
      }
      const attributes = list(v, 'attribute')
      if (attributes?.some((a) => a !== 'age' && a !== 'gender')) throw new UsageError('--attribute takes age, gender or age,gender')
      const ageSteps = numbers(v, 'age-steps')
      const genderSteps = numbers(v, 'gender-steps')
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(resolve(required(v, 'case')))
        const run = wb.explain.attributes({
          caseId: info.id,
          templateId: required(v, 'template-id'),
          attributes: (attributes as ('age' | 'gender')[] | undefined) ?? null,
          ageSteps,
          genderSteps,
          seed: seedOf(v)
        })
        await finish(wb, info.id, run, 'attributes', v)
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
      throw new UsageError(`unknown explain subcommand '${sub ?? ''}' (aggregation, centroids, occlusion, equivariance, attributes, list)`)
  }
}
