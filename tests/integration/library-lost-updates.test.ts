import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { craftedManifest, workingEncoder } from '../helpers/crafted-models'

// Issue 13 item 6: registry.json and cases.json are shared by every app and CLI process; each
// change re-reads the file under a lock, so no process writes back a stale copy.
const ROOT = join(__dirname, '../..')
const built = existsSync(join(ROOT, 'out/cli/index.js'))
if (!built) console.log('SKIP library lost-update tests: out/cli is not built (npm run build)')

const env = (home: string): NodeJS.ProcessEnv => ({ ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu', UNVEIL_DATA: join(tmpdir(), 'unveil-no-data') })

describe.skipIf(!built)('library files under concurrent processes', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-lost-'))

  it('10 parallel `case create` processes register 10 cases', { timeout: 120_000 }, async () => {
    const home = join(tmp, 'home-cases')
    const codes = await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) =>
          new Promise<number>((resolve) => {
            const p = spawn(process.execPath, [join(ROOT, 'bin/unveil.js'), 'case', 'create', '--dir', join(tmp, `case-${i}`), '--name', `Case ${i}`], {
              env: env(home),
              stdio: 'ignore'
            })
            p.on('exit', (code) => resolve(code ?? -1))
          })
      )
    )
    expect(codes).toEqual(Array(10).fill(0))
    const index = JSON.parse(readFileSync(join(home, 'cases.json'), 'utf8')) as { cases: { dir: string }[] }
    expect(index.cases.map((c) => c.dir).sort()).toEqual(Array.from({ length: 10 }, (_, i) => join(tmp, `case-${i}`)).sort())
  })

  it('a model registered by process A survives process B recording a verification from its older copy', { timeout: 60_000 }, () => {
    const home = join(tmp, 'home-models')
    // B opened the registry before A registered anything.
    const b = new ModelRegistry(home)
    const model = join(tmp, 'working.onnx')
    const manifest = join(tmp, 'working.json')
    writeFileSync(model, workingEncoder())
    writeFileSync(manifest, JSON.stringify(craftedManifest('working')))
    const a = spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), 'models', 'register', '--model', model, '--manifest', manifest, '--no-verify'], {
      env: env(home),
      encoding: 'utf8'
    })
    expect(a.status, a.stderr).toBe(0)
    b.setVerification('faceplugin-fr-feature', {
      dataset: 'test',
      pairs: 2,
      accuracy: 1,
      threshold: 0.5,
      genuineMean: 0.9,
      impostorMean: 0.1,
      measuredAt: '2026-01-01T00:00:00Z',
      seconds: 1
    })
    const file = JSON.parse(readFileSync(join(home, 'models', 'registry.json'), 'utf8')) as {
      models: { manifest: { id: string } }[]
      verifications: Record<string, unknown>
    }
    expect(file.models.map((m) => m.manifest.id)).toEqual(['working'])
    expect(Object.keys(file.verifications)).toEqual(['faceplugin-fr-feature'])
    // And B sees A's model without reopening.
    expect(b.list().some((e) => e.manifest.id === 'working')).toBe(true)
  })
})
