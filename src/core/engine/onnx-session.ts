import './telemetry-off'
import * as ort from 'onnxruntime-node'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { ExecutionProvider } from '../../shared/types'
import { printable } from '../../shared/printable'

export interface SessionSettings {
  providers: ExecutionProvider[]
  /** Intra-op threads; 0 lets ONNX Runtime pick (one per physical core). */
  threads: number
  denormalAsZero: boolean
  spinning: boolean
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all'
  memArena?: boolean
  interOpThreads?: number
  profilePrefix?: string
}

export interface OpenedSession {
  session: ort.InferenceSession
  provider: ExecutionProvider
  /** Why a preferred provider was skipped, when one was. */
  fallbackReason: string | null
}

function sessionOptions(provider: ExecutionProvider, settings: SessionSettings): ort.InferenceSession.SessionOptions {
  const { threads } = settings
  return {
    executionProviders: [provider],
    graphOptimizationLevel: settings.graphOptimizationLevel ?? 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    interOpNumThreads: settings.interOpThreads ?? 1,
    executionMode: (settings.interOpThreads ?? 1) > 1 ? 'parallel' : 'sequential',
    enableCpuMemArena: settings.memArena ?? true,
    ...(settings.profilePrefix ? { enableProfiling: true, profileFilePrefix: settings.profilePrefix } : {}),
    logSeverityLevel: 3,
    // Denormals produced at run time (not only in weights) also slow x86 CPUs down.
    extra: {
      session: {
        set_denormal_as_zero: settings.denormalAsZero ? '1' : '0',
        intra_op: { allow_spinning: settings.spinning ? '1' : '0' }
      }
    }
  }
}

const PROVIDER_LIBRARIES: Partial<Record<ExecutionProvider, string[]>> = {
  cuda: ['libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so']
}

/**
 * Why a provider cannot load, or null if it may. Asking ONNX Runtime for CUDA when its provider
 * libraries are absent aborts the whole process (a native terminate, not a JS exception), so
 * their presence is checked before any attempt.
 */
export function providerUnavailableReason(provider: ExecutionProvider): string | null {
  const libs = PROVIDER_LIBRARIES[provider]
  if (!libs) return null
  if (process.platform !== 'linux' && process.platform !== 'win32') return `${provider} is not supported on ${process.platform}`
  const require = createRequire(import.meta.url)
  const binDir = join(dirname(require.resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch)
  const names = process.platform === 'win32' ? libs.map((l) => l.replace(/^lib/, '').replace(/\.so$/, '.dll')) : libs
  const missing = names.filter((l) => !existsSync(join(binDir, l)))
  return missing.length ? `${provider} provider libraries are not installed (${missing.join(', ')})` : null
}

/**
 * Opens a session on the first provider that loads. ONNX Runtime does not fall back by itself:
 * asking for ['cuda', 'cpu'] without the CUDA libraries throws, so each provider is tried alone.
 */
/**
 * ONNX Runtime's load errors start with the C++ source location and function signature (hundreds
 * of characters a user cannot act on); keep the first line's explanation, bounded.
 */
export function runtimeMessage(err: unknown): string {
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0]
  const text = first.replace(/^\S+\.(?:h|cc|cpp):\d+ .*?\)(?: const)? (?=\S)/, '')
  // Node names from the file appear in the text: no control characters reach a terminal.
  const bounded = text.length > 300 ? `${text.slice(0, 299)}…` : text
  return printable(bounded)
}

export async function openSession(model: Uint8Array, settings: SessionSettings): Promise<OpenedSession> {
  const providers: ExecutionProvider[] = settings.providers.includes('cpu')
    ? settings.providers
    : [...settings.providers, 'cpu']
  const failures: string[] = []
  for (const provider of providers) {
    const unavailable = providerUnavailableReason(provider)
    if (unavailable) {
      failures.push(unavailable)
      continue
    }
    try {
      const session = await ort.InferenceSession.create(model, sessionOptions(provider, settings))
      return { session, provider, fallbackReason: failures.length ? failures.join('; ') : null }
    } catch (err) {
      const message = runtimeMessage(err)
      if (provider === 'cpu') {
        throw new Error(`ONNX Runtime could not load the model: ${message}`)
      }
      failures.push(`${provider} unavailable (${message})`)
    }
  }
  throw new Error('no execution provider could load the model')
}
