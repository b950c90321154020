import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { UsageError, parse, printJson, required, withWorkbench } from '../cli-support'

export async function reportCommand(argv: string[]): Promise<void> {
  const v = parse(argv, {
    case: { type: 'string' },
    runs: { type: 'string' },
    evaluation: { type: 'string' },
    out: { type: 'string' },
    svg: { type: 'string' },
    json: { type: 'boolean' }
  })
  const caseDir = resolve(required(v, 'case'))
  const out = v.svg ? ((v.out as string | undefined) ?? null) : required(v, 'out')
  if (out !== null && !out.toLowerCase().endsWith('.pdf')) throw new UsageError('--out must name a .pdf file')
  if (v.runs && v.evaluation) throw new UsageError('give --runs or --evaluation, not both')
  const runIds = v.runs
    ? (v.runs as string)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : null
  const evaluationId = (v.evaluation as string | undefined) ?? null
  await withWorkbench(async (wb) => {
    const info = wb.cases.openFolder(caseDir)
    if (v.svg) {
      // The plots the Evaluate page shows (the same SVG the PDF prints), one file each.
      const dir = resolve(v.svg as string)
      const targets = runIds
        ? runIds.map((runId) => ({ runId, evaluationId: null }))
        : (evaluationId ? [evaluationId] : wb.evaluations.list(info.id).map((e) => e.id)).map((id) => ({ runId: null, evaluationId: id }))
      const written: string[] = []
      for (const t of targets) {
        const plots = await wb.reports.plots({ caseId: info.id, ...t })
        if (plots.length) mkdirSync(dir, { recursive: true })
        for (const p of plots) {
          const file = join(dir, `${(t.evaluationId ?? t.runId)!.slice(0, 8)}-${p.id.replace(/[^\w.-]+/g, '_')}.svg`)
          writeFileSync(file, p.svg)
          written.push(file)
        }
      }
      if (!v.json) console.log(`${written.length} plots → ${dir}${written.length ? '' : ' (nothing to plot: no finished evaluation or search trace)'}`)
      else if (!out) printJson({ plots: written })
    }
    if (out === null) return
    const r = await wb.reports.write({ caseId: info.id, runIds, evaluationId, out })
    if (v.json) printJson(r)
    else {
      console.log(`report of case '${info.name}' → ${r.path} (${r.bytes} bytes, sha256 ${r.sha256}; recorded in the audit log)`)
      console.log(`${r.runs} runs, ${r.evaluations} evaluations${r.auditOk ? '' : '; AUDIT CHAIN DOES NOT VERIFY (said on the cover)'}`)
    }
  })
}
