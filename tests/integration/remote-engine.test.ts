import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { encodeAlignedFaces } from '../../src/core/faces/face-encoder'
import { DEFAULT_ENCODER_ID } from '../../src/core/models/bundled-models'
import { DEFAULT_GENERATOR_ID } from '../../src/core/methods/latent-search-setup'
import { TemplateOracle } from '../../src/core/methods/template-oracle'
import { probeFingerprint, probeInput, remoteClient } from '../../src/core/models/remote-model'
import { cosine } from '../../src/core/templates/vector-math'
import type { RgbImage } from '../../src/core/imaging/image-io'
import { remoteManifest, startKserveServer, unreachableUrl, type KserveServer } from '../helpers/kserve-server'

// Registration measures LFW thresholds when the research data is present; these tests are about
// the protocol, so they run without it (verify: false as well).
process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')
const ROOT = join(__dirname, '../..')
const prior = existsSync(join(ROOT, 'resources/models', `${DEFAULT_GENERATOR_ID}.onnx`))

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]))
  return m
}

describe('remote encoders over KServe v2', () => {
  let wb: Workbench
  let server: KserveServer
  const libraryDir = mkdtempSync(join(tmpdir(), 'unveil-lib-'))
  let faces: RgbImage[] = []

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir, caseRoot: mkdtempSync(join(tmpdir(), 'unveil-cases-')) })
    server = await startKserveServer()
    const photos = sampleImagePaths().slice(0, 4)
    for (const p of photos) faces.push(await wb.faces.alignedFace(new Uint8Array(readFileSync(p)), p, DEFAULT_ENCODER_ID))
    // 16 faces: the crops and their mirror images, twice (a batch of 16 in 8-sample requests).
    const mirrored = faces.map((f) => {
      const data = new Uint8Array(f.data.length)
      for (let y = 0; y < f.height; y++)
        for (let x = 0; x < f.width; x++) for (let c = 0; c < 3; c++) data[(y * f.width + x) * 3 + c] = f.data[(y * f.width + (f.width - 1 - x)) * 3 + c]
      return { ...f, data }
    })
    faces = [...faces, ...mirrored, ...faces, ...mirrored]
  })
  afterAll(async () => {
    await wb?.close()
    await server?.close()
  })

  it('registers a server as an encoder whose templates equal the local model (JSON and binary tensors)', async () => {
    const json = (await wb.models.register(null, remoteManifest(server, 'remote-json', { maxBatch: 8 }), { verify: false })).entry
    const binary = (await wb.models.register(null, remoteManifest(server, 'remote-binary', { binary: true }), { verify: false })).entry
    expect(json.path).toBe(`${server.url}/v2/models/${server.model}`)
    expect(json.manifest.remote).toMatchObject({
      protocol: 'kserve-v2',
      model: server.model,
      served: { name: server.model, versions: ['1'], platform: 'onnxruntime_onnx' }
    })
    // The fingerprint is the sha256 of the probe template; both transports give the same bytes.
    expect(json.manifest.sha256).toBe(probeFingerprint(Float32Array.from(json.manifest.remote!.probe!)))
    expect(binary.manifest.sha256).toBe(json.manifest.sha256)
    expect(wb.models.list().map((m) => m.manifest.id)).toEqual(expect.arrayContaining(['remote-json', 'remote-binary']))

    const local = await encodeAlignedFaces(wb.engine, await wb.loader.prepare(DEFAULT_ENCODER_ID), faces)
    const before = server.stats.inferRequests
    for (const id of ['remote-json', 'remote-binary']) {
      const remote = await encodeAlignedFaces(wb.engine, await wb.loader.prepare(id), faces)
      expect(remote).toHaveLength(16)
      for (let i = 0; i < 16; i++) {
        expect(cosine(remote[i], local[i])).toBeGreaterThanOrEqual(0.99999)
        expect(maxAbsDiff(remote[i], local[i])).toBeLessThanOrEqual(1e-5)
      }
    }
    // Each load asks the probe once; the 16 faces go in 8-sample requests (JSON) and one of 16 (binary).
    expect(server.stats.inferRequests - before).toBe(1 + 2 + 1 + 1)
  })

  it('counts queries against the budget as for a local encoder', async () => {
    const oracle = new TemplateOracle(wb.engine, await wb.loader.prepare('remote-json'), 20)
    const planar = faces.map((f) => Float32Array.from({ length: 3 * 112 * 112 }, (_, i) => f.data[(i % (112 * 112)) * 3 + Math.floor(i / (112 * 112))] / 255))
    const samples = server.stats.samples
    await oracle.templates(planar)
    expect(oracle.queries).toBe(16)
    await expect(oracle.templates(planar.slice(0, 5))).rejects.toThrow('query budget of 20 templates is used up')
    expect(server.stats.samples - samples).toBe(16)
  })

  it('refuses an unreachable server, HTTP errors, a wrong shape, a wrong dimension and NaN in one line, storing nothing', async () => {
    const count = wb.models.list().length
    const fail = async (manifest: Record<string, unknown>): Promise<string> => {
      const err = (await wb.models.register(null, manifest, { verify: false }).then(
        () => null,
        (e: Error) => e
      )) as Error
      expect(err).toBeInstanceOf(Error)
      expect(err.message).not.toContain('\n')
      return err.message
    }
    const nowhere = { url: await unreachableUrl(), model: 'm' }
    expect(await fail(remoteManifest(nowhere, 'r-down', { retries: 1, timeoutMs: 2000 }))).toMatch(
      /^remote engine 'r-down' at http:\/\/127\.0\.0\.1:\d+\/v2\/health\/ready is unreachable \(ECONNREFUSED\) \(2 attempts\); nothing was registered$/
    )
    expect(await fail(remoteManifest({ url: server.url, model: 'no-such-model' }, 'r-404', { retries: 0 }))).toMatch(
      /no-such-model\/ready answered HTTP 404: no route/
    )
    expect(await fail({ ...remoteManifest(server, 'r-names'), output: { name: 'embedding', shape: [-1, 512] } })).toContain(
      "the server's model has no output 'embedding'; its outputs are: output"
    )
    for (const [fault, binary, message] of [
      ['wrong-shape', false, "returned output 'output' with 511 values for shape [1, 512]"],
      ['wrong-dim', true, "returned 128 values per sample in output 'output' (shape [1, 128]); the manifest says 512"],
      ['nan', false, 'returned NaN or Inf'],
      ['nan', true, "returned NaN or Inf in output 'output'"],
      ['http-500', false, 'answered HTTP 500: model crashed (1 attempt)']
    ] as const) {
      server.options.fault = fault
      const message_ = await fail(remoteManifest(server, `r-${fault}`, { binary, retries: 0 }))
      expect(message_).toContain(message)
      expect(message_).toMatch(/^remote engine 'r-[a-z0-9-]+' at http:\/\/127\.0\.0\.1:\d+\/v2\/models\/fr-feature\/infer /)
    }
    server.options.fault = 'none'
    expect(wb.models.list()).toHaveLength(count)
  })

  it('fails a query whose answer turns bad after loading, with the reason', async () => {
    const prepared = await wb.loader.prepare('remote-json')
    server.options.fault = 'nan'
    try {
      await expect(encodeAlignedFaces(wb.engine, prepared, faces.slice(0, 2))).rejects.toThrow(/^remote engine 'remote-json' at .*\/infer returned NaN or Inf$/)
    } finally {
      server.options.fault = 'none'
    }
  })

  it('retries a request that times out, with backoff, gives up after the bounded attempts, and stops at once when cancelled', async () => {
    // Limits with room for a loaded CI machine: an undelayed request must finish well within them.
    const slow = await startKserveServer({ delayMs: 2500, delayedRequests: 1 })
    try {
      // Registration's probe is the first infer request: it times out once and succeeds on the retry.
      const t0 = performance.now()
      const { entry } = await wb.models.register(null, remoteManifest(slow, 'remote-slow', { timeoutMs: 1200, retries: 2 }), { verify: false })
      expect(performance.now() - t0).toBeGreaterThanOrEqual(1200 + 200)
      expect(slow.stats.inferRequests).toBe(2)
      expect(entry.manifest.sha256).toBe(probeFingerprint(Float32Array.from(entry.manifest.remote!.probe!)))
      slow.options.delayedRequests = Infinity
      // Cancelling a run stops its request at once (an AbortError, as the job queue expects).
      const client = remoteClient(entry.manifest)
      const controller = new AbortController()
      setTimeout(() => controller.abort(), 200)
      const t1 = performance.now()
      const cancelled = await client.run({ input: probeInput(entry.manifest) }, ['output'], controller.signal).catch((e: Error) => e)
      expect((cancelled as Error).name).toBe('AbortError')
      expect(performance.now() - t1).toBeLessThan(1200)
      const err = await wb.models
        .register(null, remoteManifest(slow, 'remote-slower', { timeoutMs: 1200, retries: 1 }), { verify: false })
        .catch((e: Error) => e)
      expect((err as Error).message).toMatch(
        /^remote engine 'remote-slower' at .*\/infer did not answer within 1200 ms \(2 attempts\); nothing was registered$/
      )
    } finally {
      await slow.close()
    }
  })

  it('refuses to load a remote engine that now answers the probe differently', async () => {
    const other = await Workbench.open({ libraryDir, caseRoot: mkdtempSync(join(tmpdir(), 'unveil-cases-')) })
    server.options.fault = 'other-model'
    try {
      await expect(other.loader.prepare('remote-json')).rejects.toThrow(
        /answers the probe differently from when it was registered \(cosine -?0\.\d+; versions then: 1, now: 1\); register it again under a new id$/
      )
    } finally {
      server.options.fault = 'none'
      await other.close()
    }
  })

  it('says a remote engine has no weights when a white-box use asks for them', () => {
    expect(() => wb.registry.readModel(wb.registry.get('remote-json'))).toThrow(/'remote-json' is a remote engine \(http:.*\): it has no model file/)
  })

  it.skipIf(!prior)('reconstructs a template of the remote encoder as a black-box target, every query counted by the server', async () => {
    const target = (await wb.models.register(null, remoteManifest(server, 'remote-target', { binary: true }), { verify: false })).entry
    const [template] = await encodeAlignedFaces(wb.engine, await wb.loader.prepare('remote-target'), faces.slice(0, 1))
    const samples = server.stats.samples
    const result = await wb.runs.invert({
      template: { vector: Array.from(template), encoderId: 'remote-target', encoderSha256: target.manifest.sha256 },
      method: 'ga',
      parameters: { population: 24, threads: 1, budget: 120, patience: 50 },
      seed: 3
    })
    expect(result.queries).toBeGreaterThan(60)
    expect(result.queries).toBeLessThanOrEqual(120)
    // The search's queries, then one image for scoring under each remote encoder this server serves.
    const remotes = wb.models.list().filter((m) => m.manifest.remote?.url === server.url).length
    expect(server.stats.samples - samples).toBe(result.queries + remotes)
    expect(result.modelSha256s.target).toBe(target.manifest.sha256)
    expect(result.models.target).toEqual({
      id: 'remote-target',
      sha256: target.manifest.sha256,
      remote: { url: server.url, model: server.model, version: null, versions: ['1'] }
    })
    expect(result.scores.find((s) => s.encoderId === 'remote-target')!.target).toBeCloseTo(result.similarity, 4)
    // Another registration of the same served model has the same fingerprint: it scores the target alike.
    expect(result.scores.find((s) => s.encoderId === 'remote-json')!.target).toBeCloseTo(result.similarity, 4)
    console.log(
      `remote black-box GA: similarity ${result.similarity.toFixed(3)} after ${result.queries} queries (first generation mean ${result.trace[0].mean.toFixed(3)})`
    )
    // The search gets closer than its random first generation did.
    expect(result.similarity).toBeGreaterThan(result.trace[0].mean + 0.1)
    expect(result.similarity).toBeGreaterThan(0.25)
  })
})

