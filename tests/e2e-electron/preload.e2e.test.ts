// The built preload (out/preload/index.cjs), run as the sandbox runs it (one CommonJS script whose
// only module is `electron`), with contextBridge and ipcRenderer recorded: what reaches the page
// is one function per contract method and onJobProgress, never ipcRenderer or an IPC event.
import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { runInNewContext } from 'node:vm'
import { API_METHODS, JOB_PROGRESS_CHANNEL, channelFor } from '../../src/shared/ipc-contract'

const PRELOAD = join(resolve(import.meta.dirname, '../..'), 'out/preload/index.cjs')
const reason = existsSync(PRELOAD) ? null : 'out/preload/index.cjs is not built (npx electron-vite build)'
if (reason) console.log(`SKIP preload test: ${reason}`)

describe.skipIf(reason !== null)('the built preload', () => {
  it('exposes only named API functions that invoke their own channel, and strips IPC events', async () => {
    const exposed = new Map<string, Record<string, unknown>>()
    const invoked: unknown[][] = []
    const listeners = new Map<string, (...a: unknown[]) => void>()
    const required: string[] = []
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: Record<string, unknown>) => exposed.set(key, api) },
      ipcRenderer: {
        invoke: async (...args: unknown[]) => invoked.push(args),
        on: (channel: string, fn: (...a: unknown[]) => void) => listeners.set(channel, fn),
        removeListener: (channel: string) => listeners.delete(channel)
      }
    }
    const module = { exports: {} }
    runInNewContext(readFileSync(PRELOAD, 'utf8'), {
      module,
      exports: module.exports,
      require: (name: string) => {
        required.push(name)
        if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`)
        return electron
      }
    })

    expect(required).toEqual(['electron'])
    expect([...exposed.keys()]).toEqual(['unveil'])
    const bridge = exposed.get('unveil')!
    expect(Object.keys(bridge).sort()).toEqual([...API_METHODS, 'onJobProgress'].sort())
    for (const value of Object.values(bridge)) expect(typeof value).toBe('function')

    await (bridge.getCase as (id: string) => Promise<unknown>)('case-1')
    expect(invoked).toEqual([[channelFor('getCase'), 'case-1']])

    const got: unknown[][] = []
    const off = (bridge.onJobProgress as (l: (...a: unknown[]) => void) => () => void)((...a) => got.push(a))
    listeners.get(JOB_PROGRESS_CHANNEL)!({ sender: 'ipc event' }, { runId: 'r', step: 1 })
    expect(got).toEqual([[{ runId: 'r', step: 1 }]])
    off()
    expect(listeners.has(JOB_PROGRESS_CHANNEL)).toBe(false)
  })
})
