// Launches the real built app in Electron. The Electron binary cannot be downloaded on every
// machine (it is not in this repository's CI image): without it, or without a display, the test
// skips and says why.
import { afterAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { _electron, type ElectronApplication } from 'playwright-core'

const ROOT = resolve(import.meta.dirname, '../..')
const MAIN = join(ROOT, 'out/main/index.js')

function electronBinary(): { path: string | null; reason: string | null } {
  // Not require('electron'): since Electron 42 that downloads a missing binary on the spot.
  // The package's path.txt names the executable once the binary was installed.
  const pkg = dirname(createRequire(import.meta.url).resolve('electron/package.json'))
  const pathFile = join(pkg, 'path.txt')
  if (!existsSync(pathFile)) return { path: null, reason: `the Electron binary is not installed (no ${pathFile}; run npx install-electron)` }
  const path = join(pkg, 'dist', readFileSync(pathFile, 'utf8').trim())
  if (!existsSync(path)) return { path: null, reason: `the Electron binary is missing at ${path}` }
  return { path, reason: null }
}

function skipReason(binary: { reason: string | null }): string | null {
  if (binary.reason) return binary.reason
  if (!existsSync(MAIN)) return 'out/main/index.js is not built (npx electron-vite build)'
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return 'no display (run under xvfb-run)'
  }
  return null
}

const binary = electronBinary()
const reason = skipReason(binary)
if (reason) console.log(`SKIP Electron launch test: ${reason}`)

describe.skipIf(reason !== null)('the Electron app', () => {
  let home: string | null = null
  let app: ElectronApplication | null = null

  afterAll(async () => {
    await app?.close()
    if (home) rmSync(home, { recursive: true, force: true })
  })

  it('opens the Unveil window and answers through the preload bridge', async () => {
    // A throw-away home: the app's library (userData) and case root (Documents) land here.
    home = mkdtempSync(join(tmpdir(), 'unveil-electron-home-'))
    app = await _electron.launch({
      executablePath: binary.path!,
      args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), MAIN],
      cwd: ROOT,
      env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), ELECTRON_RENDERER_URL: '' }
    })
    const page = await app.firstWindow()
    await page.waitForLoadState('domcontentloaded')
    await expect.poll(() => page.title()).toBe('Unveil')

    const info = (await page.evaluate('window.unveil.appInfo()')) as { version: string; defaultCaseRoot: string }
    expect(info.version).toMatch(/\d+\.\d+\.\d+/)
    expect(info.defaultCaseRoot.startsWith(home)).toBe(true)

    // The page comes from app://unveil (not file://), with the CSP as a response header too.
    expect(page.url()).toMatch(/^app:\/\/unveil\/index\.html/)
    const csp = (await page.evaluate(
      "fetch('app://unveil/index.html').then((r) => r.headers.get('content-security-policy'))"
    )) as string | null
    expect(csp).toContain("script-src 'self'")

    // Node stays out of the renderer: the bridge is all there is.
    expect(await page.evaluate('typeof require')).toBe('undefined')
    expect(await page.evaluate('typeof process')).toBe('undefined')
    expect(await page.evaluate("typeof window.unveil.onJobProgress")).toBe('function')
  })
})
