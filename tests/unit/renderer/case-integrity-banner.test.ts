// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import CasePage from '../../../src/renderer/src/pages/CasePage.vue'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
import type { AuditVerification } from '../../../src/shared/types'
import { installFakeBridge, removeFakeBridge, settle } from './fake-bridge'

// Issue 13 item 5: the quick verification made when a case opens is shown on the case page.
const CASE_ID = '33333333-3333-4333-8333-333333333333'
const detail = (integrity: AuditVerification): CaseDetail => ({
  info: {
    id: CASE_ID,
    dir: '/cases/b',
    name: 'B',
    number: null,
    examiner: null,
    notes: null,
    createdAt: '2024-05-01T10:00:00.000Z',
    templateCount: 0,
    imageCount: 0,
    runCount: 0
  },
  templates: [],
  images: [],
  runs: [],
  integrity
})

async function mountPage() {
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/cases/:id', component: CasePage, props: true }] })
  await router.push(`/cases/${CASE_ID}`)
  const wrapper = mount(CasePage, { props: { id: CASE_ID }, global: { plugins: [createPinia(), router] }, attachTo: document.body })
  await settle()
  return wrapper
}

afterEach(() => {
  document.body.innerHTML = ''
  removeFakeBridge()
})

describe('case page integrity banner', () => {
  it('names the first broken entry, the reason and how many more problems there are', async () => {
    installFakeBridge({
      getCase: async () =>
        detail({ ok: false, entries: 9, firstBrokenSeq: 4, reason: 'template t1: its vector differs from the one entry 4 recorded', problems: ['a', 'b', 'c'] })
    })
    const banner = (await mountPage()).find('[data-testid="case-integrity"]')
    expect(banner.exists()).toBe(true)
    expect(banner.text()).toMatch(
      /failed its integrity check at audit entry 4: template t1: its vector differs from the one entry 4 recorded \(2 more problems\)\. It takes no changes/
    )
  })

  it('shows nothing when the quick verification passed', async () => {
    installFakeBridge({ getCase: async () => detail({ ok: true, entries: 9, firstBrokenSeq: null, reason: null }) })
    const wrapper = await mountPage()
    expect(wrapper.find('[data-testid="case-title"]').text()).toBe('B')
    expect(wrapper.find('[data-testid="case-integrity"]').exists()).toBe(false)
  })
})
