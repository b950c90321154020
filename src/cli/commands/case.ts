import { readFileSync, writeFileSync } from 'node:fs'
import { basename } from 'node:path'
import { UsageError, parse, printJson, printable, required, withWorkbench } from '../cli-support'
import type { CaseInfo } from '../../shared/types'

function describe(c: CaseInfo): string {
  return printable(`${c.name}${c.number ? ` [${c.number}]` : ''}  ${c.templateCount} templates, ${c.imageCount} images, ${c.runCount} runs  ${c.dir}`)
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
        const list = wb.templates.import(info.id, new Uint8Array(readFileSync(file)), basename(file), (v.encoder as string) ?? wb.models.defaults().encoder)
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
    default:
      throw new UsageError('usage: unveil case create|list|show|import|export')
  }
}
