// Per-query overhead of a remote encoder (KServe v2 over loopback HTTP) against the same encoder
// run locally, at batch 1, 16 and 64. The loopback server (tests/helpers/kserve-server.ts) runs
// each request on the very engine session the local variant uses, so the difference is the
// protocol alone: tensor serialisation (JSON numbers or the binary extension), HTTP, parsing and
// checks. Variants are interleaved and repeated; medians are reported.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../src/core/workbench/workbench'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import type { PreparedModel } from '../src/core/models/model-loader'
import { remoteManifest, startKserveServer } from '../tests/helpers/kserve-server'
import { machineLine, markdownTable, median } from './bench-support'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 5)
const FACES = 64
const BATCHES = [1, 16, 64]

export async function remoteEngine(): Promise<string> {
  // One schedule for both sides: the server's requests run as single engine calls, never on lanes.
  process.env.UNVEIL_DATA_PARALLEL = 'off'
  process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')
  const wb = await Workbench.open({
    libraryDir: mkdtempSync(join(tmpdir(), 'unveil-bench-lib-')),
    caseRoot: mkdtempSync(join(tmpdir(), 'unveil-bench-cases-')),
    providers: ['cpu']
  })
  const local = await wb.loader.prepare(DEFAULT_ENCODER_ID)
  const server = await startKserveServer({
    infer: async (data, dims) => (await wb.engine.run(local.key, { input: { data, dims } }, { outputs: ['output'] })).outputs.output.data
  })
  try {
    await wb.models.register(null, remoteManifest(server, 'bench-json', { maxBatch: 64 }), { verify: false })
    await wb.models.register(null, remoteManifest(server, 'bench-binary', { binary: true, maxBatch: 64 }), { verify: false })
    const variants: { label: string; model: PreparedModel }[] = [
      { label: 'local (worker thread, ONNX Runtime)', model: local },
      { label: 'remote, JSON tensors', model: await wb.loader.prepare('bench-json') },
      { label: 'remote, binary tensor extension', model: await wb.loader.prepare('bench-binary') }
    ]
    const samples = Array.from({ length: FACES }, (_, s) => Float32Array.from({ length: 3 * 112 * 112 }, (_, i) => Math.sin(i * 0.37 + s) * 0.9))
    const input = { name: 'input', sampleDims: [3, 112, 112], samples }
    // Wall time, and CPU time of the whole process (client, server, engine threads): on a shared
    // machine the CPU time is the steadier measure of the protocol's cost.
    const wall = new Map<string, number[]>()
    const cpu = new Map<string, number[]>()
    const push = (m: Map<string, number[]>, key: string, v: number): void => void m.set(key, [...(m.get(key) ?? []), v])
    for (let rep = 0; rep <= REPEATS; rep++) {
      for (const batch of BATCHES) {
        for (const v of variants) {
          const t0 = performance.now()
          const c0 = process.cpuUsage()
          await wb.engine.runBatched(v.model.key, input, 'output', { maxBatch: batch })
          const c = process.cpuUsage(c0)
          if (rep === 0) continue // warm-up round
          push(wall, `${v.label}|${batch}`, (performance.now() - t0) / FACES)
          push(cpu, `${v.label}|${batch}`, (c.user + c.system) / 1000 / FACES)
        }
      }
    }
    const rows = BATCHES.flatMap((batch) => {
      const at = (m: Map<string, number[]>, v: { label: string }): number => median(m.get(`${v.label}|${batch}`)!)
      return variants.map((v) => {
        const extra = (m: Map<string, number[]>): string => (v === variants[0] ? '—' : `${(at(m, v) - at(m, variants[0])).toFixed(2)}`)
        return [v.label, String(batch), at(wall, v).toFixed(2), extra(wall), at(cpu, v).toFixed(2), extra(cpu)]
      })
    })
    return [
      '### Remote encoder (KServe v2, loopback) vs local: per-query overhead',
      '',
      machineLine(),
      `${FACES} faces per measurement, median of ${REPEATS} interleaved repeats; the bundled encoder (${DEFAULT_ENCODER_ID}) on the ONNX Runtime CPU provider, default threads, worker lanes off on both sides.`,
      'The loopback server runs in the benchmark process on the same engine session, so "overhead" is the protocol: serialising, HTTP, parsing, checks (both ends on this machine).',
      '',
      markdownTable(['encoder as reached', 'batch', 'wall ms / query', 'wall overhead', 'CPU ms / query', 'CPU overhead'], rows)
    ].join('\n')
  } finally {
    await server.close()
    await wb.close()
  }
}
