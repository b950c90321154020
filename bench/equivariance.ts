// The paper's Table 2 (Križaj et al.): how far a geometric perturbation of the aligned crop
// costs verification, and how much of it the equivariance map wins back. For LFW development
// pairs (pairsDevTrain.txt; the development test split is not in ../shared): photo a as it was
// aligned against photo b perturbed, TAR at FAR 1e-3, without and with the map that takes a
// perturbed crop's template to the unperturbed one's. Maps are fitted on CelebA crops (other
// people), so the pairs are held out by construction.
//
// Needs the aligned crops (`unveil dataset align`) of LFW and CelebA-10k under
// UNVEIL_ALIGNED (default: the folder `aligned` beside the research data folder), with
// lfw/ and celeba-10k/ in it. Sizes: BENCH_FIT crops per map (default 300), BENCH_PAIRS pairs
// (default 240, half genuine); the defaults keep the run near 15 min on a shared 2-core machine.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { balancedSubset, readLfwPairs } from '../src/core/datasets/lfw-pairs'
import { resolveDataDir } from '../src/core/env/data-dir'
import { alignedDataset } from '../src/core/evaluation/evaluation-plan'
import { thresholdsAtFar } from '../src/core/evaluation/far-thresholds'
import { STANDARD_TRANSFORMS, transformCrop, transformName } from '../src/core/explain/geometric'
import { mapTemplate } from '../src/core/explain/linear-map'
import { encodeAlignedFaces } from '../src/core/faces/face-encoder'
import { decodeImage, type RgbImage } from '../src/core/imaging/image-io'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { normalise } from '../src/core/templates/vector-math'
import { Workbench } from '../src/core/workbench/workbench'
import { machineLine, markdownTable } from './bench-support'
import { registerSharedEncoders } from './reconstruction-quality'

const FIT = Number(process.env.BENCH_FIT ?? 300)
const PAIRS = Number(process.env.BENCH_PAIRS ?? 240)
const FAR = 1e-3

interface Side {
  source: string
  identity: string
  crop: RgbImage
}

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0
  for (let i = 0; i < a.length; i++) s += a[i] * b[i]
  return s
}

/**
 * TAR at FAR 1e-3 of a-templates against b-templates: genuine = the listed genuine pairs,
 * impostors = every a × b combination of two different people (tens of thousands, so the
 * threshold at 1e-3 rests on many accepts, not on one).
 */
function tarAtFar(a: Float32Array[], b: Float32Array[], aSide: Side[], bSide: Side[], genuine: [number, number][]): number {
  const impostors: number[] = []
  for (let i = 0; i < a.length; i++) for (let j = 0; j < b.length; j++) if (aSide[i].identity !== bSide[j].identity) impostors.push(dot(a[i], b[j]))
  const [{ threshold }] = thresholdsAtFar(Float32Array.from(impostors), [FAR])
  return genuine.filter(([i, j]) => dot(a[i], b[j]) > threshold).length / genuine.length
}

