// `npm run bench -- alsuv`: the ALSUV paper's Table 3 ablation at our scale (latents {1, 20, N} ×
// latent averaging on/off × validation on/off), then ALSUV against GA and against black-box
// (zo) ALSUV at equal wall time. Transfer is read on the encoder used in neither role.
//
// One white-box run of N latents per person yields all twelve configurations: latents are
// independent (per-element Adam, per-sample loss) and start from the prefix of one seeded start
// set, so k latents are the first k rows; averaging on/off is the trajectory mean vs the last
// latent; validation on/off is the method's own pick with or without the validation encoder.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { EncoderScore } from '../src/shared/types'
import type { Workbench } from '../src/core/workbench/workbench'
import { resolveDataDir } from '../src/core/env/data-dir'
import { scoreAcrossEncoders } from '../src/core/evaluation/cross-encoder-scoring'
import { wilsonInterval } from '../src/core/evaluation/statistics'
import { alsuvCandidates, alsuvMethod, alsuvPick, alsuvTrajectories, type AlsuvCandidates } from '../src/core/methods/alsuv-method'
import { DEFAULT_GENERATOR_ID } from '../src/core/methods/latent-search-setup'
import { resolveParameters } from '../src/core/methods/method-registry'
import type { MethodContext, TargetTemplate } from '../src/core/methods/reconstruction-method'
import { TemplateOracle } from '../src/core/methods/template-oracle'
import { generateFaces } from '../src/core/models/face-generator'
import type { PreparedModel } from '../src/core/models/model-loader'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { SeededRandom } from '../src/core/random/seeded-random'
import type { RgbImage } from '../src/core/imaging/image-io'
import { lfwAligner, lfwBenchPairs, openLfwBenchWorkbench } from './reconstruction-quality'
import { machineLine, markdownTable } from './bench-support'

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 20)
const STEPS = Number(process.env.BENCH_STEPS ?? 10)
const LATENTS = Number(process.env.BENCH_LATENTS ?? 100)
/** People (the first of PEOPLE) that also get the GA and zo runs at equal wall time. */
const COMPARE_PEOPLE = Math.min(PEOPLE, Number(process.env.BENCH_COMPARE_PEOPLE ?? PEOPLE))
/** Stop starting equal-time comparisons after this many minutes (the ablation itself is never cut). */
const COMPARE_MINUTES = Number(process.env.BENCH_COMPARE_MINUTES ?? Infinity)
const ZO_LATENTS = Number(process.env.BENCH_ZO_LATENTS ?? 10)
const ZO_QUERIES = Number(process.env.BENCH_ZO_QUERIES ?? 20)
const GENERATOR = process.env.BENCH_GENERATOR ?? DEFAULT_GENERATOR_ID
const VALIDATION = process.env.BENCH_VALIDATION ?? 'mobileface-v2'
const UNSEEN = process.env.BENCH_UNSEEN ?? 'mobilefacenet-foamliu'
const TOP_K = 10
const FAR = 1e-3
const SUBSETS = [...new Set([1, 20, LATENTS].filter((k) => k <= LATENTS))]
/** Latent count the calibration of the per-query cost generates and encodes. */
const CALIBRATION_QUERIES = 128

/** The reference schedule (100 steps, lr × 0.1 after 50, average the last 70) scaled to `steps`. */
function schedule(steps: number): { steps: number; decayAfter: number; avgWindow: number } {
  return { steps, decayAfter: Math.round(steps / 2), avgWindow: Math.max(1, Math.round(0.7 * steps)) }
}

interface Outcome {
  scores: EncoderScore[]
  seconds: number
  queries: number
}

interface ConfigKey {
  latents: number
  averaging: boolean
  validation: boolean
}
const configName = (c: ConfigKey): string => `${c.latents}/${c.averaging ? 'avg' : 'last'}/${c.validation ? 'val' : 'seen'}`

function scoreOf(o: Outcome, encoder: string): EncoderScore {
  const s = o.scores.find((x) => x.encoderId === encoder)
  if (!s) throw new Error(`no score under ${encoder}`)
  return s
}

function farIndex(s: EncoderScore): number {
  const k = s.thresholds?.fars.findIndex((f) => f.far === FAR) ?? -1
  if (k < 0) throw new Error(`${s.encoderId} has no FAR ${FAR} threshold`)
  return k
}

