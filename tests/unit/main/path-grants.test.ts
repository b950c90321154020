// Dialog-granted folders: a path is accepted only inside a folder granted this session, by its
// text and by where it really is (symlinks followed).
import { afterAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PathGrants } from '../../../src/main/path-grants'
import { dropCodePathEnv, PACKAGED_IGNORED_ENV } from '../../../src/main/packaged-env'

const tmp = mkdtempSync(join(tmpdir(), 'unveil-grants-'))
const chosen = join(tmp, 'chosen')
const elsewhere = join(tmp, 'elsewhere')
mkdirSync(chosen)
mkdirSync(elsewhere)
symlinkSync(elsewhere, join(chosen, 'escape'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('PathGrants', () => {
  it('accepts a granted folder and what lies under it, including folders not yet created', () => {
    const g = new PathGrants()
    g.grant(chosen)
    expect(g.require(chosen, 'case folder')).toBe(chosen)
    expect(g.require(join(chosen, 'new', 'case'), 'case folder')).toBe(join(chosen, 'new', 'case'))
    expect(g.require(`${chosen}/sub/../other`, 'case folder')).toBe(join(chosen, 'other'))
  })

  it('refuses everything else in one line naming the field', () => {
    const g = new PathGrants()
    expect(() => g.require(chosen, 'case folder')).toThrow(/^case folder .* was not chosen in a folder dialog in this session; use Choose… to pick it$/)
    g.grant(chosen)
    for (const p of [elsewhere, `${chosen}/../elsewhere`, `${chosen}-sibling`, '/etc', join(chosen, 'escape'), join(chosen, 'escape', 'x')]) {
      expect(() => g.require(p, 'report folder'), p).toThrow(/^report folder .* was not chosen in a folder dialog/)
    }
    expect(() => g.require('relative/dir', 'dataset folder')).toThrow('dataset folder relative/dir must be an absolute path')
  })
})

describe('a packaged app ignores environment variables naming code or model paths', () => {
  it('drops exactly those, and keeps settings and data folders', () => {
    const env: NodeJS.ProcessEnv = {
      UNVEIL_WORKER_PATH: '/x/worker.js',
      UNVEIL_HOME: '/x/lib',
      ELECTRON_RENDERER_URL: 'http://evil/',
      UNVEIL_THREADS: '2',
      UNVEIL_CASE_ROOT: '/cases',
      UNVEIL_DATA: '/data',
      PATH: '/bin'
    }
    expect(dropCodePathEnv(env).sort()).toEqual(['ELECTRON_RENDERER_URL', 'UNVEIL_HOME', 'UNVEIL_WORKER_PATH'])
    expect(env).toEqual({ UNVEIL_THREADS: '2', UNVEIL_CASE_ROOT: '/cases', UNVEIL_DATA: '/data', PATH: '/bin' })
    expect(Object.keys(PACKAGED_IGNORED_ENV)).toEqual(expect.arrayContaining(['UNVEIL_SQLITE_BINDING', 'UNVEIL_RESOURCES', 'UNVEIL_CHROMIUM']))
  })
})
