// Face priors before any search: for every registered generator, the share of seeded samples
// in which the bundled detector finds a face, and how spread their identities are (mean cosine
// between the samples' templates; a collapsed prior scores high). Real aligned LFW photos,
// shown to the detector the same way, are the reference.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../src/core/workbench/workbench'
import { resolveDataDir } from '../src/core/env/data-dir'
import { alignPhotos } from '../src/core/faces/aligned-faces'
import { lfwImageSample } from '../src/core/evaluation/encoder-thresholds'
import type { RgbImage } from '../src/core/imaging/image-io'
import { encodeAlignedFaces } from '../src/core/faces/face-encoder'
import { DEFAULT_ENCODER_ID } from '../src/core/models/bundled-models'
import { faceDetectionRate, inspectPrior } from '../src/core/priors/prior-inspection'
import { cosine } from '../src/core/templates/vector-math'
import { machineLine, markdownTable } from './bench-support'

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 500)
const SEED = 1

function meanPairwiseCosine(vs: Float32Array[]): number {
  let sum = 0
  let n = 0
  for (let i = 0; i < vs.length; i++) for (let j = i + 1; j < vs.length; j++, n++) sum += cosine(vs[i], vs[j])
  return sum / Math.max(1, n)
}

export async function priorSamples(): Promise<string> {
  const wb = await Workbench.open({ libraryDir: process.env.BENCH_LIBRARY ?? mkdtempSync(join(tmpdir(), 'unveil-bench-')), caseRoot: tmpdir() })
  try {
    const models = await wb.faces.pipeline(DEFAULT_ENCODER_ID)
    const rows: string[][] = []
    const row = async (name: string, sha: string, crops: RgbImage[], rate: { detected: number; images: number; meanScore: number }): Promise<void> => {
      const spread = meanPairwiseCosine(await encodeAlignedFaces(wb.engine, models.encoder, crops))
      rows.push([name, sha, `${rate.detected} / ${rate.images} (${((rate.detected / rate.images) * 100).toFixed(1)}%)`, rate.meanScore.toFixed(4), spread.toFixed(3)])
    }
    for (const entry of wb.registry.byRole('generator')) {
      const generator = await wb.loader.prepare(entry.manifest.id)
      const r = await inspectPrior(wb.engine, generator, models.detector, { samples: SAMPLES, seed: SEED })
      await row(entry.manifest.id, `\`${entry.manifest.sha256.slice(0, 12)}…\``, r.samples, r.detection)
      process.stderr.write(`${entry.manifest.id}: ${r.detection.detected}/${r.detection.images}\n`)
    }
    const data = resolveDataDir()
    if (data) {
      const { files } = lfwImageSample(join(data, 'datasets', 'lfw', 'images'), SAMPLES)
      const real = await alignPhotos(wb.engine, models.detector, models.landmarker, models.encoder.entry.manifest, files)
      await row(`real LFW photos, aligned (reference; ${real.undetected.length} found only by the centred fallback)`, '—', real.faces, await faceDetectionRate(wb.engine, models.detector, real.faces))
    }
    return [
      '### Face priors: detector face rate and identity spread',
      '',
      machineLine(),
      `${SAMPLES} samples per generator, latents N(0, I) from seed ${SEED}; each 112x112 crop is centred on a mid-grey 224x168 canvas for the bundled detector ` +
        `(score ≥ 0.6, box over the crop's centre). Identity spread: mean cosine between the ${DEFAULT_ENCODER_ID} templates of all sample pairs ` +
        `(lower = more distinct identities). Reference: the first ${SAMPLES} LFW photos in person order${data ? '' : ' (skipped: no UNVEIL_DATA)'}.`,
      '',
      markdownTable(['prior', 'sha256', 'face found', 'mean detector score', 'mean pairwise template cosine'], rows)
    ].join('\n')
  } finally {
    await wb.close()
  }
}
