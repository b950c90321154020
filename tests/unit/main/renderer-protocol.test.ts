// The app:// handler on a real renderer folder: files with their types and the CSP header, and
// nothing outside the folder however the path is spelled.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { lookupRendererFile, rendererProtocolHandler } from '../../../src/main/renderer-protocol'
import { contentSecurityPolicy, createAppOrigin, isAllowedRequest } from '../../../src/main/app-origin'

const tmp = mkdtempSync(join(tmpdir(), 'unveil-protocol-'))
const dir = join(tmp, 'renderer')
mkdirSync(join(dir, 'assets'), { recursive: true })
writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Unveil</title>')
writeFileSync(join(dir, 'assets', 'index-abc.js'), 'console.log(1)')
writeFileSync(join(dir, 'assets', 'index-abc.css'), 'body{}')
writeFileSync(join(dir, 'assets', 'logo.svg'), '<svg/>')
writeFileSync(join(dir, 'assets', 'no-type.bin'), 'x')
writeFileSync(join(tmp, 'secret.txt'), 'outside')
symlinkSync(join(tmp, 'secret.txt'), join(dir, 'assets', 'link.txt'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('app:// serves the built renderer only', () => {
  const csp = contentSecurityPolicy(null)
  const handle = rendererProtocolHandler(dir, csp)

  it('answers its files with their MIME type, the CSP header and nosniff', async () => {
    const cases: [string, string, string][] = [
      ['app://unveil/index.html', 'text/html; charset=utf-8', 'Unveil'],
      ['app://unveil/', 'text/html; charset=utf-8', 'Unveil'],
      ['app://unveil/assets/index-abc.js', 'text/javascript; charset=utf-8', 'console.log(1)'],
      ['app://unveil/assets/index-abc.css', 'text/css; charset=utf-8', 'body{}'],
      ['app://unveil/assets/logo.svg?v=1#x', 'image/svg+xml', '<svg/>']
    ]
    for (const [url, mime, text] of cases) {
      const res = handle({ url, method: 'GET' })
      expect(res.status, url).toBe(200)
      expect(res.headers.get('content-type'), url).toBe(mime)
      expect(res.headers.get('content-security-policy')).toBe(csp)
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await res.text(), url).toContain(text)
    }
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("object-src 'none'")
  })

  it('refuses traversal, encoded separators, symlinks out, other hosts, unknown types and writes', () => {
    const refused: [string, string, number][] = [
      ['app://unveil/../secret.txt', 'GET', 404],
      ['app://unveil/assets/%2e%2e/%2e%2e/secret.txt', 'GET', 404],
      ['app://unveil/assets/..%2F..%2Fsecret.txt', 'GET', 403],
      ['app://unveil/assets/..%5C..%5Csecret.txt', 'GET', 403],
      ['app://unveil/index.html%00.js', 'GET', 403],
      ['app://unveil/%E0%A4%A', 'GET', 400],
      ['app://unveil/assets/link.txt', 'GET', 403],
      ['app://unveil/assets/no-type.bin', 'GET', 403],
      ['app://unveil/assets', 'GET', 404],
      ['app://unveil/missing.js', 'GET', 404],
      ['app://other/index.html', 'GET', 403],
      [`file://${join(dir, 'index.html')}`, 'GET', 403],
      ['app://unveil/index.html', 'POST', 405]
    ]
    for (const [url, method, status] of refused) {
      const hit = lookupRendererFile(dir, url, method)
      expect(hit.ok, url).toBe(false)
      if (!hit.ok) expect(hit.status, url).toBe(status)
      expect(handle({ url, method }).status, url).toBe(status)
    }
  })

  it('counts only app://unveil/index.html as the app, and lets the page load nothing from file:// or the web', () => {
    const origin = createAppOrigin(undefined)
    expect(origin.entryUrl).toBe('app://unveil/index.html')
    expect(origin.isAppUrl('app://unveil/index.html#/cases')).toBe(true)
    for (const url of ['app://unveil/assets/index-abc.js', 'app://evil/index.html', `file://${join(dir, 'index.html')}`, 'https://unveil/index.html', null]) {
      expect(origin.isAppUrl(url), String(url)).toBe(false)
    }
    expect(isAllowedRequest('app://unveil/assets/index-abc.js', origin)).toBe(true)
    expect(isAllowedRequest('blob:app://unveil/0c1d', origin)).toBe(true)
    expect(isAllowedRequest(`file://${join(dir, 'index.html')}`, origin)).toBe(false)
    expect(isAllowedRequest('https://example.com/x.js', origin)).toBe(false)
  })

  it('keeps the dev server working in development', () => {
    const origin = createAppOrigin('http://localhost:5173/')
    expect(origin.entryUrl).toBe('http://localhost:5173/')
    expect(origin.isAppUrl('http://localhost:5173/#/models')).toBe(true)
    expect(isAllowedRequest('ws://localhost:5173/', origin)).toBe(true)
    expect(isAllowedRequest('https://example.com/', origin)).toBe(false)
    expect(contentSecurityPolicy(origin.devServerOrigin)).toContain("connect-src 'self' http://localhost:5173 ws://localhost:5173")
  })
})
