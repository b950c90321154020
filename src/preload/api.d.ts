import type { UnveilBridge } from '../shared/ipc-contract'

declare global {
  interface Window {
    /** Exposed by src/preload/index.ts (Electron) or the end-to-end harness (tests/e2e). */
    unveil: UnveilBridge
  }
}

export {}
