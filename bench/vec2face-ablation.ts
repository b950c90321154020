// `npm run bench -- vec2face`: the Vec2Face ablation (Truong et al., Tables 2-3, at this machine's
// scale) on LFW development people: every registered Vec2Face generator (the shipped DiBiGAN and
// DAB-GAN, and the ablation variants trained into BENCH_VEC2FACE_DIR: plain conditional GAN,
// + bijective metric, + distillation, full) and the shipped DFD decoder, each in one forward
// pass per template (v seeded per person). Verification: the reconstruction of photo 1 replaces
// photo 1 in each person's genuine pair (photo 2 stays real); impostor pairs are photo 2 of one
// person with photo 1 of the next, both real; accuracy by the LFW protocol (10 folds), TAR at the
// encoder's FAR 1e-3 threshold. Type I/II success rates at FAR 1e-3 under every encoder.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import sharp from 'sharp'
import { resolveDataDir } from '../src/core/env/data-dir'
import { psnr, ssim } from '../src/core/evaluation/image-quality'
import { verificationAccuracy } from '../src/core/evaluation/verification-accuracy'
import { contactSheet } from '../src/core/imaging/contact-sheet'
import { decodeImage, type RgbImage } from '../src/core/imaging/image-io'
import { chwToImage, imageToChw } from '../src/core/imaging/image-tensor'
import { resolveDecoder } from '../src/core/methods/dfd-method'
import { TemplateOracle } from '../src/core/methods/template-oracle'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { generateFaces } from '../src/core/models/face-generator'
import { SeededRandom } from '../src/core/random/seeded-random'
import { cosine } from '../src/core/templates/vector-math'
import type { Workbench } from '../src/core/workbench/workbench'
import { machineLine, markdownTable } from './bench-support'
import { lfwAligner, lfwBenchPairs, openLfwBenchWorkbench } from './reconstruction-quality'

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 200)
const VARIANTS_DIR = process.env.BENCH_VEC2FACE_DIR ?? join('training', 'runs', 'vec2face-ablation')
const SHEET = process.env.BENCH_SHEET ?? join('docs', 'images', 'vec2face-lfw.png')
const SHEET_PEOPLE = 8
const FAR = 1e-3
/** Optional: crops already written by `unveil dataset align` for LFW (the same pipeline), to skip detection. */
const ALIGNED = process.env.BENCH_LFW_ALIGNED

/** Aligned photo of an LFW file: from the aligned folder when given, else detected and aligned here. */
async function lfwCrops(wb: Workbench, data: string): Promise<(file: string) => Promise<RgbImage>> {
  if (ALIGNED) {
    const items = (JSON.parse(readFileSync(join(ALIGNED, 'manifest.json'), 'utf8')) as { items: { file: string; source: string }[] }).items
    const bySource = new Map(items.map((it) => [it.source, it.file]))
    return async (file) => {
      const crop = bySource.get(file)
      if (!crop) throw new Error(`${file} is not in ${ALIGNED}/manifest.json (no face was aligned)`)
      return decodeImage(readFileSync(join(ALIGNED, crop)), crop)
    }
  }
  const { align } = await lfwAligner(wb, data)
  return async (file) => (await align(file)).aligned
}

/** Registers the ablation variants' exported generators (manifest + ONNX side by side) once. */
async function registerVariants(wb: Workbench): Promise<void> {
  if (!existsSync(VARIANTS_DIR)) return
  for (const f of readdirSync(VARIANTS_DIR)
    .filter((x) => x.endsWith('.json'))
    .sort()) {
    const manifest = JSON.parse(readFileSync(join(VARIANTS_DIR, f), 'utf8'))
    if (!manifest.conditional || wb.models.list().some((m) => m.manifest.id === manifest.id)) continue
    await wb.models.register(join(VARIANTS_DIR, manifest.file), manifest, { verify: false })
  }
}

const planar = (img: RgbImage): Float32Array => imageToChw(img, 'RGB', { scale: 255, mean: [0, 0, 0], std: [1, 1, 1] })
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
const pct = (xs: boolean[]): string => `${((xs.filter(Boolean).length / Math.max(1, xs.length)) * 100).toFixed(0)}%`

