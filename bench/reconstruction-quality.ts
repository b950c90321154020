// Reconstruction quality on LFW development people with two photos: the template comes from
// photo 1 with the bundled encoder; type I compares the reconstruction with photo 1, type II
// with photo 2, under every encoder, at each encoder's FAR 1e-3 threshold (transfer = encoders
// other than the target). Used for GA vs random search and for the DFD decoder.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench, type InversionResult } from '../src/core/workbench/workbench'
import { resolveDataDir } from '../src/core/env/data-dir'
import { readLfwPairs, type FacePair } from '../src/core/datasets/lfw-pairs'
import { decodeImage, type RgbImage } from '../src/core/imaging/image-io'
import { enrolFace, type FacePipelineModels } from '../src/core/faces/enrolment'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { DEFAULT_GENERATOR_ID } from '../src/core/methods/latent-search-setup'
import { machineLine, markdownTable } from './bench-support'

const BUDGET = Number(process.env.BENCH_BUDGET ?? 5000)
/** The learned prior shipped beside the eigenface one. */
export const GAN_PRIOR_ID = 'dcgan-celeba-utk-64'

interface MethodRun {
  /** The row's name in the table (the method id unless two runs share a method). */
  label?: string
  method: string
  parameters: Record<string, number | string>
}
const labelOf = (r: MethodRun): string => r.label ?? r.method
const SHARED_ENCODERS = [
  ['mobilefacenet-foamliu.onnx', 'mobilefacenet-foamliu.json'],
  ['mobileface-v2.onnx', 'mobileface-v2.json']
]

/** Registers the ../shared encoders (without the LFW check) where the library lacks them; returns their ids. */
export async function registerSharedEncoders(wb: Workbench, data: string): Promise<string[]> {
  const ids: string[] = []
  for (const [model, manifest] of SHARED_ENCODERS) {
    const id = manifest.replace('.json', '')
    ids.push(id)
    if (wb.models.list().some((m) => m.manifest.id === id)) continue
    await wb.models.register(join(data, 'models', 'encoders', model), JSON.parse(readFileSync(join('resources', 'manifests', manifest), 'utf8')), { verify: false })
  }
  return ids
}

/** A workbench with the ../shared encoders registered and every encoder's FAR thresholds (BENCH_LIBRARY keeps them between runs). */
export async function openLfwBenchWorkbench(data: string): Promise<Workbench> {
  const wb = await Workbench.open({ libraryDir: process.env.BENCH_LIBRARY ?? mkdtempSync(join(tmpdir(), 'unveil-bench-')), caseRoot: tmpdir() })
  try {
    await registerSharedEncoders(wb, data)
    await wb.models.ensureThresholds(wb.registry.byRole('encoder').map((e) => e.manifest.id))
    return wb
  } catch (err) {
    await wb.close()
    throw err
  }
}

/** The first genuine pair (photo 1, photo 2) of each of the first `people` people in pairsDevTrain.txt. */
export function lfwBenchPairs(data: string, people: number): FacePair[] {
  const seen = new Set<string>()
  return readLfwPairs(join(data, 'datasets', 'lfw', 'pairsDevTrain.txt'))
    .filter((p) => p.same && !seen.has(p.a.split('/')[0]) && seen.add(p.a.split('/')[0]))
    .slice(0, people)
}

/** Aligns an LFW photo and enrols it with the bundled encoder. */
export async function lfwAligner(wb: Workbench, data: string): Promise<{ models: FacePipelineModels; align: (file: string) => Promise<{ aligned: RgbImage; vector: Float32Array }> }> {
  const lfw = join(data, 'datasets', 'lfw')
  const models = await wb.faces.pipeline(DEFAULT_ENCODER_ID)
  return { models, align: async (file) => enrolFace(wb.engine, models, await decodeImage(readFileSync(join(lfw, 'images', file)), file)) }
}

