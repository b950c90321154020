import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { decodeImage } from '../../src/core/imaging/image-io'
import { imageToChw } from '../../src/core/imaging/image-tensor'
import { enrolFace } from '../../src/core/faces/enrolment'
import { cosine } from '../../src/core/templates/vector-math'
import { TemplateOracle } from '../../src/core/methods/template-oracle'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { decoderMethod } from '../../src/shared/validation'

process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')
const shipped = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-probe-'))).byRole('decoder').filter((d) => d.bundled && decoderMethod(d.manifest) === 'dfd')
if (shipped.length === 0) console.log('SKIP shipped decoder test: no decoder is shipped in resources/models yet')

describe.skipIf(shipped.length === 0)('the shipped Deep Face Decoder', () => {
  let wb: Workbench
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: tmpdir() })
  })
  afterAll(async () => wb.close())

  it("reconstructs a real photo's template closer to that template than another person's reconstruction is", async () => {
    const decoder = shipped[0].manifest
    const encoder = wb.registry.list().find((e) => e.manifest.sha256 === decoder.targetEncoder?.sha256)!.manifest
    const models = await wb.faces.pipeline(encoder.id)
    const template = async (file: string): Promise<number[]> => Array.from((await enrolFace(wb.engine, models, await decodeImage(readFileSync(file)), 0)).vector)
    // Different people: the largest faces of two of the sample group photos.
    const a = await template(sampleImagePaths()[0])
    const b = await template(sampleImagePaths()[3])
    const target = { encoderId: encoder.id, encoderSha256: encoder.sha256 }
    const ownA = await wb.runs.invert({ template: { ...target, vector: a }, method: 'dfd', parameters: { decoder: decoder.id }, seed: 1 })
    const ofB = await wb.runs.invert({ template: { ...target, vector: b }, method: 'dfd', parameters: { decoder: decoder.id }, seed: 1 })
    expect(ownA.queries).toBe(1)
    const oracle = new TemplateOracle(wb.engine, models.encoder)
    const [templateOfB] = await oracle.templates([imageToChw(ofB.image, 'RGB', { scale: 255, mean: [0, 0, 0], std: [1, 1, 1] })])
    expect(ownA.similarity).toBeGreaterThan(cosine(a, templateOfB))
  })
})
