// The CLI as an analyst uses it day to day (issue 17): help for every command, progress on a
// pipe, runs recorded in a case, a template file's own encoder, and a complete result.json.
import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { COMMANDS } from '../../src/cli/command-help'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { dataDirOrSkip, sharedEncoder } from '../helpers/data'

const ROOT = join(__dirname, '../..')
const built = existsSync(join(ROOT, 'out/cli/index.js'))
if (!built) console.log('SKIP CLI daily-use tests: out/cli is not built (npm run build)')
const data = dataDirOrSkip('CLI inversion of a template of a shared encoder')

const home = mkdtempSync(join(tmpdir(), 'unveil-cli-daily-'))
const tmp = mkdtempSync(join(tmpdir(), 'unveil-cli-daily-out-'))
function unveil(...args: string[]): { code: number; out: string; err: string } {
  // Piped stdio (not a terminal): progress must come as plain lines.
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), ...args], { encoding: 'utf8', env: { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu' } })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

describe.skipIf(!built)('unveil CLI, daily use', () => {
  it('has a help page with options and an example for every command, and the README lists them all', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    for (const name of Object.keys(COMMANDS)) {
      const r = unveil(...name.split(' '), '--help')
      expect(r.code, name).toBe(0)
      expect(r.out, name).toMatch(/^usage: unveil /)
      expect(r.out, name).toMatch(/\nexample: unveil /)
      expect(readme, `README lists 'unveil ${name}'`).toContain(`unveil ${name}`)
    }
    const overview = unveil('--help').out
    for (const name of Object.keys(COMMANDS)) expect(overview).toContain(`unveil ${name}`)
    expect(unveil('nonsense', '--help').code).toBe(2)
  })

  it('names the option in file errors and exits 2 for usage mistakes', () => {
    const r = unveil('enroll', '--image', join(tmp, 'missing.jpg'), '--out', join(tmp, 'x.json'))
    expect(r.code).toBe(2)
    expect(r.err.trim()).toBe(`unveil: --image: ${join(tmp, 'missing.jpg')} does not exist`)
    expect(unveil('invert', '--template', tmp, '--method', 'ga', '--out', join(tmp, 'o')).err).toMatch(/--template: .* is a folder, not a file/)
    expect(unveil('invert', '--method', 'nope', '--template', 'x').code).toBe(2)
  })

  it('prints progress lines on a pipe and writes a complete result.json and comparison.png', async () => {
    const photo = sampleImagePaths()[2]
    expect(unveil('enroll', '--image', photo, '--out', join(tmp, 't.json')).code).toBe(0)
    const out = join(tmp, 'run')
    const r = unveil('invert', '--template', join(tmp, 't.json'), '--method', 'random', '--budget', '64', '--seed', '5', '--truth', photo, '--out', out)
    expect(r.code, r.err).toBe(0)
    expect(r.err).toMatch(/random search: 64\/64 \(100%\), .* elapsed, ETA 00:00/)
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))
    expect(Date.parse(result.finishedAt)).toBeGreaterThanOrEqual(Date.parse(result.startedAt))
    expect(result.executionProvider).toBe('cpu')
    expect(result.templateVectorSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(result.models.generator).toEqual({ id: 'eigenface-celeba-utk-128', sha256: result.modelSha256s.generator })
    expect(result.template).toMatchObject({ file: 't.json', encoderId: 'faceplugin-fr-feature' })
    // The bundled encoder scores with its shipped thresholds: decisions keyed by FAR.
    const d = result.decisions['faceplugin-fr-feature']
    expect(Object.keys(d)).toEqual(['0.01', '0.001', '0.0001'])
    expect(typeof d['0.001'].target).toBe('boolean')
    expect(typeof d['0.001'].typeI).toBe('boolean')
    const meta = await sharp(join(out, 'comparison.png')).metadata()
    expect(meta.height).toBe(224)
    expect(meta.width).toBeGreaterThan(3 * 224)
  })

  it('records a run in a case exactly as the app does, with its result and audit entries', () => {
    const dir = join(tmp, 'case')
    expect(unveil('case', 'create', '--dir', dir, '--name', 'CLI runs').code).toBe(0)
    expect(unveil('enroll', '--image', sampleImagePaths()[0], '--case', dir, '--out', join(tmp, 'c.json')).code).toBe(0)
    const templateId = JSON.parse(unveil('case', 'show', '--case', dir, '--json').out).templates[0].id
    const r = unveil('invert', '--case', dir, '--template-id', templateId, '--method', 'random', '--budget', '32', '--seed', '3', '--out', join(tmp, 'case-run'))
    expect(r.code, r.err).toBe(0)
    const show = JSON.parse(unveil('case', 'show', '--case', dir, '--json').out)
    expect(show.runs).toHaveLength(1)
    expect(show.runs[0]).toMatchObject({ method: 'random', status: 'succeeded', seed: 3, templateId })
    expect(existsSync(join(tmp, 'case-run', 'comparison.png'))).toBe(true)
    const audit = JSON.parse(unveil('audit', 'log', '--case', dir).out) as { action: string }[]
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['run.create', 'result.add']))
    expect(unveil('audit', 'verify', '--case', dir).code).toBe(0)
    expect(unveil('invert', '--case', dir, '--method', 'random').err).toMatch(/--template-id is required/)
  })

  it.skipIf(!data || !sharedEncoder(data, 'mobilefacenet-foamliu.onnx'))("inverts a template with the encoder its file records, and scores without thresholds it does not have", () => {
    const model = sharedEncoder(data!, 'mobilefacenet-foamliu.onnx')!
    expect(unveil('models', 'register', '--model', model, '--manifest', join(ROOT, 'resources/manifests/mobilefacenet-foamliu.json'), '--no-verify').code).toBe(0)
    expect(unveil('enroll', '--image', sampleImagePaths()[1], '--encoder', 'mobilefacenet-foamliu', '--out', join(tmp, 'f.json')).code).toBe(0)
    const out = join(tmp, 'foamliu-run')
    // No --encoder: the 128-d template names its encoder, which is registered.
    const r = unveil('invert', '--template', join(tmp, 'f.json'), '--method', 'random', '--budget', '32', '--seed', '2', '--out', out)
    expect(r.code, r.err).toBe(0)
    const result = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'))
    expect(result.template.encoderId).toBe('mobilefacenet-foamliu')
    const score = result.scores.find((s: { encoderId: string }) => s.encoderId === 'mobilefacenet-foamliu')
    expect(score.target).toBeGreaterThan(-1)
    // Registered with --no-verify: no thresholds, and the run did not measure any.
    expect(score.thresholds).toBeNull()
    expect(r.err).not.toMatch(/thresholds:/)
  })
})

describe.skipIf(!built)('unveil CLI output', () => {
  it('shows control characters in labels as escapes instead of sending them to the terminal', () => {
    const dir = join(tmp, 'escapes')
    expect(unveil('case', 'create', '--dir', dir, '--name', 'evil\u001b]0;owned\u0007name').code).toBe(0)
    const vector = Array.from({ length: 512 }, (_, i) => Math.cos(i))
    const file = join(tmp, 'evil.json')
    writeFileSync(file, JSON.stringify({ templates: [{ label: 'red \u001b[31mALERT\u001b[0m\r', vector }] }))
    expect(unveil('case', 'import', '--case', dir, '--file', file).code).toBe(0)
    const show = unveil('case', 'show', '--case', dir).out
    expect(show).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/)
    expect(show).toContain('red \\u001b[31mALERT\\u001b[0m\\u000d')
    expect(show).toContain('evil\\u001b]0;owned\\u0007name')
  })
})
