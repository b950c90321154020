import { existsSync, readFileSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { ModelEntry, ModelManifest, ThresholdRecord, VerificationRecord } from '../../shared/types'
import { ValidationError, validateManifest } from '../../shared/validation'
import { mkdirSync } from 'node:fs'
import { writeFileAtomic } from '../fs/atomic-write'
import { withFileLock } from '../fs/file-lock'
import { sha256Hex } from '../fs/sha256'
import { BUNDLED_MANIFESTS, DEFAULT_DETECTOR_ID, DEFAULT_ENCODER_ID, DEFAULT_LANDMARKER_ID, bundledModelDir, resourceModels, shippedThresholds } from './bundled-models'
import { modelSignature, parseModel } from './onnx-patch'
import { printable } from '../../shared/printable'
import { remoteModelUrl } from './remote-model'

const MAX_MODEL_BYTES = 2 * 1024 * 1024 * 1024

interface RegistryFile {
  version: 1
  models: { manifest: ModelManifest; file: string; registeredAt: string }[]
  verifications: Record<string, VerificationRecord>
  thresholds: Record<string, ThresholdRecord>
}

export class ModelRegistryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ModelRegistryError'
  }
}

/** Checks that a manifest describes the ONNX graph it sits beside; throws naming the mismatch. */
export function checkManifestAgainstModel(manifest: ModelManifest, bytes: Uint8Array): void {
  const sig = modelSignature(parseModel(bytes, `model '${manifest.id}'`))
  const input = sig.inputs.find((i) => i.name === manifest.input.name)
  if (!input) {
    throw new ModelRegistryError(
      `manifest input '${printable(manifest.input.name)}' is not in the model; its inputs are: ${printable(sig.inputs.map((i) => i.name).join(', '))}`
    )
  }
  const compare = (what: string, declared: number[], actual: number[]): void => {
    if (actual.length === 0) return
    if (declared.length !== actual.length) {
      throw new ModelRegistryError(`${what} has ${actual.length} dimensions in the model but ${declared.length} in the manifest`)
    }
    declared.forEach((d, i) => {
      const a = actual[i]
      // The batch dimension may be fixed at 1 in the file: it is freed at load time.
      if (d === -1 || a === -1 || (i === 0 && a === 1)) return
      if (d !== a) throw new ModelRegistryError(`${what} dimension ${i} is ${a} in the model but ${d} in the manifest`)
    })
  }
  compare(`input '${input.name}'`, manifest.input.shape, input.shape)
  const output = sig.outputs.find((o) => o.name === manifest.output.name)
  if (!output) {
    throw new ModelRegistryError(
      `manifest output '${printable(manifest.output.name)}' is not in the model; its outputs are: ${printable(sig.outputs.map((o) => o.name).join(', '))}`
    )
  }
  compare(`output '${output.name}'`, manifest.output.shape, output.shape)
  if (manifest.role === 'encoder') {
    const last = output.shape[output.shape.length - 1]
    if (last !== undefined && last !== -1 && last !== manifest.embeddingDim) {
      throw new ModelRegistryError(`the model's output has ${last} values but the manifest says embeddingDim ${manifest.embeddingDim}`)
    }
  }
}

/**
 * The models Unveil knows: the bundled ones (from the npm dependency) and those the user
 * registered, which are copied into the library folder under their sha256.
 */
export class ModelRegistry {
  private readonly file: string
  private readonly modelDir: string
  private data: RegistryFile
  /** The registry file as last read (mtime, size, inode): another process may have rewritten it. */
  private seen = ''

  constructor(libraryDir: string) {
    this.modelDir = join(libraryDir, 'models')
    this.file = join(this.modelDir, 'registry.json')
    this.data = this.read()
  }

  private stamp(): string {
    if (!existsSync(this.file)) return 'none'
    const st = statSync(this.file)
    return `${st.mtimeMs}:${st.size}:${st.ino}`
  }

