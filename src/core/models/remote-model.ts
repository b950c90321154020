// Remote encoders (KServe v2): the checks at registration and at every load, and the probe
// fingerprint that stands in for a file's sha256.
import type { ModelManifest, RemoteEngineSpec, ResolvedModel } from '../../shared/types'
import { KserveClient, RemoteEngineError, type KserveModelMetadata, type KserveTensorMetadata } from '../engine/kserve-client'
import { sha256Hex } from '../fs/sha256'
import { planarToModelInput } from '../imaging/image-tensor'
import { cosine } from '../templates/vector-math'

/** Largest batch per request unless the manifest says otherwise (the oracle's batch, DEFAULT_BATCH). */
export const DEFAULT_REMOTE_MAX_BATCH = 64
/**
 * A reloaded remote engine must answer the probe like it did at registration. Not bit-exact:
 * the same model on another GPU or library build differs in the last bits.
 */
export const PROBE_MIN_COSINE = 0.9999

/** The model's metadata URL on its server (what a remote entry shows as its path). */
export function remoteModelUrl(spec: RemoteEngineSpec): string {
  return `${spec.url}/v2/models/${spec.model}${spec.version ? `/versions/${spec.version}` : ''}`
}

/** How a run records a model it used: id and sha256, and where a remote engine was reached (provenance). */
export function resolvedModel(m: ModelManifest): ResolvedModel {
  const r = m.remote
  if (!r) return { id: m.id, sha256: m.sha256 }
  return { id: m.id, sha256: m.sha256, remote: { url: r.url, model: r.model, version: r.version ?? null, versions: r.served?.versions ?? [] } }
}

export function remoteLabel(manifest: ModelManifest): string {
  return `remote engine '${manifest.id}'`
}

export function remoteClient(manifest: ModelManifest): KserveClient {
  const spec = manifest.remote!
  return new KserveClient(spec, remoteLabel(manifest), { output: manifest.output.name, values: manifest.embeddingDim! })
}

/**
 * The fixed probe: a smooth, deterministic planar RGB image in [0, 1] of the encoder's input
 * size, normalised as the manifest says (as every query is).
 */
export function probeInput(manifest: ModelManifest): { data: Float32Array; dims: number[] } {
  const [, c, h, w] = manifest.input.shape
  const plane = h * w
  const planar = new Float32Array(3 * plane)
  for (let ch = 0; ch < 3; ch++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) planar[ch * plane + y * w + x] = 0.5 + 0.4 * Math.sin((x + 1) * 0.11 * (ch + 1)) * Math.cos((y + 1) * 0.07 * (3 - ch))
    }
  }
  return { data: planarToModelInput(planar, plane, manifest.input.colorOrder ?? 'RGB', manifest.input.normalisation!), dims: [1, c, h, w] }
}

/** sha256 of the probe template's float32 bytes: a remote model's stand-in for a file hash. */
export function probeFingerprint(template: Float32Array): string {
  return sha256Hex(new Uint8Array(template.buffer, template.byteOffset, template.byteLength))
}

async function probe(client: KserveClient, manifest: ModelManifest, signal?: AbortSignal): Promise<Float32Array> {
  const input = probeInput(manifest)
  const out = await client.run({ [manifest.input.name]: input }, [manifest.output.name], signal)
  return out[manifest.output.name].data
}

function compatible(declared: number[], served: number[]): boolean {
  return declared.length === served.length && declared.every((d, i) => d === -1 || served[i] === -1 || d === served[i])
}

