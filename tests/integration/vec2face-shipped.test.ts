import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { decodeImage } from '../../src/core/imaging/image-io'
import { enrolFace } from '../../src/core/faces/enrolment'
import { cosine } from '../../src/core/templates/vector-math'
import { TemplateOracle } from '../../src/core/methods/template-oracle'
import { imageToChw } from '../../src/core/imaging/image-tensor'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { sha256Hex } from '../../src/core/fs/sha256'

process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')
const shipped = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-probe-'))).byRole('decoder').filter((d) => d.bundled && d.manifest.conditional)
/**
 * How far above the random-face baseline the mean own similarity must be. On 200 LFW people the
 * shipped generators reach 0.56 to the target against an impostor mean of about 0.02 (their
 * cards); 0.2 leaves room for the sample photos' group-photo faces, smaller than LFW's.
 */
const MARGIN = 0.2
if (shipped.length === 0) console.log('SKIP shipped Vec2Face test: no DiBiGAN/DAB-GAN generator is shipped in resources/models yet')

describe.skipIf(shipped.length === 0)('the shipped Vec2Face generators', () => {
  let wb: Workbench
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: tmpdir() })
  })
  afterAll(async () => wb.close())

  it.each(shipped.map((d) => [d.manifest.id, d] as const))(
    "%s: a photo's reconstruction is closer to its template than another person's face is, and its card names its sha256",
    async (id, entry) => {
      const m = entry.manifest
      expect(readFileSync(join('resources', 'models', `${id}.md`), 'utf8')).toContain(m.sha256)
      expect(sha256Hex(readFileSync(join('resources', 'models', m.file)))).toBe(m.sha256)
      const encoder = wb.registry.list().find((e) => e.manifest.sha256 === m.targetEncoder?.sha256)!.manifest
      const models = await wb.faces.pipeline(encoder.id)
      const template = async (file: string): Promise<number[]> =>
        Array.from((await enrolFace(wb.engine, models, await decodeImage(readFileSync(file)), 0)).vector)
      // Different people: the largest faces of two of the sample group photos.
      const a = await template(sampleImagePaths()[0])
      const b = await template(sampleImagePaths()[3])
      const target = { encoderId: encoder.id, encoderSha256: encoder.sha256 }
      const method = m.conditional!.method
      const ownA = await wb.runs.invert({ template: { ...target, vector: a }, method, parameters: { generator: id, variations: 2 }, seed: 1 })
      const ownB = await wb.runs.invert({ template: { ...target, vector: b }, method, parameters: { generator: id, variations: 2 }, seed: 1 })
      expect(ownA.queries).toBe(2)
      expect(ownA.candidates).toHaveLength(2)
      const oracle = new TemplateOracle(wb.engine, models.encoder)
      const planar = (img: typeof ownA.image): Float32Array => imageToChw(img, 'RGB', { scale: 255, mean: [0, 0, 0], std: [1, 1, 1] })
      const [ofA, ofB] = await oracle.templates([planar(ownA.image), planar(ownB.image)])
      // The random-face baseline: the other person's reconstruction scored against each template.
      const baseline = (cosine(a, ofB) + cosine(b, ofA)) / 2
      expect((ownA.similarity + ownB.similarity) / 2).toBeGreaterThan(baseline + MARGIN)
    }
  )
})
