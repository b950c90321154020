import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { CaseDetail, EnrolOptions, FilePayload } from '@shared/ipc-contract'
import type { TemplateRecord } from '@shared/types'
import { api } from '../api'

/** The case on screen: its detail, and blob URLs of its photos (released when the case changes). */
export const useCaseDetail = defineStore('caseDetail', () => {
  const detail = ref<CaseDetail | null>(null)
  const caseId = ref<string | null>(null)
  const loading = ref(false)
  const error = ref<unknown>(null)
  const imageUrls = ref<Record<string, string>>({})
  const imageRequests = new Map<string, Promise<string>>()

  const templates = computed(() => detail.value?.templates ?? [])
  const runs = computed(() =>
    [...(detail.value?.runs ?? [])].sort((a, b) => b.createdAt.localeCompare(a.createdAt))
  )

  function releaseImages(): void {
    for (const url of Object.values(imageUrls.value)) URL.revokeObjectURL(url)
    imageUrls.value = {}
    imageRequests.clear()
  }

  async function open(id: string): Promise<void> {
    if (caseId.value !== id) {
      releaseImages()
      detail.value = null
      caseId.value = id
    }
    await refresh()
  }

  async function refresh(): Promise<void> {
    const id = caseId.value
    if (!id) return
    loading.value = true
    try {
      const d = await api().getCase(id)
      if (caseId.value === id) {
        detail.value = d
        error.value = null
      }
    } catch (err) {
      if (caseId.value === id) error.value = err
      throw err
    } finally {
      loading.value = false
    }
  }

  function close(): void {
    releaseImages()
    detail.value = null
    caseId.value = null
  }

  /** Blob URL of a photo in the case's content store, fetched once. */
  function imageUrl(sha256: string): Promise<string> {
    const id = caseId.value
    if (!id) return Promise.reject(new Error('No case is open'))
    const known = imageUrls.value[sha256]
    if (known) return Promise.resolve(known)
    let request = imageRequests.get(sha256)
    if (!request) {
      request = api()
        .getImage(id, sha256)
        .then(({ mime, bytes }) => {
          const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: mime }))
          if (caseId.value !== id) {
            URL.revokeObjectURL(url)
            throw new Error('The case was closed')
          }
          imageUrls.value[sha256] = url
          return url
        })
      request.catch(() => imageRequests.delete(sha256))
      imageRequests.set(sha256, request)
    }
    return request
  }

  async function enrol(image: FilePayload, options: EnrolOptions): Promise<TemplateRecord> {
    const id = requireCase()
    const record = await api().enrolFromPhoto(id, image, options)
    await refresh()
    return record
  }

  async function importTemplates(file: FilePayload, encoderId: string): Promise<TemplateRecord[]> {
    const id = requireCase()
    const records = await api().importTemplates(id, file, encoderId)
    await refresh()
    return records
  }

  async function deleteTemplate(templateId: string): Promise<void> {
    const id = requireCase()
    await api().deleteTemplate(id, templateId)
    await refresh()
  }

  function requireCase(): string {
    if (!caseId.value) throw new Error('No case is open')
    return caseId.value
  }

  return {
    detail,
    caseId,
    loading,
    error,
    imageUrls,
    templates,
    runs,
    open,
    refresh,
    close,
    imageUrl,
    enrol,
    importTemplates,
    deleteTemplate
  }
})
