import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { resolveDataDir } from '../../src/core/env/data-dir'

/** The shared research data folder, or null with the reason printed once per test file. */
export function dataDirOrSkip(what: string): string | null {
  const dir = resolveDataDir()
  if (!dir) console.log(`SKIP ${what}: research data folder not found (set UNVEIL_DATA to the shared folder)`)
  return dir
}

export function lfwImage(dataDir: string, person: string, index: number): string {
  return join(dataDir, 'datasets', 'lfw', 'images', person, `${person}_${String(index).padStart(4, '0')}.jpg`)
}

export function sharedEncoder(dataDir: string, file: string): string | null {
  const p = join(dataDir, 'models', 'encoders', file)
  return existsSync(p) ? p : null
}
