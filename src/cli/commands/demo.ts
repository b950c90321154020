import { DEMO_STEP_IDS, demoResultLines, type DemoStatus } from '../../shared/demo-types'
import type { Workbench } from '../../core/workbench/workbench'
import { UsageError, parse, printJson, progressBar, withWorkbench } from '../cli-support'

/** The step shown: "step 3 of 6", its explanation, what it computed and where its picture is. */
function printStep(wb: Workbench, s: DemoStatus): void {
  if (!s.demo) {
    console.log('no demo is running (start it with: unveil demo start)')
    return
  }
  const step = s.steps[s.current]
  console.log(`step ${s.current + 1} of ${s.steps.length}: ${step.title}`)
  console.log(`  ${step.explanation}`)
  if (!step.result) {
    console.log('  not computed yet (unveil demo step N computes it)')
    return
  }
  for (const line of demoResultLines(step.result)) console.log(`  ${line}`)
  const r = step.result
  const sha = r.step === 'dfd' || r.step === 'ga' || r.step === 'compare' ? r.imageSha256 : r.step === 'explain' ? r.sheetSha256 : null
  if (sha) console.log(`  picture: ${wb.cases.store(s.demo.caseId).imagePath(sha)}`)
  console.log(`  case: ${s.demo.dir}`)
}

/**
 * A step about to compute is announced on stderr (enrolment and the report are not jobs), then a
 * progress bar follows the demo case's runs while it computes.
 */
async function withProgress(wb: Workbench, index: number, work: () => Promise<DemoStatus>): Promise<DemoStatus> {
  const dir = wb.demo.dir
  const step = wb.demo.status().steps[index]
  if (step && !step.result) process.stderr.write(`demo: computing step ${index + 1} of ${DEMO_STEP_IDS.length}, ${step.computes}…\n`)
  const bar = progressBar('demo')
  const off = wb.runs.onProgress((p) => (p.caseDir === dir && p.status === 'running' ? bar(p.step, p.totalSteps, p.message ?? undefined) : undefined))
  try {
    return await work()
  } finally {
    off()
  }
}

export async function demoCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv
  const positional = sub === 'step' && rest[0] && !rest[0].startsWith('-') ? rest.shift()! : null
  const v = parse(rest, { json: { type: 'boolean' }, yes: { type: 'boolean' } })
  if (!['start', 'next', 'back', 'step', 'status', 'reset'].includes(sub ?? ''))
    throw new UsageError(`unknown demo command '${sub ?? ''}' (start, next, back, step N, status, reset)`)
  const n = Number(positional)
  if (sub === 'step' && (!positional || !Number.isInteger(n))) throw new UsageError('unveil demo step N: N is the step number, 1 to 6')
  await withWorkbench(async (wb) => {
    let status: DemoStatus
    switch (sub) {
      case 'start':
        status = await withProgress(wb, wb.demo.status().current, () => wb.demo.start())
        break
      case 'next':
        status = await withProgress(wb, wb.demo.status().current + 1, () => wb.demo.next())
        break
      case 'back':
        status = await wb.demo.back()
        break
      case 'step':
        status = await withProgress(wb, n - 1, () => wb.demo.go(n - 1))
        break
      case 'reset': {
        if (!v.yes) throw new UsageError(`reset deletes the demo case (${wb.demo.dir}); add --yes to confirm`)
        const r = await wb.demo.reset()
        if (v.json) printJson(r)
        else console.log(r.removed ? `demo case deleted: ${r.removed}` : 'no demo case to delete; the tour state is cleared')
        return
      }
      default:
        status = wb.demo.status()
    }
    if (v.json) printJson(status)
    else printStep(wb, status)
  })
}
