import { existsSync } from 'node:fs'
import { expect } from 'vitest'
import type { Workbench } from '../../src/core/workbench/workbench'

/** Waiting for an Explain run of a case and reading back what it stored (for the Explain integration tests). */
export function explainRuns(wb: () => Workbench, caseId: () => string) {
  return {
    async finish(runId: string): Promise<void> {
      const run = await wb().jobs.wait(runId)
      expect(run.error).toBeNull()
      expect(run.status).toBe('succeeded')
    },
    stored<T>(runId: string): { record: T; sheetSha256: string } {
      const r = wb()
        .explain.list(caseId())
        .find((x) => x.runId === runId)!
      return { record: r.record as T, sheetSha256: r.sheetSha256 }
    },
    imageExists: (sha: string): boolean => existsSync(wb().cases.store(caseId()).imagePath(sha))
  }
}
