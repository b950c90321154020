// `unveil gradients check` end to end through the built CLI.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { OnnxGraphBuilder } from '../../src/core/models/onnx-builder'

const ROOT = join(__dirname, '../..')
const built = existsSync(join(ROOT, 'out/cli/index.js'))
if (!built) console.log('SKIP gradients CLI tests: out/cli is not built (npm run build)')
const home = mkdtempSync(join(tmpdir(), 'unveil-grad-cli-home-'))

function unveil(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), ...args], { encoding: 'utf8', env: { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu', UNVEIL_THREADS: '2' } })
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr }
}

describe.skipIf(!built)('unveil gradients check', () => {
  it('passes on a shipped generator and prints the table and the worst error', () => {
    const r = unveil('gradients', 'check', '--model', 'eigenface-celeba-utk-128', '--directions', '3', '--seed', '5')
    expect(r.code, r.err).toBe(0)
    expect(r.out).toMatch(/output image: directional derivative along 3 random directions \(seed 5/)
    expect(r.out).toMatch(/worst relative error \S+ \(tolerance 0\.02\): PASS/)
  })

  it('fails with exit 1 naming the op for a model it cannot differentiate', () => {
    const b = new OnnxGraphBuilder()
    b.input('x', ['batch', 8])
    b.node('Softmax', ['x'], { axis: 1 }, 'y')
    b.output('y', ['batch', 8])
    const file = join(mkdtempSync(join(tmpdir(), 'unveil-grad-cli-')), 'softmax.onnx')
    writeFileSync(file, b.build('softmax'))
    const r = unveil('gradients', 'check', '--model', file)
    expect(r.code).toBe(1)
    expect(r.err.trim()).toBe('unveil: model softmax.onnx uses op Softmax, which Unveil cannot differentiate; use --gradients zo')
  })

  it('exits 2 on usage mistakes', () => {
    expect(unveil('gradients', 'check').code).toBe(2)
    expect(unveil('gradients', 'check', '--model', 'x', '--directions', '0').code).toBe(2)
    expect(unveil('gradients', 'verify').code).toBe(2)
  })
})
