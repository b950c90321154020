import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { dataDirOrSkip, sharedEncoder } from '../helpers/data'

const data = dataDirOrSkip('registration of the shared encoders and LFW verification')
const manifest = (name: string): Record<string, unknown> => JSON.parse(readFileSync(join(__dirname, '../../resources/manifests', name), 'utf8'))

describe('model registry', () => {
  let wb: Workbench
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-models-'))
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: tmp })
  })
  afterAll(async () => wb.close())

  // The bundled landmarker doubles as a "user" model whose real graph we know.
  const landmarker = (): string => {
    const p = join(tmp, 'landmarks.onnx')
    copyFileSync(wb.registry.get('faceplugin-fr-landmark').path, p)
    return p
  }
  const landmarkManifest = (patch: Record<string, unknown> = {}): Record<string, unknown> => ({
    id: 'my-landmarks',
    name: 'Landmarks',
    role: 'landmarker',
    input: { name: 'input', shape: [1, 1, 64, 64], layout: 'NCHW', colorOrder: 'GRAY', normalisation: { scale: 256, mean: [0], std: [1] } },
    output: { name: 'output', shape: [1, 136] },
    licence: 'MIT',
    source: 'test',
    ...patch
  })

  it('refuses a manifest that does not match the model, naming the mismatch, and stores nothing', async () => {
    const path = landmarker()
    const cases: [Record<string, unknown>, RegExp][] = [
      [landmarkManifest({ input: { name: 'pixels', shape: [1, 1, 64, 64], layout: 'NCHW' } }), /input 'pixels' is not in the model; its inputs are: input/],
      [landmarkManifest({ input: { name: 'input', shape: [1, 3, 64, 64], layout: 'NCHW' } }), /dimension 1 is 1 in the model but 3/],
      [landmarkManifest({ output: { name: 'output', shape: [1, 68] } }), /dimension 1 is 136 in the model but 68/],
      [landmarkManifest({ output: { name: 'logits', shape: [1, 136] } }), /output 'logits' is not in the model/],
      [landmarkManifest({ role: 'encoder', embeddingDim: 512, input: { name: 'input', shape: [1, 1, 64, 64], layout: 'NCHW', colorOrder: 'GRAY', normalisation: { scale: 1, mean: [0], std: [1] } } }), /136 values but the manifest says embeddingDim 512/],
      [landmarkManifest({ sha256: '0'.repeat(64) }), /does not match the file/],
      [landmarkManifest({ id: 'Bad Id' }), /manifest.id/],
      [landmarkManifest({ id: 'faceplugin-fr-feature' }), /already registered/]
    ]
    for (const [m, msg] of cases) await expect(wb.models.register(path, m)).rejects.toThrow(msg)
    const corrupt = join(tmp, 'corrupt.onnx')
    writeFileSync(corrupt, readFileSync(path).subarray(0, 4000))
    await expect(wb.models.register(corrupt, landmarkManifest())).rejects.toThrow(/not a valid ONNX file/)
    expect(wb.models.list().map((e) => e.manifest.id)).not.toContain('my-landmarks')
  })

  it('registers a valid model and keeps it across restarts', async () => {
    const { entry } = await wb.models.register(landmarker(), landmarkManifest())
    expect(entry.bundled).toBe(false)
    expect(entry.manifest.sha256).toBe(wb.registry.get('faceplugin-fr-landmark').manifest.sha256)
    await wb.close()
    wb = await Workbench.open({ libraryDir: wb.options.libraryDir, caseRoot: tmp })
    expect(wb.registry.get('my-landmarks').manifest.role).toBe('landmarker')
  })

  it.skipIf(!data)('registers the shared encoders and measures LFW verification accuracy (200-pair subset)', { timeout: 400_000 }, async () => {
    for (const [file, m] of [['mobilefacenet-foamliu.onnx', 'mobilefacenet-foamliu.json'], ['mobileface-v2.onnx', 'mobileface-v2.json']]) {
      const path = sharedEncoder(data!, file)
      if (!path) continue
      await wb.models.register(path, manifest(m), { verify: false })
    }
    for (const id of ['faceplugin-fr-feature', 'mobilefacenet-foamliu', 'mobileface-v2']) {
      if (!wb.models.list().some((e) => e.manifest.id === id)) continue
      const run = await wb.jobs.wait(wb.models.verify(id, { pairs: 200 }).runId)
      expect(run.status, run.error ?? '').toBe('succeeded')
      const v = wb.registry.get(id).verification!
      expect(v.pairs).toBe(200)
      // Wrong preprocessing still yields vectors, just worse ones: a working encoder must separate
      // genuine from impostor pairs clearly.
      expect(v.accuracy, id).toBeGreaterThan(0.85)
      expect(v.genuineMean).toBeGreaterThan(v.impostorMean + 0.2)
    }
  })
})
