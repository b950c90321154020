// The end-to-end harness's stand-in for the preload: window.unveil in the page forwards each
// call to a Playwright exposed function backed by the real API handlers in Node.
// Exposed functions carry JSON only, so Uint8Array values travel as { __bytes: base64 } both
// ways; errors come back as values and are rethrown in the page in the form Electron uses.
import type { ApiMethod } from '../../src/shared/ipc-contract'

const BYTES_KEY = '__bytes'
export const EXPOSED_PREFIX = '__unveil_'
export const PROGRESS_HOOK = '__unveilEmitProgress'

type Reply = { ok: true; value: unknown } | { ok: false; error: string }

/** Node side: Uint8Array → { __bytes: base64 }, recursively. */
export function encodeBytes(value: unknown): unknown {
  if (value instanceof Uint8Array) return { [BYTES_KEY]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) return value.map(encodeBytes)
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeBytes(v)]))
  }
  return value
}

/** Node side: { __bytes: base64 } → Uint8Array (a plain one, as IPC's structured clone gives). */
export function decodeBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeBytes)
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>
    const keys = Object.keys(o)
    if (keys.length === 1 && keys[0] === BYTES_KEY && typeof o[BYTES_KEY] === 'string') {
      return new Uint8Array(Buffer.from(o[BYTES_KEY], 'base64'))
    }
    return Object.fromEntries(keys.map((k) => [k, decodeBytes(o[k])]))
  }
  return value
}

/** Wraps a handler for page.exposeFunction: decode arguments, call, encode the reply. */
export function exposedHandler(
  method: ApiMethod,
  handler: (...args: unknown[]) => Promise<unknown>
): (...args: unknown[]) => Promise<Reply> {
  return async (...args) => {
    try {
      return { ok: true, value: encodeBytes(await handler(...(decodeBytes(args) as unknown[]))) }
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err))
      return { ok: false, error: `Error invoking remote method 'unveil:${method}': ${e.name}: ${e.message}` }
    }
  }
}

/** Page side, as an init script: defines window.unveil with the same shape as the preload's. */
export function bridgeInitScript(methods: readonly ApiMethod[]): string {
  return `(() => {
  const BYTES_KEY = ${JSON.stringify(BYTES_KEY)};
  const toBase64 = (bytes) => {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  };
  const fromBase64 = (b64) => {
    const s = atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  };
  const encode = (v) => {
    if (v instanceof Uint8Array) return { [BYTES_KEY]: toBase64(v) };
    if (Array.isArray(v)) return v.map(encode);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, encode(x)]));
    return v;
  };
  const decode = (v) => {
    if (Array.isArray(v)) return v.map(decode);
    if (v && typeof v === 'object') {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === BYTES_KEY) return fromBase64(v[BYTES_KEY]);
      return Object.fromEntries(keys.map((k) => [k, decode(v[k])]));
    }
    return v;
  };
  // Replies and progress reach the page inside DevTools evaluations, which the long-task API
  // does not see; the renderer handles them in a task of their own, as it does Electron's IPC
  // messages, so its work on them is measured (and ordered, first in first out).
  const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));
  const listeners = new Set();
  const bridge = {
    onJobProgress(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    }
  };
  for (const m of ${JSON.stringify(methods)}) {
    bridge[m] = async (...args) => {
      const reply = await window[${JSON.stringify(EXPOSED_PREFIX)} + m](...args.map(encode));
      await nextTask();
      if (!reply.ok) throw new Error(reply.error);
      return decode(reply.value);
    };
  }
  Object.defineProperty(window, ${JSON.stringify(PROGRESS_HOOK)}, {
    value: (p) => { setTimeout(() => { for (const l of listeners) l(p); }, 0); }
  });
  Object.defineProperty(window, 'unveil', { value: Object.freeze(bridge), enumerable: true });
})();`
}
