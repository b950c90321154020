// Data-parallel worker lanes on real models: the merged generator + encoder graph gives the
// same templates, bit for bit, on the lanes as on one session (so the measured schedule choice
// never changes a seeded search), progress and order are kept, small calls stay on one
// session, and a cancelled call on the lanes leaves the engine usable.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InferenceEngine } from '../../src/core/engine/inference-engine'
import { ModelRegistry } from '../../src/core/models/model-registry'
import { ModelLoader, type FusedPipeline } from '../../src/core/models/model-loader'
import { DEFAULT_ENCODER_ID } from '../../src/core/models/bundled-models'
import { randomLatent } from '../../src/core/methods/ga-search'
import { SeededRandom } from '../../src/core/random/seeded-random'

describe('engine worker lanes', () => {
  const registry = new ModelRegistry(mkdtempSync(join(tmpdir(), 'unveil-lanes-')))
  const modes = ['off', 'on', 'auto'] as const
  const engines = modes.map((dataParallel) => new InferenceEngine({ providers: ['cpu'], dataParallel, lanes: 2 }))
  const pipes: FusedPipeline[] = []
  const rng = new SeededRandom(21)
  const latents = Array.from({ length: 24 }, () => randomLatent(128, rng))

  beforeAll(async () => {
    for (const e of engines) pipes.push((await new ModelLoader(e, registry).prepareFused('dcgan-celeba-utk-64', DEFAULT_ENCODER_ID))!)
  }, 120_000)
  afterAll(async () => {
    for (const e of engines) await e.close()
  })

  const run = (
    k: number,
    samples: Float32Array[],
    options: { signal?: AbortSignal; onBatch?: (done: number, total: number) => void } = {}
  ): Promise<Float32Array[]> =>
    engines[k].runBatched(pipes[k].key, { name: pipes[k].input, sampleDims: [pipes[k].latentDim], samples }, pipes[k].output, { maxBatch: 16, ...options })

  it('gives bit-identical templates on the lanes, in input order, with progress to the end', async () => {
    const reference = await run(0, latents)
    const progress: number[] = []
    const lanes = await run(1, latents, { onBatch: (done) => progress.push(done) })
    expect(lanes.length).toBe(latents.length)
    expect(lanes.every((row, i) => row.every((v, j) => Object.is(v, reference[i][j])))).toBe(true)
    expect(progress.at(-1)).toBe(latents.length)
    expect(engines[1].scheduleState()).toEqual([]) // 'on' does not measure a choice
    // auto: four calibration calls (two per schedule), then the measured choice; rows unchanged.
    for (let i = 0; i < 5; i++) {
      const rows = await run(2, latents)
      expect(rows.every((row, r) => row.every((v, j) => Object.is(v, reference[r][j])))).toBe(true)
    }
    const [state] = engines[2].scheduleState()
    console.log(`auto schedule on this machine: ${JSON.stringify(state)}`)
    expect(state.calls).toBe(5)
    expect(state.intraMsPerSample).toBeGreaterThan(0)
    expect(state.lanesMsPerSample).toBeGreaterThan(0)
  }, 180_000)

  it('keeps calls under 8 samples on one session', async () => {
    const before = engines[2].scheduleState()[0].calls
    await run(2, latents.slice(0, 4))
    expect(engines[2].scheduleState()[0].calls).toBe(before)
    expect(engines[2].scheduleState().length).toBe(1)
  })

  it('cancels a call on the lanes and stays usable', async () => {
    const ac = new AbortController()
    const pending = run(1, latents, { signal: ac.signal, onBatch: () => ac.abort() })
    await expect(pending).rejects.toThrow(/cancel/)
    const again = await run(1, latents.slice(0, 8))
    expect(again.length).toBe(8)
  }, 120_000)
})
