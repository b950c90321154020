import { utilityProcess } from 'electron'
import { WORKER_SETTINGS_ENV, type IsolatedHostFactory } from '../core/workbench/workbench'

/**
 * Isolated trial runs of user models in an Electron utility process: it can be killed when a
 * model never finishes, and unlike a fork of the Electron binary it needs no RunAsNode.
 */
export const utilityHost: IsolatedHostFactory = (workerPath, settings) => {
  const child = utilityProcess.fork(workerPath, [], { serviceName: 'Unveil model trial', stdio: 'ignore', env: { ...process.env, [WORKER_SETTINGS_ENV]: JSON.stringify(settings) } })
  return {
    postMessage: (msg) => child.postMessage(msg),
    on: (event: 'message' | 'error' | 'exit', fn: (arg: never) => void) => {
      // A utility process reports a crash as its exit; it has no 'error' event of its own.
      if (event === 'message') child.on('message', fn as (msg: unknown) => void)
      else if (event === 'exit') child.on('exit', fn as (code: number) => void)
    },
    // A utility process does not keep the app alive: nothing to reference or release.
    ref: () => undefined,
    unref: () => undefined,
    terminate: async () => {
      child.kill()
    }
  }
}
