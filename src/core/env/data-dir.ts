import { existsSync } from 'node:fs'
import { resolve } from 'node:path'

/**
 * The research data folder (datasets and models that must never ship in the repository):
 * $UNVEIL_DATA, or ../shared beside the working folder. Null when absent.
 */
export function resolveDataDir(): string | null {
  const candidate = process.env.UNVEIL_DATA ? resolve(process.env.UNVEIL_DATA) : resolve(process.cwd(), '..', 'shared')
  return existsSync(resolve(candidate, 'datasets')) ? candidate : null
}
