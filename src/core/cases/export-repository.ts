import { ValidationError } from '../../shared/validation'
import { assertSha256 } from './blob-store'
import { requireText } from './case-input'
import type { CaseWriter } from './case-writer'

export interface ExportEntry {
  /** 'report' (a PDF) or 'bundle' (an export folder). */
  kind: 'report' | 'bundle'
  path: string
  sha256: string
  bytes: number
  /** What it covers (run ids, evaluation id). */
  scope: Record<string, unknown>
}

/** Documents made from the case (reports, export bundles): nothing is stored but their audit entry with the hash. */
export class ExportRepository {
  constructor(private readonly writer: CaseWriter) {}

  record(entry: ExportEntry): void {
    if (entry.kind !== 'report' && entry.kind !== 'bundle') throw new ValidationError('export kind must be report or bundle')
    requireText(entry.path, 'export path')
    assertSha256(entry.sha256, 'export sha256')
    this.writer.write(`${entry.kind}.write`, () => ({ result: undefined, details: { ...entry } }))
  }
}
