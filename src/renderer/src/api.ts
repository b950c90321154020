import type { UnveilBridge } from '@shared/ipc-contract'

/** The preload's bridge (or the end-to-end harness's); read at call time so tests can swap it. */
export function api(): UnveilBridge {
  const bridge = window.unveil as UnveilBridge | undefined
  if (!bridge) throw new Error('The Unveil bridge is missing: this page must be opened by the Unveil app')
  return bridge
}
