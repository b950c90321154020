import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeFileAtomic } from '../../../src/core/fs/atomic-write'
import { tempDir } from '../cases/fixtures'

describe('writeFileAtomic', () => {
  it('replaces the target and leaves nothing else behind', () => {
    const dir = tempDir()
    const target = join(dir, 'index.json')
    writeFileSync(target, 'old')
    writeFileAtomic(target, 'new')
    expect(readFileSync(target, 'utf8')).toBe('new')
    expect(readdirSync(dir)).toEqual(['index.json'])
  })

  it('removes its temp file and keeps the target when the final rename fails', () => {
    const dir = tempDir()
    const target = join(dir, 'occupied')
    mkdirSync(target)
    writeFileSync(join(target, 'inside'), 'keep')
    expect(() => writeFileAtomic(target, 'data')).toThrow()
    expect(readdirSync(dir)).toEqual(['occupied'])
    expect(readFileSync(join(target, 'inside'), 'utf8')).toBe('keep')
  })
})
