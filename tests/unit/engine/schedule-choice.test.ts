// The schedule choice: calibrates both schedules past a warm-up run each, takes the faster,
// re-measures the other now and then, and follows a change in which one is faster.
import { describe, expect, it } from 'vitest'
import { ScheduleChooser, dataParallelFromEnv, type Schedule } from '../../../src/core/engine/schedule-choice'

/** Drives the chooser with a cost per sample for each schedule; returns the schedules it ran. */
function drive(chooser: ScheduleChooser, calls: number, cost: Record<Schedule, number>, samples = 64): Schedule[] {
  const ran: Schedule[] = []
  for (let i = 0; i < calls; i++) {
    const s = chooser.choose('m', samples)
    ran.push(s)
    chooser.record('m', samples, s, cost[s] * samples)
  }
  return ran
}

describe('schedule choice', () => {
  it('calibrates intra, lanes, intra, lanes, then keeps the faster one, trying the other every 16th call', () => {
    const chooser = new ScheduleChooser()
    const ran = drive(chooser, 48, { intra: 10, lanes: 6 })
    expect(ran.slice(0, 4)).toEqual(['intra', 'lanes', 'intra', 'lanes'])
    const later = ran.slice(4)
    expect(later.filter((s) => s === 'intra').length).toBe(3) // calls 16, 32, 48
    expect(ran[15]).toBe('intra')
    expect(chooser.state()).toEqual([{ bucket: 'm@64', calls: 48, intraMsPerSample: 10, lanesMsPerSample: 6, choice: 'lanes' }])
  })

  it('leaves the lanes when they become the slower schedule (another job takes a core)', () => {
    const chooser = new ScheduleChooser()
    drive(chooser, 20, { intra: 10, lanes: 6 })
    const ran = drive(chooser, 20, { intra: 10, lanes: 20 })
    // A few calls on the lanes raise their estimate past intra's; from then on intra runs,
    // but for the one re-measurement of the lanes (call 32).
    expect(ran.slice(-10).filter((s) => s === 'lanes')).toEqual(['lanes'])
    expect(chooser.state()[0].choice).toBe('intra')
  })

  it('keeps calls of different sizes and models apart, and forgets a released model', () => {
    const chooser = new ScheduleChooser()
    drive(chooser, 4, { intra: 1, lanes: 2 }, 16)
    drive(chooser, 4, { intra: 2, lanes: 1 }, 256)
    expect(chooser.state().map((s) => [s.bucket, s.choice])).toEqual([
      ['m@16', 'intra'],
      ['m@256', 'lanes']
    ])
    chooser.forget('m')
    expect(chooser.state()).toEqual([])
  })

  it('reads UNVEIL_DATA_PARALLEL', () => {
    expect(dataParallelFromEnv({})).toBe('auto')
    expect(dataParallelFromEnv({ UNVEIL_DATA_PARALLEL: 'off' })).toBe('off')
    expect(dataParallelFromEnv({ UNVEIL_DATA_PARALLEL: '1' })).toBe('on')
  })
})
