import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { validateManifest } from '../../src/shared/validation'

// The Python training package (training/) is tested by its own pytest suite; this runs it from the
// main test command and checks that the artefacts it exports are manifests the registry accepts.
const root = resolve(import.meta.dirname, '../..')
const python = process.env.PYTHON ?? 'python3'
const GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296'

function missingStack(): string | null {
  // training/check_stack.py holds the one list of modules the tests import (Pillow and numpy too).
  const r = spawnSync(python, [join(root, 'training', 'check_stack.py')], { encoding: 'utf8' })
  if (r.error) return `${python} not found`
  if (r.status !== 0) return `${python}: ${(r.stdout || r.stderr).trim().split('\n').pop()}; install them as training/README.md says`
  return null
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string }> {
  // Asynchronous so the test worker stays responsive while pytest runs.
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: root, env })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    child.on('error', reject)
    child.on('close', (status) => resolvePromise({ status, output }))
  })
}

const reason = missingStack()
if (reason) console.log(`SKIP training smoke tests: ${reason}`)

describe.skipIf(reason !== null)('training package (pytest smoke tests)', () => {
  it('passes `python3 -m pytest -q training/tests` and exports registry-valid manifests', { timeout: 900_000 }, async () => {
    const out = mkdtempSync(join(tmpdir(), 'unveil-training-smoke-'))
    const env = { ...process.env, UNVEIL_TRAINING_SMOKE_OUT: out, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? GLIBC_TUNABLES }
    const { status, output } = await run(python, ['-m', 'pytest', '-q', 'training/tests'], env)
    const lines = output.trim().split('\n')
    const summary = lines.filter((l) => /\d+ (passed|failed|error|skipped)/.test(l)).pop() ?? lines.slice(-1)[0]
    console.log(`pytest training/tests: ${summary}`)
    expect(status, output.slice(-6000)).toBe(0)

    const manifests = readdirSync(out).filter((f) => f.endsWith('.json'))
    const roles = manifests.map((f) => {
      const m = validateManifest(JSON.parse(readFileSync(join(out, f), 'utf8')))
      const sha = createHash('sha256').update(readFileSync(join(out, m.file))).digest('hex')
      expect(sha, `${f}: sha256 of ${m.file}`).toBe(m.sha256)
      expect(m.output.shape).toEqual([-1, 3, 112, 112])
      expect(m.outputRange).toEqual([0, 1])
      expect(readFileSync(join(out, f.replace(/\.json$/, '.md')), 'utf8')).toContain('Research use only')
      return m.conditional ? `${m.role}:${m.conditional.method}` : m.role
    })
    // DFD decoder, GAN prior, and the two Vec2Face generators (conditional decoders).
    expect(roles.sort()).toEqual(['decoder', 'decoder:dabgan', 'decoder:dibigan', 'generator'])
  })
})
