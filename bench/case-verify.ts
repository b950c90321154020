// Quick (at case open) versus full audit verification (issue 13 item 5): the quick check skips
// re-hashing blob bytes; this measures what that saves on a case of realistic size.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { CaseStore } from '../src/core/cases/case-store'
import { machineLine, markdownTable, median } from './bench-support'

const IMAGES = 200
const IMAGE_BYTES = 300_000
const RUNS = 100

export async function caseVerify(): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'unveil-bench-verify-')), 'case')
  const store = CaseStore.create({ dir, name: 'Bench', number: null, examiner: 'Bench' })
  for (let i = 0; i < IMAGES; i++) {
    const image = store.addImage(new Uint8Array(randomBytes(IMAGE_BYTES)), { mime: 'image/jpeg', width: 250, height: 250, originalName: `p${i}.jpg` })
    const vector = Array.from({ length: 512 }, (_, k) => Math.sin(i + k))
    store.addTemplate({
      id: `t${i}`,
      label: `photo ${i}`,
      encoderId: 'enc',
      encoderSha256: 'e'.repeat(64),
      dimension: 512,
      norm: Math.hypot(...vector),
      vector,
      origin: 'enrolment',
      format: null,
      sourceFileSha256: image.sha256,
      sourceFileName: `p${i}.jpg`,
      imageSha256: image.sha256,
      face: null,
      createdAt: new Date().toISOString()
    })
  }
  for (let i = 0; i < RUNS; i++) {
    const run = store.createRun({ method: 'ga', parameters: { population: 32 }, seed: i, softwareVersion: 'bench', templateId: `t${i % IMAGES}` })
    store.updateRun(run.id, { status: 'running', startedAt: new Date().toISOString() })
    store.addResult({ runId: run.id, kind: 'reconstruction', data: { similarity: 0.5, scores: [] }, imageSha256: null })
    store.updateRun(run.id, { status: 'succeeded', finishedAt: new Date().toISOString(), seconds: 1, summary: { similarity: 0.5 } })
  }
  const entries = store.auditLog().length
  store.close()
  const quick: number[] = []
  const full: number[] = []
  // Interleaved, so load on a shared machine hits both alike; each opens the case afresh.
  for (let rep = 0; rep < 5; rep++) {
    for (const [times, opts] of [
      [quick, { quick: true }],
      [full, {}]
    ] as const) {
      const s = CaseStore.open(dir)
      const t0 = performance.now()
      const v = s.verifyAudit(opts)
      times.push(performance.now() - t0)
      s.close()
      if (!v.ok) throw new Error(`bench case does not verify: ${v.reason}`)
    }
  }
  rmSync(join(dir, '..'), { recursive: true, force: true })
  return [
    '## Case verification: quick (at open) vs full',
    '',
    `A case of ${IMAGES} photos (${(IMAGE_BYTES / 1000).toFixed(0)} kB each), ${IMAGES} templates, ${RUNS} finished runs with results: ${entries} audit entries. Median of 5, interleaved.`,
    '',
    markdownTable(
      ['check', 'median ms'],
      [
        ['quick (chain, anchor, rows, blob presence and size)', median(quick).toFixed(1)],
        ['full (also re-hashes every blob)', median(full).toFixed(1)]
      ]
    ),
    '',
    machineLine()
  ].join('\n')
}
