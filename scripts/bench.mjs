// Builds the benchmarks with the same bundler as the CLI, then runs them.
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'

await build({
  entryPoints: { 'run-benchmarks': 'bench/run-benchmarks.ts' },
  outdir: 'out/bench',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'warning'
})
const r = spawnSync(process.execPath, ['out/bench/run-benchmarks.js', ...process.argv.slice(2)], { stdio: 'inherit' })
process.exit(r.status ?? 1)
