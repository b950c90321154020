// Decides what counts as "the app": the built renderer's index.html on app://unveil (see
// ./renderer-protocol) or, in development, the electron-vite dev server. Kept free of `electron`
// so it is testable in Node.
import { APP_ENTRY_URL, APP_HOST, APP_SCHEME } from './renderer-protocol'

export interface AppOrigin {
  /** What BrowserWindow loads. */
  entryUrl: string
  /** Whether a URL (navigation target, IPC sender frame) belongs to the app. */
  isAppUrl(url: string | null | undefined): boolean
  /** Origins the renderer may load resources from, besides blob:/data: images. */
  devServerOrigin: string | null
}

/** The dev server when one is named (never in a packaged app: index.ts passes undefined there), else app://unveil. */
export function createAppOrigin(devServerUrl: string | undefined): AppOrigin {
  if (devServerUrl) {
    const origin = new URL(devServerUrl).origin
    return {
      entryUrl: devServerUrl,
      devServerOrigin: origin,
      isAppUrl: (url) => {
        if (!url) return false
        try {
          return new URL(url).origin === origin
        } catch {
          return false
        }
      }
    }
  }
  return {
    entryUrl: APP_ENTRY_URL,
    devServerOrigin: null,
    isAppUrl: (url) => {
      if (!url) return false
      try {
        const u = new URL(url)
        // Routes live in the hash; the document itself must be exactly the bundled index.html.
        return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.pathname === '/index.html'
      } catch {
        return false
      }
    }
  }
}

const BASE_CSP = [
  "default-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self' 'unsafe-inline'",
  "script-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'"
]

/** The header form of the policy in index.html; in development the dev server and its HMR socket are allowed. */
export function contentSecurityPolicy(devServerOrigin: string | null): string {
  if (!devServerOrigin) return BASE_CSP.join('; ')
  const ws = devServerOrigin.replace(/^http/, 'ws')
  return BASE_CSP.map((d) => {
    if (d.startsWith('connect-src')) return `${d} ${devServerOrigin} ${ws}`
    if (d.startsWith('script-src') || d.startsWith('default-src')) return `${d} ${devServerOrigin}`
    return d
  }).join('; ')
}

/** Resource schemes the renderer may request at all; anything else (remote content) is cancelled. */
export function isAllowedRequest(url: string, origin: AppOrigin): boolean {
  if (url.startsWith('devtools:') || url.startsWith('blob:') || url.startsWith('data:')) return true
  if (origin.devServerOrigin) {
    try {
      const u = new URL(url)
      const dev = new URL(origin.devServerOrigin)
      return u.host === dev.host && ['http:', 'ws:'].includes(u.protocol)
    } catch {
      return false
    }
  }
  // Packaged or built: only the app's own origin (index.html and its assets); file:// never.
  return url.startsWith(`${APP_SCHEME}://${APP_HOST}/`)
}
