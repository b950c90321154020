// Search-pipeline throughput: generator + target encoder evaluations per second through the
// GA's own code path, before (patch without graph rewrites: generateFaces, then the oracle on
// the images) and after (graph rewrites, generator and encoder merged into one graph, the
// oracle on latents), against a PyTorch eager reference of the same models in the same run,
// interleaved, as a share of the machine's measured fp32 peak. Then ORT op profiles before and
// after, the session settings, and the paper-budget GA run's wall time before and after.
// `npm run bench -- pipeline`; BENCH_REPEATS (default 3), BENCH_GA_GENERATIONS (default 1000).
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { InferenceEngine, type EngineOptions } from '../src/core/engine/inference-engine'
import { ModelRegistry } from '../src/core/models/model-registry'
import { ModelLoader, type FusedPipeline, type PreparedModel } from '../src/core/models/model-loader'
import { OnnxGraphBuilder } from '../src/core/models/onnx-builder'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { patchModel } from '../src/core/models/onnx-patch'
import type { PreluForm } from '../src/core/models/graph-rewrites'
import { generateFaces } from '../src/core/models/face-generator'
import { TemplateOracle } from '../src/core/methods/template-oracle'
import { GA_DEFAULTS, gaSearch, randomLatent } from '../src/core/methods/ga-search'
import { alignPhotos } from '../src/core/faces/aligned-faces'
import { encodeAlignedFaces } from '../src/core/faces/face-encoder'
import { sampleImagePaths } from '../src/core/env/sample-images'
import { SeededRandom } from '../src/core/random/seeded-random'
import { resolveDataDir } from '../src/core/env/data-dir'
import { machineLine, markdownTable, median } from './bench-support'

const REPEATS = Number(process.env.BENCH_REPEATS ?? 3)
const PYTHON = process.env.BENCH_PYTHON ?? 'python3'
/**
 * Optional restriction for short runs under load: BENCH_BATCHES=16,64; BENCH_SECTIONS=profile
 * (skips PRelu forms and session settings) or BENCH_SECTIONS=ga (the paper-budget GA run only).
 */
const BATCHES = process.env.BENCH_BATCHES?.split(',').map(Number)
const ALL_SECTIONS = process.env.BENCH_SECTIONS === undefined
const GA_ONLY = process.env.BENCH_SECTIONS === 'ga'
/** The paper's GA budget is up to 1000 generations per thread; a smaller cap gives a short run. */
const GA_GENERATIONS = Number(process.env.BENCH_GA_GENERATIONS ?? GA_DEFAULTS.generations)

/** The previous release's engine and loader settings (the "before" of every section). */
const BEFORE_ENGINE: EngineOptions = { providers: ['cpu'], spinning: true, dataParallel: 'off' }

/** The PyTorch reference (bench/torch_reference.py), one JSON request per line. */
class TorchReference {
  private readonly proc: ChildProcessWithoutNullStreams
  private readonly replies: ((v: Record<string, number>) => void)[] = []

  constructor() {
    this.proc = spawn(PYTHON, [resolve('bench/torch_reference.py')], { stdio: ['pipe', 'pipe', 'pipe'] })
    createInterface({ input: this.proc.stdout }).on('line', (line) => this.replies.shift()?.(JSON.parse(line)))
    this.proc.stderr.on('data', () => {})
  }

