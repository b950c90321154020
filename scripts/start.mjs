// `npm start`: builds the app and launches Electron. better-sqlite3 is compiled for Node (the CLI
// and tests use it), so an Electron-ABI copy is built once into .cache/electron-native and the
// app is pointed at it; onnxruntime-node and sharp use N-API and load in both.
import { spawnSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'

const require = createRequire(import.meta.url)
const root = resolve(dirname(new URL(import.meta.url).pathname), '..')

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

let electronPath
try {
  electronPath = require('electron')
} catch {
  electronPath = null
}
if (!electronPath || !existsSync(electronPath)) {
  console.error('unveil: the Electron binary is not installed. Run `npx install-electron` (it needs internet once), then `npm start` again.')
  process.exit(1)
}

const electronVersion = JSON.parse(readFileSync(require.resolve('electron/package.json'), 'utf8')).version
const bindingDir = join(root, '.cache', 'electron-native', electronVersion)
const binding = join(bindingDir, 'better_sqlite3.node')
if (!existsSync(binding)) {
  console.log(`building better-sqlite3 for Electron ${electronVersion} (once)…`)
  const src = dirname(require.resolve('better-sqlite3/package.json'))
  const work = join(root, '.cache', 'electron-native', 'build')
  rmSync(work, { recursive: true, force: true })
  cpSync(src, work, { recursive: true })
  rmSync(join(work, 'build'), { recursive: true, force: true })
  run(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--yes', 'node-gyp', 'rebuild', '--release', `--target=${electronVersion}`, '--dist-url=https://electronjs.org/headers', '--runtime=electron'], { cwd: work })
  mkdirSync(bindingDir, { recursive: true })
  cpSync(join(work, 'build', 'Release', 'better_sqlite3.node'), binding)
  rmSync(work, { recursive: true, force: true })
}

run(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'])
run(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'preview', '--skipBuild'], {
  env: { ...process.env, UNVEIL_SQLITE_BINDING: binding }
})
