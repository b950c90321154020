// ALSUV ("Face Reconstruction Transfer Attack as Out-of-Distribution Generalization", ECCV 2024):
// many latents optimised by Adam on −cosine through the seen encoder, each latent averaged over
// the last steps of its trajectory, and the final pick made by a validation encoder (pseudo target
// = mean feature of the seen encoder's top k). White-box: exact gradients from one derived ONNX
// graph per step (core/autodiff). Black-box (`gradients: zo`): gradients estimated from template
// queries through the TemplateOracle with antithetic random directions, every query counted.
import type { LatentSimilaritiesDetail, MethodInfo } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { deriveSearchPipeline, LATENT, TARGET, withFixedBatch, type SearchPipelineGraph } from '../autodiff/search-pipeline'
import { RULESET_VERSION } from '../autodiff/rules'
import { cosine } from '../templates/vector-math'
import { generateFaces } from '../models/face-generator'
import type { GenerationRecord } from './ga-search'
import { DEFAULT_GENERATOR_ID } from './latent-search-setup'
import type { MethodContext, MethodOutput, ReconstructionMethod } from './reconstruction-method'
import { SeededRandom } from '../random/seeded-random'
import { QueryBudgetExceeded, TemplateOracle } from './template-oracle'
import type { PreparedModel } from '../models/model-loader'

/** The reference code's settings (jungyg/ALSUV). */
export const ALSUV_DEFAULTS = {
  latents: 100,
  steps: 100,
  lr: 0.1,
  weightDecay: 5e-4,
  decayAfter: 50,
  avgWindow: 70,
  topK: 10,
  validation: 1,
  flip: 0,
  gradients: 'exact',
  queriesPerStep: 20,
  zoStep: 0.1,
  budget: 0
} as const

const ON_OFF = [
  { value: 1, label: 'on' },
  { value: 0, label: 'off' }
]

const info: MethodInfo = {
  id: 'alsuv',
  name: 'ALSUV transfer attack',
  description: 'Many latents optimised by gradient descent through the seen encoder, averaged over their trajectories, and picked by a validation encoder so the face transfers to unseen engines (ECCV 2024).',
  parameters: [
    { key: 'generator', label: 'Generator', type: 'model', role: 'generator', default: DEFAULT_GENERATOR_ID },
    { key: 'validationEncoder', label: 'Validation encoder', type: 'model', role: 'encoder', default: '', help: 'Empty: the first registered encoder other than the seen one.' },
    { key: 'latents', label: 'Latents', type: 'integer', default: ALSUV_DEFAULTS.latents, min: 1, max: 1000 },
    { key: 'steps', label: 'Adam steps', type: 'integer', default: ALSUV_DEFAULTS.steps, min: 1, max: 100000 },
    { key: 'lr', label: 'Learning rate', type: 'number', default: ALSUV_DEFAULTS.lr, min: 1e-6, max: 10 },
    { key: 'weightDecay', label: 'Weight decay', type: 'number', default: ALSUV_DEFAULTS.weightDecay, min: 0, max: 1 },
    { key: 'decayAfter', label: 'lr × 0.1 after step', type: 'integer', default: ALSUV_DEFAULTS.decayAfter, min: 0, max: 100000 },
    { key: 'avgWindow', label: 'Average the last K post-step latents (0 = off)', type: 'integer', default: ALSUV_DEFAULTS.avgWindow, min: 0, max: 100000 },
    { key: 'topK', label: 'Validation: top k by the seen encoder', type: 'integer', default: ALSUV_DEFAULTS.topK, min: 1, max: 1000 },
    { key: 'validation', label: 'Validation pick', type: 'integer', default: ALSUV_DEFAULTS.validation, min: 0, max: 1, choices: ON_OFF },
    { key: 'flip', label: 'Flip-averaged embedding', type: 'integer', default: ALSUV_DEFAULTS.flip, min: 0, max: 1, choices: ON_OFF },
    { key: 'gradients', label: 'Gradients', type: 'string', default: ALSUV_DEFAULTS.gradients, choices: [{ value: 'exact', label: 'exact (white-box)' }, { value: 'zo', label: 'zo (black-box queries)' }] },
    { key: 'queriesPerStep', label: 'zo: template queries per latent per step (even)', type: 'integer', default: ALSUV_DEFAULTS.queriesPerStep, min: 2, max: 10000 },
    { key: 'zoStep', label: 'zo: finite-difference radius in latent space', type: 'number', default: ALSUV_DEFAULTS.zoStep, min: 1e-6, max: 10 },
    { key: 'budget', label: 'zo: query budget (0 = none)', type: 'integer', default: ALSUV_DEFAULTS.budget, min: 0, max: 1e9 }
  ]
}