  static available(): boolean {
    try {
      execFileSync(PYTHON, ['-c', 'import torch, onnx, onnxruntime'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  }

  request(req: Record<string, unknown>): Promise<Record<string, number>> {
    return new Promise((res) => {
      this.replies.push(res)
      this.proc.stdin.write(`${JSON.stringify(req)}\n`)
    })
  }

  close(): void {
    this.proc.stdin.end()
  }
}

/** FMA probe (bench/probe/fma-peak.c, 12 independent AVX2 FMA chains per thread), GFLOP/s. */
function fmaPeak(threads: number): number | null {
  try {
    const bin = join(mkdtempSync(join(tmpdir(), 'unveil-fma-')), 'fma-peak')
    execFileSync('cc', ['-O2', '-mavx2', '-mfma', '-pthread', resolve('bench/probe/fma-peak.c'), '-o', bin], { stdio: 'ignore' })
    return Number(execFileSync(bin, [String(threads), '1'], { encoding: 'utf8' }).trim())
  } catch {
    return null
  }
}

async function ortSgemm(): Promise<number> {
  const engine = new InferenceEngine({ providers: ['cpu'] })
  const n = 1536
  const g = new OnnxGraphBuilder()
  g.input('a', [n, n])
  g.input('b', [n, n])
  g.node('MatMul', ['a', 'b'], {}, 'c')
  g.output('c', [n, n])
  await engine.load('sgemm', g.build('sgemm'))
  const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7) % 13) / 13)
  let best = 0
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now()
    await engine.run('sgemm', { a: { data: a.slice(), dims: [n, n] }, b: { data: a.slice(), dims: [n, n] } })
    best = Math.max(best, (2 * n ** 3) / ((performance.now() - t0) / 1000) / 1e9)
  }
  await engine.close()
  return best
}

interface Side {
  engine: InferenceEngine
  loader: ModelLoader
}

interface Pair {
  label: string
  generatorId: string
  encoderId: string
  batches: number[]
  gflop: number
  before: { generator: PreparedModel; encoder: PreparedModel }
  after: FusedPipeline | { generator: PreparedModel; encoder: PreparedModel }
  oneSession: FusedPipeline | { generator: PreparedModel; encoder: PreparedModel }
  torchId: string | null
}

async function timeNode(engine: InferenceEngine, p: Pair['before'] | FusedPipeline, batch: number, latents: Float32Array[]): Promise<number> {
  const oracle = new TemplateOracle(engine, p.encoder)
  if ('key' in p) oracle.acceptLatentsOf(p)
  const t0 = performance.now()
  for (let i = 0; i < latents.length; i += batch) {
    const chunk = latents.slice(i, i + batch)
    if (oracle.acceptsLatents) await oracle.templatesOfLatents(chunk, undefined, batch)
    else await oracle.templates(await generateFaces(engine, p.generator, chunk), undefined, batch)
  }
  return (performance.now() - t0) / latents.length
}

/** ORT profile (JSON trace) aggregated by op type: ms per evaluation and share of kernel time. */
function aggregateProfile(dir: string, evaluations: number): Map<string, number> {
  const byOp = new Map<string, number>()
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const events = JSON.parse(readFileSync(join(dir, f), 'utf8')) as { cat: string; name: string; dur: number; args?: { op_name?: string } }[]
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name) continue
      // Nodes the rewrites introduced carry '__rw' in their names (graph-rewrites.ts).
      const op = e.args.op_name === 'Conv' && e.name.includes('__rw') ? 'Conv (depthwise 1x1 from the PRelu rewrite)' : e.args.op_name
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur / 1000 / evaluations)
    }
  }
  return byOp
}

async function profile(registry: ModelRegistry, generatorId: string, fused: boolean, rewrites: boolean, batch: number, runs: number): Promise<Map<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'unveil-prof-'))
  // One session, so every kernel is in its trace (the lanes are other workers).
  const engine = new InferenceEngine({ providers: ['cpu'], profilePrefix: join(dir, 'ort'), dataParallel: 'off' })
  const loader = new ModelLoader(engine, registry, { rewrites: rewrites ? undefined : false, fuse: fused })
  const rng = new SeededRandom(5)
  const latents = Array.from({ length: batch * runs }, () => randomLatent(128, rng))
  if (fused) {
    const p = (await loader.prepareFused(generatorId, DEFAULT_ENCODER_ID))!
    await timeNode(engine, p, batch, latents)
  } else {
    const before = { generator: await loader.prepare(generatorId), encoder: await loader.prepare(DEFAULT_ENCODER_ID) }
    await timeNode(engine, before, batch, latents)
  }
  await engine.close() // releases (and so ends profiling of) every session
  return aggregateProfile(dir, latents.length)
}

