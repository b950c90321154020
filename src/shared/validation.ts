// Input validation shared by the IPC handlers, the CLI and core: every value that crosses a
// trust boundary is checked here and rejected with a message naming the field.
import type { CaseCreateInput, ModelManifest, ModelRole, Normalisation, RemoteEngineSpec } from './types'
import { printable } from './printable'

export class ValidationError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ValidationError'
  }
}

/**
 * JSON.parse's message as one line: V8 quotes the text around the error raw, line breaks and
 * control characters included, which would split or garble a one-line error.
 */
export function jsonErrorMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/[\x00-\x1f\x7f]+/g, ' ')
}

type Obj = Record<string, unknown>

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

export function requireObject(v: unknown, field: string): Obj {
  if (!isObject(v)) throw new ValidationError(`${field} must be an object`)
  return v
}

export function requireString(v: unknown, field: string, opts: { max?: number; allowEmpty?: boolean } = {}): string {
  if (typeof v !== 'string') throw new ValidationError(`${field} must be a string`)
  if (!opts.allowEmpty && v.trim() === '') throw new ValidationError(`${field} must not be empty`)
  const max = opts.max ?? 4096
  if (v.length > max) throw new ValidationError(`${field} is longer than ${max} characters`)
  if (v.includes('\0')) throw new ValidationError(`${field} contains a NUL character`)
  return v
}

export function optionalString(v: unknown, field: string, max = 4096): string | null {
  if (v === undefined || v === null || v === '') return null
  return requireString(v, field, { max })
}

export function requireInteger(v: unknown, field: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new ValidationError(`${field} must be an integer`)
  if (v < min || v > max) throw new ValidationError(`${field} must be between ${min} and ${max}`)
  return v
}

export function requireNumber(v: unknown, field: string, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new ValidationError(`${field} must be a finite number`)
  if (v < min || v > max) throw new ValidationError(`${field} must be between ${min} and ${max}`)
  return v
}

const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,79}$/
const SHA256_PATTERN = /^[0-9a-f]{64}$/
const ROLES: ModelRole[] = ['encoder', 'generator', 'decoder', 'detector', 'landmarker']

export function requireId(v: unknown, field: string): string {
  const s = requireString(v, field, { max: 80 })
  if (!ID_PATTERN.test(s)) {
    throw new ValidationError(`${field} '${printable(s)}' must be lower-case letters, digits, '.', '_' or '-' (at most 80)`)
  }
  return s
}

export function requireSha256(v: unknown, field: string): string {
  const s = requireString(v, field, { max: 64 })
  if (!SHA256_PATTERN.test(s)) throw new ValidationError(`${field} must be 64 lower-case hex digits`)
  return s
}

export function requireUuid(v: unknown, field: string): string {
  const s = requireString(v, field, { max: 36 })
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(s)) {
    throw new ValidationError(`${field} must be an id`)
  }
  return s
}

function requireShape(v: unknown, field: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 8) throw new ValidationError(`${field} must be a list of 1 to 8 dimensions`)
  return v.map((d, i) => {
    const n = requireInteger(d, `${field}[${i}]`, -1, 1 << 20)
    if (n === 0) throw new ValidationError(`${field}[${i}] must be positive, or -1 for a dynamic dimension`)
    return n
  })
}

function requireTriple(v: unknown, field: string): [number, number, number] | [number] {
  if (!Array.isArray(v) || (v.length !== 1 && v.length !== 3)) throw new ValidationError(`${field} must hold 1 or 3 numbers`)
  return v.map((x, i) => requireNumber(x, `${field}[${i}]`)) as [number, number, number] | [number]
}

function validateNormalisation(v: unknown, field: string): Normalisation {
  const o = requireObject(v, field)
  const std = requireTriple(o.std, `${field}.std`)
  if (std.some((s) => s === 0)) throw new ValidationError(`${field}.std must not contain 0`)
  return { scale: requireNumber(o.scale, `${field}.scale`, 1e-9), mean: requireTriple(o.mean, `${field}.mean`), std }
}

/** Names that go into a URL path unescaped on every server (KServe model names, versions). */
const SERVED_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/

function requireServedName(v: unknown, field: string): string {
  const s = requireString(v, field, { max: 200 })
  if (!SERVED_NAME.test(s)) throw new ValidationError(`${field} '${printable(s)}' must be letters, digits, '.', '_' or '-'`)
  return s
}

