import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { CaseInfo } from '../../shared/types'
import { writeFileAtomic } from '../fs/atomic-write'
import { withFileLock } from '../fs/file-lock'
import { CaseStore } from './case-store'

export const LIBRARY_INDEX_FILE = 'cases.json'

export interface LibraryEntry {
  dir: string
  registeredAt: string
}

export interface UnavailableCase {
  dir: string
  reason: string
}

export interface LibraryScan {
  cases: CaseInfo[]
  /** Registered folders that could not be opened (moved, deleted, unplugged drive); they stay registered. */
  unavailable: UnavailableCase[]
}

interface IndexFile {
  version: 1
  cases: LibraryEntry[]
}

/**
 * The cases the app and CLI know about: an index of case folders in `<libraryDir>/cases.json`.
 * Cases live wherever the examiner put them; the library only remembers where.
 */
export class CaseLibrary {
  readonly indexPath: string

  constructor(readonly libraryDir: string) {
    this.indexPath = join(resolve(libraryDir), LIBRARY_INDEX_FILE)
  }

  /** Adds a case folder (it must open as a case); registering it again changes nothing. */
  register(dir: string): CaseInfo {
    const abs = resolve(dir)
    const store = CaseStore.open(abs)
    let info: CaseInfo
    try {
      info = store.info()
    } finally {
      store.close()
    }
    this.change((entries) => (entries.some((e) => e.dir === abs) ? null : [...entries, { dir: abs, registeredAt: new Date().toISOString() }]))
    return info
  }

  /** Removes a folder from the index (the case itself is untouched); false if it was not registered. */
  forget(dir: string): boolean {
    const abs = resolve(dir)
    return this.change((entries) => {
      const kept = entries.filter((e) => e.dir !== abs)
      return kept.length === entries.length ? null : kept
    })
  }

  list(): CaseInfo[] {
    return this.scan().cases
  }

  /** Opens every registered case for its summary, reporting the ones that cannot be opened. */
  scan(): LibraryScan {
    const result: LibraryScan = { cases: [], unavailable: [] }
    for (const entry of this.entries()) {
      let store: CaseStore
      try {
        store = CaseStore.open(entry.dir)
      } catch (err) {
        result.unavailable.push({ dir: entry.dir, reason: (err as Error).message })
        continue
      }
      try {
        result.cases.push(store.info())
      } finally {
        store.close()
      }
    }
    return result
  }

  entries(): LibraryEntry[] {
    if (!existsSync(this.indexPath)) return []
    let parsed: unknown
    try {
      parsed = JSON.parse(readFileSync(this.indexPath, 'utf8'))
    } catch (err) {
      throw new Error(`case library index ${this.indexPath} is unreadable: ${(err as Error).message}`)
    }
    const index = parsed as Partial<IndexFile> | null
    if (
      !index ||
      index.version !== 1 ||
      !Array.isArray(index.cases) ||
      !index.cases.every((e) => e && typeof e.dir === 'string' && typeof e.registeredAt === 'string')
    ) {
      throw new Error(`case library index ${this.indexPath} is malformed (expected {"version": 1, "cases": [{dir, registeredAt}]})`)
    }
    return index.cases
  }

  /**
   * Re-reads the index under its lock and writes what `next` makes of it (null: no change), so
   * that processes registering cases at the same time never drop each other's entries.
   */
  private change(next: (entries: LibraryEntry[]) => LibraryEntry[] | null): boolean {
    mkdirSync(resolve(this.libraryDir), { recursive: true })
    return withFileLock(this.indexPath, () => {
      const entries = next(this.entries())
      if (!entries) return false
      const index: IndexFile = { version: 1, cases: entries }
      writeFileAtomic(this.indexPath, `${JSON.stringify(index, null, 2)}\n`)
      return true
    })
  }
}
