import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach } from 'vitest'
import type { TemplateRecord } from '../../../src/shared/types'
import { CaseStore } from '../../../src/core/cases/case-store'

const made: string[] = []
const open: CaseStore[] = []

afterEach(() => {
  for (const store of open.splice(0)) store.close()
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A fresh temp folder, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'unveil-test-'))
  made.push(dir)
  return dir
}

/** A new case in a fresh temp folder, closed after the test. */
export function newCase(actor = 'tester'): CaseStore {
  const store = CaseStore.create({ dir: join(tempDir(), 'case'), name: 'Test case', number: 'C-1', examiner: 'E. Xaminer' }, { actor })
  open.push(store)
  return store
}

/** Registers a store opened by the test so it is closed afterwards. */
export function track(store: CaseStore): CaseStore {
  open.push(store)
  return store
}

export function template(overrides: Partial<TemplateRecord> = {}): TemplateRecord {
  const vector = overrides.vector ?? [0.5, -0.25, 0.125, 1]
  return {
    id: 'tpl-1',
    label: 'suspect A',
    encoderId: 'arcface-r100',
    encoderSha256: 'e'.repeat(64),
    dimension: vector.length,
    norm: Math.hypot(...vector),
    vector,
    origin: 'import',
    format: 'json',
    sourceFileSha256: 'f'.repeat(64),
    sourceFileName: 'template.json',
    imageSha256: null,
    face: null,
    createdAt: '2025-01-01T00:00:00.000Z',
    ...overrides
  }
}

export const PNG_BYTES = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])
