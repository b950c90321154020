// Guards for checklist items no runtime test can reach without the Electron binary: the main
// process and preload never open external URLs, never use the remote module and never switch a
// hardening preference off.
import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../../..')
const sources = ['src/main', 'src/preload'].flatMap((dir) =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ file: join(dir, f), text: readFileSync(join(ROOT, dir, f), 'utf8') }))
)

const FORBIDDEN: [RegExp, string][] = [
  [/\bopenExternal\b/, 'shell.openExternal (checklist 15)'],
  [/@electron\/remote|enableRemoteModule/, 'the remote module (checklist 20)'],
  [/nodeIntegration(InWorker|InSubFrames)?\s*:\s*true/, 'Node integration (checklist 2)'],
  [/contextIsolation\s*:\s*false/, 'no context isolation (checklist 3)'],
  [/sandbox\s*:\s*false|--no-sandbox/, 'no sandbox (checklist 4)'],
  [/webSecurity\s*:\s*false/, 'webSecurity off (checklist 6)'],
  [/allowRunningInsecureContent\s*:\s*true/, 'insecure content (checklist 8)'],
  [/experimentalFeatures|enableBlinkFeatures/, 'experimental or Blink features (checklists 9, 10)'],
  [/exposeInMainWorld\([^)]*ipcRenderer\b/, 'ipcRenderer on the page (checklist 20)']
]

describe('Electron surface of src/main and src/preload', () => {
  it('uses none of the APIs and settings the security checklist rules out', () => {
    expect(sources.length).toBeGreaterThan(3)
    const found = sources.flatMap(({ file, text }) => FORBIDDEN.filter(([re]) => re.test(text)).map(([, what]) => `${file}: ${what}`))
    expect(found).toEqual([])
  })
})
