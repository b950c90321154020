import { writeFileSync } from 'node:fs'
import { UsageError, inputFile, parse, printJson, required, withWorkbench } from '../cli-support'
import { auditCsv } from '../../shared/audit-export'

/** Exit code 3: the audit chain does not verify (distinct from usage and runtime errors). */
export const AUDIT_BROKEN_EXIT = 3

const USAGE = 'usage: unveil audit verify --case DIR [--expect SEQ:HASH | --expect-file HEAD.json] [--json] | audit log --case DIR [--format json|csv] | audit head --case DIR [--out FILE]'

/** The head an examiner kept: "SEQ:HASH" on the command line, or the JSON `audit head` wrote. */
function expectedHead(v: Record<string, unknown>): { seq: number; hash: string } | undefined {
  let text: string | undefined
  if (v['expect-file']) {
    const head = JSON.parse(new TextDecoder().decode(inputFile(v, 'expect-file'))) as { seq?: unknown; hash?: unknown }
    text = `${String(head.seq)}:${String(head.hash)}`
  } else if (v.expect) text = v.expect as string
  if (text === undefined) return undefined
  const m = /^(\d+):([0-9a-f]{64})$/.exec(text)
  if (!m) throw new UsageError(`--expect must be SEQ:HASH as 'unveil audit head' prints it (e.g. 42:${'ab'.repeat(32)}), got ${JSON.stringify(text)}`)
  return { seq: Number(m[1]), hash: m[2] }
}

export async function auditCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub !== 'verify' && sub !== 'log' && sub !== 'head') throw new UsageError(USAGE)
  const v = parse(rest, {
    case: { type: 'string' },
    json: { type: 'boolean' },
    format: { type: 'string' },
    expect: { type: 'string' },
    'expect-file': { type: 'string' },
    out: { type: 'string' }
  })
  const format = (v.format as string | undefined) ?? 'json'
  if (sub === 'log' && format !== 'json' && format !== 'csv') throw new UsageError('--format must be json or csv')
  const expect = expectedHead(v)
  // Read through inspectAudit, not the case list: verifying must not modify anything.
  const { log, verification: result, head } = await withWorkbench(async (wb) => wb.cases.inspectAudit(required(v, 'case'), { expect }))
  if (sub === 'log') {
    if (format === 'csv') process.stdout.write(auditCsv(log))
    else printJson(log)
    return 0
  }
  if (sub === 'head') {
    // Kept outside the case, the head lets a later `audit verify --expect` detect a rollback or rewrite.
    const record = head ? { ...head, line: `${head.seq}:${head.hash}` } : null
    if (v.out) writeFileSync(v.out as string, `${JSON.stringify(record, null, 2)}\n`)
    if (v.json || v.out) printJson(record)
    else console.log(record ? record.line : 'the audit log is empty')
    return 0
  }
  if (v.json) printJson(result)
  if (result.ok) {
    if (!v.json) console.log(`audit chain intact: ${result.entries} entries; every recorded hash matches the case's rows and files${expect ? `; entry ${expect.seq} matches the expected head` : ''}`)
    return 0
  }
  console.error(`unveil: audit chain broken at entry ${result.firstBrokenSeq}: ${result.reason}`)
  for (const p of (result.problems ?? []).slice(1, 20)) console.error(`  also: ${p}`)
  return AUDIT_BROKEN_EXIT
}
