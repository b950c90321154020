import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { decodeImage } from '../../src/core/imaging/image-io'
import { enrolFace } from '../../src/core/faces/enrolment'
import { cosine } from '../../src/core/templates/vector-math'
import { dataDirOrSkip, lfwImage } from '../helpers/data'

const data = dataDirOrSkip('LFW enrolment ordering')

describe('enrolment with the bundled encoder', () => {
  let wb: Workbench
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: mkdtempSync(join(tmpdir(), 'unveil-cases-')) })
  })
  afterAll(async () => wb.close())

  async function enrol(path: string, face = 0): Promise<Float32Array> {
    const models = await wb.faces.pipeline('faceplugin-fr-feature')
    return (await enrolFace(wb.engine, models, await decodeImage(readFileSync(path)), face)).vector
  }

  it('finds a face in every sample photo and gives 512-d templates', async () => {
    const photos = sampleImagePaths()
    expect(photos.length).toBe(6)
    for (const p of photos) {
      const r = await wb.faces.detect(new Uint8Array(readFileSync(p)), p)
      expect(r.faces.length).toBeGreaterThan(0)
      expect(r.faces[0].landmarks).toHaveLength(5)
      // Largest face first.
      const area = (b: number[]): number => (b[2] - b[0]) * (b[3] - b[1])
      for (let i = 1; i < r.faces.length; i++) expect(area(r.faces[i - 1].box)).toBeGreaterThanOrEqual(area(r.faces[i].box))
    }
    const v = await enrol(photos[0])
    expect(v.length).toBe(512)
    expect(v.every(Number.isFinite)).toBe(true)
  })

  it('re-enrolment is stable and the different people within one group photo score low', async () => {
    const photo = sampleImagePaths()[0]
    const a = await enrol(photo)
    expect(cosine(a, await enrol(photo))).toBeGreaterThan(0.999)
    const { faces } = await wb.faces.detect(new Uint8Array(readFileSync(photo)), photo)
    expect(faces.length).toBeGreaterThanOrEqual(3)
    const all = await Promise.all(faces.map((_, i) => enrol(photo, i)))
    for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) expect(cosine(all[i], all[j])).toBeLessThan(0.5)
  })

  it('refuses a photo without a face and a face index that does not exist', async () => {
    const models = await wb.faces.pipeline('faceplugin-fr-feature')
    const blank = { data: new Uint8Array(200 * 200 * 3).fill(128), width: 200, height: 200 }
    await expect(enrolFace(wb.engine, models, blank)).rejects.toThrow(/no face was found/)
    const img = await decodeImage(readFileSync(sampleImagePaths()[0]))
    await expect(enrolFace(wb.engine, models, img, 40)).rejects.toThrow(/face 41 was requested but the photo has \d+ face/)
  })

  it.skipIf(!data)('scores two photos of one person above two different people (LFW)', async () => {
    const people = ['Aaron_Peirsol', 'Aaron_Sorkin', 'Abdullah_Gul', 'Adrien_Brody', 'Al_Gore', 'Alejandro_Toledo']
      .filter((p) => {
        try {
          readFileSync(lfwImage(data!, p, 2))
          return true
        } catch {
          return false
        }
      })
      .slice(0, 4)
    expect(people.length).toBeGreaterThanOrEqual(2)
    const first = await Promise.all(people.map((p) => enrol(lfwImage(data!, p, 1))))
    const second = await Promise.all(people.map((p) => enrol(lfwImage(data!, p, 2))))
    for (let i = 0; i < people.length; i++) {
      const genuine = cosine(first[i], second[i])
      for (let j = 0; j < people.length; j++) {
        if (j === i) continue
        expect(genuine).toBeGreaterThan(cosine(first[i], first[j]))
        expect(genuine).toBeGreaterThan(cosine(first[i], second[j]))
      }
    }
  })
})
