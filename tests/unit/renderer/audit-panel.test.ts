// @vitest-environment happy-dom
import { describe, expect, it, vi } from 'vitest'
import { mount } from '@vue/test-utils'
import AuditPanel from '../../../src/renderer/src/components/case/AuditPanel.vue'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
import type { AuditEntry } from '../../../src/shared/types'
import { auditCsv } from '../../../src/shared/audit-export'
import { freshRendererPerTest, installFakeBridge, settle } from './fake-bridge'

const CASE_ID = '77777777-7777-4777-8777-777777777777'
const RUN_A = 'dddddddd-0000-4000-8000-00000000000a'
const RUN_B = 'dddddddd-0000-4000-8000-00000000000b'
const h = (n: number): string => String(n).repeat(64).slice(0, 64)
const entry = (seq: number, action: string, details: Record<string, unknown>): AuditEntry => ({
  seq,
  at: `2024-05-01T10:00:0${seq}.000Z`,
  actor: 'analyst',
  action,
  details,
  prevHash: h(seq - 1),
  hash: h(seq)
})
const log: AuditEntry[] = [
  entry(1, 'case.create', { name: 'Case, "quoted"', number: 'N-1' }),
  entry(2, 'run.create', { id: RUN_A, method: 'ga', parameters: { population: 32 }, seed: 5 }),
  entry(3, 'run.update', { id: RUN_A, previousStatus: 'queued', status: 'running' }),
  entry(4, 'result.add', { id: 'r1', runId: RUN_A, kind: 'reconstruction' }),
  entry(5, 'run.create', { id: RUN_B, method: 'dfd', parameters: {}, seed: 6 })
]
const detail = (): CaseDetail => ({
  info: { id: CASE_ID, dir: '/cases/a', name: 'A', number: 'N-1', examiner: null, notes: null, createdAt: '', templateCount: 0, imageCount: 0, runCount: 0 },
  templates: [],
  images: [],
  runs: []
})

const currentPinia = freshRendererPerTest()

async function mountPanel() {
  await useCaseDetail().open(CASE_ID)
  const wrapper = mount(AuditPanel, { props: { caseId: CASE_ID }, global: { plugins: [currentPinia()] }, attachTo: document.body })
  await settle()
  return wrapper
}

const seqs = (w: Awaited<ReturnType<typeof mountPanel>>): string[] => w.findAll('[data-testid="audit-row"]').map((r) => r.attributes('data-seq')!)

describe('Audit panel', () => {
  it('expands an entry into its details as key and value', async () => {
    installFakeBridge({ getCase: async () => detail(), auditLog: async () => log })
    const wrapper = await mountPanel()
    expect(seqs(wrapper)).toEqual(['1', '2', '3', '4', '5'])
    expect(wrapper.find('[data-testid="audit-details"]').exists()).toBe(false)
    const button = wrapper.find('[data-testid="audit-row"][data-seq="2"] [data-testid="audit-expand"]')
    expect(button.attributes('aria-expanded')).toBe('false')
    await button.trigger('click')
    expect(button.attributes('aria-expanded')).toBe('true')
    const open = wrapper.find('[data-testid="audit-details"][data-seq="2"]')
    expect(open.find('[data-key="method"]').text()).toBe('ga')
    expect(open.find('[data-key="seed"]').text()).toBe('5')
    expect(open.find('[data-key="parameters"] pre').text()).toBe('{\n  "population": 32\n}')
    expect(open.text()).toContain(h(1))
    // A click on the row toggles too.
    await wrapper.find('[data-testid="audit-row"][data-seq="2"]').trigger('click')
    expect(wrapper.find('[data-testid="audit-details"]').exists()).toBe(false)
  })

  it('filters by action and by run', async () => {
    installFakeBridge({ getCase: async () => detail(), auditLog: async () => log })
    const wrapper = await mountPanel()
    const actions = wrapper.find('[data-testid="audit-filter-action"]')
    expect(actions.findAll('option').map((o) => o.element.getAttribute('value'))).toEqual(['', 'case.create', 'result.add', 'run.create', 'run.update'])
    await actions.setValue('run.create')
    expect(seqs(wrapper)).toEqual(['2', '5'])
    expect(wrapper.find('[data-testid="audit-count"]').text()).toBe('2 of 5 entries')
    await actions.setValue('')
    const runs = wrapper.find('[data-testid="audit-filter-run"]')
    expect(runs.findAll('option').map((o) => o.element.getAttribute('value'))).toEqual(['', RUN_B, RUN_A])
    await runs.setValue(RUN_A)
    expect(seqs(wrapper)).toEqual(['2', '3', '4'])
    await actions.setValue('case.create')
    expect(seqs(wrapper)).toEqual([])
    expect(wrapper.text()).toContain('No entry matches the filter.')
    await wrapper.find('[data-testid="audit-filter-clear"]').trigger('click')
    expect(seqs(wrapper)).toHaveLength(5)
  })

  it('exports the entries shown as CSV and JSON downloads', async () => {
    installFakeBridge({ getCase: async () => detail(), auditLog: async () => log })
    const saved: { name: string; blob: Blob }[] = []
    const create = vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => {
      saved.push({ name: '', blob: blob as Blob })
      return 'blob:x'
    })
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved[saved.length - 1].name = this.download
    })
    const wrapper = await mountPanel()
    await wrapper.find('[data-testid="audit-export-csv"]').trigger('click')
    await wrapper.find('[data-testid="audit-filter-run"]').setValue(RUN_B)
    await wrapper.find('[data-testid="audit-export-json"]').trigger('click')
    create.mockRestore()
    click.mockRestore()
    expect(saved.map((s) => s.name)).toEqual(['audit-N-1.csv', 'audit-N-1-filtered.json'])
    const csv = await saved[0].blob.text()
    expect(csv).toBe(auditCsv(log))
    const lines = csv.split('\r\n')
    expect(lines[0]).toBe('seq,at,actor,action,details,prevHash,hash')
    // Commas and quotes in details are quoted the CSV way.
    expect(lines[1]).toBe(`1,2024-05-01T10:00:01.000Z,analyst,case.create,"{""name"":""Case, \\""quoted\\"""",""number"":""N-1""}",${h(0)},${h(1)}`)
    expect(JSON.parse(await saved[1].blob.text())).toEqual([log[4]])
  })
})
