// A stand-in for window.unveil in renderer unit tests: every method is a vi.fn that rejects
// unless the test gives it an implementation, so an unexpected call fails loudly.
import { afterEach, beforeEach, vi, type Mock } from 'vitest'
import { createPinia, setActivePinia, type Pinia } from 'pinia'
import { API_METHODS, type ApiMethod, type AppInfo, type UnveilApi, type UnveilBridge } from '../../../src/shared/ipc-contract'
import type { JobProgress, ModelEntry, TemplateRecord } from '../../../src/shared/types'

export type FakeBridge = { [K in ApiMethod]: Mock<UnveilApi[K]> } & {
  onJobProgress: Mock<UnveilBridge['onJobProgress']>
  /** Pushes a progress event to every subscriber, as the main process would. */
  emitProgress(p: JobProgress): void
}

export function installFakeBridge(overrides: Partial<{ [K in ApiMethod]: UnveilApi[K] }> = {}): FakeBridge {
  const listeners = new Set<(p: JobProgress) => void>()
  const fake = {} as Record<string, unknown>
  for (const m of API_METHODS) {
    const impl = overrides[m] ?? (() => Promise.reject(new Error(`${m} was not expected in this test`)))
    fake[m] = vi.fn(impl)
  }
  fake.onJobProgress = vi.fn((listener: (p: JobProgress) => void) => {
    listeners.add(listener)
    return () => listeners.delete(listener)
  })
  fake.emitProgress = (p: JobProgress) => {
    for (const l of listeners) l(p)
  }
  ;(globalThis as unknown as { unveil: unknown }).unveil = fake
  return fake as unknown as FakeBridge
}

export function removeFakeBridge(): void {
  delete (globalThis as unknown as { unveil?: unknown }).unveil
}

/** Each test gets a fresh active Pinia and leaves a clean DOM and no bridge; returns a getter for the Pinia. */
export function freshRendererPerTest(): () => Pinia {
  let pinia: Pinia
  beforeEach(() => {
    pinia = createPinia()
    setActivePinia(pinia)
  })
  afterEach(() => {
    document.body.innerHTML = ''
    removeFakeBridge()
  })
  return () => pinia
}

export const appInfo = (over: Partial<AppInfo> = {}): AppInfo => ({
  version: '0.1.0',
  libraryDir: '/lib',
  engine: { provider: 'cpu', requestedProviders: ['cpu'], fallbackReason: null, threads: 2 },
  sampleAvailable: true,
  defaultCaseRoot: '/home/analyst/Unveil cases',
  ...over
})

export const encoderEntry = (id: string, dim = 512): ModelEntry => ({
  manifest: {
    id,
    name: `Encoder ${id}`,
    role: 'encoder',
    file: `${id}.onnx`,
    sha256: 'a'.repeat(64),
    input: { name: 'input', shape: [-1, 3, 112, 112], layout: 'NCHW' },
    output: { name: 'output', shape: [-1, dim] },
    embeddingDim: dim,
    licence: 'MIT',
    source: 'test'
  },
  path: `/models/${id}.onnx`,
  bundled: true,
  registeredAt: '2024-05-01T10:00:00.000Z'
})

export const templateRecord = (over: Partial<TemplateRecord> = {}): TemplateRecord => ({
  id: '11111111-1111-4111-8111-111111111111',
  label: 'sample1.jpg',
  encoderId: 'enc-a',
  encoderSha256: 'a'.repeat(64),
  dimension: 512,
  norm: 21.5,
  vector: [0.1, 0.2],
  origin: 'enrolment',
  format: null,
  sourceFileSha256: 'b'.repeat(64),
  sourceFileName: 'sample1.jpg',
  imageSha256: null,
  face: null,
  createdAt: '2024-05-01T10:00:00.000Z',
  ...over
})

/** Lets pending promise callbacks and Vue's render queue run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0))
}
