import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { ModelRegistry } from '../../src/core/models/model-registry'

const ROOT = join(__dirname, '../..')
const home = mkdtempSync(join(tmpdir(), 'unveil-cli-home-'))
const built = existsSync(join(ROOT, 'out/cli/index.js'))
const generators = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-probe-'))).byRole('decoder').filter((d) => d.bundled && d.manifest.conditional)
const skip = !built ? 'out/cli is not built (npm run build)' : generators.length === 0 ? 'no Vec2Face generator is shipped in resources/models' : null
if (skip) console.log(`SKIP Vec2Face CLI test: ${skip}`)

function unveil(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu', UNVEIL_DATA: join(tmpdir(), 'unveil-no-data') }
  })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

describe.skipIf(skip !== null)('unveil invert --method dibigan|dabgan', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-v2f-cli-'))

  it('writes the K seeded variations and records them; refuses the options on other methods in one line', () => {
    const template = join(tmp, 't.json')
    expect(unveil('enroll', '--image', sampleImagePaths()[0], '--out', template).code).toBe(0)
    for (const g of generators) {
      const method = g.manifest.conditional!.method
      const out = join(tmp, method)
      const r = unveil('invert', '--template', template, '--method', method, '--generator', g.manifest.id, '--variations', '3', '--seed', '4', '--out', out)
      expect(r.code, r.err).toBe(0)
      expect(r.out).toContain('candidates (* = pick)')
      const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))
      expect(result.method).toBe(method)
      expect(result.seed).toBe(4)
      expect(result.parameters).toEqual({ generator: g.manifest.id, variations: 3, allowOtherEncoder: 0 })
      expect(result.candidates).toHaveLength(3)
      expect(result.models.generator.sha256).toBe(g.manifest.sha256)
      for (const c of result.candidates) expect(existsSync(join(out, `candidate-${c.latent}.png`))).toBe(true)
    }
    const bad = unveil('invert', '--template', template, '--method', 'ga', '--variations', '3', '--out', join(tmp, 'x'))
    expect(bad.code).not.toBe(0)
    expect(bad.err.trim().split('\n').at(-1)).toMatch(/--variations applies to --method dibigan or dabgan only/)
  })
})
