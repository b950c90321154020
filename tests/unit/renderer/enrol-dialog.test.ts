// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest'
import { mount } from '@vue/test-utils'
import EnrolDialog from '../../../src/renderer/src/components/case/EnrolDialog.vue'
import DropZone from '../../../src/renderer/src/components/DropZone.vue'
import { useCaseDetail } from '../../../src/renderer/src/stores/case-detail'
import type { CaseDetail } from '../../../src/shared/ipc-contract'
import { encoderEntry, installFakeBridge, settle, templateRecord, freshRendererPerTest } from './fake-bridge'

const CASE_ID = '33333333-3333-4333-8333-333333333333'
const detail = (): CaseDetail => ({
  info: { id: CASE_ID, dir: '/c', name: 'C', number: null, examiner: null, notes: null, createdAt: '', templateCount: 0, imageCount: 0, runCount: 0 },
  templates: [],
  images: [],
  runs: []
})

const currentPinia = freshRendererPerTest()

async function mountDialog() {
  await useCaseDetail().open(CASE_ID)
  const wrapper = mount(EnrolDialog, { global: { plugins: [currentPinia()] }, attachTo: document.body })
  await settle()
  const photo = new File([new Uint8Array([0xff, 0xd8, 0xff])], 'group photo.jpg', { type: 'image/jpeg' })
  wrapper.findComponent(DropZone).vm.$emit('file', photo)
  await settle()
  return wrapper
}

describe('Enrol dialog', () => {
  it('preselects the largest face, lets the analyst pick another, and enrols it', async () => {
    const bridge = installFakeBridge({
      getCase: async () => detail(),
      listModels: async () => [encoderEntry('enc-a'), encoderEntry('enc-b', 128)],
      detectFaces: async () => ({
        width: 400,
        height: 300,
        faces: [
          { box: [10, 10, 40, 40], score: 0.8, landmarks: [] },
          { box: [100, 50, 250, 220], score: 0.99, landmarks: [] }
        ]
      }),
      enrolFromPhoto: async () => templateRecord({ label: 'group photo.jpg' })
    })
    const wrapper = await mountDialog()

    const sent = bridge.detectFaces.mock.calls[0][0]
    expect(sent.name).toBe('group photo.jpg')
    expect(Array.from(sent.bytes)).toEqual([0xff, 0xd8, 0xff])
    expect(wrapper.find('[data-testid="faces-found"]').text()).toContain('2 faces found')
    expect(wrapper.find('[data-testid="face-box-2"]').classes()).toContain('selected')
    expect(wrapper.find('[data-testid="enrol-submit"]').text()).toBe('Enrol face #2')

    await wrapper.find('[data-testid="face-box-1"]').trigger('click')
    expect(wrapper.find('[data-testid="face-box-1"]').classes()).toContain('selected')
    expect(wrapper.find<HTMLInputElement>('[data-testid="enrol-label-input"]').element.value).toBe('group photo.jpg #1')
    await wrapper.find('[data-testid="enrol-submit"]').trigger('click')
    await settle()

    expect(bridge.enrolFromPhoto).toHaveBeenCalledTimes(1)
    const [caseId, , options] = bridge.enrolFromPhoto.mock.calls[0]
    expect(caseId).toBe(CASE_ID)
    expect(options).toEqual({ encoderId: 'enc-a', faceIndex: 0, label: 'group photo.jpg #1' })
    expect(wrapper.emitted('enrolled')?.[0]).toEqual([templateRecord({ label: 'group photo.jpg' })])
    // The case is fetched again so the new template shows in the table.
    expect(bridge.getCase).toHaveBeenCalledTimes(2)
  })

  it('shows the core error message as it is', async () => {
    installFakeBridge({
      getCase: async () => detail(),
      listModels: async () => [encoderEntry('enc-a')],
      detectFaces: async () =>
        Promise.reject(new Error("Error invoking remote method 'unveil:detectFaces': Error: group photo.jpg is not an image sharp can read"))
    })
    const wrapper = await mountDialog()
    expect(wrapper.find('[data-testid="enrol-error"]').text()).toBe('group photo.jpg is not an image sharp can read')
    expect(wrapper.find<HTMLButtonElement>('[data-testid="enrol-submit"]').element.disabled).toBe(true)
  })
})
