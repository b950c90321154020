export interface ScoredPair {
  score: number
  same: boolean
}

export interface AccuracyResult {
  /** Mean accuracy over folds, each fold scored at the threshold chosen on the others. */
  accuracy: number
  /** Threshold that is best on all pairs together. */
  threshold: number
  genuineMean: number
  impostorMean: number
}

function bestThreshold(pairs: ScoredPair[]): { threshold: number; correct: number } {
  // Sweep the threshold upwards through the sorted scores; "same" means score > threshold.
  const sorted = [...pairs].sort((a, b) => a.score - b.score)
  let correct = sorted.filter((p) => p.same).length
  let best = { threshold: sorted[0].score - 1e-6, correct }
  for (let i = 0; i < sorted.length; i++) {
    correct += sorted[i].same ? -1 : 1
    // No threshold falls between equal scores: tied pairs are decided together.
    if (i + 1 < sorted.length && sorted[i + 1].score === sorted[i].score) continue
    const threshold = i + 1 < sorted.length ? (sorted[i].score + sorted[i + 1].score) / 2 : sorted[i].score + 1e-6
    if (correct > best.correct) best = { threshold, correct }
  }
  return best
}

/** LFW-protocol verification accuracy: 10 interleaved folds, threshold picked on the other 9. */
export function verificationAccuracy(pairs: ScoredPair[], folds = 10): AccuracyResult {
  if (pairs.length < folds * 2) throw new Error(`need at least ${folds * 2} scored pairs, got ${pairs.length}`)
  let correct = 0
  for (let k = 0; k < folds; k++) {
    const test = pairs.filter((_, i) => i % folds === k)
    const train = pairs.filter((_, i) => i % folds !== k)
    const { threshold } = bestThreshold(train)
    correct += test.filter((p) => (p.score > threshold) === p.same).length
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)
  return {
    accuracy: correct / pairs.length,
    threshold: bestThreshold(pairs).threshold,
    genuineMean: mean(pairs.filter((p) => p.same).map((p) => p.score)),
    impostorMean: mean(pairs.filter((p) => !p.same).map((p) => p.score))
  }
}
