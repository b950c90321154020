// Explain: equivariance maps and attribute directions, fitted on crops the test aligns itself
// from ../shared (LFW for the maps, UTKFace for the directions), then used on held-out faces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AttributesRecord, EquivarianceRecord } from '../../src/shared/explain-types'
import { parseTransform, transformCrop } from '../../src/core/explain/geometric'
import { mapTemplate } from '../../src/core/explain/linear-map'
import { encodeAlignedFaces } from '../../src/core/faces/face-encoder'
import { decodeImage, encodePng, type RgbImage } from '../../src/core/imaging/image-io'
import { cosine } from '../../src/core/templates/vector-math'
import { readAlignedManifest } from '../../src/core/datasets/align/aligned-manifest'
import { Workbench } from '../../src/core/workbench/workbench'
import { explainRuns } from '../helpers/explain-runs'
import { dataDirOrSkip, lfwImage, sharedEncoder } from '../helpers/data'

const ROOT = join(__dirname, '../..')
const dataDir = dataDirOrSkip('Explain equivariance and attribute directions')
const ENCODER = 'faceplugin-fr-feature'
const TRANSFORMS = ['rotate:30', 'translate:0.2']

/** A folder of symlinks to `files` (relative to `from`), in the layout the aligner mirrors. */
function linkFolder(dir: string, from: string, files: string[]): string {
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true })
    symlinkSync(join(from, f), join(dir, f))
  }
  return dir
}

