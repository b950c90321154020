import { describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sampleImagePaths } from '../../src/core/env/sample-images'

// Issue 13, item 2: ONNX Runtime's telemetry looks up mobile.events.data.microsoft.com after
// about 10 s and keeps a device id under ~/.cache/Microsoft. A 35 s CLI run, traced, must make
// no network connection (no DNS either) and leave no such files.
const ROOT = join(__dirname, '../..')
const built = existsSync(join(ROOT, 'out/cli/index.js'))
const strace = spawnSync('strace', ['-V']).status === 0
if (!built) console.log('SKIP telemetry test: out/cli is not built (npm run build)')
if (!strace) console.log('SKIP telemetry test: strace is not installed (apt-get install strace)')

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
}

describe.skipIf(!built || !strace)('no telemetry', () => {
  it('a 35-second inversion makes no network connection and writes no telemetry files', { timeout: 180_000 }, async () => {
    const home = mkdtempSync(join(tmpdir(), 'unveil-home-'))
    const tmp = mkdtempSync(join(tmpdir(), 'unveil-tel-'))
    const env = { ...process.env, HOME: home, XDG_CACHE_HOME: join(home, '.cache'), UNVEIL_HOME: join(home, 'lib'), UNVEIL_PROVIDERS: 'cpu' }
    const cli = join(ROOT, 'bin/unveil.js')
    expect(spawnSync(process.execPath, [cli, 'enroll', '--image', sampleImagePaths()[0], '--out', join(tmp, 't.json')], { env }).status).toBe(0)
    const log = join(tmp, 'strace.log')
    const child = spawn('strace', ['-f', '-e', 'trace=execve,connect,sendto,sendmsg', '-o', log, process.execPath, cli, 'invert', '--template', join(tmp, 't.json'), '--method', 'random', '--budget', '1000000', '--seed', '1', '--out', join(tmp, 'run')], {
      env,
      // Its own process group, so strace and the traced CLI stop together.
      detached: true
    })
    const started = Date.now()
    await new Promise((r) => setTimeout(r, 35_000))
    const exited = new Promise((r) => child.on('close', r))
    process.kill(-child.pid!, 'SIGKILL')
    await exited
    expect(Date.now() - started).toBeGreaterThanOrEqual(35_000)
    const trace = readFileSync(log, 'utf8')
    // The tracer saw the CLI start (execve), and nothing left the machine.
    expect(trace).toContain(`execve("${process.execPath}"`)
    const network = trace.split('\n').filter((l) => /AF_INET6?|nscd|htons\(53\)/.test(l))
    expect(network).toEqual([])
    expect(files(home).filter((f) => /Microsoft|onnxruntime/i.test(f))).toEqual([])
  })
})
