import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { CaseLibrary, LIBRARY_INDEX_FILE } from '../../../src/core/cases/case-library'
import { newCase, tempDir } from './fixtures'

function closedCase(): string {
  const store = newCase()
  store.close()
  return store.dir
}

describe('CaseLibrary', () => {
  it('starts empty without an index file', () => {
    const library = new CaseLibrary(join(tempDir(), 'home'))
    expect(library.list()).toEqual([])
    expect(library.entries()).toEqual([])
  })

  it('registers cases once each and lists their summaries', () => {
    const libraryDir = join(tempDir(), 'home')
    const library = new CaseLibrary(libraryDir)
    const a = closedCase()
    const b = closedCase()
    expect(library.register(a)).toMatchObject({ dir: a, name: 'Test case' })
    library.register(b)
    library.register(join(a, '.'))
    expect(library.list().map((c) => c.dir)).toEqual([a, b])
    const index = JSON.parse(readFileSync(join(libraryDir, LIBRARY_INDEX_FILE), 'utf8'))
    expect(index).toMatchObject({ version: 1, cases: [{ dir: a }, { dir: b }] })
    expect(readdirSync(libraryDir)).toEqual([LIBRARY_INDEX_FILE])
  })

  it('refuses to register a folder that is not a case', () => {
    const library = new CaseLibrary(join(tempDir(), 'home'))
    library.register(closedCase())
    const before = library.entries()
    expect(() => library.register(tempDir())).toThrow(/not a case folder/)
    expect(library.entries()).toEqual(before)
  })

  it('skips and reports cases that can no longer be opened', () => {
    const library = new CaseLibrary(join(tempDir(), 'home'))
    const kept = closedCase()
    const gone = closedCase()
    library.register(kept)
    library.register(gone)
    rmSync(gone, { recursive: true })
    expect(library.list().map((c) => c.dir)).toEqual([kept])
    expect(library.scan().unavailable).toEqual([{ dir: gone, reason: expect.stringMatching(/not a case folder: .* does not exist/) }])
    expect(library.entries()).toHaveLength(2)
  })

  it('forgets a case without touching it', () => {
    const library = new CaseLibrary(join(tempDir(), 'home'))
    const a = closedCase()
    const b = closedCase()
    library.register(a)
    library.register(b)
    expect(library.forget(a)).toBe(true)
    expect(library.forget(a)).toBe(false)
    expect(library.list().map((c) => c.dir)).toEqual([b])
    expect(readdirSync(a)).toContain('case.db')
  })

  it('names a damaged index file', () => {
    const libraryDir = join(tempDir(), 'home')
    mkdirSync(libraryDir)
    const library = new CaseLibrary(libraryDir)
    writeFileSync(library.indexPath, '{ nope')
    expect(() => library.list()).toThrow(/case library index .*cases\.json is unreadable/)
    writeFileSync(library.indexPath, JSON.stringify({ version: 1, cases: [{ dir: 3 }] }))
    expect(() => library.register(closedCase())).toThrow(/cases\.json is malformed/)
    expect(readFileSync(library.indexPath, 'utf8')).toBe(JSON.stringify({ version: 1, cases: [{ dir: 3 }] }))
  })
})