  private read(): RegistryFile {
    this.seen = this.stamp()
    if (!existsSync(this.file)) return { version: 1, models: [], verifications: {}, thresholds: {} }
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as RegistryFile
      if (parsed.version !== 1 || !Array.isArray(parsed.models)) throw new Error('unknown layout')
      return { ...parsed, verifications: parsed.verifications ?? {}, thresholds: parsed.thresholds ?? {} }
    } catch (err) {
      throw new ModelRegistryError(`model registry ${this.file} is unreadable: ${(err as Error).message}`)
    }
  }

  /** Picks up changes other processes (the app, a CLI) made since this one last read the file. */
  private refresh(): void {
    if (this.stamp() !== this.seen) this.data = this.read()
  }

  /**
   * Changes the registry under its lock, starting from the file as it is now (never from this
   * process's copy, which another process may have outdated), and writes it back atomically.
   */
  private update<T>(change: (data: RegistryFile) => T): T {
    mkdirSync(this.modelDir, { recursive: true })
    return withFileLock(this.file, () => {
      this.data = this.read()
      const result = change(this.data)
      writeFileAtomic(this.file, JSON.stringify(this.data, null, 2))
      this.seen = this.stamp()
      return result
    })
  }

  list(): ModelEntry[] {
    this.refresh()
    const dir = bundledModelDir()
    const shipped = [...BUNDLED_MANIFESTS.map((manifest) => ({ manifest, path: join(dir, manifest.file) })), ...resourceModels()]
    const measured = shippedThresholds()
    // Thresholds measured on this machine take precedence over the shipped measurement.
    const thresholds = (m: ModelManifest): ThresholdRecord | undefined => this.data.thresholds[m.id] ?? (m.role === 'encoder' ? measured.get(m.sha256) : undefined)
    const bundled: ModelEntry[] = shipped.map(({ manifest, path }) => ({
      manifest,
      path,
      bundled: true,
      verification: this.data.verifications[manifest.id],
      thresholds: thresholds(manifest),
      registeredAt: 'bundled'
    }))
    const user: ModelEntry[] = this.data.models.map((m) => ({
      manifest: m.manifest,
      // A remote engine has no file: its path is the model's URL on the server.
      path: m.manifest.remote ? remoteModelUrl(m.manifest.remote) : join(this.modelDir, m.file),
      bundled: false,
      verification: this.data.verifications[m.manifest.id],
      thresholds: thresholds(m.manifest),
      registeredAt: m.registeredAt
    }))
    return [...bundled, ...user]
  }

  get(id: string): ModelEntry {
    const entry = this.list().find((e) => e.manifest.id === id)
    if (!entry) {
      throw new ModelRegistryError(`unknown model '${id}'; registered: ${this.list().map((e) => e.manifest.id).join(', ')}`)
    }
    return entry
  }

  /** The entry, if it has `role`; otherwise a validation error naming both roles. */
  getWithRole(id: string, role: ModelManifest['role']): ModelEntry {
    const entry = this.get(id)
    const article = (r: string): string => (/^[aeiou]/.test(r) ? `an ${r}` : `a ${r}`)
    if (entry.manifest.role !== role) throw new ValidationError(`model '${id}' is ${article(entry.manifest.role)}, not ${article(role)}`)
    return entry
  }

  byRole(role: ModelManifest['role']): ModelEntry[] {
    return this.list().filter((e) => e.manifest.role === role)
  }

  defaults(): { encoder: string; detector: string; landmarker: string } {
    return { encoder: DEFAULT_ENCODER_ID, detector: DEFAULT_DETECTOR_ID, landmarker: DEFAULT_LANDMARKER_ID }
  }

  /** Reads a model file and checks it is still the file whose sha256 the manifest records. */
  readModel(entry: ModelEntry): Uint8Array {
    if (entry.manifest.remote) {
      throw new ModelRegistryError(`'${entry.manifest.id}' is a remote engine (${entry.path}): it has no model file, so it can only be queried (black-box methods, scoring), not read`)
    }
    if (!existsSync(entry.path)) throw new ModelRegistryError(`model file for '${entry.manifest.id}' is missing: ${entry.path}`)
    const bytes = new Uint8Array(readFileSync(entry.path))
    const sha = sha256Hex(bytes)
    if (sha !== entry.manifest.sha256) {
      throw new ModelRegistryError(
        `model file for '${entry.manifest.id}' has changed (sha256 ${sha.slice(0, 12)}…, expected ${entry.manifest.sha256.slice(0, 12)}…)`
      )
    }
    return bytes
  }

  /**
   * Validates a user model and its manifest without storing anything. Returns the manifest
   * completed with the file's sha256, and the bytes for a trial run.
   */
  prepareRegistration(modelPath: string | Buffer, manifestInput: unknown): { manifest: ModelManifest; bytes: Uint8Array } {
    const manifest = validateManifest(manifestInput)
    if (manifest.remote) throw new ValidationError('the manifest describes a remote engine (its remote block): register it without a model file (unveil models add-remote)')
    if (this.list().some((e) => e.manifest.id === manifest.id)) {
      throw new ModelRegistryError(`a model with id '${manifest.id}' is already registered`)
    }
    if (!existsSync(modelPath)) throw new ModelRegistryError(`model file not found: ${modelPath}`)
    const size = statSync(modelPath).size
    if (size > MAX_MODEL_BYTES) throw new ModelRegistryError(`model file is ${(size / 2 ** 30).toFixed(1)} GiB; the limit is 2 GiB`)
    const bytes = new Uint8Array(readFileSync(modelPath))
    const sha = sha256Hex(bytes)
    if (manifest.sha256 && manifest.sha256 !== sha) {
      throw new ValidationError(`manifest sha256 ${manifest.sha256.slice(0, 12)}… does not match the file (${sha.slice(0, 12)}…)`)
    }
    manifest.sha256 = sha
    checkManifestAgainstModel(manifest, bytes)
    return { manifest, bytes }
  }

  /** Validates a remote encoder's manifest (KServe v2) without storing anything or contacting the server. */
  prepareRemoteRegistration(manifestInput: unknown): ModelManifest {
    const manifest = validateManifest(manifestInput)
    if (!manifest.remote) throw new ValidationError('the manifest has no remote block: register a model file with it instead')
    if (this.list().some((e) => e.manifest.id === manifest.id)) {
      throw new ModelRegistryError(`a model with id '${manifest.id}' is already registered`)
    }
    return manifest
  }

  /** Stores a remote encoder whose server passed registerRemote (remote-model.ts): an entry, no file. */
  commitRemoteRegistration(manifest: ModelManifest): ModelEntry {
    this.update((data) => {
      if (data.models.some((m) => m.manifest.id === manifest.id)) throw new ModelRegistryError(`a model with id '${manifest.id}' is already registered`)
      data.models.push({ manifest: { ...manifest, file: '' }, file: '', registeredAt: new Date().toISOString() })
    })
    return this.get(manifest.id)
  }

  /**
   * Stores a model that passed prepareRegistration and the caller's trial run: `source` is the
   * checked bytes (or the file they came from). The copy and the entry are made under the
   * registry lock; if the entry cannot be written, the copy is removed again.
   */
  commitRegistration(manifest: ModelManifest, source: Uint8Array | string): ModelEntry {
    const file = `${manifest.sha256}.onnx`
    const dest = join(this.modelDir, file)
    let copied = false
    try {
      this.update((data) => {
        if (data.models.some((m) => m.manifest.id === manifest.id)) throw new ModelRegistryError(`a model with id '${manifest.id}' is already registered`)
        if (!existsSync(dest)) {
          writeFileAtomic(dest, typeof source === 'string' ? readFileSync(source) : source)
          copied = true
        }
        data.models.push({ manifest: { ...manifest, file }, file, registeredAt: new Date().toISOString() })
      })
    } catch (err) {
      if (copied) rmSync(dest, { force: true })
      throw err
    }
    return this.get(manifest.id)
  }

  /** Removes a user model's entry, its measurements and its file (unless another entry shares it). */
  unregister(id: string): void {
    const entry = this.get(id)
    if (entry.bundled) throw new ModelRegistryError(`'${id}' is bundled with Unveil and cannot be removed`)
    this.update((data) => {
      const gone = data.models.find((m) => m.manifest.id === id)
      data.models = data.models.filter((m) => m.manifest.id !== id)
      delete data.verifications[id]
      delete data.thresholds[id]
      // A remote engine's entry has no file.
      if (gone && gone.file && !data.models.some((m) => m.file === gone.file)) rmSync(join(this.modelDir, gone.file), { force: true })
    })
  }

  setThresholds(id: string, record: ThresholdRecord): void {
    this.get(id)
    this.update((data) => {
      data.thresholds[id] = record
    })
  }

  setVerification(id: string, record: VerificationRecord): void {
    this.get(id)
    this.update((data) => {
      data.verifications[id] = record
    })
  }
}