export async function pipelineThroughput(): Promise<string> {
  const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-bench-')))
  const dataDir = resolveDataDir()
  const shared: [string, string][] = []
  if (dataDir) {
    for (const [file, manifest] of [['mobilefacenet-foamliu.onnx', 'mobilefacenet-foamliu.json'], ['mobileface-v2.onnx', 'mobileface-v2.json']]) {
      const path = join(dataDir, 'models', 'encoders', file)
      if (!existsSync(path)) continue
      const m = JSON.parse(readFileSync(resolve('resources/manifests', manifest), 'utf8'))
      const prepared = registry.prepareRegistration(path, m)
      registry.commitRegistration(prepared.manifest, path)
      shared.push([prepared.manifest.id, path])
    }
  }
  const lines: string[] = ['### Search pipeline throughput (generator + encoder), before and after the graph rewrites (issue 10)', '', machineLine()]
  if (GA_ONLY) return [...lines, '', await paperBudgetGa(registry)].join('\n')
  const torch = TorchReference.available() ? new TorchReference() : null

  // Peak: the best of an FMA probe, PyTorch's (MKL) sgemm and ONNX Runtime's MatMul, all 2 threads.
  const fma = fmaPeak(2)
  const torchPeak = torch ? (await torch.request({ cmd: 'peak' })).gflops : null
  const ortPeak = await ortSgemm()
  const peak = Math.max(fma ?? 0, torchPeak ?? 0, ortPeak)
  lines.push(
    `Measured fp32 peak, 2 threads, in this run: FMA probe (bench/probe/fma-peak.c) ${fma?.toFixed(0) ?? 'n/a (no C compiler)'} GFLOP/s, ` +
      `PyTorch sgemm (best of 1024-4096³) ${torchPeak?.toFixed(0) ?? 'n/a'} GFLOP/s, ONNX Runtime MatMul 1536³ ${ortPeak.toFixed(0)} GFLOP/s; ` +
      `the percentages use the highest, **${peak.toFixed(0)} GFLOP/s**. GFLOP per evaluation counted from each graph (2 per multiply-add in Conv, ConvTranspose, MatMul, Gemm).`,
    ''
  )

  // Quick node-only sections first (printed to stderr as they finish, so a cut-off run keeps them).
  const extra: string[] = []
  // Op profiles: ORT kernel time per evaluation by op type, each generator + fr_feature, batch 16.
  // 16 runs of 16: the loaders' few 2-sample trial runs, profiled too, stay under 3% of the total.
  for (const generatorId of ['eigenface-celeba-utk-128', 'dcgan-celeba-utk-64']) {
    const [pb, pa] = [await profile(registry, generatorId, false, false, 16, 16), await profile(registry, generatorId, true, true, 16, 16)]
    const ops = [...new Set([...pb.keys(), ...pa.keys()])].sort((x, y) => (pb.get(y) ?? 0) + (pa.get(y) ?? 0) - (pb.get(x) ?? 0) - (pa.get(x) ?? 0))
    const sum = (m: Map<string, number>): number => [...m.values()].reduce((acc, v) => acc + v, 0)
    const [tb, ta] = [sum(pb), sum(pa)]
    const cell = (m: Map<string, number>, op: string, tot: number): string => (m.has(op) ? `${m.get(op)!.toFixed(3)} (${((m.get(op)! / tot) * 100).toFixed(0)}%)` : '—')
    extra.push(
      `#### ONNX Runtime op profile (${generatorId.split('-')[0]} + fr_feature, batch 16, one session, kernel ms per evaluation by op type)`,
      '',
      markdownTable(['op type (after ORT fusion)', 'before', 'after'], [...ops.map((op) => [op, cell(pb, op, tb), cell(pa, op, ta)]), ['**total kernel time**', tb.toFixed(3), ta.toFixed(3)]]),
      ''
    )
  }
  if (ALL_SECTIONS) extra.push(await preluForms(registry), '', await sessionSettings(registry))
  console.error(extra.join('\n'))

  // Before = the previous release: no rewrites, no merged graph, thread spinning on.
  const before: Side = { engine: new InferenceEngine(BEFORE_ENGINE), loader: null as unknown as ModelLoader }
  before.loader = new ModelLoader(before.engine, registry, { rewrites: false, fuse: false })
  const after: Side = { engine: new InferenceEngine({ providers: ['cpu'] }), loader: null as unknown as ModelLoader }
  after.loader = new ModelLoader(after.engine, registry, {})
  // This release's graphs on one session only (UNVEIL_DATA_PARALLEL=off): the rewrites' share.
  const oneSession: Side = { engine: new InferenceEngine({ providers: ['cpu'], dataParallel: 'off' }), loader: null as unknown as ModelLoader }
  oneSession.loader = new ModelLoader(oneSession.engine, registry, {})

  const specs: [string, string, number[]][] = [
    ['eigenface-celeba-utk-128', DEFAULT_ENCODER_ID, [1, 16, 64, 256]],
    ['dcgan-celeba-utk-64', DEFAULT_ENCODER_ID, [1, 16, 64, 256]],
    ...shared.map(([id]): [string, string, number[]] => ['eigenface-celeba-utk-128', id, [16, 64]])
  ]
  const pairs: Pair[] = []
  const parity: string[] = []
  for (const [generatorId, encoderId, batches] of specs) {
    const g = registry.get(generatorId)
    const e = registry.get(encoderId)
    const fused = await after.loader.prepareFused(generatorId, encoderId)
    const afterSide = fused ?? { generator: await after.loader.prepare(generatorId), encoder: await after.loader.prepare(encoderId) }
    const oneFused = await oneSession.loader.prepareFused(generatorId, encoderId)
    const oneSide = oneFused ?? { generator: await oneSession.loader.prepare(generatorId), encoder: await oneSession.loader.prepare(encoderId) }
    let gflop = 0
    let torchId: string | null = null
    if (torch) {
      gflop = (await torch.request({ cmd: 'gflop', path: g.path })).gflop + (await torch.request({ cmd: 'gflop', path: e.path })).gflop
      torchId = `${generatorId}+${encoderId}`
      const r = await torch.request({ cmd: 'load', id: torchId, generator: g.path, encoder: e.path, norm: e.manifest.input.normalisation, bgr: e.manifest.input.colorOrder === 'BGR' })
      parity.push(`${torchId}: min cosine PyTorch vs onnxruntime ${r.parity.toFixed(6)}`)
    }
    pairs.push({
      label: `${generatorId.split('-')[0]} + ${encoderId}${fused ? '' : ' (not merged)'}`,
      generatorId,
      encoderId,
      batches,
      gflop,
      before: { generator: await before.loader.prepare(generatorId), encoder: await before.loader.prepare(encoderId) },
      after: afterSide,
      oneSession: oneSide,
      torchId
    })
  }

  const rows: string[][] = []
  for (const pair of pairs) {
    for (const batch of pair.batches.filter((b) => !BATCHES || BATCHES.includes(b))) {
      const total = Math.max(64, batch)
      const rng = new SeededRandom(1)
      const latents = Array.from({ length: total }, () => randomLatent(128, rng))
      const t = { before: [] as number[], one: [] as number[], after: [] as number[], torch: [] as number[] }
      // Round 0 warms up (the after side's schedule calibration takes its first 4 calls, as at
      // the start of a search); then before / one session / after / PyTorch in turn, so load
      // hits them alike.
      for (let rep = 0; rep <= REPEATS; rep++) {
        const b = await timeNode(before.engine, pair.before, batch, latents)
        const o = await timeNode(oneSession.engine, pair.oneSession, batch, latents)
        if (rep === 0) for (let w = 0; w < 3; w++) await timeNode(after.engine, pair.after, batch, latents)
        const a = await timeNode(after.engine, pair.after, batch, latents)
        const p = torch && pair.torchId ? (await torch.request({ cmd: 'time', id: pair.torchId, batch, total })).ms : NaN
        if (rep === 0) continue
        t.before.push(b)
        t.one.push(o)
        t.after.push(a)
        t.torch.push(p)
      }
      const [bs, os, as, ps] = [t.before, t.one, t.after, t.torch].map((x) => 1000 / median(x))
      console.error(`pipeline: ${pair.label} batch ${batch}: before ${bs.toFixed(0)}/s, one session ${os.toFixed(0)}/s, after ${as.toFixed(0)}/s, PyTorch ${ps.toFixed(0)}/s`)
      const gf = as * pair.gflop
      rows.push([
        pair.label, String(batch), bs.toFixed(0), os.toFixed(0), as.toFixed(0), Number.isNaN(ps) ? '—' : ps.toFixed(0), (as / bs).toFixed(2) + 'x',
        Number.isNaN(ps) ? '—' : (as / ps).toFixed(2) + 'x', pair.gflop ? gf.toFixed(0) : '—', pair.gflop ? `${((gf / peak) * 100).toFixed(0)}%` : '—'
      ])
    }
  }
  const schedules = after.engine.scheduleState().map((st) => {
    const per = (v: number | null): string => (v === null ? '—' : `${(1000 / v).toFixed(0)}/s`)
    return `${st.bucket.replace(/^fused:(\w{8})\w*\+(\w{8})\w*/, '$1+$2')}: ${st.choice} (intra ${per(st.intraMsPerSample)}, lanes ${per(st.lanesMsPerSample)}, ${st.calls} calls)`
  })
  await before.engine.close()
  await oneSession.engine.close()
  await after.engine.close()
  torch?.close()
  lines.push(
    `Evaluations/s (median of ${REPEATS} interleaved repeats after a warm-up; ${'`max(64, batch)`'} evaluations each). ` +
      'Before: the previous release (patch without graph rewrites; generator, then the encoder on host-normalised images; ORT thread spinning on). ' +
      'One session: this release\'s graphs (rewrites, generator + encoder merged, spinning off) on one 2-thread session (UNVEIL_DATA_PARALLEL=off). ' +
      'After: this release\'s defaults, the same graphs with the measured schedule choice (one 2-thread session, or two 1-thread worker lanes taking chunks of each call). ' +
      'PyTorch: eager, torch.inference_mode, channels_last, 2 threads, denormals flushed, same ONNX weights (bench/torch_reference.py).',
    '',
    markdownTable(['generator + encoder', 'batch', 'before / s', 'one session / s', 'after / s', 'PyTorch / s', 'after / before', 'after / PyTorch', 'after GFLOP/s', 'after, of peak'], rows),
    '',
    `Schedules the after engine chose (model bucket @ call size: choice, its running estimates, calls): ${schedules.join('; ')}.`,
    '',
    ...(parity.length ? ['Same models in PyTorch: ' + parity.join('; ') + '.', ''] : [])
  )

  const ga = await paperBudgetGa(registry)
  console.error(ga)
  lines.push(...extra, ga)
  return lines.join('\n')
}