export async function equivariance(): Promise<string> {
  const data = resolveDataDir()
  if (!data) return '## Equivariance maps (Table 2)\n\nSkipped: research data folder not found (set UNVEIL_DATA).'
  const alignedRoot = process.env.UNVEIL_ALIGNED ?? join(dirname(data), 'aligned')
  if (!existsSync(join(alignedRoot, 'lfw')) || !existsSync(join(alignedRoot, 'celeba-10k')))
    return `## Equivariance maps (Table 2)\n\nSkipped: aligned crops not found under ${alignedRoot} (make them with unveil dataset align --in ../shared/datasets/lfw --out ${alignedRoot}/lfw, and likewise celeba-10k; or set UNVEIL_ALIGNED).`
  const started = performance.now()
  const wb = await Workbench.open({ libraryDir: process.env.BENCH_LIBRARY ?? mkdtempSync(join(tmpdir(), 'unveil-bench-')), caseRoot: tmpdir() })
  try {
    const encoders = [DEFAULT_ENCODER_ID, ...(await registerSharedEncoders(wb, data))]
    const lfw = alignedDataset(join(alignedRoot, 'lfw'))
    const bySource = new Map(lfw.manifest.items.map((i) => [i.source, i]))
    const pairs = balancedSubset(readLfwPairs(join(data, 'datasets', 'lfw', 'pairsDevTrain.txt')), PAIRS).filter((p) => bySource.has(p.a) && bySource.has(p.b))
    const sides = async (files: string[]): Promise<Side[]> => {
      const unique = [...new Set(files)]
      return Promise.all(
        unique.map(async (source) => {
          const item = bySource.get(source)!
          return { source, identity: item.identity!, crop: await decodeImage(new Uint8Array(readFileSync(join(lfw.dir, item.file))), source) }
        })
      )
    }
    const aSide = await sides(pairs.map((p) => p.a))
    const bSide = await sides(pairs.map((p) => p.b))
    const aIndex = new Map(aSide.map((s, i) => [s.source, i]))
    const bIndex = new Map(bSide.map((s, i) => [s.source, i]))
    const genuine = pairs.filter((p) => p.same).map((p): [number, number] => [aIndex.get(p.a)!, bIndex.get(p.b)!])

    const rows = new Map<string, string[]>()
    const fitRows: string[][] = []
    const ordering: string[] = []
    const timings: string[] = []
    for (const encoderId of encoders) {
      const t0 = performance.now()
      const job = wb.explainFits.fitEquivariance({ encoderId, datasetDir: join(alignedRoot, 'celeba-10k'), transforms: null, limit: FIT, seed: 1 })
      await job.outcome
      const fitSeconds = (performance.now() - t0) / 1000
      const model = await wb.loader.prepare(encoderId)
      const encode = async (crops: RgbImage[]): Promise<Float32Array[]> => (await encodeAlignedFaces(wb.engine, model, crops)).map((v) => normalise(v))
      const a = await encode(aSide.map((s) => s.crop))
      const bPlain = await encode(bSide.map((s) => s.crop))
      const reference = tarAtFar(a, bPlain, aSide, bSide, genuine)
      rows.set('none (aligned)', [...(rows.get('none (aligned)') ?? []), reference.toFixed(3), '—'])
      let improved = 0
      for (const t of STANDARD_TRANSFORMS) {
        const name = transformName(t)
        const { map, record } = wb.explainFits.artefacts.loadMap({ id: encoderId, sha256: wb.registry.get(encoderId).manifest.sha256 }, name)
        const perturbed = await encode(bSide.map((s) => transformCrop(s.crop, t)))
        const mapped = perturbed.map((p) => normalise(mapTemplate(map, p)))
        const without = tarAtFar(a, perturbed, aSide, bSide, genuine)
        const withMap = tarAtFar(a, mapped, aSide, bSide, genuine)
        if (withMap > without) improved++
        rows.set(name, [...(rows.get(name) ?? []), without.toFixed(3), withMap.toFixed(3)])
        fitRows.push([
          encoderId,
          name,
          String(record.counts.train + record.counts.validation),
          `${record.ridge.relative}`,
          record.fit.validation.identity.toFixed(3),
          record.fit.validation.mapped.toFixed(3)
        ])
      }
      ordering.push(`${encoderId}: the map raises TAR for ${improved} of ${STANDARD_TRANSFORMS.length} transforms`)
      timings.push(`${encoderId} ${((performance.now() - t0) / 1000).toFixed(0)} s (fit ${fitSeconds.toFixed(0)} s)`)
    }
    const head = ['perturbation of photo b', ...encoders.flatMap((e) => [`${e} without`, `${e} with map`])]
    return [
      '## Equivariance maps (Table 2)',
      '',
      machineLine(),
      '',
      `\`npm run bench -- equivariance\`: ${genuine.length} genuine and ${pairs.length - genuine.length} listed impostor pairs of LFW pairsDevTrain.txt (balanced subset; the development test split is not in ../shared). ` +
        `Photo a as aligned, photo b under the perturbation; TAR at FAR ${FAR} with the threshold from all ${aSide.length} × ${bSide.length} a × b combinations of different people under the same condition. ` +
        `Maps (one per transform and encoder, perturbed → original, ridge towards the identity) fitted on ${FIT} seeded CelebA-10k crops (20% held out to choose λ).`,
      '',
      markdownTable(
        head,
        [...rows].map(([name, cells]) => [name, ...cells])
      ),
      '',
      ordering.map((o) => `- ${o}`).join('\n'),
      '',
      'Fit on CelebA (mean cosine of perturbed to original template on the held-out 20% of the fit crops, without → with the map):',
      '',
      markdownTable(['encoder', 'transform', 'crops', 'λ / n', 'validation cos without', 'with map'], fitRows),
      '',
      `Time: ${timings.join('; ')}; total ${((performance.now() - started) / 60000).toFixed(1)} min.`
    ].join('\n')
  } finally {
    await wb.close()
  }
}
