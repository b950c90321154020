import { describe, expect, it } from 'vitest'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { sha256Hex } from '../../src/core/fs/sha256'
import { validateManifest } from '../../src/shared/validation'

const DIR = join(__dirname, '../../resources/models')
const ids = existsSync(DIR) ? readdirSync(DIR).filter((f) => f.endsWith('.onnx')).map((f) => f.slice(0, -5)) : []

describe('models shipped in resources/models', () => {
  it('there is at least one', () => {
    expect(ids.length).toBeGreaterThan(0)
  })

  it.each(ids)('%s: manifest and model card name the file\'s sha256, and it fits the 20 MB limit', (id) => {
    const bytes = readFileSync(join(DIR, `${id}.onnx`))
    const sha = sha256Hex(bytes)
    const manifest = validateManifest(JSON.parse(readFileSync(join(DIR, `${id}.json`), 'utf8')))
    expect(manifest.id).toBe(id)
    expect(manifest.sha256).toBe(sha)
    const card = readFileSync(join(DIR, `${id}.md`), 'utf8')
    expect(card).toContain(sha)
    expect(card).toMatch(/research use only/i)
    expect(statSync(join(DIR, `${id}.onnx`)).size).toBeLessThanOrEqual(20 * 1024 * 1024)
  })
})
