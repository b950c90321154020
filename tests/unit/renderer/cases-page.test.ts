// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import { defineComponent } from 'vue'
import CasesPage from '../../../src/renderer/src/pages/CasesPage.vue'
import type { CaseInfo } from '../../../src/shared/types'
import { appInfo, installFakeBridge, removeFakeBridge, settle } from './fake-bridge'

const caseInfo = (over: Partial<CaseInfo> = {}): CaseInfo => ({
  id: '22222222-2222-4222-8222-222222222222',
  dir: '/home/analyst/Unveil cases/Falcon',
  name: 'Falcon',
  number: '2024-17',
  examiner: 'J. Doe',
  notes: null,
  createdAt: '2024-05-01T10:00:00.000Z',
  templateCount: 3,
  imageCount: 2,
  runCount: 1,
  ...over
})

async function mountPage() {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/cases', component: CasesPage },
      { path: '/cases/:id', component: defineComponent({ template: '<div>case</div>' }) }
    ]
  })
  await router.push('/cases')
  const wrapper = mount(CasesPage, { global: { plugins: [createPinia(), router] }, attachTo: document.body })
  await settle()
  return { wrapper, router }
}

afterEach(() => {
  document.body.innerHTML = ''
  removeFakeBridge()
})

describe('Cases page', () => {
  it('explains the tool and offers the sample case on first start', async () => {
    const bridge = installFakeBridge({ listCases: async () => [], appInfo: async () => appInfo() })
    const { wrapper, router } = await mountPage()
    expect(wrapper.find('[data-testid="cases-empty"]').text()).toContain('face-template inversion')

    let release: () => void = () => undefined
    bridge.createSampleCase.mockImplementation(
      () =>
        new Promise((resolve) => {
          release = () => resolve({ info: caseInfo({ name: 'Sample case' }), templates: [], images: [], runs: [] })
        })
    )
    await wrapper.find('[data-testid="create-sample-case"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid="sample-progress"]').exists()).toBe(true)
    release()
    await settle()
    expect(router.currentRoute.value.path).toBe(`/cases/${caseInfo().id}`)
  })

  it('hides the sample offer when the sample photos are not installed', async () => {
    installFakeBridge({ listCases: async () => [], appInfo: async () => appInfo({ sampleAvailable: false }) })
    const { wrapper } = await mountPage()
    expect(wrapper.find('[data-testid="cases-empty"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="create-sample-case"]').exists()).toBe(false)
  })

  it('lists cases with their counts', async () => {
    installFakeBridge({ listCases: async () => [caseInfo()], appInfo: async () => appInfo() })
    const { wrapper } = await mountPage()
    const rows = wrapper.findAll('[data-testid="case-row"]')
    expect(rows).toHaveLength(1)
    expect(rows[0].text()).toContain('Falcon')
    expect(rows[0].text()).toContain('2024-17')
    expect(rows[0].text()).toContain('J. Doe')
  })

  it('offers a new sample case in the header at any time, and opens a case row with Enter or Space', async () => {
    const bridge = installFakeBridge({
      listCases: async () => [caseInfo()],
      appInfo: async () => appInfo(),
      createSampleCase: async () => ({ info: caseInfo({ id: '33333333-3333-4333-8333-333333333333', name: 'Sample case' }), templates: [], images: [], runs: [] })
    })
    const { wrapper, router } = await mountPage()
    // Not the empty state: the header still has it.
    expect(wrapper.find('[data-testid="cases-empty"]').exists()).toBe(false)
    await wrapper.find('.page-header [data-testid="new-sample-case-button"]').trigger('click')
    await settle()
    expect(bridge.createSampleCase).toHaveBeenCalledTimes(1)
    expect(router.currentRoute.value.path).toBe('/cases/33333333-3333-4333-8333-333333333333')

    await router.push('/cases')
    await settle()
    const row = wrapper.find(`[data-testid="case-row"][data-case-id="${caseInfo().id}"]`)
    expect(row.attributes('tabindex')).toBe('0')
    await row.trigger('keydown', { key: ' ' })
    await settle()
    expect(router.currentRoute.value.path).toBe(`/cases/${caseInfo().id}`)
    await router.push('/cases')
    await settle()
    await wrapper.find(`[data-testid="case-row"][data-case-id="${caseInfo().id}"]`).trigger('keydown', { key: 'Enter' })
    await settle()
    expect(router.currentRoute.value.path).toBe(`/cases/${caseInfo().id}`)
  })

  it('has no sample case button without the sample photos', async () => {
    installFakeBridge({ listCases: async () => [caseInfo()], appInfo: async () => appInfo({ sampleAvailable: false }) })
    const { wrapper } = await mountPage()
    expect(wrapper.find('[data-testid="new-sample-case-button"]').exists()).toBe(false)
  })

  it('creates a case in <default root>/<name> and shows the exact error when core refuses', async () => {
    const bridge = installFakeBridge({
      listCases: async () => [],
      appInfo: async () => appInfo(),
      createCase: async () =>
        Promise.reject(new Error("Error invoking remote method 'unveil:createCase': Error: folder is not empty: /x"))
    })
    const { wrapper } = await mountPage()
    await wrapper.find('[data-testid="new-case-button"]').trigger('click')
    await wrapper.find('[data-testid="case-name-input"]').setValue('E2E case')
    const folder = wrapper.find<HTMLInputElement>('[data-testid="case-folder-input"]')
    expect(folder.element.value).toBe('/home/analyst/Unveil cases/E2E case')
    await wrapper.find('[data-testid="create-case-submit"]').trigger('click')
    await settle()
    expect(bridge.createCase).toHaveBeenCalledWith({
      name: 'E2E case',
      dir: '/home/analyst/Unveil cases/E2E case',
      number: null,
      examiner: null,
      notes: null
    })
    expect(wrapper.find('[data-testid="new-case-error"]').text()).toBe('folder is not empty: /x')
  })
})
