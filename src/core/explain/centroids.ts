// The paper's centroid figure (Križaj et al., Fig. 14): clusters of an embedding space,
// each shown by decoding its centroid.
import { averageTemplate } from './aggregation'
import { normalise } from '../templates/vector-math'

/**
 * Agglomerative clustering with average linkage on cosine distance, merged down to `k`
 * clusters; returns each template's cluster, numbered by first appearance. Lance-Williams
 * updates keep it O(n³) time and O(n²) memory, fine for the few hundred templates shown.
 */
export function averageLinkage(vectors: ArrayLike<number>[], k: number): number[] {
  const n = vectors.length
  if (!Number.isInteger(k) || k < 1 || k > n) throw new RangeError(`cannot cut ${n} templates into ${k} clusters`)
  const unit = vectors.map((v) => normalise(v))
  const dist = new Float64Array(n * n)
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d = 0
      for (let c = 0; c < unit[i].length; c++) d += unit[i][c] * unit[j][c]
      dist[i * n + j] = dist[j * n + i] = 1 - d
    }
  }
  const size = new Array<number>(n).fill(1)
  const alive = new Array<boolean>(n).fill(true)
  const owner = Array.from({ length: n }, (_, i) => i)
  for (let clusters = n; clusters > k; clusters--) {
    let best = Infinity
    let a = -1
    let b = -1
    for (let i = 0; i < n; i++) {
      if (!alive[i]) continue
      for (let j = i + 1; j < n; j++) {
        if (alive[j] && dist[i * n + j] < best) {
          best = dist[i * n + j]
          a = i
          b = j
        }
      }
    }
    // Average linkage: the merged cluster's distance is the size-weighted mean of the two.
    for (let x = 0; x < n; x++) {
      if (!alive[x] || x === a || x === b) continue
      const d = (size[a] * dist[a * n + x] + size[b] * dist[b * n + x]) / (size[a] + size[b])
      dist[a * n + x] = dist[x * n + a] = d
    }
    size[a] += size[b]
    alive[b] = false
    for (let i = 0; i < n; i++) if (owner[i] === b) owner[i] = a
  }
  const numbering = new Map<number, number>()
  return owner.map((o) => {
    if (!numbering.has(o)) numbering.set(o, numbering.size)
    return numbering.get(o)!
  })
}

export interface Cluster {
  index: number
  members: number[]
  centroid: Float32Array
  /** Most frequent identity among the members, with its count (null without identities). */
  majority: { identity: string; count: number } | null
}

export function clustersOf(vectors: ArrayLike<number>[], labels: number[], identities: (string | null)[] | null): Cluster[] {
  const k = Math.max(...labels) + 1
  return Array.from({ length: k }, (_, index) => {
    const members = labels.flatMap((l, i) => (l === index ? [i] : []))
    let majority: Cluster['majority'] = null
    if (identities) {
      const counts = new Map<string, number>()
      for (const m of members) if (identities[m]) counts.set(identities[m]!, (counts.get(identities[m]!) ?? 0) + 1)
      for (const [identity, count] of counts) if (!majority || count > majority.count) majority = { identity, count }
    }
    return { index, members, centroid: averageTemplate(members.map((m) => vectors[m])), majority }
  })
}

/** Share of templates whose cluster's majority identity is their own; null without identities. */
export function purity(clusters: Cluster[], total: number): number | null {
  if (clusters.some((c) => c.majority === null)) return null
  return clusters.reduce((a, c) => a + c.majority!.count, 0) / total
}
