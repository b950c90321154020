import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import sharp from 'sharp'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { cosine } from '../../src/core/templates/vector-math'
import { dataDirOrSkip, lfwImage } from '../helpers/data'

const ROOT = join(__dirname, '../..')
const home = mkdtempSync(join(tmpdir(), 'unveil-cli-home-'))
const built = existsSync(join(ROOT, 'out/cli/index.js'))
if (!built) console.log('SKIP CLI tests: out/cli is not built (npm run build)')
const data = dataDirOrSkip('CLI enrolment on LFW photos')

function unveil(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu' }
  })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

const vectorOf = (file: string): number[] => JSON.parse(readFileSync(file, 'utf8')).templates[0].vector

describe.skipIf(!built)('unveil CLI', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-cli-'))

  it('lists the bundled models as JSON', () => {
    const r = unveil('models', 'list', '--json')
    expect(r.code).toBe(0)
    const ids = (JSON.parse(r.out) as { manifest: { id: string } }[]).map((m) => m.manifest.id)
    expect(ids).toEqual(expect.arrayContaining(['faceplugin-fr-feature', 'faceplugin-fr-detect', 'faceplugin-fr-landmark']))
  })

  it('enrols a photo into a 512-d template and prints its dimension and norm', () => {
    const out = join(tmp, 't.json')
    const r = unveil('enroll', '--image', sampleImagePaths()[0], '--out', out)
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/template: 512-d, norm \d+\.\d+/)
    expect(vectorOf(out)).toHaveLength(512)
  })

  it.skipIf(!data)('scores two photos of one person above two different people', () => {
    const files = [
      ['Aaron_Peirsol', 1],
      ['Aaron_Peirsol', 2],
      ['Alejandro_Toledo', 1]
    ] as const
    const v = files.map(([p, i], k) => {
      const out = join(tmp, `lfw${k}.json`)
      expect(unveil('enroll', '--image', lfwImage(data!, p, i), '--out', out).code).toBe(0)
      return vectorOf(out)
    })
    expect(cosine(v[0], v[1])).toBeGreaterThan(cosine(v[0], v[2]) + 0.3)
  })

  it('creates a case, enrols into it, and verifies then detects tampering in the audit chain', () => {
    const dir = join(tmp, 'case1')
    expect(unveil('case', 'create', '--dir', dir, '--name', 'CLI case', '--examiner', 'A. Examiner').code).toBe(0)
    expect(unveil('enroll', '--image', sampleImagePaths()[2], '--case', dir, '--out', join(tmp, 'c.json')).code).toBe(0)
    const show = JSON.parse(unveil('case', 'show', '--case', dir, '--json').out)
    expect(show.templates).toHaveLength(1)
    expect(show.images).toHaveLength(1)
    expect(unveil('case', 'list').out).toContain('CLI case')
    expect(unveil('audit', 'verify', '--case', dir)).toMatchObject({ code: 0 })
    const db = new Database(join(dir, 'case.db'))
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update')
    for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all() as { name: string }[]) db.exec(`DROP TRIGGER ${t.name}`)
    db.prepare('UPDATE audit_log SET details = \'{"tampered":true}\' WHERE seq = 2').run()
    db.close()
    const r = unveil('audit', 'verify', '--case', dir)
    expect(r.code).not.toBe(0)
    expect(r.err).toMatch(/audit chain broken at entry 2/)
  })

  it('samples the eigenface prior: the detector finds faces, and the contact sheet is a grid of its samples', async () => {
    const sheet = join(tmp, 'sheet.png')
    const r = unveil('prior', 'inspect', '--generator', 'eigenface-celeba-utk-128', '--samples', '16', '--sheet', sheet, '--json')
    expect(r.code, r.err).toBe(0)
    const report = JSON.parse(r.out)
    expect(report).toMatchObject({ generator: 'eigenface-celeba-utk-128', samples: 16, seed: 1 })
    expect(report.rate).toBeGreaterThanOrEqual(0.9)
    const meta = await sharp(sheet).metadata()
    expect([meta.width, meta.height]).toEqual([8 * 112, 2 * 112])
  })

  it('exits non-zero with a one-line error on bad input', () => {
    const cases: [string[], RegExp][] = [
      [['enroll', '--image', join(ROOT, 'package.json'), '--out', join(tmp, 'x.json')], /package.json is not a readable image/],
      [['enroll', '--image', join(tmp, 'missing.jpg'), '--out', join(tmp, 'x.json')], /--image: .*missing.jpg does not exist/],
      [['enroll', '--out', join(tmp, 'x.json')], /--image is required/],
      [['enroll', '--image', sampleImagePaths()[0], '--encoder', 'nope', '--out', join(tmp, 'x.json')], /unknown model 'nope'/],
      [['enroll', '--image', sampleImagePaths()[0], '--face', '99', '--out', join(tmp, 'x.json')], /face 99 was requested/],
      [['case', 'show', '--case', tmp], /not a case folder/],
      [['audit', 'verify', '--case', join(tmp, 'nope')], /not a case folder|does not exist|no such/i],
      [['prior', 'inspect', '--generator', 'faceplugin-fr-feature'], /'faceplugin-fr-feature' is an encoder, not a generator/],
      [['prior', 'inspect', '--generator', 'eigenface-celeba-utk-128', '--samples', '0'], /--samples must be between 1 and 100000/],
      [['frobnicate'], /unknown command/]
    ]
    for (const [args, msg] of cases) {
      const r = unveil(...args)
      expect(r.code, args.join(' ')).not.toBe(0)
      expect(r.err.trim().split('\n'), `${args.join(' ')}: ${r.err}`).toHaveLength(1)
      expect(r.err).toMatch(msg)
    }
  })
})
