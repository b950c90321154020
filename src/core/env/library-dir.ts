import { homedir } from 'node:os'
import { join } from 'node:path'

/**
 * Where the registry and case list live: $UNVEIL_HOME, else the same per-user folder Electron
 * uses as userData for an app named "unveil", so the CLI and the app share one library.
 */
export function defaultLibraryDir(): string {
  if (process.env.UNVEIL_HOME) return process.env.UNVEIL_HOME
  const home = homedir()
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'unveil')
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'unveil')
  return join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'unveil')
}

export function defaultCaseRoot(): string {
  return process.env.UNVEIL_CASE_ROOT ?? join(homedir(), 'Unveil cases')
}
