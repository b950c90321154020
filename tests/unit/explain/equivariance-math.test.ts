import { describe, expect, it } from 'vitest'
import { ageDirection, genderDirection, moveAlong, readAlong, utkfaceLabels } from '../../../src/core/explain/attributes'
import { STANDARD_TRANSFORMS, parseTransform, transformCrop, transformMatrix, transformName } from '../../../src/core/explain/geometric'
import { applyMap, fitMap, mapTemplate, normalEquations, solveRidge } from '../../../src/core/explain/linear-map'
import { SeededRandom } from '../../../src/core/random/seeded-random'
import { cosine, l2norm, normalise } from '../../../src/core/templates/vector-math'

const rng = new SeededRandom(5)
const gaussian = (d: number): Float32Array => Float32Array.from({ length: d }, () => rng.normal())

describe('equivariance and attribute building blocks', () => {
  it('parses the paper’s transforms and refuses anything else in one line', () => {
    expect(STANDARD_TRANSFORMS.map(transformName)).toEqual([
      'rotate:-30',
      'rotate:-15',
      'rotate:15',
      'rotate:30',
      'translate:-0.2',
      'translate:-0.1',
      'translate:0.1',
      'translate:0.2',
      'scale:0.5',
      'scale:0.75',
      'scale:1.25'
    ])
    expect(parseTransform(' scale:0.5 ')).toEqual({ kind: 'scale', amount: 0.5 })
    expect(() => parseTransform('shear:3')).toThrow(/^unknown transform 'shear:3'; use rotate:DEGREES/)
    expect(() => parseTransform('rotate:0')).toThrow(/rotate takes degrees, non-zero/)
    expect(() => parseTransform('translate:1.5')).toThrow(/within ±1/)
    expect(() => parseTransform('scale:1')).toThrow(/not 1/)
  })

  it('moves pixels about the crop centre: rotation turns the picture counter-clockwise, scale shrinks towards the centre', () => {
    const at = (m: number[], x: number, y: number): [number, number] => [m[0] * x + m[1] * y + m[2], m[3] * x + m[4] * y + m[5]]
    const r = transformMatrix({ kind: 'rotate', amount: 90 }, 113, 113)
    // The point right of the centre goes to above it (y grows downwards).
    expect(at(r, 66, 56).map((v) => Math.round(v))).toEqual([56, 46])
    expect(at(transformMatrix({ kind: 'scale', amount: 0.5 }, 113, 113), 0, 0)).toEqual([28, 28])
    expect(at(transformMatrix({ kind: 'translate', amount: 0.1 }, 100, 100), 10, 10)).toEqual([20, 10])
    // One white pixel left of centre shifted right by 20% lands 20 pixels further right.
    const crop = { data: new Uint8Array(100 * 100 * 3), width: 100, height: 100 }
    crop.data.fill(255, (50 * 100 + 30) * 3, (50 * 100 + 31) * 3)
    const moved = transformCrop(crop, { kind: 'translate', amount: 0.2 })
    expect(moved.data[(50 * 100 + 50) * 3]).toBe(255)
    expect(moved.data[(50 * 100 + 30) * 3]).toBe(0)
  })

  it('solves ridge systems and recovers a linear map from noisy pairs, staying near the identity with little data', () => {
    const d = 6
    const a = new Float64Array(d * d)
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) a[i * d + j] = i === j ? 2 : 0.1
    const x = solveRidge(
      a,
      d,
      0.5,
      Float64Array.from({ length: d }, (_, i) => i),
      1
    )
    for (let i = 0; i < d; i++)
      expect(Array.from({ length: d }, (_, j) => a[i * d + j] + (i === j ? 0.5 : 0)).reduce((s, v, j) => s + v * x[j], 0)).toBeCloseTo(i, 10)

    const dim = 16
    const truth = { dim, weights: Float32Array.from({ length: dim * dim }, (_, k) => (k % (dim + 1) === 0 ? 1 : 0) + 0.15 * rng.normal()) }
    const to = Array.from({ length: 400 }, () => normalise(gaussian(dim)))
    // from · truth ≈ to: the perturbed templates are what the inverse map leaves, plus noise.
    const from = to.map((y) => normalise(applyMap(invert(truth), y).map((v) => v + 0.01 * rng.normal())))
    const fit = fitMap(from, to, 80)
    expect(fit.validation.mapped).toBeGreaterThan(fit.validation.identity)
    expect(fit.validation.mapped).toBeGreaterThan(0.99)
    const probe = normalise(gaussian(dim))
    expect(cosine(mapTemplate(fit.map, applyMap(invert(truth), probe)), probe)).toBeGreaterThan(0.99)
    expect(
      l2norm(
        mapTemplate(
          fit.map,
          probe.map((v) => v * 7)
        )
      )
    ).toBeCloseTo(7, 4)
    // Four pairs in 16 dimensions: the map barely leaves the identity.
    const few = fitMap(from.slice(0, 5), to.slice(0, 5), 1)
    expect(cosine(applyMap(few.map, probe), probe)).toBeGreaterThan(0.9)
    const { xtx } = normalEquations(from.slice(0, 3), to.slice(0, 3), dim)
    expect(xtx[1 * dim + 2]).toBeCloseTo(xtx[2 * dim + 1], 12)
  })

  it('reads UTKFace labels from file names and finds age and gender directions in labelled templates', () => {
    expect(utkfaceLabels('sub/26_1_0_20170116.jpg.chip.jpg')).toEqual({ age: 26, gender: 1 })
    expect(utkfaceLabels('39_3_1_2017.jpg')).toBeNull()
    expect(utkfaceLabels('face.jpg')).toBeNull()
    const dim = 24
    const ageAxis = normalise(gaussian(dim))
    const genderAxis = normalise(gaussian(dim))
    const make = (n: number): { v: Float32Array[]; ages: number[]; genders: (0 | 1)[] } => {
      const ages = Array.from({ length: n }, () => 20 + rng.int(60))
      const genders = Array.from({ length: n }, () => rng.int(2) as 0 | 1)
      const v = ages.map((a, i) => normalise(gaussian(dim).map((x, k) => 0.3 * x + ((a - 50) / 30) * ageAxis[k] + (genders[i] ? 1 : -1) * genderAxis[k])))
      return { v, ages, genders }
    }
    const train = make(400)
    const val = make(100)
    const age = ageDirection(train.v, train.ages, val.v, val.ages)
    const gender = genderDirection(train.v, train.genders, val.v, val.genders)
    expect(age.validation.value).toBeGreaterThan(0.8)
    expect(gender.validation.value).toBeGreaterThan(0.9)
    const t = val.v[0].map((x) => x * 3)
    const older = moveAlong(t, age, 20)
    expect(l2norm(older)).toBeCloseTo(3, 4)
    expect(readAlong(older, age)).toBeGreaterThan(readAlong(t, age) + 10)
    expect(readAlong(moveAlong(t, gender, 1), gender)).toBeGreaterThan(readAlong(moveAlong(t, gender, -1), gender))
    expect(cosine(moveAlong(t, gender, 0), t)).toBeCloseTo(1, 6)
  })
})

/** Inverse of a small square map by Gauss-Jordan (test helper). */
function invert(m: { dim: number; weights: Float32Array }): { dim: number; weights: Float32Array } {
  const d = m.dim
  const a = Array.from({ length: d }, (_, i) => [...Array.from(m.weights.slice(i * d, i * d + d)), ...Array.from({ length: d }, (_, j) => (i === j ? 1 : 0))])
  for (let c = 0; c < d; c++) {
    const p = a.reduce((best, row, r) => (r >= c && Math.abs(row[c]) > Math.abs(a[best][c]) ? r : best), c)
    ;[a[c], a[p]] = [a[p], a[c]]
    const piv = a[c][c]
    a[c] = a[c].map((v) => v / piv)
    for (let r = 0; r < d; r++) if (r !== c) a[r] = a[r].map((v, k) => v - a[r][c] * a[c][k])
  }
  return { dim: d, weights: Float32Array.from(a.flatMap((row) => row.slice(d))) }
}
