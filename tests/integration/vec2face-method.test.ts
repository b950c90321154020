import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { OnnxGraphBuilder } from '../../src/core/models/onnx-builder'
import { SeededRandom } from '../../src/core/random/seeded-random'
import type { ModelManifest } from '../../src/shared/types'

process.env.UNVEIL_DATA = join(tmpdir(), 'unveil-no-data')

/** A small, untrained graph with a Vec2Face generator's interface: [template | v] → 112x112 RGB. */
function tinyConditional(width: number, seed: number): Uint8Array {
  const rng = new SeededRandom(seed)
  const g = new OnnxGraphBuilder()
  g.input('template', ['batch', width])
  const w = g.constant(
    'w',
    [width, 3 * 8 * 8],
    Float32Array.from({ length: width * 192 }, () => rng.normal() * 0.1)
  )
  const small = g.node('Reshape', [g.node('MatMul', ['template', w]), g.int64('shape', [-1, 3, 8, 8])])
  const big = g.node('Resize', [small, '', g.floats('scales', [1, 1, 14, 14])], { mode: 'linear', coordinate_transformation_mode: 'half_pixel' })
  g.node('Sigmoid', [big], {}, 'image')
  g.output('image', ['batch', 3, 112, 112])
  return g.build('tiny_conditional')
}

describe('Vec2Face methods (dibigan, dabgan)', () => {
  let wb: Workbench
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-v2f-'))
  let fr: ModelManifest
  const register = async (id: string, method: string, templateDim: number, target: { id: string; sha256: string }): Promise<void> => {
    writeFileSync(join(tmp, `${id}.onnx`), tinyConditional(templateDim + 4, id.length))
    await wb.models.register(join(tmp, `${id}.onnx`), {
      id,
      name: id,
      role: 'decoder',
      input: { name: 'template', shape: [-1, templateDim + 4], layout: 'NC' },
      output: { name: 'image', shape: [-1, 3, 112, 112] },
      outputRange: [0, 1],
      targetEncoder: target,
      conditional: { method, templateDim, noiseDim: 4 },
      licence: 'test',
      source: 'built by this test'
    })
  }
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: tmp })
    fr = wb.registry.get('faceplugin-fr-feature').manifest
    await register('tiny-dibigan', 'dibigan', 512, { id: fr.id, sha256: fr.sha256 })
    await register('tiny-dabgan-other', 'dabgan', 512, { id: 'some-other-encoder', sha256: 'a'.repeat(64) })
    await register('tiny-dibigan-256', 'dibigan', 256, { id: 'a-256-encoder', sha256: 'b'.repeat(64) })
  })
  afterAll(async () => wb.close())
  const template = (): { vector: number[]; encoderId: string; encoderSha256: string } => ({
    vector: Array.from({ length: 512 }, (_, i) => Math.sin(i)),
    encoderId: fr.id,
    encoderSha256: fr.sha256
  })

  it('runs one pass per seeded variation, keeps the K faces as candidates and scores the best like any run', async () => {
    const r = await wb.runs.invert({ template: template(), method: 'dibigan', parameters: { generator: 'tiny-dibigan', variations: 3 }, seed: 5 })
    expect(r.queries).toBe(3)
    expect(r.candidates).toHaveLength(3)
    expect(r.candidates.filter((c) => c.picked)).toHaveLength(1)
    expect(r.candidates[0].picked && r.candidates[0].seen).toBe(r.similarity)
    expect(new Set(r.candidates.map((c) => c.seen)).size).toBe(3)
    expect(r.models.generator?.id).toBe('tiny-dibigan')
    expect(r.scores.find((s) => s.encoderId === fr.id)!.target).toBeCloseTo(r.similarity, 5)
    const again = await wb.runs.invert({ template: template(), method: 'dibigan', parameters: { generator: 'tiny-dibigan', variations: 3 }, seed: 5 })
    expect(again.candidates.map((c) => c.seen)).toEqual(r.candidates.map((c) => c.seen))
    const other = await wb.runs.invert({ template: template(), method: 'dibigan', parameters: { generator: 'tiny-dibigan', variations: 3 }, seed: 6 })
    expect(other.candidates.map((c) => c.seen)).not.toEqual(r.candidates.map((c) => c.seen))
  })

  it('refuses a generator of another encoder unless transfer is allowed, and records the transfer', async () => {
    // A template of an encoder no dabgan generator was trained for (the shipped one inverts fr-feature).
    const unknown = { ...template(), encoderId: 'an-unknown-encoder', encoderSha256: 'e'.repeat(64) }
    await expect(wb.runs.invert({ template: unknown, method: 'dabgan', parameters: {}, seed: 1 })).rejects.toThrow(
      /^no dabgan generator is registered for encoder 'an-unknown-encoder' \(registered ones invert .*'some-other-encoder'.*; --allow-other-encoder to transfer\)$/
    )
    await expect(wb.runs.invert({ template: template(), method: 'dabgan', parameters: { generator: 'tiny-dabgan-other' }, seed: 1 })).rejects.toThrow(
      "generator 'tiny-dabgan-other' inverts templates of 'some-other-encoder', but this template comes from 'faceplugin-fr-feature' (--allow-other-encoder to transfer)"
    )
    const r = await wb.runs.invert({
      template: template(),
      method: 'dabgan',
      parameters: { generator: 'tiny-dabgan-other', allowOtherEncoder: 1, variations: 1 },
      seed: 1
    })
    expect(r.parameters.allowOtherEncoder).toBe(1)
    expect(r.summary.transfer).toEqual({ from: 'faceplugin-fr-feature', to: 'some-other-encoder' })
  })

  it('refuses a template of the wrong dimension (even with transfer) and a model of another kind', async () => {
    await expect(
      wb.runs.invert({ template: template(), method: 'dibigan', parameters: { generator: 'tiny-dibigan-256', allowOtherEncoder: 1 }, seed: 1 })
    ).rejects.toThrow("generator 'tiny-dibigan-256' takes 256-d templates of 'a-256-encoder', this one from 'faceplugin-fr-feature' has 512")
    await expect(wb.runs.invert({ template: template(), method: 'dabgan', parameters: { generator: 'tiny-dibigan' }, seed: 1 })).rejects.toThrow(
      "'tiny-dibigan' is a dibigan model: run it with --method dibigan"
    )
    await expect(wb.runs.invert({ template: template(), method: 'dfd', parameters: { decoder: 'tiny-dibigan' }, seed: 1 })).rejects.toThrow(
      "'tiny-dibigan' is a dibigan model: run it with --method dibigan"
    )
  })

  it('refuses a manifest whose input width is not template + noise', async () => {
    writeFileSync(join(tmp, 'bad.onnx'), tinyConditional(516, 1))
    await expect(
      wb.models.register(join(tmp, 'bad.onnx'), {
        id: 'bad-conditional',
        name: 'bad',
        role: 'decoder',
        input: { name: 'template', shape: [-1, 516], layout: 'NC' },
        output: { name: 'image', shape: [-1, 3, 112, 112] },
        outputRange: [0, 1],
        conditional: { method: 'dibigan', templateDim: 512, noiseDim: 8 },
        licence: 'test',
        source: 'test'
      })
    ).rejects.toThrow('manifest.input.shape[1] (516) must be conditional.templateDim + conditional.noiseDim')
    expect(wb.registry.list().some((m) => m.manifest.id === 'bad-conditional')).toBe(false)
  })
})