export interface AlsuvParameters {
  generator: string
  validationEncoder: string
  latents: number
  steps: number
  lr: number
  weightDecay: number
  decayAfter: number
  avgWindow: number
  topK: number
  validation: boolean
  flip: boolean
  gradients: 'exact' | 'zo'
  queriesPerStep: number
  zoStep: number
  budget: number
}

/** Parameters checked against each other (before anything loads or runs). */
export function alsuvParameters(p: Record<string, number | string>): AlsuvParameters {
  const out: AlsuvParameters = {
    generator: String(p.generator || DEFAULT_GENERATOR_ID),
    validationEncoder: String(p.validationEncoder ?? ''),
    latents: Number(p.latents),
    steps: Number(p.steps),
    lr: Number(p.lr),
    weightDecay: Number(p.weightDecay),
    decayAfter: Number(p.decayAfter),
    avgWindow: Number(p.avgWindow),
    topK: Number(p.topK),
    validation: Number(p.validation) === 1,
    flip: Number(p.flip) === 1,
    gradients: p.gradients === 'zo' ? 'zo' : 'exact',
    queriesPerStep: Number(p.queriesPerStep),
    zoStep: Number(p.zoStep),
    budget: Number(p.budget)
  }
  if (p.gradients !== 'exact' && p.gradients !== 'zo') throw new ValidationError(`parameter 'gradients' must be exact or zo, not '${p.gradients}'`)
  if (out.avgWindow > out.steps) throw new ValidationError(`the averaging window (${out.avgWindow}) is longer than the run (${out.steps} steps)`)
  if (out.validation && out.topK > out.latents) throw new ValidationError(`top-k (${out.topK}) is larger than the number of latents (${out.latents})`)
  if (out.gradients === 'zo' && out.queriesPerStep % 2 !== 0) throw new ValidationError('queries per step must be even (antithetic pairs)')
  if (out.gradients === 'exact' && out.budget > 0) throw new ValidationError('a query budget applies to --gradients zo only')
  if (out.gradients === 'zo' && out.flip) throw new ValidationError('flip averaging needs --gradients exact')
  return out
}

interface Adam {
  m: Float32Array
  v: Float32Array
  t: number
}

function adamStep(z: Float32Array, g: Float32Array, s: Adam, lr: number, weightDecay: number): void {
  // torch.optim.Adam: weight decay added to the gradient (L2), betas (0.9, 0.999), eps 1e-8.
  const b1 = 0.9
  const b2 = 0.999
  s.t++
  const c1 = 1 - b1 ** s.t
  const c2 = 1 - b2 ** s.t
  for (let i = 0; i < z.length; i++) {
    const gi = g[i] + weightDecay * z[i]
    s.m[i] = b1 * s.m[i] + (1 - b1) * gi
    s.v[i] = b2 * s.v[i] + (1 - b2) * gi * gi
    z[i] -= (lr * (s.m[i] / c1)) / (Math.sqrt(s.v[i] / c2) + 1e-8)
  }
}

function quantiles(values: number[]): { min: number; median: number; max: number } {
  const s = [...values].sort((a, b) => a - b)
  const mid = s.length >> 1
  return { min: s[0], median: s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2, max: s[s.length - 1] }
}

const pipelines = new Map<string, Promise<SearchPipelineGraph>>()