/** fr_feature alone, batch 16: the PRelu rewrite's forms against the unrewritten graph. */
async function preluForms(registry: ModelRegistry): Promise<string> {
  const original = registry.readModel(registry.get(DEFAULT_ENCODER_ID))
  const engine = new InferenceEngine({ providers: ['cpu'] })
  const forms: (PreluForm | 'none')[] = ['none', 'relu-neg', 'neg-sum', 'bn-sum', 'mul-add']
  for (const f of forms) {
    const rewrites = f === 'none' ? false : { enabled: new Set(['prelu'] as const), preluForm: f }
    await engine.load(f, patchModel(original, f, { rewrites }).bytes)
  }
  const samples = Array.from({ length: 64 }, (_, s) => Float32Array.from({ length: 3 * 112 * 112 }, (_, i) => Math.sin(i * 0.37 + s) * 0.9))
  const times = new Map<string, number[]>(forms.map((f) => [f, []]))
  for (let rep = 0; rep <= REPEATS + 2; rep++) {
    for (const f of forms) {
      const t0 = performance.now()
      await engine.runBatched(f, { name: 'input', sampleDims: [3, 112, 112], samples }, 'output', { maxBatch: 16 })
      if (rep > 0) times.get(f)!.push((performance.now() - t0) / samples.length)
    }
  }
  await engine.close()
  const base = 1000 / median(times.get('none')!)
  const label: Record<string, string> = {
    none: 'PRelu (no rewrite)',
    'relu-neg': 'relu-neg: Relu(y) + BN(Relu(BN(y, -1)), -a) (bit-exact)',
    'neg-sum': 'neg-sum: y + BN(Relu(BN(y, -1)), 1-a)',
    'bn-sum': 'bn-sum: BN(Relu(y), 1-a) + BN(y, a)',
    'mul-add': 'mul-add: Relu(y)·(1-a) + y·a'
  }
  const rows = forms.map((f) => {
    const r = 1000 / median(times.get(f)!)
    return [label[f], r.toFixed(0), `${(r / base).toFixed(2)}x`]
  })
  return ['#### PRelu forms (fr_feature alone, batch 16, interleaved)', '', markdownTable(['PRelu expressed as', 'faces / s', 'vs PRelu'], rows)].join('\n')
}

