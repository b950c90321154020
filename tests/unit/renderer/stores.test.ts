// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useJobs } from '../../../src/renderer/src/stores/jobs'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import { useModels } from '../../../src/renderer/src/stores/models'
import type { JobProgress } from '../../../src/shared/types'
import { encoderEntry, installFakeBridge, removeFakeBridge } from './fake-bridge'

const job = (over: Partial<JobProgress> = {}): JobProgress => ({
  runId: 'run-1',
  caseDir: '/cases/a',
  status: 'running',
  step: 1,
  totalSteps: 10,
  bestScore: null,
  etaSeconds: 5,
  message: null,
  ...over
})

beforeEach(() => setActivePinia(createPinia()))
afterEach(removeFakeBridge)

describe('jobs store', () => {
  it('merges running jobs with pushed progress and reports each finish once', async () => {
    const bridge = installFakeBridge({ listJobs: async () => [job({ runId: 'run-0', step: 3 })] })
    const jobs = useJobs()
    const finished = vi.fn()
    jobs.onFinished(finished)
    await jobs.start()
    await jobs.start()
    expect(bridge.onJobProgress).toHaveBeenCalledTimes(1)
    expect(jobs.jobs['run-0'].step).toBe(3)

    bridge.emitProgress(job({ step: 4 }))
    expect(jobs.jobs['run-1'].step).toBe(4)
    bridge.emitProgress(job({ status: 'succeeded', step: 10 }))
    bridge.emitProgress(job({ status: 'succeeded', step: 10 }))
    expect(finished).toHaveBeenCalledTimes(1)
    expect(finished.mock.calls[0][0].runId).toBe('run-1')

    jobs.stop()
    bridge.emitProgress(job({ runId: 'run-2' }))
    expect(jobs.jobs['run-2']).toBeUndefined()
  })
})

describe('case detail store', () => {
  it('fetches each photo once and releases the blob URLs when the case closes', async () => {
    const bridge = installFakeBridge({
      getCase: async (id) => ({
        info: { id, dir: '/c', name: 'C', number: null, examiner: null, notes: null, createdAt: '', templateCount: 0, imageCount: 1, runCount: 0 },
        templates: [],
        images: [],
        runs: []
      }),
      getImage: async () => ({ mime: 'image/png', bytes: new Uint8Array([1, 2, 3]) })
    })
    const revoke = vi.spyOn(URL, 'revokeObjectURL')
    const store = useCaseDetail()
    await store.open('case-1')
    const [a, b] = await Promise.all([store.imageUrl('f'.repeat(64)), store.imageUrl('f'.repeat(64))])
    expect(a).toBe(b)
    expect(a.startsWith('blob:')).toBe(true)
    expect(bridge.getImage).toHaveBeenCalledTimes(1)
    store.close()
    expect(revoke).toHaveBeenCalledWith(a)
    expect(store.detail).toBeNull()
  })

  it('keeps the load error for the page and rethrows it', async () => {
    installFakeBridge({ getCase: async () => Promise.reject(new Error("Error invoking remote method 'unveil:getCase': Error: case 'x' not found")) })
    const store = useCaseDetail()
    await expect(store.open('x')).rejects.toThrow('not found')
    expect(store.error).toBeInstanceOf(Error)
  })
})

describe('models store', () => {
  it('lists encoders and remembers the verification job of each model', async () => {
    installFakeBridge({
      listModels: async () => [encoderEntry('enc-a'), { ...encoderEntry('det'), manifest: { ...encoderEntry('det').manifest, role: 'detector' } }],
      verifyModel: async (id) => ({ jobId: `job-${id}` })
    })
    const models = useModels()
    await models.ensure()
    expect(models.encoders.map((m) => m.manifest.id)).toEqual(['enc-a'])
    await models.verify('enc-a')
    expect(models.verifyJobs['enc-a']).toBe('job-enc-a')
  })
})