/** The optimisation half of a run: every latent's trajectory end and trajectory mean. */
export interface AlsuvTrajectories {
  parameters: AlsuvParameters
  generator: PreparedModel
  generatorSha256: string
  seen: PreparedModel
  validation: PreparedModel | null
  target: Float32Array
  /** Each latent after the last step taken. */
  last: Float32Array[]
  /** Each latent's mean over the post-step values in the averaging window (null: window 0, or the run stopped before it). */
  averaged: Float32Array[] | null
  averagedCount: number
  trace: GenerationRecord[]
  queries: number
  stoppedBy: string
  /** The oracle the black-box search queried (its budget also covers ranking the final candidates). */
  oracle: TemplateOracle
}

/**
 * Checks the request, then runs Adam on every latent. Latent i starts from row i of the seeded
 * start set and, white-box, its gradient depends on its own sample only (loss = −Σ cosines), so a
 * run with more latents extends a run with fewer: the ablation benchmark reads the 1- and
 * 20-latent configurations off one 100-latent run.
 */
export async function alsuvTrajectories(ctx: MethodContext): Promise<AlsuvTrajectories> {
  const p = alsuvParameters(ctx.parameters)
  const generatorEntry = ctx.registry.getWithRole(p.generator, 'generator')
  const seenEntry = ctx.registry.get(ctx.template.encoderId)
  if (seenEntry.manifest.sha256 !== ctx.template.encoderSha256) throw new ValidationError(`the template was made by ${ctx.template.encoderId} with sha256 ${ctx.template.encoderSha256.slice(0, 12)}…, which is not the registered model`)
  const dim = seenEntry.manifest.embeddingDim ?? seenEntry.manifest.output.shape[1]
  if (ctx.template.vector.length !== dim) throw new ValidationError(`the target template has ${ctx.template.vector.length} values; ${seenEntry.manifest.id} makes ${dim}`)
  let validationEntry = null
  if (p.validation) {
    const id = p.validationEncoder || ctx.registry.byRole('encoder').find((e) => e.manifest.id !== seenEntry.manifest.id)?.manifest.id
    if (!id) throw new ValidationError('validation needs a second registered encoder (or set validation to 0)')
    validationEntry = ctx.registry.getWithRole(id, 'encoder')
    if (validationEntry.manifest.sha256 === seenEntry.manifest.sha256) throw new ValidationError(`the validation encoder '${id}' is the seen encoder`)
  }
  const latentDim = generatorEntry.manifest.latentDim ?? generatorEntry.manifest.input.shape[1]
  const generator = await ctx.loader.prepare(p.generator)
  const seen = await ctx.loader.prepare(seenEntry.manifest.id)
  const validation = validationEntry ? await ctx.loader.prepare(validationEntry.manifest.id) : null
  const target = Float32Array.from(ctx.template.vector)

  // White-box: the pipeline's gradient graph (derived once per model pair and rule set).
  let graph: SearchPipelineGraph | null = null
  let graphKey = ''
  if (p.gradients === 'exact') {
    const derivedKey = `alsuv:${generatorEntry.manifest.sha256}:${seenEntry.manifest.sha256}:flip${Number(p.flip)}:r${RULESET_VERSION}`
    let pending = pipelines.get(derivedKey)
    if (!pending) {
      pending = deriveSearchPipeline(
        { bytes: ctx.registry.readModel(generatorEntry), manifest: generatorEntry.manifest },
        { bytes: ctx.registry.readModel(seenEntry), manifest: seenEntry.manifest },
        { flip: p.flip }
      )
      pipelines.set(derivedKey, pending)
      pending.catch(() => pipelines.delete(derivedKey))
    }
    graph = await pending
    // A fixed batch lets onnxruntime see equal shapes and drop most layout reorders (docs/benchmarks.md).
    graphKey = `${derivedKey}:n${p.latents}`
    await ctx.engine.load(graphKey, withFixedBatch(graph.bytes, p.latents))
  }
  const oracle = new TemplateOracle(ctx.engine, seen, p.budget > 0 ? p.budget : Infinity)

  const rng = new SeededRandom(ctx.seed)
  const n = p.latents
  const z = Float32Array.from({ length: n * latentDim }, () => rng.normal())
  const adam: Adam = { m: new Float32Array(z.length), v: new Float32Array(z.length), t: 0 }
  const averaged = new Float32Array(z.length)
  let averagedCount = 0
  const trace: GenerationRecord[] = []
  const t0 = performance.now()
  let queries = 0
  let stoppedBy = 'steps'
  let best = -Infinity
  const rows = (flat: Float32Array): Float32Array[] => Array.from({ length: n }, (_, i) => flat.slice(i * latentDim, (i + 1) * latentDim))

  // d(−cos)/dz and each latent's cosine, exact or estimated.
  const gradient = async (): Promise<{ grad: Float32Array; sims: number[] }> => {
    if (graph) {
      const out = await ctx.engine.run(graphKey, { [LATENT]: { data: z.slice(), dims: [n, latentDim] }, [TARGET]: { data: target.slice(), dims: [1, dim] } }, { outputs: [graph.latentGradient, graph.similarity], signal: ctx.signal })
      queries += n
      return { grad: out.outputs[graph.latentGradient].data, sims: Array.from(out.outputs[graph.similarity].data) }
    }
    const pairs = p.queriesPerStep / 2
    const grad = new Float32Array(z.length)
    const points: Float32Array[] = []
    const dirs: Float32Array[] = []
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < pairs; k++) {
        const u = Float32Array.from({ length: latentDim }, () => rng.normal())
        dirs.push(u)
        for (const sign of [1, -1]) points.push(Float32Array.from({ length: latentDim }, (_, d) => z[i * latentDim + d] + sign * p.zoStep * u[d]))
      }
    }
    const centres = rows(z)
    const templates = await oracle.templates(await generateFaces(ctx.engine, generator, [...centres, ...points], ctx.signal), ctx.signal)
    queries = oracle.queries
    const sims = templates.slice(0, n).map((t) => cosine(t, target))
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < pairs; k++) {
        const j = i * pairs + k
        const plus = cosine(templates[n + 2 * j], target)
        const minus = cosine(templates[n + 2 * j + 1], target)
        const scale = -(plus - minus) / (2 * p.zoStep * pairs)
        for (let d = 0; d < latentDim; d++) grad[i * latentDim + d] += scale * dirs[j][d]
      }
    }
    return { grad, sims }
  }

  try {
    for (let step = 0; step < p.steps; step++) {
      if (ctx.signal.aborted) throw new Error('cancelled')
      const { grad, sims } = await gradient()
      const lr = step >= p.decayAfter ? p.lr * 0.1 : p.lr
      adamStep(z, grad, adam, lr, p.weightDecay)
      if (p.avgWindow > 0 && step >= p.steps - p.avgWindow) {
        for (let i = 0; i < z.length; i++) averaged[i] += z[i]
        averagedCount++
      }
      const q = quantiles(sims)
      best = Math.max(best, q.max)
      const record: GenerationRecord = { thread: 0, generation: step, best, mean: sims.reduce((a, b) => a + b, 0) / sims.length, queries, seconds: (performance.now() - t0) / 1000 }
      trace.push(record)
      const detail: LatentSimilaritiesDetail = { ...record, step: step + 1, steps: p.steps, latentSimilarities: sims.map((v) => Math.round(v * 1e4) / 1e4) }
      ctx.progress({ step: step + 1, bestScore: best, message: `step ${step + 1}/${p.steps}: latent cosine min ${q.min.toFixed(4)}, median ${q.median.toFixed(4)}, max ${q.max.toFixed(4)}`, detail: { ...detail } })
    }
  } catch (err) {
    if (!(err instanceof QueryBudgetExceeded)) throw err
    stoppedBy = 'budget'
  } finally {
    if (graph) await ctx.engine.release(graphKey)
  }
  return {
    parameters: p,
    generator,
    generatorSha256: generatorEntry.manifest.sha256,
    seen,
    validation,
    target,
    last: rows(z),
    averaged: averagedCount > 0 ? rows(averaged.map((v) => v / averagedCount)) : null,
    averagedCount,
    trace,
    queries,
    stoppedBy,
    oracle
  }
}

