// The packaging config as electron-builder itself reads and validates it: the Electron fuses
// that keep a packaged app from being run as Node or loading code from outside its app.asar.
import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import { resolve } from 'node:path'
import type { Configuration } from 'electron-builder'

const ROOT = resolve(import.meta.dirname, '../../..')
const require = createRequire(import.meta.url)
const { getConfig, validateConfiguration } = require('app-builder-lib/out/util/config/config') as {
  getConfig(projectDir: string, configPath: string, configFromOptions: null): Promise<Configuration>
  validateConfiguration(config: Configuration, debugLogger: { add(key: string, value: unknown): void }): Promise<void>
}

describe('electron-builder configuration', () => {
  it('sets every security fuse, and electron-builder accepts the file', async () => {
    const config = await getConfig(ROOT, resolve(ROOT, 'build/electron-builder.yml'), null)
    await validateConfiguration(config, { add: () => undefined })
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      enableCookieEncryption: true,
      grantFileProtocolExtraPrivileges: false
    })
    // ASAR integrity and only-load-from-ASAR mean nothing without an archive.
    expect(config.asar).toBe(true)
  })
})
