// The built main process (out/main/index.js) in plain Node, with `electron` replaced by the
// recording stand-in in ./fake-electron: checks what main registers against the real workbench
// and handlers where the Electron binary cannot run.
import { describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { API_METHODS, channelFor } from '../../src/shared/ipc-contract'

const ROOT = resolve(import.meta.dirname, '../..')
const MAIN = join(ROOT, 'out/main/index.js')
const reason = existsSync(MAIN) ? null : 'out/main/index.js is not built (npx electron-vite build)'
if (reason) console.log(`SKIP main-process test: ${reason}`)

interface Outcome {
  ok: boolean
  value?: Record<string, unknown>
  error?: string
}

describe.skipIf(reason !== null)('the built main process', () => {
  it('registers every API channel behind a sender check, hardens the session and closes the workbench on quit', async () => {
    const home = mkdtempSync(join(tmpdir(), 'unveil-main-'))
    try {
      const { stdout } = await promisify(execFile)(
        process.execPath,
        ['--import', join(ROOT, 'tests/e2e-electron/fake-electron/register.mjs'), MAIN],
        { cwd: ROOT, env: { ...process.env, UNVEIL_FAKE_HOME: home, UNVEIL_HOME: join(home, 'library'), UNVEIL_CASE_ROOT: '', ELECTRON_RENDERER_URL: '' }, timeout: 120_000 }
      )
      const line = stdout.split('\n').find((l) => l.startsWith('FAKE_ELECTRON_REPORT '))
      expect(line, stdout).toBeDefined()
      const r = JSON.parse(line!.slice('FAKE_ELECTRON_REPORT '.length))
      expect(r.driverError).toBeUndefined()
      expect(r.errorBoxes).toEqual([])

      expect(r.sandboxed).toBe(true)
      expect(r.entryUrl).toBe(pathToFileURL(join(ROOT, 'out/renderer/index.html')).href)
      expect(r.webPreferences).toMatchObject({
        preload: join(ROOT, 'out/preload/index.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true
      })
      expect(existsSync(r.webPreferences.preload)).toBe(true)

      expect([...r.channels].sort()).toEqual(API_METHODS.map(channelFor).sort())
      const appInfo = r.appInfo as Outcome
      expect(appInfo.ok).toBe(true)
      // The app shares the CLI's library folder ($UNVEIL_HOME here), not Electron's userData.
      expect(appInfo.value?.libraryDir).toBe(join(home, 'library'))
      expect(appInfo.value?.defaultCaseRoot).toBe(join(home, 'Documents', 'Unveil cases'))
      expect((r.foreignFrame as Outcome).error).toMatch(/refused/)
      expect((r.noFrame as Outcome).error).toMatch(/refused/)
      expect((r.badArgument as Outcome).ok).toBe(false)

      expect(r.permission).toBe(false)
      expect(r.permissionCheck).toBe(false)
      expect(r.requests).toEqual({ entry: false, asset: false, blob: false, remote: true, otherFile: true })
      expect(r.cspHeader[0]).toContain("script-src 'self'")
      expect(r.navigationBlocked).toEqual({ app: false, remote: true })
      expect(r.windowOpen).toEqual({ action: 'deny' })
      expect(r.webviewBlocked).toBe(true)

      expect(r.menu).toEqual(expect.arrayContaining(['File', 'View', 'help']))
      expect(r.fileMenu).toEqual(expect.arrayContaining(['New case…', 'Open case folder…', 'Quit']))
      expect(r.newCaseNavigation).toBe('location.hash = "#/cases?new=1"')
      // before-quit is deferred until the workbench has closed, then quit runs again.
      expect(r.quitCalls).toBe(2)
    } finally {
      rmSync(home, { recursive: true, force: true })
    }
  })
})