export interface AlsuvCandidates {
  images: Float32Array[]
  /** Each candidate's cosine to the target under the seen encoder. */
  seenSims: number[]
}

/**
 * The final candidates' faces and their seen-encoder similarities (white-box: its own weights,
 * not counted as target queries; black-box: through the oracle while the budget lasts).
 */
export async function alsuvCandidates(ctx: MethodContext, t: AlsuvTrajectories, latents: Float32Array[]): Promise<AlsuvCandidates> {
  const images = await generateFaces(ctx.engine, t.generator, latents, ctx.signal)
  let seenTemplates: Float32Array[]
  if (t.parameters.gradients === 'exact') seenTemplates = await new TemplateOracle(ctx.engine, t.seen).templates(images, ctx.signal)
  else {
    try {
      seenTemplates = await t.oracle.templates(images, ctx.signal)
    } catch (err) {
      if (!(err instanceof QueryBudgetExceeded)) throw err
      throw new Error(`the query budget (${t.parameters.budget}) ran out before the final candidates could be ranked; raise --budget`)
    }
    t.queries = t.oracle.queries
  }
  return { images, seenSims: seenTemplates.map((s) => cosine(s, t.target)) }
}

export interface AlsuvPick {
  pick: number
  candidates: { latent: number; seen: number; validation: number | null }[]
}

