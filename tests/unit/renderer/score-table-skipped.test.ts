// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import ScoreTable from '../../../src/renderer/src/components/runs/ScoreTable.vue'
import { scoresOf } from '../../../src/shared/reconstruction-record'

// Issue 13 item 4: an encoder that could not score a reconstruction is a row saying why.
describe('score table: skipped encoders', () => {
  it('reads the error from a stored record and shows it in place of the decisions', () => {
    const stored = [
      {
        encoderId: 'enc-ok',
        encoderSha256: 'a'.repeat(64),
        target: 0.5,
        typeI: null,
        typeII: [],
        thresholds: null,
        pass: { target: null, typeI: null, typeII: [] }
      },
      {
        encoderId: 'enc-hangs',
        encoderSha256: 'b'.repeat(64),
        target: null,
        typeI: null,
        typeII: [],
        thresholds: null,
        pass: { target: null, typeI: null, typeII: [] },
        error: "model 'enc-hangs' did not finish a trial run on one 3x112x112 input within 60 s"
      }
    ]
    const scores = scoresOf(JSON.parse(JSON.stringify(stored)))
    expect(scores[1].error).toMatch(/did not finish/)
    const wrapper = mount(ScoreTable, { props: { scores, targetEncoderId: 'enc-ok' }, global: { plugins: [createPinia()] } })
    const rows = wrapper.findAll('[data-testid="score-row"]')
    expect(rows[0].find('[data-testid="score-skipped"]').exists()).toBe(false)
    expect(rows[1].find('[data-testid="score-skipped"]').text()).toMatch(
      /^skipped — this encoder could not score the reconstruction: model 'enc-hangs' did not finish a trial run/
    )
  })
})