/** Session and scheduling variants on the merged eigenface + fr_feature graph, batch 64. */
async function sessionSettings(registry: ModelRegistry): Promise<string> {
  const one = { dataParallel: 'off' } as const
  const variants: [string, EngineOptions, number][] = [
    ['one session: level all, spinning off, 2 intra-op threads (ORT picks), 1 inter-op, arena on', one, 1],
    ['thread spinning on (ORT default; the previous Unveil default)', { ...one, spinning: true }, 1],
    ['graph optimisation "extended" (no NCHWc layout)', { ...one, graphOptimizationLevel: 'extended' }, 1],
    ['graph optimisation "basic"', { ...one, graphOptimizationLevel: 'basic' }, 1],
    ['1 intra-op thread', { ...one, threads: 1 }, 1],
    ['2 inter-op threads (parallel executor)', { ...one, interOpThreads: 2 }, 1],
    ['memory arena off', { ...one, memArena: false }, 1],
    ['two 1-thread sessions (workers), half batch each, in parallel', { ...one, threads: 1 }, 2],
    ['two 1-thread worker lanes taking chunks (UNVEIL_DATA_PARALLEL=on)', { dataParallel: 'on' }, 1],
    ['Unveil default: the measured choice of the two (UNVEIL_DATA_PARALLEL=auto)', {}, 1]
  ]
  const batch = 64
  const rng = new SeededRandom(3)
  const latents = Array.from({ length: 128 }, () => randomLatent(128, rng))
  const sides = []
  for (const [label, options, copies] of variants) {
    const engines = Array.from({ length: copies }, () => new InferenceEngine({ providers: ['cpu'], ...options }))
    const pipes = await Promise.all(engines.map((e) => new ModelLoader(e, registry).prepareFused('eigenface-celeba-utk-128', DEFAULT_ENCODER_ID)))
    sides.push({ label, engines, pipes: pipes.map((p) => p!), times: [] as number[] })
  }
  // The auto side calibrates in its first 4 calls (2 per timeNode at batch 64 here).
  for (const s of sides) for (let w = 0; w < 2; w++) await timeNode(s.engines[0], s.pipes[0], batch, latents)
  for (let rep = 0; rep <= REPEATS; rep++) {
    for (const s of sides) {
      const t0 = performance.now()
      if (s.engines.length === 1) {
        await timeNode(s.engines[0], s.pipes[0], batch, latents)
      } else {
        const half = Math.ceil(latents.length / s.engines.length)
        await Promise.all(s.engines.map((e, i) => timeNode(e, s.pipes[i], Math.ceil(batch / s.engines.length), latents.slice(i * half, (i + 1) * half))))
      }
      if (rep > 0) s.times.push((performance.now() - t0) / latents.length)
    }
  }
  const base = 1000 / median(sides[0].times)
  const rows = sides.map((s) => {
    const r = 1000 / median(s.times)
    return [s.label, r.toFixed(0), `${(r / base).toFixed(2)}x`]
  })
  for (const s of sides) for (const e of s.engines) await e.close()
  return [
    '#### Session settings (merged eigenface + fr_feature graph, batch 64, interleaved)',
    '',
    markdownTable(['ONNX Runtime session', 'evaluations / s', 'vs default'], rows)
  ].join('\n')
}