/**
 * The final pick among candidates: the seen encoder's best, or with a validation encoder the
 * one of the seen encoder's top k closest to their mean validation feature (the pseudo target).
 */
export async function alsuvPick(ctx: MethodContext, c: AlsuvCandidates, validation: PreparedModel | null, topK: number): Promise<AlsuvPick> {
  const { images, seenSims } = c
  const order = seenSims
    .map((s, i) => [s, i] as const)
    .sort((a, b) => b[0] - a[0])
    .map(([, i]) => i)
  if (!validation) return { pick: order[0], candidates: [{ latent: order[0], seen: seenSims[order[0]], validation: null }] }
  const top = order.slice(0, topK)
  const feats = (
    await new TemplateOracle(ctx.engine, validation).templates(
      top.map((i) => images[i]),
      ctx.signal
    )
  ).map((f) => {
    const norm = Math.hypot(...f)
    return f.map((x) => x / norm)
  })
  const pseudo = new Float32Array(feats[0].length)
  for (const f of feats) for (let d = 0; d < f.length; d++) pseudo[d] += f[d] / feats.length
  const validationSims = feats.map((f) => cosine(f, pseudo))
  let bestK = 0
  validationSims.forEach((s, k) => (s > validationSims[bestK] ? (bestK = k) : undefined))
  return { pick: top[bestK], candidates: top.map((i, k) => ({ latent: i, seen: seenSims[i], validation: validationSims[k] })) }
}

export const alsuvMethod: ReconstructionMethod = {
  info,
  totalSteps: (p) => Number(p.steps),
  async run(ctx: MethodContext): Promise<MethodOutput> {
    const t = await alsuvTrajectories(ctx)
    const p = t.parameters
    const finalLatents = t.averaged ?? t.last
    const c = await alsuvCandidates(ctx, t, finalLatents)
    const { pick, candidates } = await alsuvPick(ctx, c, t.validation, p.topK)
    const modelSha256s: Record<string, string> = { generator: t.generatorSha256, target: t.seen.entry.manifest.sha256 }
    if (t.validation) modelSha256s.validation = t.validation.entry.manifest.sha256
    return {
      image: c.images[pick],
      similarity: c.seenSims[pick],
      modelSha256s,
      queries: t.queries,
      trace: t.trace,
      candidates: candidates.map((k) => ({ ...k, picked: k.latent === pick, image: c.images[k.latent] })),
      summary: {
        mode: p.gradients === 'exact' ? 'white-box' : 'black-box',
        gradients:
          p.gradients === 'exact'
            ? `exact (derived ONNX gradient graph, rule set ${RULESET_VERSION})`
            : `zo (${p.queriesPerStep} antithetic queries per latent per step, radius ${p.zoStep})`,
        seenEncoder: { id: t.seen.entry.manifest.id, sha256: t.seen.entry.manifest.sha256 },
        validationEncoder: t.validation ? { id: t.validation.entry.manifest.id, sha256: t.validation.entry.manifest.sha256 } : null,
        averagedSteps: t.averagedCount,
        stoppedBy: t.stoppedBy,
        pick,
        candidates,
        latent: Array.from(finalLatents[pick])
      }
    }
  }
}