describe.skipIf(!dataDir)('Explain equivariance maps and attribute directions', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'unveil-equiv-'))
  const home = join(tmp, 'library')
  let wb: Workbench
  let caseId: string
  let heldOut: RgbImage[]

  const crops = async (dir: string): Promise<RgbImage[]> =>
    Promise.all(readAlignedManifest(dir)!.items.map(async (i) => decodeImage(new Uint8Array(readFileSync(join(dir, i.file))), i.file)))
  const encode = async (faces: RgbImage[]): Promise<Float32Array[]> => encodeAlignedFaces(wb.engine, await wb.loader.prepare(ENCODER), faces)
  const { finish, stored, imageExists } = explainRuns(
    () => wb,
    () => caseId
  )

  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: home, caseRoot: tmp })
    caseId = wb.cases.create({ dir: join(tmp, 'case'), name: 'equivariance', number: null, examiner: null, notes: null }).id
    const lfw = join(dataDir!, 'datasets', 'lfw', 'images')
    const people = readdirSync(lfw).sort()
    const photos = (names: string[]): string[] =>
      names.flatMap((p) =>
        readdirSync(join(lfw, p))
          .sort()
          .map((f) => `${p}/${f}`)
      )
    // Fit on people from the start of the alphabet, hold out people from its end.
    const fitFiles = photos(people.slice(0, 60)).slice(0, 80)
    const heldFiles = photos(people.slice(-16)).slice(0, 16)
    await wb.datasets.align({ inDir: linkFolder(join(tmp, 'fit-photos'), lfw, fitFiles), outDir: join(tmp, 'fit'), concurrency: 1 })
    await wb.datasets.align({ inDir: linkFolder(join(tmp, 'held-photos'), lfw, heldFiles), outDir: join(tmp, 'held'), concurrency: 1 })
    heldOut = await crops(join(tmp, 'held'))
    // UTKFace names sort by age as text ("1_", "10_", "100_"): every k-th file spreads the ages.
    const utk = join(dataDir!, 'datasets', 'utkface', 'images')
    const all = readdirSync(utk).sort()
    const utkFiles = Array.from({ length: 120 }, (_, i) => all[Math.floor((i * all.length) / 120)])
    await wb.datasets.align({ inDir: linkFolder(join(tmp, 'utk-photos'), utk, utkFiles), outDir: join(tmp, 'utk'), concurrency: 1 })
  }, 240_000)
  afterAll(async () => {
    await wb?.close()
    rmSync(tmp, { recursive: true, force: true })
  })

  it('fits maps, stored with their cards, that raise the original-vs-perturbed cosine on held-out crops', async () => {
    const job = wb.explainFits.fitEquivariance({ encoderId: ENCODER, datasetDir: join(tmp, 'fit'), transforms: TRANSFORMS, limit: null, seed: 1 })
    const { maps } = (await job.outcome)!
    expect(maps.map((m) => m.transform)).toEqual(TRANSFORMS)
    const sha = wb.registry.get(ENCODER).manifest.sha256
    const dir = wb.explainFits.artefacts.mapFolder(ENCODER)
    for (const m of maps) {
      expect(m.encoder).toEqual({ id: ENCODER, sha256: sha })
      expect(m.counts.train + m.counts.validation).toBeGreaterThanOrEqual(70)
      expect(readFileSync(join(dir, m.weights.file)).byteLength).toBe(512 * 512 * 4)
      const card = readFileSync(join(dir, m.weights.file.replace('.f32', '.md')), 'utf8')
      expect(card).toContain(sha)
      expect(card).toContain(m.weights.sha256)
      expect(card).toMatch(/fit error \| training mean squared residual/)
      expect(card).toMatch(/inherits the terms of the photos it was fitted on|LFW/)
    }
    const originals = await encode(heldOut)
    for (const name of TRANSFORMS) {
      const perturbed = await encode(heldOut.map((c) => transformCrop(c, parseTransform(name))))
      const { map } = wb.explainFits.artefacts.loadMap({ id: ENCODER, sha256: sha }, name)
      const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length
      const without = mean(perturbed.map((p, i) => cosine(p, originals[i])))
      const withMap = mean(perturbed.map((p, i) => cosine(mapTemplate(map, p), originals[i])))
      console.log(
        `${name}: held-out mean cosine to the unperturbed crop ${without.toFixed(3)} without the map, ${withMap.toFixed(3)} with it (${heldOut.length} crops)`
      )
      expect(withMap).toBeGreaterThan(without + 0.02)
    }
  })

  it('enrols an aligned crop without detection, maps its template back, and refuses a photo that is not a crop', async () => {
    const crop = heldOut[0]
    const rotated = transformCrop(crop, parseTransform('rotate:30'))
    const bytes = await encodePng(rotated)
    const file = await wb.templates.enrolAlignedToFile(bytes, 'rotated.png', { label: 'rotated crop' })
    const [direct, original] = await encode([rotated, crop])
    // No detection: the template is the rotated crop's, not a re-aligned face's.
    expect(cosine(file.vector, direct)).toBeGreaterThan(0.999)
    const mapped = wb.explainFits.mapTemplateFile(new TextEncoder().encode(file.json), 'rotated.json', 'rotate:30', null)
    const vector = JSON.parse(mapped.json).templates[0].vector as number[]
    const { map } = wb.explainFits.artefacts.loadMap({ id: ENCODER, sha256: wb.registry.get(ENCODER).manifest.sha256 }, 'rotate:30')
    console.log(
      `aligned enrolment of a rotated crop: cosine to the upright crop ${cosine(direct, original).toFixed(3)}, after the map ${cosine(vector, original).toFixed(3)}`
    )
    // The file holds the map's output at the template's norm (the held-out gain is measured above).
    expect(cosine(vector, mapTemplate(map, direct))).toBeGreaterThan(0.9999)
    expect(Math.hypot(...vector)).toBeCloseTo(file.norm, 3)
    expect(mapped.movedCosine).toBeLessThan(0.999)
    const photo = new Uint8Array(readFileSync(lfwImage(dataDir!, 'Zico', 1)))
    await expect(wb.templates.enrolAlignedToFile(photo, 'Zico_0001.jpg', { label: 'x' })).rejects.toThrow(
      /^Zico_0001.jpg is 250x250, not an aligned 112x112 crop for faceplugin-fr-feature; enrol it without --aligned to detect and align the face$/
    )
  })

  it('decodes the original, perturbed and mapped templates of a case template side by side, stored as a run', async () => {
    const photo = readdirSync(join(tmp, 'held-photos')).sort()[0]
    const file = join(tmp, 'held-photos', photo, readdirSync(join(tmp, 'held-photos', photo)).sort()[0])
    const t = await wb.templates.enrolFromPhoto(caseId, new Uint8Array(readFileSync(file)), 'held.jpg', { encoderId: ENCODER, faceIndex: 0 })
    const run = wb.explain.equivariance({ caseId, templateId: t.id, photo: null, encoderId: null, transforms: null, seed: 1 })
    await finish(run.id)
    const { record, sheetSha256 } = stored<EquivarianceRecord>(run.id)
    expect(imageExists(sheetSha256)).toBe(true)
    expect(record.transforms.map((x) => x.transform)).toEqual(TRANSFORMS)
    expect(record.modelSha256s.decoder).toBe(wb.registry.get('dfd-fr-feature-64').manifest.sha256)
    for (const x of record.transforms) {
      for (const sha of [x.perturbed.imageSha256, x.mapped.imageSha256, x.perturbedCropSha256]) expect(imageExists(sha)).toBe(true)
      expect(x.mapped.imageSha256).not.toBe(x.perturbed.imageSha256)
    }
    console.log(`equivariance run: ${record.transforms.map((x) => `${x.transform} ${x.perturbedCosine.toFixed(3)} → ${x.mappedCosine.toFixed(3)}`).join(', ')}`)
    const gain = record.transforms.reduce((a, x) => a + x.mappedCosine - x.perturbedCosine, 0)
    expect(gain).toBeGreaterThan(0)
  })

  it('finds age and gender directions in UTKFace templates and decodes a template moved along them', async () => {
    const fitted = (await wb.explainFits.fitAttributes({ encoderId: ENCODER, datasetDir: join(tmp, 'utk'), limit: null, seed: 1 }).outcome)!
    const age = fitted.directions.find((d) => d.attribute === 'age')!
    const gender = fitted.directions.find((d) => d.attribute === 'gender')!
    console.log(
      `attribute directions from ${fitted.counts.train} UTKFace crops: held-out age r ${age.validation.value.toFixed(3)}, gender accuracy ${gender.validation.value.toFixed(3)} (${gender.validation.photos} photos)`
    )
    // Age is read well from a hundred crops; gender needs more (about 0.7 from 480, docs/benchmarks.md), so only its effect on the decoded faces is checked.
    expect(age.validation.value).toBeGreaterThan(0.5)
    expect(gender.validation.photos).toBeGreaterThan(5)
    const t = wb.cases.store(caseId).listTemplates()[0]
    const run = wb.explain.attributes({ caseId, templateId: t.id, attributes: null, ageSteps: [-30, 0, 30], genderSteps: [-1, 0, 1], seed: 1 })
    await finish(run.id)
    const { record } = stored<AttributesRecord>(run.id)
    const steps = Object.fromEntries(record.attributes.map((a) => [a.attribute, a.steps]))
    console.log(
      record.attributes
        .map(
          (a) => `${a.attribute}: ${a.steps.map((s) => `${s.offset} identity ${s.identityCosine.toFixed(3)} reads ${s.decodedReading.toFixed(2)}`).join('; ')}`
        )
        .join(' | ')
    )
    for (const a of record.attributes) for (const s of a.steps) expect(imageExists(s.imageSha256)).toBe(true)
    // The decoded faces carry the attribute the template was moved towards...
    expect(steps.age[2].decodedReading).toBeGreaterThan(steps.age[0].decodedReading)
    expect(steps.gender[2].decodedReading).toBeGreaterThan(steps.gender[0].decodedReading)
    // ...and the unmoved template's face is the closest to the original identity.
    for (const s of [steps.age, steps.gender]) expect(s[1].identityCosine).toBeGreaterThan(Math.min(s[0].identityCosine, s[2].identityCosine))
  })

  it('refuses an unknown transform, a map or directions of another encoder, and an encoder without a decoder, in one line, storing nothing', async () => {
    const before = wb.cases.store(caseId).listRuns().length
    const template = wb.cases.store(caseId).listTemplates()[0]
    expect(() => wb.explain.equivariance({ caseId, templateId: template.id, photo: null, encoderId: null, transforms: ['shear:3'], seed: 1 })).toThrow(
      /^unknown transform 'shear:3'; use rotate:DEGREES, translate:FRACTION or scale:FACTOR/
    )
    expect(() => wb.explain.equivariance({ caseId, templateId: template.id, photo: null, encoderId: null, transforms: ['scale:0.5'], seed: 1 })).toThrow(
      /^no scale:0.5 equivariance map for encoder faceplugin-fr-feature; fit one with unveil explain equivariance --fit/
    )
    const other = JSON.stringify({ templates: [{ vector: template.vector, encoderId: ENCODER, encoderSha256: 'ab'.repeat(32) }] })
    expect(() => wb.explainFits.mapTemplateFile(new TextEncoder().encode(other), 'other.json', 'rotate:30', null)).toThrow(
      /^the rotate:30 map was fitted for encoder faceplugin-fr-feature sha256 [0-9a-f]{12}…, the template is from faceplugin-fr-feature sha256 abababababab…; fit it again$/
    )
    const mobileface = sharedEncoder(dataDir!, 'mobileface-v2.onnx')
    if (mobileface) {
      await wb.models.register(mobileface, JSON.parse(readFileSync(join(ROOT, 'resources/manifests/mobileface-v2.json'), 'utf8')), { verify: false })
      const sha = wb.registry.get('mobileface-v2').manifest.sha256
      const theirs = JSON.stringify({
        templates: [{ vector: Array.from({ length: 256 }, (_, i) => Math.sin(i)), encoderId: 'mobileface-v2', encoderSha256: sha }]
      })
      expect(() => wb.explainFits.mapTemplateFile(new TextEncoder().encode(theirs), 'theirs.json', 'rotate:30', null)).toThrow(
        /^no rotate:30 equivariance map for encoder mobileface-v2 \(the rotate:30 map was fitted for faceplugin-fr-feature\); fit one with/
      )
      const photo = { name: 'x.jpg', bytes: new Uint8Array(readFileSync(lfwImage(dataDir!, 'Zico', 1))) }
      expect(() => wb.explain.equivariance({ caseId, templateId: null, photo, encoderId: 'mobileface-v2', transforms: null, seed: 1 })).toThrow(
        /^no decoder is registered for encoder 'mobileface-v2'$/
      )
    }
    expect(wb.cases.store(caseId).listRuns().length).toBe(before)
  })

  const built = existsSync(join(ROOT, 'out/cli/index.js'))
  it.skipIf(!built)('the CLI exits non-zero with a one-line error on bad equivariance and enrolment input', () => {
    const env = { ...process.env, UNVEIL_HOME: home, UNVEIL_PROVIDERS: 'cpu' }
    const unveil = (...args: string[]) => {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin/unveil.js'), ...args], { encoding: 'utf8', env })
      return { code: r.status ?? -1, err: r.stderr }
    }
    const t = join(tmp, 'cli-template.json')
    writeFileSync(
      t,
      JSON.stringify({
        templates: [{ vector: wb.cases.store(caseId).listTemplates()[0].vector, encoderId: ENCODER, encoderSha256: wb.registry.get(ENCODER).manifest.sha256 }]
      })
    )
    const photo = lfwImage(dataDir!, 'Zico', 1)
    const cases: [string[], RegExp][] = [
      [['explain', 'equivariance', '--template', t, '--transform', 'shear:3', '--out', join(tmp, 'm.json')], /unknown transform 'shear:3'/],
      [['explain', 'equivariance', '--template', t, '--transform', 'rotate:0', '--out', join(tmp, 'm.json')], /rotate takes degrees, non-zero/],
      [
        ['explain', 'equivariance', '--template', t, '--transform', 'scale:0.5', '--out', join(tmp, 'm.json')],
        /no scale:0.5 equivariance map for encoder faceplugin-fr-feature/
      ],
      [['explain', 'equivariance', '--fit', '--encoder', ENCODER, '--data', join(tmp, 'nowhere')], /is not a folder/],
      [['explain', 'equivariance', '--fit', '--encoder', ENCODER, '--data', join(tmp, 'fit-photos')], /has no manifest.json; align it first/],
      [['explain', 'equivariance', '--fit', '--template', t], /give one of --fit/],
      [['explain', 'attributes', '--fit', '--encoder', 'dfd-fr-feature-64', '--data', join(tmp, 'utk')], /'dfd-fr-feature-64' is a decoder, not an encoder/],
      [
        ['explain', 'attributes', '--fit', '--encoder', ENCODER, '--data', join(tmp, 'held')],
        /need at least 20 crops labelled age_gender_… \(UTKFace file names\), .* has 0\n$/
      ],
      [['enroll', '--image', photo, '--aligned', '--out', join(tmp, 'x.json')], /is 250x250, not an aligned 112x112 crop/],
      [['enroll', '--image', photo, '--aligned', '--case', tmp, '--out', join(tmp, 'x.json')], /--aligned encodes the crop as it is/]
    ]
    for (const [args, msg] of cases) {
      const r = unveil(...args)
      expect(r.code, args.join(' ')).not.toBe(0)
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1)
      expect(r.err).toMatch(msg)
    }
  })
})
