import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApiHandlers } from '../../../src/main/api-handlers'
import { Workbench } from '../../../src/core/workbench/workbench'

describe('guided demo IPC handlers', () => {
  let wb: Workbench
  let handlers: ReturnType<typeof createApiHandlers>
  const root = mkdtempSync(join(tmpdir(), 'unveil-ipc-demo-'))

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: root })
    handlers = createApiHandlers({ workbench: wb, chooseFolder: async () => null })
  })
  afterAll(async () => wb.close())

  it('refuses a malformed step in one line and creates nothing', async () => {
    for (const [arg, msg] of [
      ['2', /^demo step must be an integer$/],
      [1.5, /^demo step must be an integer$/],
      [6, /^demo step must be between 0 and 5$/],
      [-1, /^demo step must be between 0 and 5$/],
      [0, /^no demo is running; start it first$/]
    ] as const) {
      await expect(handlers.demoGoTo(arg)).rejects.toThrow(msg)
    }
    const status = await handlers.demoStatus()
    expect(status.demo).toBeNull()
    expect(status.steps.map((s) => s.id)).toEqual(['enrol', 'dfd', 'ga', 'compare', 'explain', 'report'])
    expect(await handlers.resetDemo()).toEqual({ removed: null })
    expect(existsSync(join(root, 'Unveil demo'))).toBe(false)
    expect(await handlers.listCases()).toEqual([])
  })
})
