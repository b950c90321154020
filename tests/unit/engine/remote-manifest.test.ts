import { describe, expect, it } from 'vitest'
import { validateManifest } from '../../../src/shared/validation'
import { remoteManifest } from '../../helpers/kserve-server'

const manifest = (remote: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => ({
  ...remoteManifest({ url: 'http://gpu-box:8000/', model: 'fr' }, 'r'),
  ...extra,
  remote: { url: 'http://gpu-box:8000/', model: 'fr', ...remote }
})

describe('remote engine manifests', () => {
  it('reads the remote block: base URL without trailing slash, no file, settings kept', () => {
    const m = validateManifest(manifest({ version: '3', binary: true, timeoutMs: 5000, retries: 4, maxBatch: 32 }))
    expect(m.file).toBe('')
    expect(m.remote).toEqual({
      protocol: 'kserve-v2',
      url: 'http://gpu-box:8000',
      model: 'fr',
      version: '3',
      binary: true,
      timeoutMs: 5000,
      retries: 4,
      maxBatch: 32
    })
  })

  it.each([
    [{ url: 'ftp://gpu-box/' }, 'manifest.remote.url must be http or https'],
    [{ url: 'http://user:secret@gpu-box:8000' }, 'manifest.remote.url must not carry credentials'],
    [{ url: 'http://gpu-box:8000/?x=1' }, "manifest.remote.url must be the server's base URL, without query or fragment"],
    [{ url: 'not a url' }, "manifest.remote.url 'not a url' is not a URL"],
    [{ model: '../etc' }, "manifest.remote.model '../etc' must be letters, digits, '.', '_' or '-'"],
    [{ version: 'a/b' }, "manifest.remote.version 'a/b' must be letters, digits, '.', '_' or '-'"],
    [{ protocol: 'grpc' }, "manifest.remote.protocol must be 'kserve-v2'"],
    [{ retries: 11 }, 'manifest.remote.retries must be between 0 and 10'],
    [{ timeoutMs: 0 }, 'manifest.remote.timeoutMs must be between 10 and 600000'],
    [{ binary: 'yes' }, 'manifest.remote.binary must be true or false']
  ])('refuses %j', (remote, message) => {
    expect(() => validateManifest(manifest(remote))).toThrow(message)
  })

  it('is for encoders only', () => {
    expect(() => validateManifest(manifest({}, { role: 'detector' }))).toThrow('manifest.remote is for encoders only')
  })
})
