// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createMemoryHistory, createRouter } from 'vue-router'
import { defineComponent } from 'vue'
import DemoPage from '../../../src/renderer/src/pages/DemoPage.vue'
import { useConfirm } from '../../../src/renderer/src/stores/confirm'
import { useNotify } from '../../../src/renderer/src/stores/notify'
import { DEMO_STEP_IDS, type DemoStatus, type DemoStepResult } from '../../../src/shared/demo-types'
import { freshRendererPerTest, installFakeBridge, settle } from './fake-bridge'

const demo = { caseId: '33333333-3333-4333-8333-333333333333', dir: '/cases/Unveil demo', startedAt: '2026-12-01T10:00:00.000Z' }
const enrol: DemoStepResult = {
  step: 'enrol',
  templateId: '44444444-4444-4444-8444-444444444444',
  templates: 6,
  encoderId: 'enc-a',
  imageSha256s: [],
  targetCropSha256: 'c'.repeat(64)
}

function status(current: number, results: (DemoStepResult | null)[], started = true, busy: number | null = null): DemoStatus {
  return {
    demo: started ? demo : null,
    current,
    busy,
    steps: DEMO_STEP_IDS.map((id, i) => ({ id, title: `Title ${id}`, explanation: `Why ${id}`, computes: `does ${id}`, result: results[i] ?? null }))
  }
}

async function mountPage(pinia: ReturnType<ReturnType<typeof freshRendererPerTest>>) {
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/demo', component: DemoPage },
      { path: '/cases/:id', component: defineComponent({ template: '<div>case</div>' }) }
    ]
  })
  await router.push('/demo')
  const wrapper = mount(DemoPage, { global: { plugins: [pinia, router] }, attachTo: document.body })
  await settle()
  return wrapper
}

describe('Guided demo page', () => {
  const pinia = freshRendererPerTest()

  it('offers Start, shows the step count while the first step computes, then its result', async () => {
    let current = status(0, [], false)
    let release: () => void = () => undefined
    const bridge = installFakeBridge({
      demoStatus: async () => current,
      startDemo: () =>
        new Promise((resolve) => {
          release = () => {
            current = status(0, [enrol])
            resolve(current)
          }
        })
    })
    const wrapper = await mountPage(pinia())
    expect(wrapper.find('[data-testid="demo-intro"]').exists()).toBe(true)
    await wrapper.find('[data-testid="demo-start"]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-testid="demo-busy"]').text()).toContain('Creating the demo case…')
    expect(wrapper.find('[data-testid="demo-step-count"]').text()).toBe('Step 1 of 6')
    release()
    await settle()
    expect(bridge.startDemo).toHaveBeenCalledTimes(1)
    expect(wrapper.find('[data-testid="demo-result"]').text()).toContain('6 templates enrolled with enc-a')
    expect(wrapper.find('[data-testid="demo-next"]').attributes('disabled')).toBeUndefined()
    expect(wrapper.find('[data-testid="demo-back"]').attributes('disabled')).toBeDefined()
  })

  it('names a failed step in a toast and offers to compute it again', async () => {
    let current = status(0, [enrol])
    installFakeBridge({
      demoStatus: async () => current,
      demoGoTo: async (step) => {
        // Main stores the step shown before computing it; the computation then fails.
        current = status(step, [enrol])
        throw new Error("Error invoking remote method 'unveil:demoGoTo': Error: the demo's dfd run failed: decoder missing")
      }
    })
    const wrapper = await mountPage(pinia())
    await wrapper.find('[data-testid="demo-next"]').trigger('click')
    await settle()
    expect(wrapper.find('[data-testid="demo-step-count"]').text()).toBe('Step 2 of 6')
    expect(wrapper.find('[data-testid="demo-retry"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="demo-next"]').attributes('disabled')).toBeDefined()
    expect(useNotify().toasts.map((t) => `${t.title}: ${t.message}`)).toEqual(["Could not show step 2: the demo's dfd run failed: decoder missing"])
  })

  it('asks before Reset and deletes nothing when cancelled', async () => {
    const bridge = installFakeBridge({ demoStatus: async () => status(0, [enrol]) })
    const wrapper = await mountPage(pinia())
    await wrapper.find('[data-testid="demo-reset"]').trigger('click')
    await settle()
    const confirm = useConfirm()
    expect(confirm.pending?.message).toContain('/cases/Unveil demo')
    expect(confirm.pending?.message).toContain('Your other cases are not touched')
    confirm.answer(false)
    await settle()
    expect(wrapper.find('[data-testid="demo-result"]').exists()).toBe(true)
    expect(bridge.resetDemo).not.toHaveBeenCalled()
  })
})
