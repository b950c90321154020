// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { defineComponent } from 'vue'
import ComparePanel from '../../../src/renderer/src/components/case/ComparePanel.vue'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
import type { EncoderScore, ResultRecord, RunRecord } from '../../../src/shared/types'
import { freshRendererPerTest, installFakeBridge, settle, templateRecord } from './fake-bridge'

const CASE_ID = '66666666-6666-4666-8666-666666666666'
const T1 = templateRecord({ imageSha256: 'f'.repeat(64), face: { index: 0, box: [10, 10, 60, 70], score: 0.9 } })
const T2 = templateRecord({ id: '22222222-2222-4222-8222-222222222222', label: 'other.jpg' })
const FARS = [
  { far: 1e-2, threshold: 0.2 },
  { far: 1e-3, threshold: 0.3 }
]
const score = (target: number, pass: boolean[]): EncoderScore => ({
  encoderId: 'enc-a',
  encoderSha256: 'a'.repeat(64),
  target,
  typeI: null,
  typeII: [],
  thresholds: { dataset: 'lfw', images: 2000, identities: 1680, impostorPairs: 1998000, fars: FARS },
  pass: { target: pass, typeI: null, typeII: [] }
})
const runRecord = (n: number, over: Partial<RunRecord> = {}): RunRecord => ({
  id: `cccccccc-0000-4000-8000-00000000000${n}`,
  method: n === 1 ? 'ga' : 'dfd',
  status: 'succeeded',
  parameters: {},
  seed: 10 + n,
  modelSha256s: {},
  softwareVersion: 'unveil@0.1.0',
  templateId: T1.id,
  createdAt: `2024-05-01T10:0${n}:00.000Z`,
  startedAt: null,
  finishedAt: null,
  seconds: 1,
  error: null,
  summary: null,
  ...over
})
const runs = [runRecord(1), runRecord(2), runRecord(3, { status: 'failed' }), runRecord(4, { templateId: T2.id, createdAt: '2024-05-01T09:00:00.000Z' })]
const resultOf = (run: RunRecord, similarity: number, pass: boolean[]): ResultRecord => ({
  id: `r-${run.id}`,
  runId: run.id,
  kind: 'reconstruction',
  imageSha256: run.id.replace(/-/g, '').padEnd(64, '0').slice(0, 64),
  createdAt: run.createdAt,
  data: { method: run.method, parameters: {}, seed: run.seed, modelSha256s: {}, softwareVersion: 'unveil@0.1.0', queries: 1, seconds: 1, similarity, scores: [score(similarity, pass)], summary: {}, trace: [] }
})
const results: Record<string, ResultRecord[]> = {
  [runs[0].id]: [resultOf(runs[0], 0.25, [true, false])],
  [runs[1].id]: [resultOf(runs[1], 0.84, [true, true])]
}
const detail = (): CaseDetail => ({
  info: { id: CASE_ID, dir: '/cases/c', name: 'C', number: null, examiner: null, notes: null, createdAt: '', templateCount: 2, imageCount: 1, runCount: runs.length },
  templates: [T1, T2],
  images: [{ sha256: 'f'.repeat(64), mime: 'image/jpeg', width: 200, height: 150, originalName: 'sample1.jpg', addedAt: '' }],
  runs
})

const currentPinia = freshRendererPerTest()

async function mountPanel() {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/cases/:id', component: defineComponent({ template: '<div />' }) }] })
  await router.push(`/cases/${CASE_ID}?tab=compare`)
  await useCaseDetail().open(CASE_ID)
  const wrapper = mount(ComparePanel, { global: { plugins: [currentPinia(), router] }, attachTo: document.body })
  await settle()
  return { wrapper, router }
}