/** Names what the server's metadata contradicts in the manifest (input/output names, FP32, shapes). */
function checkMetadata(manifest: ModelManifest, meta: KserveModelMetadata, url: string): void {
  const fail = (reason: string): RemoteEngineError => new RemoteEngineError(`${remoteLabel(manifest)} at ${url}: ${reason}`)
  const names = (ts: KserveTensorMetadata[]): string => ts.map((t) => t.name).join(', ') || 'none'
  const input = meta.inputs.find((t) => t.name === manifest.input.name)
  if (!input) throw fail(`the server's model has no input '${manifest.input.name}'; its inputs are: ${names(meta.inputs)}`)
  const output = meta.outputs.find((t) => t.name === manifest.output.name)
  if (!output) throw fail(`the server's model has no output '${manifest.output.name}'; its outputs are: ${names(meta.outputs)}`)
  for (const [what, t, declared] of [
    ['input', input, manifest.input.shape],
    ['output', output, manifest.output.shape]
  ] as const) {
    if (t.datatype !== 'FP32') throw fail(`${what} '${t.name}' is ${t.datatype} on the server; Unveil sends and reads FP32`)
    // A model without a batch dimension (Triton max_batch_size 0) reports one dimension fewer: refused, Unveil sends batches.
    if (!compatible(declared, t.shape))
      throw fail(`${what} '${t.name}' has shape [${t.shape.join(', ')}] on the server, the manifest says [${declared.join(', ')}]`)
  }
  const last = output.shape[output.shape.length - 1]
  if (last !== -1 && last !== manifest.embeddingDim)
    throw fail(`output '${output.name}' has ${last} values on the server, the manifest says embeddingDim ${manifest.embeddingDim}`)
}

/** Server ready, model ready, metadata consistent with the manifest; returns the metadata. */
async function checkServed(client: KserveClient, manifest: ModelManifest, signal?: AbortSignal): Promise<KserveModelMetadata> {
  await client.serverReady(signal)
  await client.modelReady(signal)
  const meta = await client.metadata(signal)
  checkMetadata(manifest, meta, client.modelUrl)
  return meta
}

/**
 * Registration of a remote encoder: the server must be ready and describe the model as the
 * manifest does, and the probe must come back finite and of the embedding dimension. Returns
 * the manifest completed with what the server reported, the probe template and its fingerprint
 * as sha256.
 */
export async function registerRemote(manifest: ModelManifest, signal?: AbortSignal): Promise<ModelManifest> {
  if (manifest.input.shape.length !== 4 || manifest.input.shape.slice(1).some((d) => d < 1)) {
    throw new RemoteEngineError(`${remoteLabel(manifest)}: manifest.input.shape must be [-1, 3, height, width] with fixed sizes`)
  }
  const client = remoteClient(manifest)
  const meta = await checkServed(client, manifest, signal)
  const template = await probe(client, manifest, signal)
  const fingerprint = probeFingerprint(template)
  if (manifest.sha256 && manifest.sha256 !== fingerprint) {
    throw new RemoteEngineError(
      `${remoteLabel(manifest)}: the probe fingerprint ${fingerprint.slice(0, 12)}… does not match the manifest's sha256 ${manifest.sha256.slice(0, 12)}…`
    )
  }
  const remote: RemoteEngineSpec = {
    ...manifest.remote!,
    served: { name: meta.name, versions: meta.versions, platform: meta.platform },
    probe: Array.from(template)
  }
  return { ...manifest, file: '', sha256: fingerprint, remote }
}

/**
 * Every load of a registered remote encoder: the same checks, and the probe must still give the
 * registered template (cosine >= PROBE_MIN_COSINE): a server now running another model, or
 * another version, is refused rather than silently mixed into a case.
 */
export async function connectRemote(manifest: ModelManifest, signal?: AbortSignal): Promise<KserveClient> {
  const client = remoteClient(manifest)
  const meta = await checkServed(client, manifest, signal)
  const registered = manifest.remote?.probe
  if (!registered) throw new RemoteEngineError(`${remoteLabel(manifest)} has no probe template recorded; register it again`)
  const now = await probe(client, manifest, signal)
  const similarity = now.length === registered.length ? cosine(now, registered) : NaN
  if (!(similarity >= PROBE_MIN_COSINE)) {
    const was = manifest.remote?.served?.versions.join(', ') || 'unknown'
    throw new RemoteEngineError(
      `${remoteLabel(manifest)} at ${client.modelUrl} answers the probe differently from when it was registered (cosine ${similarity.toFixed(6)}; versions then: ${was}, now: ${meta.versions.join(', ') || 'unknown'}); register it again under a new id`
    )
  }
  return client
}