/**
 * The paper-budget GA run (GA_DEFAULTS: population 256, 3 threads, up to 1000 generations,
 * patience 20) on one real target, through the search's own code path, before and after.
 */
async function paperBudgetGa(registry: ModelRegistry): Promise<string> {
  const params = { ...GA_DEFAULTS, generations: GA_GENERATIONS }
  const rows: string[][] = []
  let target: Float32Array | null = null
  const sides: [string, EngineOptions, { rewrites?: false; fuse?: boolean }][] = [
    ['before (previous release)', BEFORE_ENGINE, { rewrites: false, fuse: false }],
    ['after (this release\'s defaults)', { providers: ['cpu'] }, {}]
  ]
  for (const [label, engineOptions, loaderOptions] of sides) {
    const engine = new InferenceEngine(engineOptions)
    const loader = new ModelLoader(engine, registry, loaderOptions)
    const encoder = await loader.prepare(DEFAULT_ENCODER_ID)
    if (!target) {
      // The first bundled sample photo, detected, aligned and encoded: a real face as the target.
      const [detector, landmarker] = await Promise.all([loader.prepare('faceplugin-fr-detect'), loader.prepare('faceplugin-fr-landmark')])
      const { faces } = await alignPhotos(engine, detector, landmarker, encoder.entry.manifest, sampleImagePaths().slice(0, 1))
      target = (await encodeAlignedFaces(engine, encoder, faces))[0]
    }
    const generator = await loader.prepare('eigenface-celeba-utk-128')
    const oracle = new TemplateOracle(engine, encoder)
    oracle.acceptLatentsOf(await loader.prepareFused('eigenface-celeba-utk-128', DEFAULT_ENCODER_ID))
    const t0 = performance.now()
    // A full-budget run takes many minutes: a line every 50 generations says where it is.
    const onGeneration = (r: { thread: number; generation: number; best: number; queries: number; seconds: number }): void => {
      if (r.generation % 50 === 0) console.error(`pipeline: GA ${label}: thread ${r.thread} generation ${r.generation}, best ${r.best.toFixed(4)}, ${r.queries} queries, ${r.seconds.toFixed(0)} s`)
    }
    const out = await gaSearch({ generate: (z, signal) => generateFaces(engine, generator, z, signal), oracle, target, latentDim: 128, seed: 11, onGeneration }, params)
    const seconds = (performance.now() - t0) / 1000
    await engine.close()
    const generations = out.trace.length
    console.error(`pipeline: GA ${label}: ${seconds.toFixed(0)} s, ${out.queries} queries, ${generations} generations`)
    rows.push([label, seconds.toFixed(1), String(out.queries), String(generations), out.stoppedBy.join(', '), (out.queries / seconds).toFixed(0), out.similarity.toFixed(4)])
  }
  const ratio = Number(rows[0][1]) / Number(rows[1][1])
  return [
    `#### Paper-budget GA run (population ${params.population}, ${params.threads} threads, up to ${params.generations} generations, patience ${params.patience}; eigenface + fr_feature, seed 11)`,
    '',
    markdownTable(['engine', 'wall s', 'queries', 'generations (all threads)', 'threads stopped by', 'queries / s', 'best cosine'], rows),
    '',
    `Wall time before / after: ${ratio.toFixed(2)}x. The two runs share the seed; their trajectories may part where a rewrite changes float rounding.`
  ].join('\n')
}
