import { UsageError, parse, printJson, required, withWorkbench } from '../cli-support'
import { auditCsv } from '../../shared/audit-export'

/** Exit code 3: the audit chain does not verify (distinct from usage and runtime errors). */
export const AUDIT_BROKEN_EXIT = 3

export async function auditCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub !== 'verify' && sub !== 'log') throw new UsageError('usage: unveil audit verify|log --case DIR')
  const v = parse(rest, { case: { type: 'string' }, json: { type: 'boolean' }, format: { type: 'string' } })
  const format = (v.format as string | undefined) ?? 'json'
  if (sub === 'log' && format !== 'json' && format !== 'csv') throw new UsageError('--format must be json or csv')
  // Read through inspectAudit, not the case list: verifying must not modify anything.
  const { log, verification: result } = await withWorkbench(async (wb) => wb.cases.inspectAudit(required(v, 'case')))
  if (sub === 'log') {
    if (format === 'csv') process.stdout.write(auditCsv(log))
    else printJson(log)
    return 0
  }
  if (v.json) printJson(result)
  if (result.ok) {
    if (!v.json) console.log(`audit chain intact: ${result.entries} entries`)
    return 0
  }
  console.error(`unveil: audit chain broken at entry ${result.firstBrokenSeq}: ${result.reason}`)
  return AUDIT_BROKEN_EXIT
}