export async function vec2faceAblation(): Promise<string> {
  const title = '### Vec2Face ablation (DiBiGAN, DAB-GAN, DFD)'
  const data = resolveDataDir()
  if (!data) return `${title}\n\nSkipped: the research data folder is not available (UNVEIL_DATA).`
  const wb = await openLfwBenchWorkbench(data)
  try {
    await registerVariants(wb)
    const t0 = performance.now()
    const encoders = wb.registry.byRole('encoder').map((e) => e.manifest)
    const prepared = await Promise.all(encoders.map((e) => wb.loader.prepare(e.id)))
    const thresholds = encoders.map((e) => wb.registry.get(e.id).thresholds?.fars.find((f) => f.far === FAR)?.threshold ?? NaN)
    const ti = encoders.findIndex((e) => e.id === DEFAULT_ENCODER_ID)
    const target = encoders[ti]
    const picks = lfwBenchPairs(data, PEOPLE)
    const crop = await lfwCrops(wb, data)
    const photos1: RgbImage[] = []
    const b: RgbImage[] = []
    for (const [i, pair] of picks.entries()) {
      photos1.push(await crop(pair.a))
      b.push(await crop(pair.b))
      if ((i + 1) % 50 === 0) process.stderr.write(`aligned ${i + 1}/${picks.length} people\n`)
    }
    const n = photos1.length
    const encodeAll = (images: Float32Array[]): Promise<Float32Array[][]> =>
      Promise.all(prepared.map((p) => new TemplateOracle(wb.engine, p).templates(images)))
    const realA = await encodeAll(photos1.map(planar))
    const realB = await encodeAll(b.map(planar))
    // The target template: photo 1's template under the target encoder, as enrolment computes it.
    const a = photos1.map((aligned, i) => ({ aligned, vector: realA[ti][i] }))
    const impostors = Array.from({ length: n }, (_, i) => ({ score: cosine(realB[ti][i], realA[ti][(i + 1) % n]), same: false }))
    const verification = (genuine: number[]): { accuracy: string; tar: string } => ({
      accuracy: `${(verificationAccuracy([...genuine.map((score) => ({ score, same: true })), ...impostors]).accuracy * 100).toFixed(1)}%`,
      tar: pct(genuine.map((s) => s > thresholds[ti]))
    })

    const models = wb.registry
      .byRole('decoder')
      .filter((d) => d.manifest.conditional && d.manifest.targetEncoder?.sha256 === target.sha256)
      .map((d) => d.manifest)
      .sort((x, y) => x.conditional!.method.localeCompare(y.conditional!.method) || x.id.localeCompare(y.id))
    const dfd = wb.registry.get(
      resolveDecoder(wb.registry, { encoderId: target.id, encoderSha256: target.sha256, vector: { length: target.embeddingDim ?? 512 } })
    ).manifest
    const real = verification(a.map((_, i) => cosine(realA[ti][i], realB[ti][i])))
    const rows: string[][] = [
      ['real photo 1 (no reconstruction)', '—', '—', '—', '—', real.accuracy, real.tar, ...encoders.map(() => '—'), ...encoders.map(() => '—')]
    ]
    const sheet: RgbImage[] = a.slice(0, SHEET_PEOPLE).map((x) => x.aligned)
    for (const m of [...models, dfd]) {
      const c = m.conditional
      const inputs = a.map((x, i) => {
        if (!c) return Float32Array.from(x.vector)
        const row = new Float32Array(c.templateDim + c.noiseDim)
        row.set(x.vector)
        const rng = new SeededRandom(1000 + i)
        for (let j = c.templateDim; j < row.length; j++) row[j] = rng.normal()
        return row
      })
      const recon = await generateFaces(wb.engine, await wb.loader.prepare(m.id), inputs)
      const rec = await encodeAll(recon)
      const images = recon.map((r) => chwToImage(r, 112, 112))
      sheet.push(...images.slice(0, SHEET_PEOPLE))
      const v = verification(rec[ti].map((t, i) => cosine(t, realB[ti][i])))
      rows.push([
        m.id,
        c?.method ?? 'dfd',
        mean(images.map((img, i) => psnr(img, a[i].aligned))).toFixed(2),
        mean(images.map((img, i) => ssim(img, a[i].aligned))).toFixed(3),
        mean(rec[ti].map((t, i) => cosine(t, a[i].vector))).toFixed(3),
        v.accuracy,
        v.tar,
        ...encoders.map((_, e) => pct(rec[e].map((t, i) => cosine(t, realA[e][i]) > thresholds[e]))),
        ...encoders.map((_, e) => pct(rec[e].map((t, i) => cosine(t, realB[e][i]) > thresholds[e])))
      ])
      process.stderr.write(`${m.id}: ${rows.at(-1)!.slice(2).join(' ')}\n`)
    }
    mkdirSync(dirname(SHEET), { recursive: true })
    // 64 px tiles, the generators' native output size: the file stays small.
    writeFileSync(
      SHEET,
      await sharp(await contactSheet(sheet, SHEET_PEOPLE))
        .resize({ width: 64 * SHEET_PEOPLE })
        .png({ compressionLevel: 9 })
        .toBuffer()
    )
    const enc = (e: { id: string }): string => (e.id === target.id ? `${e.id} (target)` : e.id)
    return [
      title,
      '',
      machineLine(),
      `${n} LFW development people (first genuine pair of each in pairsDevTrain.txt${ALIGNED ? `; crops from ${ALIGNED}, written by unveil dataset align` : ''}); template from photo 1 with ${target.id}; one forward pass per template ` +
        `(Vec2Face v ~ N(0, I) seeded 1000+i). Verification under ${target.id}: the reconstruction of photo 1 replaces photo 1 in the genuine pair; ` +
        `${n} impostor pairs (photo 2 of person i, photo 1 of person i+1, real); accuracy by the LFW protocol (10 folds); TAR and SAR at each encoder's ` +
        `FAR 1e-3 threshold (shipped or measured on LFW impostor pairs). SAR-I: vs photo 1 (the template's own photo); SAR-II: vs photo 2. ` +
        `${((performance.now() - t0) / 1000).toFixed(0)} s. Contact sheet (64 px tiles: originals, then one row per model in table order): \`${SHEET}\`.`,
      '',
      markdownTable(
        [
          'model',
          'kind',
          'PSNR (dB)',
          'SSIM',
          'sim. to target',
          'verif. acc.',
          'TAR @1e-3',
          ...encoders.map((e) => `SAR-I ${enc(e)}`),
          ...encoders.map((e) => `SAR-II ${enc(e)}`)
        ],
        rows
      )
    ].join('\n')
  } finally {
    await wb.close()
  }
}
