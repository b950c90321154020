// Bundles the CLI (src/cli) and the core worker into out/cli so `npx unveil` works right after
// `npm install`; npm packages stay external so native modules load from node_modules.
import { build } from 'esbuild'
import { existsSync } from 'node:fs'

const entries = { index: 'src/cli/index.ts', 'queue-processor': 'src/cli/queue-processor.ts' }
if (existsSync('src/core/engine/inference-worker.ts')) entries['inference-worker'] = 'src/core/engine/inference-worker.ts'

await build({
  entryPoints: entries,
  outdir: 'out/cli',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning'
})
