// The app:// protocol the built renderer is served from (instead of file://, which would give the
// page the whole disk's origin): answers only files inside the renderer folder, with their MIME
// type and the CSP as a header. Free of `electron` (it returns a web Response) so it is testable
// in Node; index.ts registers it with protocol.handle.
import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs'
import { extname, isAbsolute, join, relative, sep } from 'node:path'

export const APP_SCHEME = 'app'
export const APP_HOST = 'unveil'
export const APP_ENTRY_URL = `${APP_SCHEME}://${APP_HOST}/index.html`

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8'
}

export type RendererLookup = { ok: true; file: string; mime: string } | { ok: false; status: 400 | 403 | 404 | 405; reason: string }

function inside(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel !== '' && rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel)
}

/**
 * Maps an app:// URL onto a file of `rendererDir`. Each path segment is decoded on its own and
 * refused if it could climb or hide a separator (`..`, `%2F`, `\`, NUL), and the real path
 * (symlinks followed) must still lie inside the folder. Types outside the table are refused, so
 * nothing is served with a type the browser would have to guess.
 */
export function lookupRendererFile(rendererDir: string, url: string, method = 'GET'): RendererLookup {
  if (method !== 'GET' && method !== 'HEAD') return { ok: false, status: 405, reason: `method ${method}` }
  let u: URL
  try {
    u = new URL(url)
  } catch {
    return { ok: false, status: 400, reason: 'not a URL' }
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== APP_HOST) return { ok: false, status: 403, reason: `foreign origin ${u.protocol}//${u.host}` }
  const segments: string[] = []
  for (const raw of u.pathname.split('/').filter((s) => s !== '')) {
    let s: string
    try {
      s = decodeURIComponent(raw)
    } catch {
      return { ok: false, status: 400, reason: 'bad escape in path' }
    }
    if (s === '.' || s === '..' || /[/\\\0]/.test(s)) return { ok: false, status: 403, reason: 'path leaves the renderer folder' }
    segments.push(s)
  }
  if (segments.length === 0) segments.push('index.html')
  const root = realpathSync(rendererDir)
  const file = join(root, ...segments)
  if (!inside(root, file) || !existsSync(file)) return { ok: false, status: 404, reason: 'no such file' }
  const real = realpathSync(file)
  if (!inside(root, real)) return { ok: false, status: 403, reason: 'path leaves the renderer folder' }
  if (!statSync(real).isFile()) return { ok: false, status: 404, reason: 'not a file' }
  const mime = MIME[extname(real).toLowerCase()]
  if (!mime) return { ok: false, status: 403, reason: `no type for ${extname(real) || 'a file without extension'}` }
  return { ok: true, file: real, mime }
}

/** The protocol.handle handler: the file with its type, the CSP and nosniff; an empty error status otherwise. */
export function rendererProtocolHandler(rendererDir: string, csp: string): (request: { url: string; method: string }) => Response {
  return (request) => {
    const hit = lookupRendererFile(rendererDir, request.url, request.method)
    const headers = { 'Content-Security-Policy': csp, 'X-Content-Type-Options': 'nosniff' }
    if (!hit.ok) return new Response(null, { status: hit.status, headers })
    const body = request.method === 'HEAD' ? null : new Uint8Array(readFileSync(hit.file))
    return new Response(body, { status: 200, headers: { ...headers, 'Content-Type': hit.mime } })
  }
}
