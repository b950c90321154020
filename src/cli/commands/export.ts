import { resolve } from 'node:path'
import { parse, printJson, required, withWorkbench } from '../cli-support'

export async function exportCommand(argv: string[]): Promise<void> {
  const v = parse(argv, { case: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } })
  const caseDir = resolve(required(v, 'case'))
  const out = required(v, 'out')
  await withWorkbench(async (wb) => {
    const info = wb.cases.openFolder(caseDir)
    const r = await wb.reports.bundle({ caseId: info.id, out })
    if (v.json) printJson(r)
    else console.log(`exported case '${info.name}' → ${r.path} (${r.files} files; SHA256SUMS sha256 ${r.sha256sums}, recorded in the audit log)`)
  })
}
