import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { cosine } from '../../src/core/templates/vector-math'
import { exportTemplatesNpy } from '../../src/core/templates/template-codec'

describe('cases through the workbench', () => {
  let wb: Workbench
  let caseId: string
  const root = mkdtempSync(join(tmpdir(), 'unveil-cases-'))

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: root })
    caseId = wb.cases.create({ dir: join(root, 'case A'), name: 'Case A', examiner: 'Examiner' }).id
  })
  afterAll(async () => wb.close())

  const counts = (): [number, number, number] => {
    const d = wb.cases.get(caseId)
    return [d.templates.length, d.images.length, wb.cases.auditLog(caseId).length]
  }

  it('enrols a photo: template with provenance, photo stored as ground truth', async () => {
    const photo = sampleImagePaths()[1]
    const bytes = new Uint8Array(readFileSync(photo))
    const faces = await wb.faces.detect(bytes, 'sample2.jpg')
    const t = await wb.templates.enrolFromPhoto(caseId, bytes, 'sample2.jpg', { encoderId: 'faceplugin-fr-feature', faceIndex: faces.faces.length - 1 })
    expect(t.dimension).toBe(512)
    expect(t.origin).toBe('enrolment')
    expect(t.face?.index).toBe(faces.faces.length - 1)
    expect(t.imageSha256).toMatch(/^[0-9a-f]{64}$/)
    expect(t.encoderSha256).toBe(wb.registry.get('faceplugin-fr-feature').manifest.sha256)
    const img = wb.cases.getImage(caseId, t.imageSha256!)
    expect(Buffer.from(img.bytes).equals(Buffer.from(bytes))).toBe(true)
    expect(wb.cases.verifyAudit(caseId).ok).toBe(true)
  })

  it('exports a template to JSON and .npy and re-imports both unchanged', () => {
    const [t] = wb.cases.get(caseId).templates
    for (const format of ['json', 'npy'] as const) {
      const file = wb.templates.export(caseId, t.id, format)
      const [back] = wb.templates.import(caseId, file.bytes, file.name, 'faceplugin-fr-feature')
      expect(back.format).toBe(format)
      expect(cosine(back.vector, t.vector)).toBeCloseTo(1, 6)
      expect(back.vector).toEqual(t.vector)
    }
  })

  it('refuses bad template files and stores nothing', () => {
    const before = counts()
    const bad: [string, Uint8Array, RegExp][] = [
      ['short.npy', exportTemplatesNpy([Array.from({ length: 128 }, (_, i) => i + 1)]), /128 values.*512/],
      ['nan.json', new TextEncoder().encode(JSON.stringify(Array.from({ length: 512 }, (_, i) => (i === 7 ? 'NaN' : 1)))), /./],
      ['nan2.json', new TextEncoder().encode(`[${Array.from({ length: 512 }, (_, i) => (i === 7 ? 'NaN' : '1')).join(',')}]`), /NaN/],
      ['zero.csv', new TextEncoder().encode(Array.from({ length: 512 }, () => '0').join(',')), /zero/i],
      ['garbage.bin', new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3]), /./],
      ['truncated.npy', exportTemplatesNpy([Array.from({ length: 512 }, () => 1)]).slice(0, 600), /./]
    ]
    for (const [name, bytes, msg] of bad) {
      expect(() => wb.templates.import(caseId, bytes, name, 'faceplugin-fr-feature'), name).toThrow(msg)
    }
    expect(counts()).toEqual(before)
  })

  it('refuses a photo with no face and a non-image file, storing nothing', async () => {
    const before = counts()
    const blank = new Uint8Array(readFileSync(join(__dirname, '../../resources/manifests/mobileface-v2.json')))
    await expect(wb.templates.enrolFromPhoto(caseId, blank, 'manifest.json', { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })).rejects.toThrow(/not a readable image/)
    const png = await (await import('sharp')).default({ create: { width: 64, height: 64, channels: 3, background: '#808080' } }).png().toBuffer()
    await expect(wb.templates.enrolFromPhoto(caseId, new Uint8Array(png), 'grey.png', { encoderId: 'faceplugin-fr-feature', faceIndex: 0 })).rejects.toThrow(/no face/)
    await expect(wb.templates.enrolFromPhoto(caseId, new Uint8Array(png), 'grey.png', { encoderId: 'faceplugin-fr-detect', faceIndex: 0 })).rejects.toThrow(/not an encoder/)
    expect(counts()).toEqual(before)
  })

  it('creates the sample case from the shipped photos', async () => {
    const sample = await wb.createSampleCase()
    expect(sample.templates).toHaveLength(6)
    expect(sample.images).toHaveLength(6)
    expect(sample.templates.every((t) => t.dimension === 512 && t.imageSha256)).toBe(true)
    expect(wb.cases.list().map((c) => c.name)).toContain('Sample case')
    expect(wb.cases.verifyAudit(sample.info.id)).toMatchObject({ ok: true })
  })

  it('reopens a case after the workbench restarts', async () => {
    const libraryDir = wb.options.libraryDir
    await wb.close()
    wb = await Workbench.open({ libraryDir, caseRoot: root })
    expect(wb.cases.get(caseId).info.name).toBe('Case A')
    expect(wb.cases.verifyAudit(caseId).ok).toBe(true)
  })
})
