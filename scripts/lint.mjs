// `npm run lint [-- --fix]`: ESLint over the repository (eslint.config.mjs: src, tests, bench,
// scripts, configs), then Ruff over training/ when Ruff is installed (a note says when it is not).
// Exits non-zero when either reports an error.
import { spawnSync } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ESLint } from 'eslint'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const fix = process.argv.includes('--fix')
let failed = false

const eslint = new ESLint({ cwd: root, fix, cache: true, cacheLocation: resolve(root, '.cache/eslint/') })
const results = await eslint.lintFiles(['.'])
if (fix) await ESLint.outputFixes(results)
const output = await (await eslint.loadFormatter('stylish')).format(results)
if (output) console.log(output)
const errors = results.reduce((n, r) => n + r.errorCount, 0)
const warnings = results.reduce((n, r) => n + r.warningCount, 0)
console.log(`eslint: ${results.length} files, ${errors} errors, ${warnings} warnings`)
if (errors > 0) failed = true

// Ruff: the `ruff` command, or the module of a pip install whose scripts folder is not on PATH.
const ruff = [
  ['ruff', []],
  ['python3', ['-m', 'ruff']]
].find(([cmd, pre]) => spawnSync(cmd, [...pre, '--version'], { stdio: 'ignore' }).status === 0)
if (!ruff) {
  console.log('ruff: not installed, training/ not linted (pip install ruff)')
} else {
  const [cmd, pre] = ruff
  console.log('ruff check training')
  const r = spawnSync(cmd, [...pre, 'check', ...(fix ? ['--fix'] : []), 'training'], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) failed = true
}

process.exit(failed ? 1 : 0)
