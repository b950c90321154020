// The layering of docs/architecture.md is enforced by the lint (eslint.config.mjs, rule
// unveil/layering): plant imports in files of each layer and check what the real config reports.
// The planted files do not exist; ESLint lints the given text as if it were at that path.
import { resolve } from 'node:path'
import { ESLint } from 'eslint'
import { beforeAll, describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../../..')
let eslint: ESLint

beforeAll(() => {
  eslint = new ESLint({ cwd: root })
})

/** The layering errors ESLint reports for `code` placed at `file` (repository-relative). */
async function layeringErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: resolve(root, file) })
  expect(result.messages.filter((m) => m.fatal)).toEqual([])
  return result.messages.filter((m) => m.ruleId === 'unveil/layering' && m.severity === 2).map((m) => m.message)
}

const vue = (script: string): string => `<script setup lang="ts">\n${script}\n</script>\n\n<template>\n  <div />\n</template>\n`

const forbidden: [string, string, string][] = [
  ['core → electron', 'src/core/imaging/planted.ts', "import { app } from 'electron'\nexport const a = app"],
  ['core → main (relative)', 'src/core/imaging/planted.ts', "export { createApiHandlers } from '../../main/api-handlers'"],
  ['core → renderer (dynamic import)', 'src/core/jobs/planted.ts', "export const m = () => import('../../renderer/src/api')"],
  ['core → cli (baseUrl path)', 'src/core/jobs/planted.ts', "export * from 'src/cli/cli-support'"],
  ['core → preload', 'src/core/jobs/planted.ts', "export type { } from '../../preload/api'"],
  ['renderer → core (alias)', 'src/renderer/src/lib/planted.ts', "export { decodeImage } from '@core/imaging/image-io'"],
  ['renderer → core (relative)', 'src/renderer/src/lib/planted.ts', "export { decodeImage } from '../../../core/imaging/image-io'"],
  ['renderer → core (type only)', 'src/renderer/src/lib/planted.ts', "export type { Workbench } from '../../../core/workbench/workbench'"],
  ['renderer → core (import type)', 'src/renderer/src/lib/planted.ts', "export type W = import('../../../core/workbench/workbench').Workbench"],
  [
    'core → electron (require)',
    'src/core/engine/planted.ts',
    "// eslint-disable-next-line @typescript-eslint/no-require-imports\nexport const e = require('electron')"
  ],
  ['renderer → main', 'src/renderer/src/stores/planted.ts', "export * from '../../../main/app-origin'"],
  ['renderer → cli', 'src/renderer/src/stores/planted.ts', "export * from '../../../cli/cli-support'"],
  ['renderer → preload', 'src/renderer/src/stores/planted.ts', "export * from '../../../preload/index'"],
  ['renderer → node:fs', 'src/renderer/src/lib/planted.ts', "import { readFileSync } from 'node:fs'\nexport const r = readFileSync"],
  ['renderer → fs/promises', 'src/renderer/src/lib/planted.ts', "import { readFile } from 'fs/promises'\nexport const r = readFile"],
  ['renderer → electron', 'src/renderer/src/lib/planted.ts', "import { ipcRenderer } from 'electron'\nexport const i = ipcRenderer"],
  ['renderer .vue → core', 'src/renderer/src/components/Planted.vue', vue("import { decodeImage } from '@core/imaging/image-io'\nconsole.log(decodeImage)")],
  ['cli → core/imaging (relative)', 'src/cli/commands/planted.ts', "export { decodeImage } from '../../core/imaging/image-io'"],
  ['cli → core/imaging (alias)', 'src/cli/commands/planted.ts', "export { decodeImage } from '@core/imaging/image-io'"],
  ['cli → core/templates', 'src/cli/planted.ts', "export * from '../core/templates/template-codec'"],
  ['shared → core', 'src/shared/planted.ts', "export type { Workbench } from '../core/workbench/workbench'"],
  ['shared → renderer (alias)', 'src/shared/planted.ts', "export * from '@renderer/api'"],
  ['shared → electron', 'src/shared/planted.ts', "import { app } from 'electron'\nexport const a = app"],
  ['preload → core', 'src/preload/planted.ts', "export * from '../core/workbench/workbench'"],
  ['main → renderer', 'src/main/planted.ts', "export * from '../renderer/src/api'"],
  ['main → core outside the Workbench', 'src/main/planted.ts', "export * from '../core/env/library-dir'"]
]

const allowed: [string, string, string][] = [
  ['cli → core/workbench (relative)', 'src/cli/commands/planted.ts', "export { Workbench } from '../../core/workbench/workbench'"],
  ['cli → core/workbench (alias)', 'src/cli/planted.ts', "export { Workbench } from '@core/workbench/workbench'"],
  ['cli → shared, node:fs', 'src/cli/planted.ts', "export * from '../shared/validation'\nexport { readFileSync } from 'node:fs'"],
  ['renderer → shared (alias)', 'src/renderer/src/stores/planted.ts', "export type { CaseInfo } from '@shared/types'"],
  [
    'renderer → shared (relative), own files, vue',
    'src/renderer/src/lib/planted.ts',
    "export * from '../../../shared/types'\nexport * from './format'\nexport { ref } from 'vue'"
  ],
  [
    'renderer .vue → shared, pinia',
    'src/renderer/src/components/Planted.vue',
    vue("import type { CaseInfo } from '@shared/types'\nimport { defineStore } from 'pinia'\nconsole.log(defineStore, {} as CaseInfo)")
  ],
  ['core → shared', 'src/core/cases/planted.ts', "export type { CaseInfo } from '../../shared/types'"],
  [
    'core → other core folders, node:fs',
    'src/core/cases/planted.ts',
    "export * from '../imaging/image-io'\nexport * from '@core/fs/sha256'\nexport { readFileSync } from 'node:fs'"
  ],
  ['shared → shared', 'src/shared/planted.ts', "export type { CaseInfo } from './types'"],
  [
    'main → core/workbench, shared, electron',
    'src/main/planted.ts',
    "export * from '../core/workbench/workbench'\nexport * from '../shared/ipc-contract'\nexport { app } from 'electron'"
  ],
  ['tests → anything', 'tests/unit/planted.test.ts', "export * from '../../src/core/imaging/image-io'\nexport * from '../../src/main/app-origin'"]
]

describe('lint layering (eslint.config.mjs)', () => {
  it.each(forbidden)('reports %s as an error', async (_name, file, code) => {
    const errors = await layeringErrors(file, code)
    expect(errors).toHaveLength(1)
  })

  it.each(allowed)('allows %s', async (_name, file, code) => {
    expect(await layeringErrors(file, code)).toEqual([])
  })

  it('names the import, where it leads and what the layer may import', async () => {
    const [message] = await layeringErrors('src/cli/commands/planted.ts', "export * from '../../core/imaging/image-io'")
    expect(message).toContain("'../../core/imaging/image-io' reaches src/core/imaging/image-io")
    expect(message).toContain('src/cli may import only src/cli, src/shared, src/core/workbench')
  })
})
