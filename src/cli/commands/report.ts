import { resolve } from 'node:path'
import { UsageError, parse, printJson, required, withWorkbench } from '../cli-support'

export async function reportCommand(argv: string[]): Promise<void> {
  const v = parse(argv, { case: { type: 'string' }, runs: { type: 'string' }, evaluation: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean' } })
  const caseDir = resolve(required(v, 'case'))
  const out = required(v, 'out')
  if (!out.toLowerCase().endsWith('.pdf')) throw new UsageError('--out must name a .pdf file')
  if (v.runs && v.evaluation) throw new UsageError('give --runs or --evaluation, not both')
  const runIds = v.runs ? (v.runs as string).split(',').map((s) => s.trim()).filter(Boolean) : null
  await withWorkbench(async (wb) => {
    const info = wb.cases.openFolder(caseDir)
    const r = await wb.reports.write({ caseId: info.id, runIds, evaluationId: (v.evaluation as string | undefined) ?? null, out })
    if (v.json) printJson(r)
    else {
      console.log(`report of case '${info.name}' → ${r.path} (${r.bytes} bytes, sha256 ${r.sha256}; recorded in the audit log)`)
      console.log(`${r.runs} runs, ${r.evaluations} evaluations${r.auditOk ? '' : '; AUDIT CHAIN DOES NOT VERIFY (said on the cover)'}`)
    }
  })
}