/** "35% (7/20, 18–57%)": rate, counts and the 95% Wilson interval. */
function sar(outcomes: Outcome[], encoder: string, kind: 'typeI' | 'typeII'): string {
  const passes = outcomes.map((o) => {
    const s = scoreOf(o, encoder)
    return kind === 'typeI' ? s.pass.typeI![farIndex(s)] : s.pass.typeII[0][farIndex(s)]
  })
  const k = passes.filter(Boolean).length
  const n = outcomes.length
  const w = wilsonInterval(k, n)
  const pct = (x: number): string => `${(x * 100).toFixed(0)}%`
  return `${pct(k / n)} (${k}/${n}, ${pct(w.low)}–${pct(w.high)})`
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const meanSim = (outcomes: Outcome[], encoder: string, kind: 'typeI' | 'typeII' | 'target'): string =>
  mean(
    outcomes.map((o) => {
      const s = scoreOf(o, encoder)
      return kind === 'typeII' ? s.typeII[0] : (s[kind] ?? NaN)
    })
  ).toFixed(3)

/** Seconds per template query (generate + encode, the GA's own code path), measured now. */
async function secondsPerQuery(wb: Workbench, c: { generator: PreparedModel; seen: PreparedModel }, seed: number): Promise<number> {
  const rng = new SeededRandom(seed)
  const dim = c.generator.entry.manifest.latentDim ?? c.generator.entry.manifest.input.shape[1]
  const latents = Array.from({ length: CALIBRATION_QUERIES }, () => Float32Array.from({ length: dim }, () => rng.normal()))
  const t0 = performance.now()
  await new TemplateOracle(wb.engine, c.seen).templates(await generateFaces(wb.engine, c.generator, latents))
  return (performance.now() - t0) / 1000 / CALIBRATION_QUERIES
}

export async function alsuvAblation(): Promise<string> {
  const title = '## ALSUV ablation and equal-time comparisons (issue 15)'
  const data = resolveDataDir()
  if (!data) return `${title}\n\nSkipped: the research data folder is not available (UNVEIL_DATA).`
  const wb = await openLfwBenchWorkbench(data)
  try {
    const scorers = await Promise.all(
      wb.registry.byRole('encoder').map(async (e) => ({ model: await wb.loader.prepare(e.manifest.id), thresholds: e.thresholds ?? null }))
    )
    for (const id of [VALIDATION, UNSEEN]) if (!scorers.some((s) => s.model.entry.manifest.id === id)) throw new Error(`encoder ${id} is not registered`)
    const pairs = lfwBenchPairs(data, PEOPLE)
    const { models, align } = await lfwAligner(wb, data)
    const configs: ConfigKey[] = SUBSETS.flatMap((latents) =>
      [false, true].flatMap((averaging) => [false, true].map((validation) => ({ latents, averaging, validation })))
    )
    const ablation = new Map<string, Outcome[]>(configs.map((c) => [configName(c), []]))
    const compare: Record<'alsuv' | 'ga' | 'zo', Outcome[]> = { alsuv: [], ga: [], zo: [] }
    const perPerson: Record<string, unknown>[] = []
    const people: { name: string; seed: number; template: TargetTemplate; a: RgbImage; b: RgbImage; budget: number; alsuv: Outcome }[] = []
    const started = performance.now()
    for (const [i, pair] of pairs.entries()) {
      const a = await align(pair.a)
      const b = await align(pair.b)
      const seed = 1000 + i
      const template: TargetTemplate = { vector: Array.from(a.vector), encoderId: DEFAULT_ENCODER_ID, encoderSha256: models.encoder.entry.manifest.sha256 }
      const score = (image: Float32Array, groundTruth: RgbImage, other: RgbImage): Promise<EncoderScore[]> =>
        scoreAcrossEncoders(wb.engine, scorers, { reconstruction: image, target: template, groundTruth, sameIdentity: [other] })
      const ctx: MethodContext = {
        engine: wb.engine,
        registry: wb.registry,
        loader: wb.loader,
        template,
        parameters: resolveParameters(alsuvMethod.info, {
          generator: GENERATOR,
          validationEncoder: VALIDATION,
          latents: LATENTS,
          topK: Math.min(TOP_K, LATENTS),
          ...schedule(STEPS)
        }),
        seed,
        signal: new AbortController().signal,
        progress: () => undefined
      }
      // Wall time of the full method (N latents, averaging, validation): search + its final pick.
      const t0 = performance.now()
      const traj = await alsuvTrajectories(ctx)
      const averaged = await alsuvCandidates(ctx, traj, traj.averaged ?? traj.last)
      const fullPick = await alsuvPick(ctx, averaged, traj.validation, traj.parameters.topK)
      const alsuvSeconds = (performance.now() - t0) / 1000
      const last = await alsuvCandidates(ctx, traj, traj.last)
      const line: Record<string, unknown> = {
        person: pair.a.split('/')[0],
        seed,
        alsuvSeconds,
        steps: traj.trace.length,
        seenMeanCosine: traj.trace.map((r) => r.mean),
        configs: {}
      }
      for (const c of configs) {
        const from = c.averaging ? averaged : last
        const subset: AlsuvCandidates = { images: from.images.slice(0, c.latents), seenSims: from.seenSims.slice(0, c.latents) }
        const { pick } =
          c.latents === LATENTS && c.averaging && c.validation
            ? fullPick
            : await alsuvPick(ctx, subset, c.validation ? traj.validation : null, Math.min(TOP_K, c.latents))
        const o: Outcome = { scores: await score(subset.images[pick], a.aligned, b.aligned), seconds: alsuvSeconds, queries: traj.queries }
        ablation.get(configName(c))!.push(o)
        ;(line.configs as Record<string, unknown>)[configName(c)] = { pick, unseenTypeI: scoreOf(o, UNSEEN).typeI, unseenTypeII: scoreOf(o, UNSEEN).typeII[0] }
      }
      const full = ablation.get(configName({ latents: LATENTS, averaging: true, validation: true }))!
      // The per-query cost (generate + encode) under the same load, for the equal-time budgets below.
      const perQuery = await secondsPerQuery(wb, traj, seed)
      const budget = Math.round(alsuvSeconds / perQuery)
      people.push({ name: pair.a.split('/')[0], seed, template, a: a.aligned, b: b.aligned, budget, alsuv: full[full.length - 1] })
      Object.assign(line, { perQuerySeconds: perQuery, budget })
      perPerson.push(line)
      const o = full[full.length - 1]
      process.stderr.write(
        `${i + 1}/${pairs.length} ${pair.a.split('/')[0]}: alsuv ${alsuvSeconds.toFixed(0)} s, seen ${scoreOf(o, DEFAULT_ENCODER_ID).target!.toFixed(3)}, ` +
          `${UNSEEN} I ${scoreOf(o, UNSEEN).typeI!.toFixed(3)} II ${scoreOf(o, UNSEEN).typeII[0].toFixed(3)}; ${(perQuery * 1000).toFixed(1)} ms/query → equal-time budget ${budget}\n`
      )
    }
    const ablationMinutes = (performance.now() - started) / 60000

    // Equal wall time, after the ablation so that a time cap never costs ablation people.
    const compareStart = performance.now()
    for (const [i, person] of people.entries()) {
      if (i >= COMPARE_PEOPLE || (performance.now() - compareStart) / 60000 >= COMPARE_MINUTES) break
      const { template, seed, budget } = person
      const request = { template, seed, groundTruth: person.a, sameIdentity: [person.b] }
      const ga = await wb.runs.invert({ ...request, method: 'ga', parameters: { generator: GENERATOR, population: Math.min(256, budget), threads: 1, budget } })
      const zoSteps = Math.floor((budget - ZO_LATENTS) / (ZO_LATENTS * (1 + ZO_QUERIES)))
      if (zoSteps < 1)
        throw new Error(`a budget of ${budget} queries leaves no zo step for ${ZO_LATENTS} latents × ${ZO_QUERIES} queries; lower BENCH_ZO_LATENTS`)
      const zo = await wb.runs.invert({
        ...request,
        method: 'alsuv',
        parameters: {
          generator: GENERATOR,
          validationEncoder: VALIDATION,
          latents: ZO_LATENTS,
          topK: Math.min(TOP_K, ZO_LATENTS),
          gradients: 'zo',
          queriesPerStep: ZO_QUERIES,
          budget,
          ...schedule(zoSteps)
        }
      })
      compare.alsuv.push(person.alsuv)
      compare.ga.push({ scores: ga.scores, seconds: ga.seconds, queries: ga.queries })
      compare.zo.push({ scores: zo.scores, seconds: zo.seconds, queries: zo.queries })
      Object.assign(perPerson[i], {
        ga: { seconds: ga.seconds, queries: ga.queries, similarity: ga.similarity },
        zo: { seconds: zo.seconds, queries: zo.queries, steps: zoSteps, similarity: zo.similarity }
      })
      process.stderr.write(
        `compare ${i + 1} ${person.name}: budget ${budget}: alsuv ${person.alsuv.seconds.toFixed(0)} s, ga ${ga.similarity.toFixed(3)} in ${ga.seconds.toFixed(0)} s, zo ${zo.similarity.toFixed(3)} (${zoSteps} steps) in ${zo.seconds.toFixed(0)} s\n`
      )
    }
    const compareMinutes = (performance.now() - compareStart) / 60000
    mkdirSync(join('out', 'bench'), { recursive: true })
    writeFileSync(join('out', 'bench', 'alsuv-ablation.json'), JSON.stringify({ people: perPerson }, null, 1))

    const threshold = (id: string): string => {
      const s = scorers.find((x) => x.model.entry.manifest.id === id)!.thresholds!
      return `${id} ${s.fars.find((f) => f.far === FAR)!.threshold.toFixed(3)}`
    }
    const ablationRows = configs.map((c) => {
      const os = ablation.get(configName(c))!
      return [
        String(c.latents),
        c.averaging ? 'on' : 'off',
        c.validation ? (c.latents === 1 ? 'on (= off: one candidate)' : 'on') : 'off',
        meanSim(os, DEFAULT_ENCODER_ID, 'target'),
        meanSim(os, UNSEEN, 'typeI'),
        sar(os, UNSEEN, 'typeI'),
        meanSim(os, UNSEEN, 'typeII'),
        sar(os, UNSEEN, 'typeII'),
        sar(os, VALIDATION, 'typeI')
      ]
    })
    const compareRows = (Object.entries(compare) as [string, Outcome[]][]).map(([name, os]) => [
      name === 'alsuv'
        ? `ALSUV white-box (${LATENTS} latents, ${STEPS} steps)`
        : name === 'ga'
          ? 'GA (population 256, budget = equal time)'
          : `ALSUV zo (${ZO_LATENTS} latents, ${ZO_QUERIES} queries/step, budget = equal time)`,
      mean(os.map((o) => o.seconds)).toFixed(1),
      mean(os.map((o) => o.queries)).toFixed(0),
      meanSim(os, DEFAULT_ENCODER_ID, 'target'),
      sar(os, DEFAULT_ENCODER_ID, 'typeI'),
      meanSim(os, UNSEEN, 'typeI'),
      sar(os, UNSEEN, 'typeI'),
      meanSim(os, UNSEEN, 'typeII'),
      sar(os, UNSEEN, 'typeII')
    ])
    const sched = schedule(STEPS)
    return [
      title,
      '',
      machineLine(),
      `${pairs.length} LFW development people (first genuine pair of each in pairsDevTrain.txt), template from photo 1 with ${DEFAULT_ENCODER_ID} (seen); ` +
        `validation encoder ${VALIDATION}; transfer measured on ${UNSEEN} (neither role): type I against photo 1, type II against photo 2, success at FAR ${FAR} ` +
        `(thresholds ${threshold(DEFAULT_ENCODER_ID)}, ${threshold(VALIDATION)}, ${threshold(UNSEEN)}); 95% Wilson intervals. Generator ${GENERATOR}; ` +
        `Adam lr 0.1, weight decay 5e-4, ${sched.steps} steps (lr × 0.1 after ${sched.decayAfter}, averaging over the last ${sched.avgWindow}), top-k ${TOP_K}; seeds 1000+i. ` +
        `All configurations read off one ${LATENTS}-latent white-box run per person; ablation wall time ${ablationMinutes.toFixed(0)} min.`,
      '',
      markdownTable(
        [
          'latents',
          'averaging',
          'validation',
          `${DEFAULT_ENCODER_ID} cos to target`,
          `${UNSEEN} type-I cos`,
          `SAR-I ${UNSEEN}`,
          `${UNSEEN} type-II cos`,
          `SAR-II ${UNSEEN}`,
          `SAR-I ${VALIDATION} (validation)`
        ],
        ablationRows
      ),
      ...(compare.ga.length === 0
        ? []
        : [
            '',
            `Equal wall time, first ${compare.ga.length} people (${compareMinutes.toFixed(0)} min): each person's GA and zo query budget = that person's white-box ALSUV wall time (${LATENTS} latents, averaging and validation) ÷ the per-query cost (generate + encode, ${CALIBRATION_QUERIES} queries) measured right after that ALSUV run, in the same process. The ALSUV row is the same people's ${LATENTS}-latent result from the ablation; its queries are latent gradient evaluations.`,
            '',
            markdownTable(
              [
                'method',
                's / person',
                'queries',
                `${DEFAULT_ENCODER_ID} cos to target`,
                `SAR-I ${DEFAULT_ENCODER_ID} (seen)`,
                `${UNSEEN} type-I cos`,
                `SAR-I ${UNSEEN}`,
                `${UNSEEN} type-II cos`,
                `SAR-II ${UNSEEN}`
              ],
              compareRows
            )
          ])
    ].join('\n')
  } finally {
    await wb.close()
  }
}
