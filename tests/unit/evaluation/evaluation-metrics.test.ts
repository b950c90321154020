import { describe, expect, it } from 'vitest'
import { computeMetrics, identificationRank, type DoneAttempt } from '../../../src/core/evaluation/evaluation-metrics'
import type { EvalAttempt, EvalPhoto } from '../../../src/core/evaluation/evaluation-plan'
import type { ThresholdRecord } from '../../../src/shared/types'

const photo = (id: string, subject: string): EvalPhoto => ({ id, subject, cropFile: null, templateId: null, sourceSha256: null, source: null })
/** A unit vector at angle θ in the plane: cosines are cos(θa − θb). */
const at = (deg: number): number[] => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)]

const thresholds: ThresholdRecord = {
  dataset: 'test impostors',
  images: 100,
  identities: 50,
  impostorPairs: 4950,
  fars: [
    { far: 1e-2, threshold: 0.5 },
    { far: 1e-3, threshold: 0.9 }
  ],
  measuredAt: '2026-01-01T00:00:00.000Z'
}

describe('evaluation metrics', () => {
  it('ranks the true subject among gallery subjects by their best photo', () => {
    const gallery = [
      { subject: 'a', vector: at(0) },
      { subject: 'b', vector: at(10) },
      { subject: 'b', vector: at(80) },
      { subject: 'c', vector: at(40) }
    ]
    expect(identificationRank(at(12), gallery, 'b')).toBe(1)
    expect(identificationRank(at(12), gallery, 'a')).toBe(2)
    expect(identificationRank(at(12), gallery, 'c')).toBe(3)
    expect(identificationRank(at(12), gallery, 'zz')).toBe(Infinity)
  })

  it('counts type-I/II successes per threshold, seen, validation and unseen encoders marked', () => {
    // Subjects at 0°, 90°, 180°; each target photo at the subject angle, its mate 20° further.
    const subjects = ['s0', 's1', 's2']
    const attempts: EvalAttempt[] = subjects.map((s) => ({ subject: s, target: photo(`${s}/t`, s), mates: [photo(`${s}/m`, s)] }))
    const photos = new Map<string, number[]>()
    subjects.forEach((s, i) => {
      photos.set(`${s}/t`, at(i * 90))
      photos.set(`${s}/m`, at(i * 90 + 20))
    })
    // Reconstructions: s0 exact (cos 1 to target, cos(20°)=0.94 to mate), s1 50° off (0.64, cos 30° = 0.87 to mate), s2 85° off (0.087, cos 65° = 0.42 to mate).
    const recon = new Map([
      ['ga|s0/t', at(0)],
      ['ga|s1/t', at(140)],
      ['ga|s2/t', at(265)]
    ])
    const done: DoneAttempt[] = subjects.map((s) => ({ key: `ga|${s}/t`, method: 'ga', subject: s, targetId: `${s}/t`, mateIds: [`${s}/m`], psnr: 20, ssim: 0.5, msSsim: 0.6, faceScore: 0.9, seconds: 2, queries: 100 }))
    const m = computeMetrics({
      attempts,
      done,
      methods: ['ga'],
      seenEncoderId: 'enc',
      encoders: [
        { encoderId: 'enc', encoderSha256: 'x', thresholds, photos, reconstructions: recon },
        { encoderId: 'other', encoderSha256: 'y', thresholds, photos, reconstructions: recon }
      ],
      listedImpostors: [],
      bootstrap: { reps: 200, seed: 1 }
    })
    const cell = m.transfer.find((c) => c.encoderId === 'enc')!
    expect(cell.role).toBe('seen')
    // GA picks with no other encoder: 'other' measures transfer.
    expect(m.transfer.find((c) => c.encoderId === 'other')!.role).toBe('unseen')
    // A method whose runs picked their result with 'other' (ALSUV's validation) gets it marked so.
    const picked = computeMetrics({
      attempts,
      done: done.map((d) => ({ ...d, validationSha256: 'y' })),
      methods: ['ga'],
      seenEncoderId: 'enc',
      encoders: [
        { encoderId: 'enc', encoderSha256: 'x', thresholds, photos, reconstructions: recon },
        { encoderId: 'other', encoderSha256: 'y', thresholds, photos, reconstructions: recon }
      ],
      listedImpostors: [],
      bootstrap: { reps: 50, seed: 1 }
    })
    expect(picked.transfer.find((c) => c.encoderId === 'other')!.role).toBe('validation')
    // Type I at 0.5: s0 (1.0) and s1 (0.643) pass, s2 (0.087) fails; at 0.9 only s0.
    expect(cell.typeI.map((r) => [r.far, r.rate.successes, r.rate.trials])).toEqual([
      [1e-2, 2, 3],
      [1e-3, 1, 3]
    ])
    // Type II at 0.5: s0 0.940, s1 0.866 pass, s2 0.423 does not; at 0.9: s0 only.
    expect(cell.typeII.map((r) => r.rate.successes)).toEqual([2, 1])
    expect(cell.typeI[0].rate.interval?.method).toBe('wilson')
    expect(cell.meanTypeI).toBeCloseTo((1 + Math.cos((50 * Math.PI) / 180) + Math.cos((85 * Math.PI) / 180)) / 3, 6)
    const enc = m.encoders[0]
    // Real photos: all three genuine pairs at cos 20° = 0.94 pass both thresholds.
    expect(enc.real.tar.map((r) => r.rate.successes)).toEqual([3, 3])
    expect(enc.real.genuinePairs).toBe(3)
    expect(enc.thresholds).toMatchObject({ dataset: 'test impostors', impostorPairs: 4950 })
    // Identification with the original in the gallery: each reconstruction's best subject.
    const withOriginal = enc.identification.find((i) => i.galleryWithOriginal)!
    expect(withOriginal.top1.trials).toBe(3)
    expect(withOriginal.gallerySubjects).toBe(3)
    expect(m.quality[0].psnr.mean).toBe(20)
    expect(m.quality[0].faceProxy.detected).toMatchObject({ successes: 3, trials: 3 })
    expect(m.quality[0].faceProxy.meanScore).toBeCloseTo(0.9, 10)
    expect(m.runs[0]).toEqual({ method: 'ga', attempts: 3, meanSeconds: 2, meanQueries: 100 })
  })

  it('gives zero successes the rule-of-three bound', () => {
    const attempts: EvalAttempt[] = [{ subject: 'a', target: photo('a/t', 'a'), mates: [photo('a/m', 'a')] }]
    const photos = new Map([
      ['a/t', at(0)],
      ['a/m', at(10)]
    ])
    const m = computeMetrics({
      attempts,
      done: [{ key: 'dfd|a/t', method: 'dfd', subject: 'a', targetId: 'a/t', mateIds: ['a/m'], psnr: 10, ssim: 0.1, msSsim: 0.1, faceScore: 0, seconds: 1, queries: 0 }],
      methods: ['dfd'],
      seenEncoderId: 'enc',
      encoders: [{ encoderId: 'enc', encoderSha256: 'x', thresholds, photos, reconstructions: new Map([['dfd|a/t', at(180)]]) }],
      listedImpostors: []
    })
    expect(m.transfer[0].typeI[0].rate).toMatchObject({ successes: 0, trials: 1, interval: { low: 0, high: 1, method: 'rule-of-three' } })
  })
})
