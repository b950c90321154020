import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { sampleImagePaths } from '../../src/core/env/sample-images'

// Issue 13: items 5 (quick verification when a case is opened, writes refused on a broken
// case) and 8 (a file name that is not valid UTF-8 can be imported), through the CLI.
const ROOT = join(__dirname, '../..')
const built = existsSync(join(ROOT, 'out/cli/index.js'))
if (!built) console.log('SKIP CLI case integrity tests: out/cli is not built (npm run build)')
const home = mkdtempSync(join(tmpdir(), 'unveil-cli-integrity-home-'))

/** Runs the CLI through sh, so an argument can carry bytes that are not UTF-8 ($'\351' as printf writes it). */
function unveilSh(args: string): { code: number; out: string; err: string } {
  const r = spawnSync('/bin/sh', ['-c', `exec "${process.execPath}" "${join(ROOT, 'bin/unveil.js')}" ${args}`], {
    encoding: 'utf8',
    env: { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu', UNVEIL_DATA: join(tmpdir(), 'unveil-no-data') }
  })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

describe.skipIf(!built)('CLI: case integrity at open and byte file names', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-cli-integrity-'))
  const dir = join(tmp, 'case')

  it('imports a template and enrols a photo whose names are Latin-1 bytes, recording them escaped', { timeout: 120_000 }, () => {
    expect(unveilSh(`case create --dir "${dir}" --name Bytes`).code).toBe(0)
    // "café" in Latin-1: the é is the single byte 0xE9, not valid UTF-8.
    const template = Buffer.concat([Buffer.from(`${tmp}/caf`), Buffer.from([0xe9]), Buffer.from('.json')])
    writeFileSync(template, JSON.stringify({ vector: Array.from({ length: 512 }, (_, i) => Math.cos(i)) }))
    const photo = Buffer.concat([Buffer.from(`${tmp}/ph`), Buffer.from([0xf6]), Buffer.from('to.jpg')])
    copyFileSync(sampleImagePaths()[0], photo)
    const imported = unveilSh(`case import --case "${dir}" --file "$(printf '${tmp}/caf\\351.json')"`)
    expect(imported.err).toBe('')
    expect(imported.out).toMatch(/^imported 1 template into 'Bytes'/)
    const enrolled = unveilSh(`enroll --case "${dir}" --image "$(printf '${tmp}/ph\\366to.jpg')" --out "${tmp}/t.json"`)
    expect(enrolled.code, enrolled.err).toBe(0)
    const shown = unveilSh(`case show --case "${dir}" --json`)
    const detail = JSON.parse(shown.out) as {
      templates: { sourceFileName: string | null; label: string }[]
      images: { originalName: string | null }[]
      integrity: { ok: boolean }
    }
    expect(detail.templates.map((t) => t.sourceFileName ?? t.label)).toEqual(expect.arrayContaining(['caf\\xe9.json']))
    expect(detail.images.map((i) => i.originalName)).toEqual(['ph\\xf6to.jpg'])
    expect(detail.integrity.ok).toBe(true)
    // A byte name that does not exist is a one-line error naming it, escaped.
    const missing = unveilSh(`case import --case "${dir}" --file "$(printf '${tmp}/gone\\351.json')"`)
    expect(missing.code).toBe(2)
    expect(missing.err.trim()).toBe(`unveil: --file: ${tmp}/gone\\xe9.json does not exist`)
  })

  it('case show reports a failed quick verification and the case then refuses writes', { timeout: 60_000 }, () => {
    const db = new Database(join(dir, 'case.db'))
    db.exec("UPDATE case_info SET examiner = 'Someone Else'")
    db.close()
    const shown = unveilSh(`case show --case "${dir}"`)
    expect(shown.code).toBe(0)
    expect(shown.out).toMatch(/^integrity: FAILED at entry 1: case examiner is "Someone Else".*; the case takes no changes/m)
    writeFileSync(join(tmp, 'more.json'), JSON.stringify({ vector: Array.from({ length: 512 }, (_, i) => Math.sin(i)) }))
    const refused = unveilSh(`case import --case "${dir}" --file "${tmp}/more.json"`)
    expect(refused.code).not.toBe(0)
    expect(refused.err.trim().split('\n')).toHaveLength(1)
    expect(refused.err).toMatch(/failed its integrity check at entry 1 .* takes no changes until examined: unveil audit verify --case/)
  })
})
