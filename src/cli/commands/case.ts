import { writeFileSync } from 'node:fs'
import { UsageError, inputFile, inputFileName, parse, printJson, printable, required, withWorkbench } from '../cli-support'
import type { CaseInfo, RunRecord } from '../../shared/types'

function describe(c: CaseInfo): string {
  return printable(`${c.name}${c.number ? ` [${c.number}]` : ''}  ${c.templateCount} templates, ${c.imageCount} images, ${c.runCount} runs  ${c.dir}`)
}

/** A run as `unveil case runs` lists it. */
export interface RunListing {
  id: string
  method: string
  status: RunRecord['status']
  seed: number | null
  similarity: number | null
  templateId: string | null
  createdAt: string
}

function listing(r: RunRecord): RunListing {
  const s = r.summary?.similarity
  return { id: r.id, method: r.method, status: r.status, seed: r.seed, similarity: typeof s === 'number' ? s : null, templateId: r.templateId, createdAt: r.createdAt }
}

export async function caseCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  switch (sub) {
    case 'create': {
      const v = parse(rest, { dir: { type: 'string' }, name: { type: 'string' }, number: { type: 'string' }, examiner: { type: 'string' }, notes: { type: 'string' }, json: { type: 'boolean' } })
      await withWorkbench(async (wb) => {
        const info = wb.cases.create({
          dir: required(v, 'dir'),
          name: required(v, 'name'),
          number: (v.number as string) ?? null,
          examiner: (v.examiner as string) ?? null,
          notes: (v.notes as string) ?? null
        })
        if (v.json) return printJson(info)
        console.log(`created case '${info.name}' (${info.id}) in ${info.dir}`)
      })
      return
    }
    case 'list': {
      const v = parse(rest, { json: { type: 'boolean' } })
      await withWorkbench(async (wb) => {
        const cases = wb.cases.list()
        if (v.json) return printJson(cases)
        if (cases.length === 0) console.log('no cases yet: unveil case create --dir DIR --name NAME')
        for (const c of cases) console.log(describe(c))
      })
      return
    }
    case 'show': {
      const v = parse(rest, { case: { type: 'string' }, json: { type: 'boolean' } })
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(required(v, 'case'))
        const detail = wb.cases.get(info.id)
        if (v.json) return printJson(detail)
        console.log(describe(detail.info))
        const check = detail.integrity
        if (check && !check.ok) {
          const more = (check.problems?.length ?? 0) > 1 ? ` (${check.problems!.length - 1} more)` : ''
          const at = check.firstBrokenSeq === null ? '' : ` at entry ${check.firstBrokenSeq}`
          console.log(`integrity: FAILED${at}: ${printable(check.reason ?? '')}${more}; the case takes no changes (full check: unveil audit verify --case DIR)`)
        } else if (check) console.log(`integrity: quick check passed (${check.entries} audit entries)`)
        if (detail.info.examiner) console.log(`examiner: ${printable(detail.info.examiner)}`)
        for (const t of detail.templates) {
          console.log(`  template ${t.id}  ${printable(t.label)}  ${t.encoderId} ${t.dimension}-d  ${t.origin}${t.imageSha256 ? ' (with photo)' : ''}`)
        }
        for (const r of detail.runs) console.log(`  run ${r.id}  ${r.method}  ${r.status}`)
      })
      return
    }
    case 'import': {
      const v = parse(rest, { case: { type: 'string' }, file: { type: 'string' }, encoder: { type: 'string' } })
      const file = required(v, 'file')
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(required(v, 'case'))
        const list = wb.templates.import(info.id, inputFile(v, 'file', file), inputFileName(file), (v.encoder as string) ?? wb.models.defaults().encoder)
        console.log(`imported ${list.length} template${list.length === 1 ? '' : 's'} into '${printable(info.name)}'`)
      })
      return
    }
    case 'export': {
      const v = parse(rest, { case: { type: 'string' }, template: { type: 'string' }, format: { type: 'string' }, out: { type: 'string' } })
      const format = (v.format as string) ?? 'json'
      if (format !== 'json' && format !== 'npy') throw new UsageError('--format must be json or npy')
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(required(v, 'case'))
        const file = wb.templates.export(info.id, required(v, 'template'), format)
        writeFileSync(required(v, 'out'), file.bytes)
        console.log(`wrote ${required(v, 'out')}`)
      })
      return
    }
    case 'runs': {
      const v = parse(rest, { case: { type: 'string' }, json: { type: 'boolean' } })
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(required(v, 'case'))
        const runs = wb.cases
          .get(info.id)
          .runs.map(listing)
          .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        if (v.json) return printJson(runs)
        if (runs.length === 0) return console.log(`no runs in '${info.name}' yet`)
        const rows = [['id', 'method', 'status', 'seed', 'similarity', 'created'], ...runs.map((r) => [r.id, r.method, r.status, String(r.seed ?? '—'), r.similarity === null ? '—' : r.similarity.toFixed(4), r.createdAt])]
        const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)))
        for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd())
      })
      return
    }
    case 'compare': {
      const v = parse(rest, { case: { type: 'string' }, 'template-id': { type: 'string' }, runs: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } })
      const out = required(v, 'out')
      const templateId = required(v, 'template-id')
      const runIds = typeof v.runs === 'string' ? v.runs.split(',').map((s) => s.trim()).filter(Boolean) : null
      if (runIds && runIds.length === 0) throw new UsageError('--runs must list at least one run id')
      await withWorkbench(async (wb) => {
        const info = wb.cases.openFolder(required(v, 'case'))
        const grid = await wb.compare.grid(info.id, templateId, runIds)
        writeFileSync(out, grid.png)
        if (v.json) return printJson({ out, width: grid.width, height: grid.height, ...grid.comparison })
        for (const line of grid.legend) console.log(line)
        console.log(`wrote ${out} (${grid.width} x ${grid.height}, ground truth + ${grid.comparison.runs.length} reconstruction${grid.comparison.runs.length === 1 ? '' : 's'})`)
      })
      return
    }
    default:
      throw new UsageError('usage: unveil case create|list|show|runs|compare|import|export')
  }
}
