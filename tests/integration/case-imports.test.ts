import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { exportTemplatesNpy } from '../../src/core/templates/template-codec'

// Import trusts nothing it cannot check (issue 13): a file names its encoder, a file is imported once.
describe('template imports into a case', () => {
  let wb: Workbench
  let caseId: string
  const root = mkdtempSync(join(tmpdir(), 'unveil-imports-'))
  const vector = (seed: number): number[] => Array.from({ length: 512 }, (_, i) => Math.sin(seed * 31 + i))
  const counts = (): number[] => [wb.cases.get(caseId).templates.length, wb.cases.auditLog(caseId).length]

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: root })
    caseId = wb.cases.create({ dir: join(root, 'case'), name: 'Imports' }).id
  })
  afterAll(async () => wb.close())

  it('imports a file once: a second import of the same bytes is refused and stores nothing', () => {
    const bytes = exportTemplatesNpy([vector(1), vector(2), vector(3)])
    expect(wb.templates.import(caseId, bytes, 'leak.npy', 'faceplugin-fr-feature')).toHaveLength(3)
    const before = counts()
    expect(() => wb.templates.import(caseId, bytes, 'leak-again.npy', 'faceplugin-fr-feature')).toThrow(/leak-again.npy was already imported into this case \(sha256 [0-9a-f]{12}…, 3 templates/)
    expect(counts()).toEqual(before)
    expect(wb.cases.verifyAudit(caseId).ok).toBe(true)
  })

  it('refuses a JSON file that names another encoder than the one it is imported for', () => {
    const before = counts()
    // Written by another tool: an encoder id, no sha256.
    const json = JSON.stringify({ encoderId: 'some-other-engine', templates: [{ label: 'x', vector: vector(4) }] })
    expect(() => wb.templates.import(caseId, new TextEncoder().encode(json), 'other.json', 'faceplugin-fr-feature')).toThrow(
      "other.json names encoder 'some-other-engine', not 'faceplugin-fr-feature'"
    )
    expect(counts()).toEqual(before)
  })
})