describe('Compare panel', () => {
  it("puts the ground truth and every finished run of the template in one grid, with each run's scores and pass/fail", async () => {
    const bridge = installFakeBridge({
      getCase: async () => detail(),
      getRunResults: async (_c, runId) => results[runId] ?? [],
      getImage: async () => ({ mime: 'image/png', bytes: new Uint8Array([1, 2, 3]) }),
      listMethods: async () => [{ id: 'ga', name: 'GA latent search', description: '', parameters: [] }]
    })
    const { wrapper } = await mountPanel()
    // The template reconstructed last is chosen; the failed run and the other template's run are left out.
    expect(wrapper.find<HTMLSelectElement>('[data-testid="compare-template"]').element.value).toBe(T1.id)
    expect(bridge.getRunResults.mock.calls.map((c) => c[1]).sort()).toEqual([runs[0].id, runs[1].id])
    const cells = wrapper.findAll('[data-testid="compare-cell"]')
    expect(cells.map((c) => c.attributes('data-kind'))).toEqual(['truth', 'run', 'run'])
    // Oldest first.
    expect(cells.slice(1).map((c) => c.attributes('data-run-id'))).toEqual([runs[0].id, runs[1].id])
    expect(cells[1].find('[data-testid="compare-similarity"]').text()).toBe('0.2500')
    // Method names where known, the id otherwise.
    expect(cells[1].find('figcaption strong').text()).toBe('GA latent search')
    expect(cells[2].find('figcaption strong').text()).toBe('dfd')
    expect(cells[1].findAll('[data-testid="compare-chip"]').map((c) => [c.text(), c.attributes('data-decision')])).toEqual([
      ['1 % pass', 'pass'],
      ['0.1 % fail', 'fail']
    ])
    expect(cells[2].findAll('[data-testid="compare-chip"]').map((c) => c.attributes('data-decision'))).toEqual(['pass', 'pass'])
    expect(cells[0].find('img').attributes('src')).toMatch(/^blob:/)
    expect(cells[1].find('img').attributes('src')).toMatch(/^blob:/)
  })

  it('lets the analyst pick runs, zooms a face 4x nearest-neighbour, and exports the chosen runs as the core renders them', async () => {
    const bridge = installFakeBridge({
      getCase: async () => detail(),
      getRunResults: async (_c, runId) => results[runId] ?? [],
      getImage: async () => ({ mime: 'image/png', bytes: new Uint8Array([1, 2, 3]) }),
      compareGrid: async () => ({ name: 'compare-sample1-11111111.png', bytes: new Uint8Array([137, 80, 78, 71]) })
    })
    const clicks: string[] = []
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicks.push(this.download)
    })
    const { wrapper } = await mountPanel()
    await wrapper.find(`[data-testid="compare-run-toggle"][data-run-id="${runs[0].id}"]`).setValue(false)
    expect(wrapper.findAll('[data-testid="compare-cell"][data-kind="run"]').map((c) => c.attributes('data-run-id'))).toEqual([runs[1].id])

    await wrapper.find('[data-testid="compare-zoom"]').trigger('click')
    const dialog = wrapper.find('[data-testid="compare-zoom-dialog"]')
    expect(dialog.exists()).toBe(true)
    const zoomFrame = dialog.find('.face')
    expect(zoomFrame.attributes('style')).toContain('width: 448px')
    expect(dialog.find('.zoom').classes()).toContain('pixelated')

    await wrapper.find('[data-testid="compare-export"]').trigger('click')
    await settle()
    expect(bridge.compareGrid).toHaveBeenCalledWith(CASE_ID, T1.id, [runs[1].id])
    expect(clicks).toEqual(['compare-sample1-11111111.png'])
    click.mockRestore()

    // Core's refusal is shown as written.
    bridge.compareGrid.mockRejectedValueOnce(new Error("Error invoking remote method 'unveil:compareGrid': ValidationError: run cccccccc stored no reconstruction"))
    await wrapper.find('[data-testid="compare-export"]').trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="compare-export-error"]').text()).toBe('run cccccccc stored no reconstruction')
  })

  it('switches template from the picker and says when it has no finished run', async () => {
    installFakeBridge({
      getCase: async () => detail(),
      getRunResults: async (_c, runId) => results[runId] ?? [],
      getImage: async () => ({ mime: 'image/png', bytes: new Uint8Array([1]) })
    })
    const { wrapper, router } = await mountPanel()
    await wrapper.find('[data-testid="compare-template"]').setValue(T2.id)
    await settle()
    expect(router.currentRoute.value.query.template).toBe(T2.id)
    // T2's only run has no stored result: nothing to compare.
    expect(wrapper.findAll('[data-testid="compare-cell"]').map((c) => c.attributes('data-kind'))).toEqual(['truth'])
    expect(wrapper.find<HTMLButtonElement>('[data-testid="compare-export"]').element.disabled).toBe(true)
  })
})
