import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { DEMO_STEP_IDS, type DemoStepId, type DemoStepResult } from '../../shared/demo-types'
import { writeFileAtomic } from '../fs/atomic-write'
import { withFileLock } from '../fs/file-lock'

export const DEMO_STATE_FILE = 'demo.json'

/** Where the tour stands, kept in the library so that a restarted app or another CLI call resumes it. */
export interface DemoState {
  version: 1
  caseId: string
  dir: string
  startedAt: string
  current: number
  steps: Partial<Record<DemoStepId, DemoStepResult>>
}

/** The tour's state file `<libraryDir>/demo.json`: written atomically under the library's file lock. */
export class DemoStateFile {
  readonly path: string

  constructor(libraryDir: string) {
    this.path = join(libraryDir, DEMO_STATE_FILE)
  }

  /** The stored state; null when there is none. A file this version cannot read is refused in one line. */
  read(): DemoState | null {
    if (!existsSync(this.path)) return null
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'))
    } catch {
      throw new Error(`the demo state ${this.path} is not valid JSON; reset the demo to discard it`)
    }
    if (!isState(parsed)) throw new Error(`the demo state ${this.path} is not one this version wrote; reset the demo to discard it`)
    return parsed
  }

  write(state: DemoState): void {
    withFileLock(this.path, () => writeFileAtomic(this.path, `${JSON.stringify(state, null, 2)}\n`))
  }

  remove(): void {
    withFileLock(this.path, () => rmSync(this.path, { force: true }))
  }
}

function isState(v: unknown): v is DemoState {
  if (!v || typeof v !== 'object') return false
  const s = v as Record<string, unknown>
  return (
    s.version === 1 &&
    typeof s.caseId === 'string' &&
    typeof s.dir === 'string' &&
    typeof s.startedAt === 'string' &&
    Number.isInteger(s.current) &&
    (s.current as number) >= 0 &&
    (s.current as number) < DEMO_STEP_IDS.length &&
    !!s.steps &&
    typeof s.steps === 'object' &&
    Object.entries(s.steps as object).every(([k, r]) => (DEMO_STEP_IDS as readonly string[]).includes(k) && !!r && (r as { step?: unknown }).step === k)
  )
}
