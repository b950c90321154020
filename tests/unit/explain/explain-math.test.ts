import { describe, expect, it } from 'vitest'
import { aggregationLevels, averageTemplate, splitHoldout } from '../../../src/core/explain/aggregation'
import { averageLinkage, clustersOf, purity } from '../../../src/core/explain/centroids'
import { featureBoxes, maskBox, patchGrid, pixelSensitivity } from '../../../src/core/explain/occlusion'
import { ARCFACE_112 } from '../../../src/core/imaging/alignment'
import { l2norm } from '../../../src/core/templates/vector-math'

describe('Explain building blocks', () => {
  it('averages over 1, 2, 5, 10, … photos and all of them, with a seeded hold-out split', () => {
    expect(aggregationLevels(2)).toEqual([1, 2])
    expect(aggregationLevels(12)).toEqual([1, 2, 5, 10, 12])
    expect(aggregationLevels(20)).toEqual([1, 2, 5, 10, 20])
    const a = splitHoldout(10, 3, 7)
    expect(a).toEqual(splitHoldout(10, 3, 7))
    expect([...a.heldOut, ...a.gallery].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(a.heldOut).toHaveLength(3)
    // Unit templates weigh the same whatever their norm.
    const avg = averageTemplate([
      [10, 0],
      [0, 1]
    ])
    expect(avg[0]).toBeCloseTo(avg[1], 6)
    expect(l2norm(avg)).toBeCloseTo(1, 6)
  })

  it('clusters by average linkage on cosine distance, ignoring the norm', () => {
    // Two directions, each with members of very different norms, and one outlier direction.
    const v = [
      [1, 0.05, 0],
      [9, 0.2, 0],
      [2, -0.1, 0],
      [0, 1, 0.05],
      [0, 5, -0.1],
      [0, 0.1, 3]
    ]
    const labels = averageLinkage(v, 3)
    expect(labels).toEqual([0, 0, 0, 1, 1, 2])
    const clusters = clustersOf(v, labels, ['a', 'a', 'a', 'b', 'b', 'c'])
    expect(clusters.map((c) => c.members.length)).toEqual([3, 2, 1])
    expect(purity(clusters, v.length)).toBe(1)
    expect(purity(clustersOf(v, averageLinkage(v, 2), ['a', 'a', 'a', 'b', 'b', 'c']), v.length)).toBeCloseTo(5 / 6, 9)
    expect(() => averageLinkage(v, 7)).toThrow(/cannot cut 6 templates into 7 clusters/)
  })

  it('sweeps patches edge to edge and places the eye and mouth boxes on the alignment points', () => {
    const grid = patchGrid(112, 112, 16, 8)
    expect(grid).toHaveLength(13 * 13)
    expect(grid[grid.length - 1]).toEqual({ x: 96, y: 96, width: 16, height: 16 })
    expect([...new Set(patchGrid(112, 112, 30, 40).map((b) => b.x))]).toEqual([0, 40, 80, 82])
    const map = pixelSensitivity(
      112,
      112,
      grid,
      grid.map((b) => (b.x === 48 && b.y === 48 ? 1 : 0))
    )
    expect(map[56 * 112 + 56]).toBeGreaterThan(0)
    expect(map[0]).toBe(0)
    const { eyes, mouth } = featureBoxes(ARCFACE_112)
    for (const [x, y] of ARCFACE_112.slice(0, 2)) expect(x > eyes.x && x < eyes.x + eyes.width && y > eyes.y && y < eyes.y + eyes.height).toBe(true)
    for (const [x, y] of ARCFACE_112.slice(3)) expect(x > mouth.x && x < mouth.x + mouth.width && y > mouth.y && y < mouth.y + mouth.height).toBe(true)
    expect(eyes.y + eyes.height).toBeLessThan(ARCFACE_112[2][1])
    const face = { data: new Uint8Array(4 * 4 * 3).fill(9), width: 4, height: 4 }
    const masked = maskBox(face, { x: 1, y: 1, width: 2, height: 9 })
    expect(Array.from(masked.data.slice(0, 12))).toEqual(new Array(12).fill(9))
    expect(Array.from(masked.data.slice(12, 24))).toEqual([9, 9, 9, 128, 128, 128, 128, 128, 128, 9, 9, 9])
    expect(face.data[15]).toBe(9)
  })
})