/** The `remote` block of a manifest: a model behind a KServe v2 / Open Inference Protocol server. */
function validateRemote(v: unknown, field: string): RemoteEngineSpec {
  const o = requireObject(v, field)
  if (o.protocol !== undefined && o.protocol !== 'kserve-v2') throw new ValidationError(`${field}.protocol must be 'kserve-v2'`)
  const raw = requireString(o.url, `${field}.url`, { max: 1000 })
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new ValidationError(`${field}.url '${printable(raw)}' is not a URL`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ValidationError(`${field}.url must be http or https`)
  // The registry and every case that references the model store the URL in clear.
  if (url.username || url.password) throw new ValidationError(`${field}.url must not carry credentials`)
  if (url.search || url.hash) throw new ValidationError(`${field}.url must be the server's base URL, without query or fragment`)
  const spec: RemoteEngineSpec = { protocol: 'kserve-v2', url: url.href.replace(/\/+$/, ''), model: requireServedName(o.model, `${field}.model`) }
  if (o.version !== undefined) spec.version = requireServedName(o.version, `${field}.version`)
  if (o.binary !== undefined) {
    if (typeof o.binary !== 'boolean') throw new ValidationError(`${field}.binary must be true or false`)
    spec.binary = o.binary
  }
  if (o.timeoutMs !== undefined) spec.timeoutMs = requireInteger(o.timeoutMs, `${field}.timeoutMs`, 10, 600_000)
  if (o.retries !== undefined) spec.retries = requireInteger(o.retries, `${field}.retries`, 0, 10)
  if (o.maxBatch !== undefined) spec.maxBatch = requireInteger(o.maxBatch, `${field}.maxBatch`, 1, 1024)
  // Written by registration; a manifest read back from the registry or a case carries them.
  if (o.served !== undefined) {
    const s = requireObject(o.served, `${field}.served`)
    const versions = Array.isArray(s.versions) ? s.versions.map((x, i) => requireString(x, `${field}.served.versions[${i}]`, { max: 200 })) : []
    spec.served = { name: requireString(s.name, `${field}.served.name`, { max: 200 }), versions, platform: requireString(s.platform ?? '', `${field}.served.platform`, { max: 200, allowEmpty: true }) }
  }
  if (o.probe !== undefined) {
    if (!Array.isArray(o.probe) || o.probe.length > 65536) throw new ValidationError(`${field}.probe must be a list of numbers`)
    spec.probe = o.probe.map((x, i) => requireNumber(x, `${field}.probe[${i}]`))
  }
  return spec
}

/** Structural validation of a model manifest (what a user writes next to their ONNX file, or for a remote engine). */
export function validateManifest(v: unknown): ModelManifest {
  const o = requireObject(v, 'manifest')
  const role = requireString(o.role, 'manifest.role') as ModelRole
  if (!ROLES.includes(role)) throw new ValidationError(`manifest.role must be one of ${ROLES.join(', ')}`)
  const input = requireObject(o.input, 'manifest.input')
  const output = requireObject(o.output, 'manifest.output')
  const layout = requireString(input.layout, 'manifest.input.layout') as ModelManifest['input']['layout']
  if (!['NCHW', 'NHWC', 'NC'].includes(layout)) throw new ValidationError('manifest.input.layout must be NCHW, NHWC or NC')
  const colorOrder = input.colorOrder === undefined ? undefined : requireString(input.colorOrder, 'manifest.input.colorOrder')
  if (colorOrder !== undefined && !['RGB', 'BGR', 'GRAY'].includes(colorOrder)) {
    throw new ValidationError('manifest.input.colorOrder must be RGB, BGR or GRAY')
  }
  const manifest: ModelManifest = {
    id: requireId(o.id, 'manifest.id'),
    name: requireString(o.name, 'manifest.name', { max: 200 }),
    role,
    file: o.remote !== undefined ? '' : requireString(o.file ?? 'model.onnx', 'manifest.file', { max: 400 }),
    sha256: o.sha256 === undefined ? '' : requireSha256(o.sha256, 'manifest.sha256'),
    input: {
      name: requireString(input.name, 'manifest.input.name', { max: 200 }),
      shape: requireShape(input.shape, 'manifest.input.shape'),
      layout,
      colorOrder: colorOrder as ModelManifest['input']['colorOrder'],
      normalisation: input.normalisation === undefined ? undefined : validateNormalisation(input.normalisation, 'manifest.input.normalisation')
    },
    output: {
      name: requireString(output.name, 'manifest.output.name', { max: 200 }),
      shape: requireShape(output.shape, 'manifest.output.shape')
    },
    licence: requireString(o.licence, 'manifest.licence', { max: 400 }),
    source: requireString(o.source, 'manifest.source', { max: 1000 }),
    notes: optionalString(o.notes, 'manifest.notes') ?? undefined
  }
  if (o.remote !== undefined) {
    if (role !== 'encoder') throw new ValidationError('manifest.remote is for encoders only')
    manifest.remote = validateRemote(o.remote, 'manifest.remote')
  }
  if (role === 'encoder') {
    manifest.embeddingDim = requireInteger(o.embeddingDim, 'manifest.embeddingDim', 2, 65536)
    if (!manifest.input.normalisation) throw new ValidationError('manifest.input.normalisation is required for an encoder')
    if (!manifest.input.colorOrder) throw new ValidationError('manifest.input.colorOrder is required for an encoder')
  }
  if (role === 'generator' || role === 'decoder') {
    if (role === 'generator') manifest.latentDim = requireInteger(o.latentDim, 'manifest.latentDim', 1, 65536)
    if (!Array.isArray(o.outputRange) || o.outputRange.length !== 2) throw new ValidationError('manifest.outputRange must be [low, high]')
    const lo = requireNumber(o.outputRange[0], 'manifest.outputRange[0]')
    const hi = requireNumber(o.outputRange[1], 'manifest.outputRange[1]')
    if (hi <= lo) throw new ValidationError('manifest.outputRange must be increasing')
    manifest.outputRange = [lo, hi]
  }
  if (o.targetEncoder !== undefined) {
    const t = requireObject(o.targetEncoder, 'manifest.targetEncoder')
    manifest.targetEncoder = { id: requireId(t.id, 'manifest.targetEncoder.id'), sha256: requireSha256(t.sha256, 'manifest.targetEncoder.sha256') }
  }
  if (o.conditional !== undefined) {
    const c = requireObject(o.conditional, 'manifest.conditional')
    if (role !== 'decoder') throw new ValidationError('manifest.conditional applies to decoders only')
    manifest.conditional = {
      method: requireId(c.method, 'manifest.conditional.method'),
      templateDim: requireInteger(c.templateDim, 'manifest.conditional.templateDim', 2, 65536),
      noiseDim: requireInteger(c.noiseDim, 'manifest.conditional.noiseDim', 0, 65536)
    }
    const width = manifest.input.shape[1]
    if (width > 0 && width !== manifest.conditional.templateDim + manifest.conditional.noiseDim) {
      throw new ValidationError(`manifest.input.shape[1] (${width}) must be conditional.templateDim + conditional.noiseDim`)
    }
  }
  if (o.alignment !== undefined) {
    const a = requireObject(o.alignment, 'manifest.alignment')
    const size = requireShape(a.size, 'manifest.alignment.size')
    if (size.length !== 2 || size.some((s) => s < 8)) throw new ValidationError('manifest.alignment.size must be [width, height]')
    if (!Array.isArray(a.points) || a.points.length !== 5) throw new ValidationError('manifest.alignment.points must hold 5 [x, y] points')
    const points = a.points.map((p, i) => {
      if (!Array.isArray(p) || p.length !== 2) throw new ValidationError(`manifest.alignment.points[${i}] must be [x, y]`)
      return [requireNumber(p[0], `manifest.alignment.points[${i}][0]`), requireNumber(p[1], `manifest.alignment.points[${i}][1]`)] as [number, number]
    })
    manifest.alignment = { size: [size[0], size[1]], points }
  }
  return manifest
}

/** The method that runs a decoder: 'dfd' for a plain template decoder, else its conditional method (Vec2Face generators). */
export function decoderMethod(manifest: Pick<ModelManifest, 'role' | 'conditional'>): string | null {
  if (manifest.role !== 'decoder') return null
  return manifest.conditional?.method ?? 'dfd'
}

export function validateCaseCreate(v: unknown): CaseCreateInput {
  const o = requireObject(v, 'case')
  return {
    dir: requireString(o.dir, 'case folder', { max: 1000 }),
    name: requireString(o.name, 'case name', { max: 200 }),
    number: optionalString(o.number, 'case number', 100),
    examiner: optionalString(o.examiner, 'examiner', 200),
    notes: optionalString(o.notes, 'notes', 20000)
  }
}
