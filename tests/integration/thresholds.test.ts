import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Workbench } from '../../src/core/workbench/workbench'
import { dataDirOrSkip } from '../helpers/data'
import { lfwImageSample } from '../../src/core/evaluation/encoder-thresholds'

const data = dataDirOrSkip('FAR thresholds from LFW impostor pairs')

describe.skipIf(!data)('encoder thresholds on LFW', () => {
  let wb: Workbench
  beforeAll(async () => {
    wb = await Workbench.open({ libraryDir: mkdtempSync(join(tmpdir(), 'unveil-lib-')), caseRoot: tmpdir() })
  })
  afterAll(async () => wb.close())

  it('measures FAR 1e-2/1e-3/1e-4 thresholds from all different-person pairs of 2,000 images, as shipped', { timeout: 900_000 }, async () => {
    const shipped = wb.registry.get('faceplugin-fr-feature').thresholds!
    await wb.models.ensureThresholds(['faceplugin-fr-feature'], { remeasure: true })
    const t = wb.registry.get('faceplugin-fr-feature').thresholds!
    expect(t.measuredAt).not.toBe(shipped.measuredAt)
    // The shipped record (resources/thresholds) is this measurement: same pairs, same thresholds.
    expect(t.encoderSha256).toBe(shipped.encoderSha256)
    expect(t.impostorPairs).toBe(shipped.impostorPairs)
    t.fars.forEach((f, i) => expect(f.threshold).toBeCloseTo(shipped.fars[i].threshold, 5))
    expect(t.images).toBe(2000)
    // 2,000 images give 1,999,000 pairs; exactly the same-person ones are excluded.
    const { identities } = lfwImageSample(join(data!, 'datasets', 'lfw', 'images'), 2000)
    const perPerson = new Map<string, number>()
    for (const id of identities) perPerson.set(id, (perPerson.get(id) ?? 0) + 1)
    const samePerson = [...perPerson.values()].reduce((a, n) => a + (n * (n - 1)) / 2, 0)
    expect(t.impostorPairs).toBe(1_999_000 - samePerson)
    expect(t.identities).toBe(perPerson.size)
    expect(t.fars.map((f) => f.far)).toEqual([1e-2, 1e-3, 1e-4])
    const [a, b, c] = t.fars.map((f) => f.threshold)
    expect(a).toBeLessThan(b)
    expect(b).toBeLessThan(c)
    // The LFW verification threshold of this encoder is about 0.29 at equal error: FAR 1e-3 sits above.
    expect(b).toBeGreaterThan(0.2)
    expect(c).toBeLessThan(0.8)
  })
})