const built = existsSync(join(ROOT, 'out/cli/index.js'))
if (!built) console.log('SKIP remote-engine CLI test: out/cli is not built (npm run build)')

describe.skipIf(!built)('unveil models add-remote', () => {
  const home = mkdtempSync(join(tmpdir(), 'unveil-cli-remote-'))
  // Asynchronous: the server answering the CLI runs in this process.
  const unveil = (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
    new Promise((resolve) => {
      execFile(
        process.execPath,
        [join(ROOT, 'bin/unveil.js'), ...args],
        { encoding: 'utf8', env: { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu' } },
        (err, out, errText) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out, err: errText })
      )
    })

  it('registers a remote encoder from a manifest, lists it, and refuses a server that does not answer', async () => {
    const server = await startKserveServer()
    try {
      const file = join(home, 'remote.json')
      writeFileSync(file, JSON.stringify(remoteManifest(server, 'cli-remote', { binary: true })))
      const added = await unveil('models', 'add-remote', '--manifest', file, '--no-verify')
      expect(added.code, added.err).toBe(0)
      expect(added.out).toMatch(/^registered cli-remote \(encoder, remote http:\/\/127\.0\.0\.1:\d+\/v2\/models\/fr-feature, probe fingerprint [0-9a-f]{64}\)/)
      const list = await unveil('models', 'list')
      expect(list.out).toMatch(/cli-remote +encoder +512-d +sha256 [0-9a-f]{16}… +remote http:\/\/127\.0\.0\.1:\d+\/v2\/models\/fr-feature/)
      const gone = await unveil('models', 'unregister', '--model', 'cli-remote')
      expect(gone.code, gone.err).toBe(0)
      expect((await unveil('models', 'list')).out).not.toContain('cli-remote')
      writeFileSync(file, JSON.stringify(remoteManifest({ url: await unreachableUrl(), model: 'm' }, 'cli-down', { retries: 0 })))
      const down = await unveil('models', 'add-remote', '--manifest', file, '--no-verify')
      expect(down.code).not.toBe(0)
      expect(down.err.trim().split('\n')).toHaveLength(1)
      expect(down.err).toMatch(/remote engine 'cli-down' at .* is unreachable \(ECONNREFUSED\) \(1 attempt\); nothing was registered/)
    } finally {
      await server.close()
    }
  })
})
