import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { OnnxGraphBuilder } from '../../src/core/models/onnx-builder'
import { SeededRandom } from '../../src/core/random/seeded-random'

process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')

/** A small, untrained decoder graph with a real decoder's interface: template → 112x112 RGB. */
function tinyDecoder(dim: number): Uint8Array {
  const rng = new SeededRandom(2)
  const g = new OnnxGraphBuilder()
  g.input('template', ['batch', dim])
  const w = g.constant('w', [dim, 3 * 8 * 8], Float32Array.from({ length: dim * 192 }, () => rng.normal() * 0.1))
  const small = g.node('Reshape', [g.node('MatMul', ['template', w]), g.int64('shape', [-1, 3, 8, 8])])
  const big = g.node('Resize', [small, '', g.floats('scales', [1, 1, 14, 14])], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' })
  g.node('Sigmoid', [big], {}, 'image')
  g.output('image', ['batch', 3, 112, 112])
  return g.build('tiny_decoder')
}

describe('DFD decoder method', () => {
  let wb: Workbench
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-dfd-'))
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: tmp })
    writeFileSync(join(tmp, 'decoder.onnx'), tinyDecoder(512))
    const encoder = wb.registry.get('faceplugin-fr-feature').manifest
    await wb.models.register(join(tmp, 'decoder.onnx'), {
      id: 'tiny-decoder',
      name: 'Tiny test decoder',
      role: 'decoder',
      input: { name: 'template', shape: [-1, 512], layout: 'NC' },
      output: { name: 'image', shape: [-1, 3, 112, 112] },
      outputRange: [0, 1],
      targetEncoder: { id: encoder.id, sha256: encoder.sha256 },
      licence: 'test',
      source: 'built by this test'
    })
  })
  afterAll(async () => wb.close())

  it('decodes in one forward pass, one query, and scores like any run', async () => {
    const encoder = wb.registry.get('faceplugin-fr-feature').manifest
    const vector = Array.from({ length: 512 }, (_, i) => Math.sin(i))
    const r = await wb.runs.invert({ template: { vector, encoderId: encoder.id, encoderSha256: encoder.sha256 }, method: 'dfd', parameters: { decoder: 'tiny-decoder' }, seed: 1 })
    expect(r.queries).toBe(1)
    expect(r.modelSha256s.decoder).toBe(wb.registry.get('tiny-decoder').manifest.sha256)
    expect(r.image.width).toBe(112)
    const own = r.scores.find((s) => s.encoderId === encoder.id)!
    expect(own.target).toBeCloseTo(r.similarity, 5)
    const again = await wb.runs.invert({ template: { vector, encoderId: encoder.id, encoderSha256: encoder.sha256 }, method: 'dfd', parameters: { decoder: 'tiny-decoder' }, seed: 9 })
    expect(again.similarity).toBe(r.similarity)
  })

  it('refuses a template of another encoder or dimension', async () => {
    await expect(
      wb.runs.invert({ template: { vector: new Array(512).fill(1), encoderId: 'faceplugin-fr-feature', encoderSha256: '0'.repeat(64) }, method: 'dfd', parameters: {}, seed: 1 })
    ).rejects.toThrow(/no decoder is registered/)
    await expect(
      wb.runs.invert({ template: { vector: new Array(512).fill(1), encoderId: 'faceplugin-fr-feature', encoderSha256: '0'.repeat(64) }, method: 'dfd', parameters: { decoder: 'tiny-decoder' }, seed: 1 })
    ).rejects.toThrow(/inverts templates of 'faceplugin-fr-feature'/)
  })
})
