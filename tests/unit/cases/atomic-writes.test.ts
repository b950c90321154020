import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { newCase, template } from './fixtures'

const anchor = (dir: string): string => readFileSync(join(dir, 'audit-head.json'), 'utf8')

describe('CaseStore.atomically', () => {
  it('stores several writes with their audit entries together, and moves the anchor once', () => {
    const store = newCase()
    const before = store.auditLog().length
    store.atomically(() => {
      store.addTemplate(template({ id: 'a' }))
      store.addTemplate(template({ id: 'b' }))
    })
    expect(store.listTemplates().map((t) => t.id)).toEqual(['a', 'b'])
    expect(store.auditLog()).toHaveLength(before + 2)
    expect(JSON.parse(anchor(store.dir)).seq).toBe(store.auditLog().at(-1)!.seq)
    expect(store.verifyAudit().ok).toBe(true)
  })

  it('keeps nothing of a block that fails midway: rows, audit entries and anchor as before', () => {
    const store = newCase()
    const entries = store.auditLog().length
    const head = anchor(store.dir)
    expect(() =>
      store.atomically(() => {
        store.addTemplate(template({ id: 'a' }))
        store.addTemplate(template({ id: 'b', vector: [Number.NaN, 1, 1, 1] }))
      })
    ).toThrow(/finite/)
    expect(store.listTemplates()).toEqual([])
    expect(store.auditLog()).toHaveLength(entries)
    expect(anchor(store.dir)).toBe(head)
    expect(store.verifyAudit().ok).toBe(true)
  })

  it('anchors the last committed entry when a nested block rolls back and the outer one goes on', () => {
    const store = newCase()
    store.atomically(() => {
      store.addTemplate(template({ id: 'kept' }))
      expect(() =>
        store.atomically(() => {
          store.addTemplate(template({ id: 'dropped' }))
          throw new Error('nested failure')
        })
      ).toThrow('nested failure')
    })
    expect(store.listTemplates().map((t) => t.id)).toEqual(['kept'])
    expect(JSON.parse(anchor(store.dir)).seq).toBe(store.auditLog().at(-1)!.seq)
    expect(store.verifyAudit().ok).toBe(true)
  })
})

describe('audit actor', () => {
  it("names the case's examiner beside the OS user, from the creation entry on, and follows a change of examiner", async () => {
    const { CaseStore } = await import('../../../src/core/cases/case-store')
    const { tempDir } = await import('./fixtures')
    const { userInfo } = await import('node:os')
    const os = (() => {
      try {
        return userInfo().username
      } catch {
        return process.env.USER ?? process.env.USERNAME ?? 'unknown'
      }
    })()
    const store = CaseStore.create({ dir: join(tempDir(), 'c'), name: 'Actors', examiner: 'A. Examiner' })
    try {
      store.update({ examiner: 'B. Reviewer' })
      const [created, updated] = store.auditLog()
      expect(created.actor).toBe(`A. Examiner (OS user ${os})`)
      expect(updated.actor).toBe(`B. Reviewer (OS user ${os})`)
      expect(store.verifyAudit().ok).toBe(true)
    } finally {
      store.close()
    }
  })
})
