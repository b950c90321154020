import { describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'

// .ci/run installs the Python stack unless training/check_stack.py finds it complete; a module
// the training code imports but the list lacks (Pillow, once) made CI skip the install and fail.
const root = resolve(import.meta.dirname, '../../..')
const python = process.env.PYTHON ?? 'python3'
const stdlib = spawnSync(python, ['-c', 'import sys; print(" ".join(sorted(sys.stdlib_module_names)))'], { encoding: 'utf8' })
if (stdlib.status !== 0) console.log(`SKIP Python stack list check: ${python} is not runnable`)

function pythonFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name.startsWith('.') || e.name === 'runs' ? [] : pythonFiles(join(dir, e.name))) : e.name.endsWith('.py') ? [join(dir, e.name)] : []
  )
}

describe.skipIf(stdlib.status !== 0)('training/check_stack.py', () => {
  it('lists every third-party module the training code and its tests import', () => {
    const listed = Object.keys(JSON.parse(/MODULES = (\{[^}]*\})/.exec(readFileSync(join(root, 'training/check_stack.py'), 'utf8'))![1].replace(/'/g, '"')))
    const std = new Set(stdlib.stdout.trim().split(' '))
    const imported = new Set<string>()
    const files = pythonFiles(join(root, 'training'))
    // Modules of the training tree itself (conftest, the test helpers) are not third-party.
    const local = new Set(files.map((f) => basename(f, '.py')))
    for (const f of files) {
      for (const m of readFileSync(f, 'utf8').matchAll(/^\s*(?:import|from)\s+([A-Za-z_][\w]*)/gm)) imported.add(m[1])
    }
    const thirdParty = [...imported].filter((m) => !std.has(m) && m !== '__future__' && m !== 'unveil_training' && !local.has(m))
    expect(thirdParty.length).toBeGreaterThan(3)
    expect(thirdParty.filter((m) => !listed.includes(m))).toEqual([])
  })
})