async function reconstructionQuality(title: string, people: number, runs: MethodRun[], describe: (thresholdNote: string) => string): Promise<string> {
  const data = resolveDataDir()
  if (!data) return `### ${title}\n\nSkipped: the research data folder is not available (UNVEIL_DATA).`
  const wb = await openLfwBenchWorkbench(data)
  try {
    const encoders = wb.registry.byRole('encoder').map((e) => e.manifest.id)
    const picks = lfwBenchPairs(data, people)
    const { models, align } = await lfwAligner(wb, data)
    const results: Record<string, InversionResult[]> = Object.fromEntries(runs.map((r) => [labelOf(r), []]))
    for (const [i, pair] of picks.entries()) {
      const a = await align(pair.a)
      const b = await align(pair.b)
      for (const run of runs) {
        const { method, parameters } = run
        const r = await wb.runs.invert({
          template: { vector: Array.from(a.vector), encoderId: DEFAULT_ENCODER_ID, encoderSha256: models.encoder.entry.manifest.sha256 },
          method,
          parameters,
          seed: 1000 + i,
          groundTruth: a.aligned,
          sameIdentity: [b.aligned]
        })
        results[labelOf(run)].push(r)
        process.stderr.write(`${i + 1}/${picks.length} ${pair.a.split('/')[0]} ${labelOf(run)}: ${r.similarity.toFixed(3)} (${r.queries} queries, ${r.seconds.toFixed(0)} s)\n`)
      }
    }
    const far = 1e-3
    const fi = (rs: InversionResult[]): number => rs[0].scores[0].thresholds?.fars.findIndex((f) => f.far === far) ?? -1
    const rows: string[][] = []
    for (const run of runs) {
      const method = labelOf(run)
      const rs = results[method]
      const k = fi(rs)
      const mean = (xs: number[]): number => xs.reduce((x, y) => x + y, 0) / Math.max(1, xs.length)
      const rate = (enc: string, kind: 'typeI' | 'typeII'): string => {
        const passes = rs.map((r) => {
          const s = r.scores.find((x) => x.encoderId === enc)!
          return kind === 'typeI' ? s.pass.typeI?.[k] ?? false : s.pass.typeII[0]?.[k] ?? false
        })
        return `${((passes.filter(Boolean).length / rs.length) * 100).toFixed(0)}%`
      }
      for (const enc of encoders) {
        const sims = rs.map((r) => r.scores.find((x) => x.encoderId === enc)!)
        rows.push([
          method,
          enc + (enc === DEFAULT_ENCODER_ID ? ' (target)' : ''),
          enc === DEFAULT_ENCODER_ID ? mean(rs.map((r) => r.similarity)).toFixed(3) : '—',
          mean(sims.map((s) => s.typeI ?? 0)).toFixed(3),
          rate(enc, 'typeI'),
          mean(sims.map((s) => s.typeII[0] ?? 0)).toFixed(3),
          rate(enc, 'typeII'),
          mean(rs.map((r) => r.queries)).toFixed(0),
          mean(rs.map((r) => r.seconds)).toFixed(1)
        ])
      }
    }
    const th = wb.registry.get(DEFAULT_ENCODER_ID).thresholds!
    return [
      `### ${title}`,
      '',
      machineLine(),
      `${picks.length} LFW development people (first genuine pair of each in pairsDevTrain.txt); template from photo 1 with ${DEFAULT_ENCODER_ID}; ` +
        describe(`Thresholds from ${th.impostorPairs.toLocaleString('en')} impostor pairs of ${th.images} LFW images (${th.identities} people).`),
      '',
      markdownTable(['method', 'encoder', 'sim. to target', 'type I sim.', 'SAR-I @1e-3', 'type II sim.', 'SAR-II @1e-3', 'queries', 's / template'], rows)
    ].join('\n')
  } finally {
    await wb.close()
  }
}

export function gaQuality(): Promise<string> {
  return reconstructionQuality(
    'GA vs random search (reconstruction quality)',
    Number(process.env.BENCH_PEOPLE ?? 20),
    [
      { method: 'ga', parameters: { population: 256, threads: 1, budget: BUDGET } },
      { method: 'random', parameters: { budget: BUDGET } }
    ],
    (thresholds) =>
      `generator: eigenface prior; budget ${BUDGET} queries per template for both methods (the paper's population 256, selection 0.3, mutation 0.3, ` +
      `one thread instead of three and a query budget instead of 1000 generations, to fit this 2-core machine); seeds 1000+i. ${thresholds}`
  )
}

/** GA over the learned GAN prior against GA over the eigenface prior: same people, seeds and budget. */
export function gaPriorQuality(): Promise<string> {
  const ga = { method: 'ga', parameters: { population: 256, threads: 1, budget: BUDGET } }
  return reconstructionQuality(
    'GA with the GAN prior vs the eigenface prior',
    Number(process.env.BENCH_PEOPLE ?? 20),
    [
      { ...ga, label: `ga / ${DEFAULT_GENERATOR_ID}`, parameters: { ...ga.parameters, generator: DEFAULT_GENERATOR_ID } },
      { ...ga, label: `ga / ${GAN_PRIOR_ID}`, parameters: { ...ga.parameters, generator: GAN_PRIOR_ID } }
    ],
    (thresholds) =>
      `budget ${BUDGET} queries per template for both priors (population 256, selection 0.3, mutation 0.3, one thread), the same people and seeds (1000+i) ` +
      `as the GA vs random benchmark. ${thresholds}`
  )
}

export function dfdQuality(): Promise<string> {
  return reconstructionQuality(
    'DFD decoder (reconstruction quality)',
    Number(process.env.BENCH_PEOPLE ?? 200),
    [{ method: 'dfd', parameters: {} }],
    (thresholds) => `one decoder forward pass per template (the decoder shipped for ${DEFAULT_ENCODER_ID}). ${thresholds}`
  )
}
