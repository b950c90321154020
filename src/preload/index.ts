// The renderer's only door to the main process: one named function per API method, plus the
// job progress subscription. ipcRenderer and IPC event objects never cross the bridge.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import { API_METHODS, JOB_PROGRESS_CHANNEL, channelFor, type UnveilApi, type UnveilBridge } from '../shared/ipc-contract'
import type { JobProgress } from '../shared/types'

const api = Object.fromEntries(
  API_METHODS.map((method) => [method, (...args: unknown[]) => ipcRenderer.invoke(channelFor(method), ...args)])
) as unknown as UnveilApi

const bridge: UnveilBridge = {
  ...api,
  onJobProgress(listener: (p: JobProgress) => void): () => void {
    const forward = (_event: IpcRendererEvent, progress: JobProgress): void => listener(progress)
    ipcRenderer.on(JOB_PROGRESS_CHANNEL, forward)
    return () => {
      ipcRenderer.removeListener(JOB_PROGRESS_CHANNEL, forward)
    }
  }
}

contextBridge.exposeInMainWorld('unveil', bridge)
