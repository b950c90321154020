import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createServer, Socket } from 'node:net'

/** The redis-server binary, or null with the reason printed once per test file. */
export function redisServerOrSkip(what: string): string | null {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' })
  if (r.status !== 0) {
    console.log(`SKIP ${what}: redis-server is not installed (Debian: apt-get install redis-server)`)
    return null
  }
  return 'redis-server'
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })
}

async function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = new Socket()
    sock.setTimeout(500)
    sock.once('error', () => resolve(false))
    sock.once('timeout', () => (sock.destroy(), resolve(false)))
    sock.connect(port, '127.0.0.1', () => sock.write('PING\r\n'))
    sock.once('data', (d) => {
      sock.destroy()
      resolve(d.toString().startsWith('+PONG'))
    })
  })
}

/** A throw-away Redis on 127.0.0.1 (no persistence), for one test file. */
export async function startRedis(binary: string): Promise<{ url: string; port: number; stop(): Promise<void> }> {
  const port = await freePort()
  const child: ChildProcess = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
  const t0 = Date.now()
  while (!(await answers(port))) {
    if (child.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`redis-server did not start on port ${port}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
  }
}
