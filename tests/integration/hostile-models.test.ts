import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench, type IsolatedHostFactory } from '../../src/core/workbench/workbench'
import { forkHost } from '../../src/core/engine/inference-engine'
import { sha256Hex } from '../../src/core/fs/sha256'
import {
  craftedManifest,
  externalConstantInLoopEncoder,
  externalInitializerEncoder,
  neverFinishingEncoder,
  refuses112Encoder,
  workingEncoder
} from '../helpers/crafted-models'

// Issue 13 items 1 and 4: models that read other files, never finish, or refuse the 112x112
// input. Registration trials a model in a child process with a time limit before storing it.
const TRIAL_MS = 3000
process.env.UNVEIL_TRIAL_TIMEOUT_MS = String(TRIAL_MS)
process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')

describe('hostile user models', () => {
  let wb: Workbench
  const libraryDir = mkdtempSync(join(tmpdir(), 'unveil-hostile-lib-'))
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-hostile-'))
  const modelDir = join(libraryDir, 'models')
  const write = (name: string, bytes: Uint8Array): string => {
    const p = join(tmp, name)
    writeFileSync(p, bytes)
    return p
  }
  const stored = (): { files: string[]; ids: string[] } => ({
    files: existsSync(modelDir) ? readdirSync(modelDir).filter((f) => f.endsWith('.onnx')) : [],
    ids: wb.models
      .list()
      .filter((e) => !e.bundled)
      .map((e) => e.manifest.id)
  })
  /** Puts a model into the registry file the way an older version (or a hand edit) could have. */
  const plant = (id: string, bytes: Uint8Array): void => {
    mkdirSync(modelDir, { recursive: true })
    const sha = sha256Hex(bytes)
    writeFileSync(join(modelDir, `${sha}.onnx`), bytes)
    const file = join(modelDir, 'registry.json')
    const reg = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { version: 1, models: [], verifications: {}, thresholds: {} }
    reg.models.push({ manifest: { ...craftedManifest(id), sha256: sha, file: `${sha}.onnx` }, file: `${sha}.onnx`, registeredAt: new Date().toISOString() })
    writeFileSync(file, JSON.stringify(reg))
  }

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir, caseRoot: tmp })
  })
  afterAll(async () => wb.close())

  it('refuses external-data tensors (initializer, Constant in a Loop body) at registration, storing nothing', async () => {
    await expect(wb.models.register(write('ext.onnx', externalInitializerEncoder('/etc/passwd')), craftedManifest('ext-init'))).rejects.toThrow(
      /^model 'ext-init' is refused: tensor 'stolen' keeps its data outside the model file \(external data '\/etc\/passwd'\)/
    )
    await expect(wb.models.register(write('ext-loop.onnx', externalConstantInLoopEncoder('../../../etc/passwd')), craftedManifest('ext-loop'))).rejects.toThrow(
      /tensor 'stolen_value' keeps its data outside the model file \(external data '\.\.\/\.\.\/\.\.\/etc\/passwd'\)/
    )
    expect(stored()).toEqual({ files: [], ids: [] })
  })

  it('refuses an external-data model on every load, even one already in the registry file', async () => {
    plant('ext-planted', externalInitializerEncoder('/etc/passwd'))
    await expect(wb.loader.prepare('ext-planted')).rejects.toThrow(/tensor 'stolen' keeps its data outside the model file/)
    wb.models.unregister('ext-planted')
    expect(stored()).toEqual({ files: [], ids: [] })
  })

  it('stops a trial that never finishes at the time limit and stores nothing', { timeout: 30_000 }, async () => {
    const t0 = performance.now()
    await expect(wb.models.register(write('hang.onnx', neverFinishingEncoder()), craftedManifest('never-finishes'))).rejects.toThrow(
      /^model 'never-finishes' does not run as its manifest describes: model 'never-finishes' did not finish a trial run on one 3x112x112 input within 3 s; nothing was registered$/
    )
    // The limit plus process start-up, not minutes.
    expect(performance.now() - t0).toBeLessThan(TRIAL_MS + 7000)
    expect(stored()).toEqual({ files: [], ids: [] })
  })

  it('refuses an encoder that fails on 112x112 input, storing nothing', async () => {
    await expect(wb.models.register(write('r112.onnx', refuses112Encoder()), craftedManifest('refuses-112'))).rejects.toThrow(
      /^model 'refuses-112' does not run as its manifest describes: .*nothing was registered$/
    )
    expect(stored()).toEqual({ files: [], ids: [] })
  })

  it('registers a working model and unregister removes its file', async () => {
    await wb.models.register(write('ok.onnx', workingEncoder()), craftedManifest('working'), { verify: false })
    expect(stored()).toEqual({ files: [`${sha256Hex(workingEncoder())}.onnx`], ids: ['working'] })
    wb.models.unregister('working')
    expect(stored()).toEqual({ files: [], ids: [] })
  })

  it('remembers a passed trial in the library, so the next process loads the model without one', async () => {
    let trials = 0
    const counting: IsolatedHostFactory = (path, settings) => {
      trials++
      return forkHost(path, settings)
    }
    await wb.models.register(write('remembered.onnx', workingEncoder()), craftedManifest('remembered'), { verify: false })
    const again = await Workbench.open({ libraryDir, caseRoot: tmp, isolatedHost: counting })
    try {
      await again.loader.prepare('remembered')
      expect(trials).toBe(0)
      // A record of another software version does not count.
      const dir = join(libraryDir, 'trials')
      for (const f of readdirSync(dir))
        writeFileSync(join(dir, f), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, f), 'utf8')), software: 'unveil@0.0.0' }))
      const third = await Workbench.open({ libraryDir, caseRoot: tmp, isolatedHost: counting })
      try {
        await third.loader.prepare('remembered')
        expect(trials).toBe(1)
      } finally {
        await third.close()
      }
    } finally {
      await again.close()
      wb.models.unregister('remembered')
    }
  })

  it('a trial process whose parent is killed (kill -9) stops too, even mid-run', { timeout: 30_000 }, async () => {
    const worker = join(__dirname, '../../out/cli/inference-worker.js')
    if (!existsSync(worker)) return console.log('SKIP orphan check: out/cli is not built (npm run build)')
    const model = write('orphan.onnx', neverFinishingEncoder())
    // The parent forks the worker as ModelTrial does, starts the never-ending run, prints the child's pid.
    const script = `
      const { fork } = require('node:child_process'); const { readFileSync } = require('node:fs')
      const c = fork(${JSON.stringify(worker)}, [], { serialization: 'advanced', env: { ...process.env, UNVEIL_WORKER_SETTINGS: JSON.stringify({ providers: ['cpu'], threads: 1, denormalAsZero: true, spinning: false }) }, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] })
      c.on('message', (m) => { if (m.type === 'load') { c.send({ id: 2, type: 'run', key: 'k', feeds: { input: { data: new Float32Array(3 * 112 * 112), dims: [1, 3, 112, 112] } } }); setTimeout(() => console.log(c.pid), 500) } })
      c.send({ id: 1, type: 'load', key: 'k', model: new Uint8Array(readFileSync(${JSON.stringify(model)})) })`
    const parent = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    const childPid = await new Promise<number>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))))
    const running = (pid: number): boolean => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    expect(running(childPid)).toBe(true)
    parent.kill('SIGKILL')
    const t0 = Date.now()
    while (running(childPid) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 100))
    expect(running(childPid)).toBe(false)
  })

  it('an inversion skips, and reports, encoders that hang or refuse the input instead of failing', { timeout: 60_000 }, async () => {
    plant('planted-hang', neverFinishingEncoder())
    plant('planted-112', refuses112Encoder())
    const encoder = wb.registry.get('faceplugin-fr-feature').manifest
    const vector = Array.from({ length: 512 }, (_, i) => Math.sin(i + 1))
    const result = await wb.runs.invert({
      template: { vector, encoderId: encoder.id, encoderSha256: encoder.sha256 },
      method: 'random',
      parameters: { budget: 16 },
      seed: 1
    })
    const byId = new Map(result.scores.map((s) => [s.encoderId, s]))
    expect(byId.get('faceplugin-fr-feature')?.target).toBeGreaterThan(-1)
    expect(byId.get('faceplugin-fr-feature')?.error).toBeUndefined()
    expect(byId.get('planted-hang')?.error).toMatch(/did not finish a trial run .* within 3 s/)
    expect(byId.get('planted-112')?.error).toMatch(/ONNX Runtime|Reshape|shape/i)
    expect(byId.get('planted-hang')?.target).toBeNull()
  })
})
