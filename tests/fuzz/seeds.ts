// Valid seed inputs the fuzz suite mutates: template files in every format the codec reads,
// photos, a tiny ONNX encoder with its manifest, and an aligned-dataset manifest.
import { readFileSync } from 'node:fs'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { ModelProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation, TensorProto_DataType } from 'onnx-buf'
import sharp from 'sharp'
import { sampleImagePaths } from '../../src/core/env/sample-images'
import { OnnxGraphBuilder } from '../../src/core/models/onnx-builder'
import { exportTemplatesJson, exportTemplatesNpy } from '../../src/core/templates/template-codec'
import type { Rng } from './mutate'

export const DIM = 512

export function vectors(count: number, seed: number): number[][] {
  return Array.from({ length: count }, (_, r) => Array.from({ length: DIM }, (_, i) => Math.sin(seed * 97 + r * 31 + i * 0.7) * 0.05))
}

export interface TemplateSeeds {
  json: unknown[]
  csv: string[]
  npy: number[][][]
  bin: number[][][]
  /** Every seed as file bytes with a fitting name, for the format-blind mutations. */
  files: { name: string; bytes: Uint8Array }[]
}

export function templateSeeds(encoderId: string, encoderSha256: string): TemplateSeeds {
  const one = vectors(1, 1)
  const three = vectors(3, 2)
  const codecJson = JSON.parse(exportTemplatesJson(three.map((v, i) => ({ vector: v, label: `leak ${i}`, encoderId, encoderSha256 }))))
  const json: unknown[] = [codecJson, one[0], three, { vector: one[0] }, { encoderId, templates: [{ label: 'x', vector: one[0] }] }]
  const csv = [
    three.map((v) => v.join(',')).join('\n'),
    `${one[0].map((_, i) => `f${i}`).join(',')}\n${one[0].join(',')}`,
    three.map((v) => v.join('\t')).join('\n'),
    one[0].join('\n')
  ]
  const enc = new TextEncoder()
  const files = [
    ...json.map((j, i) => ({ name: `seed${i}.json`, bytes: enc.encode(JSON.stringify(j)) })),
    // Pretty-printed, as Python and most tools write it: line breaks inside the text.
    { name: 'pretty.json', bytes: enc.encode(JSON.stringify(codecJson, null, 2)) },
    ...csv.map((c, i) => ({ name: `seed${i}.csv`, bytes: enc.encode(c) })),
    { name: 'one.npy', bytes: exportTemplatesNpy(one) },
    { name: 'three.npy', bytes: exportTemplatesNpy(three) },
    { name: 'one.bin', bytes: new Uint8Array(Float32Array.from(one[0]).buffer) },
    { name: 'three.bin', bytes: new Uint8Array(Float32Array.from(three.flat()).buffer) }
  ]
  return { json, csv, npy: [one, three], bin: [one, three], files }
}

export interface ImageSeeds {
  /** Photos with faces (JPEG and PNG, small so that a decodable mutation enrols fast). */
  faces: { name: string; bytes: Uint8Array }[]
  /** Other containers sharp reads, and a face-less image. */
  others: { name: string; bytes: Uint8Array }[]
}

export async function imageSeeds(): Promise<ImageSeeds> {
  const photos = sampleImagePaths().slice(0, 2)
  if (photos.length === 0) throw new Error('the sample photos (@vladmandic/face-api) are not installed')
  const faces: ImageSeeds['faces'] = []
  for (const [i, p] of photos.entries()) {
    const img = sharp(readFileSync(p)).resize(360)
    faces.push({ name: `face${i}.jpg`, bytes: new Uint8Array(await img.clone().jpeg({ quality: 80 }).toBuffer()) })
    faces.push({ name: `face${i}.png`, bytes: new Uint8Array(await img.clone().png().toBuffer()) })
  }
  const plain = sharp({ create: { width: 48, height: 40, channels: 3, background: { r: 120, g: 90, b: 60 } } })
  const others = [
    { name: 'plain.png', bytes: new Uint8Array(await plain.clone().png().toBuffer()) },
    { name: 'plain.webp', bytes: new Uint8Array(await plain.clone().webp().toBuffer()) },
    { name: 'plain.gif', bytes: new Uint8Array(await plain.clone().gif().toBuffer()) },
    { name: 'plain.tiff', bytes: new Uint8Array(await plain.clone().tiff().toBuffer()) },
    // An SVG may name other files; a decoder that follows them would read the disk.
    {
      name: 'ext.svg',
      bytes: new TextEncoder().encode(
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="64" height="64"><image xlink:href="file:///etc/passwd" width="64" height="64"/><image href="../../../../etc/hostname" width="64" height="64"/></svg>'
      )
    }
  ]
  return { faces, others }
}

// ---------------------------------------------------------------------------------------------
// Images: header-aware mutations

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

/** A PNG whose IHDR declares other dimensions (CRC fixed, so decoders look further). */
export function pngWithDims(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = Uint8Array.from(png)
  const dv = new DataView(out.buffer)
  dv.setUint32(16, width >>> 0)
  dv.setUint32(20, height >>> 0)
  dv.setUint32(29, crc32(out.subarray(12, 29)))
  return out
}

/** A JPEG whose first SOF marker declares other dimensions. */
export function jpegWithDims(jpeg: Uint8Array, width: number, height: number): Uint8Array {
  const out = Uint8Array.from(jpeg)
  for (let i = 2; i + 9 < out.length;) {
    if (out[i] !== 0xff) break
    const marker = out[i + 1]
    const len = (out[i + 2] << 8) | out[i + 3]
    if (marker >= 0xc0 && marker <= 0xc3) {
      out[i + 5] = (height >> 8) & 0xff
      out[i + 6] = height & 0xff
      out[i + 7] = (width >> 8) & 0xff
      out[i + 8] = width & 0xff
      return out
    }
    i += 2 + len
  }
  return out
}

/** A real decompression bomb: few bytes, many pixels. */
export async function pngBomb(side: number): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width: side, height: side, channels: 3, background: { r: 0, g: 0, b: 0 } } })
      .png({ compressionLevel: 9 })
      .toBuffer()
  )
}

// ---------------------------------------------------------------------------------------------
// Models: a tiny encoder (pool, linear map) and structure-aware variants of it

export const TINY_DIM = 8

export interface ModelVariant {
  /** Input dims as the graph declares them. */
  inputDims?: (number | string)[]
  inputType?: TensorProto_DataType
  /** Wraps the embedding, e.g. into NaN. */
  tail?: 'nan' | 'none'
  unknownOp?: boolean
  /** Other (finite) weights: a different, valid encoder. */
  weightSeed?: number
}

export function tinyEncoder(v: ModelVariant = {}): Uint8Array {
  const b = new OnnxGraphBuilder()
  b.input('x', v.inputDims ?? ['N', 3, 112, 112])
  const pooled = b.node('Flatten', [b.node('GlobalAveragePool', ['x'])], { axis: 1 })
  const w = b.constant(
    'w',
    [3, TINY_DIM],
    Float32Array.from({ length: 3 * TINY_DIM }, (_, i) => Math.cos(i * (1 + (v.weightSeed ?? 0) * 1e-9)) + 0.1)
  )
  let y = b.node('Add', [
    b.node(v.unknownOp ? 'NoSuchOp' : 'MatMul', [pooled, w]),
    b.floats(
      'bias',
      Array.from({ length: TINY_DIM }, (_, i) => 0.01 * i)
    )
  ])
  // Log of a negative number: NaN for every input.
  if (v.tail === 'nan') y = b.node('Log', [b.node('Sub', [y, b.floats('big', [1e6])])])
  b.node('Identity', [y], {}, 'y')
  b.output('y', ['N', TINY_DIM])
  const bytes = b.build('tiny-encoder')
  if (v.inputType === undefined) return bytes
  const m = fromBinary(ModelProtoSchema, bytes)
  const t = m.graph!.input[0].type!.value
  if (t.case === 'tensorType') t.value.elemType = v.inputType
  return toBinary(ModelProtoSchema, m)
}

/** The tiny encoder with its weight stored as external data at `location` (a crafted model reading the disk). */
export function externalDataEncoder(location: string, offset = 0): Uint8Array {
  const m = fromBinary(ModelProtoSchema, tinyEncoder())
  const w = m.graph!.initializer.find((t) => t.name === 'w')!
  w.rawData = new Uint8Array(0)
  w.dataLocation = TensorProto_DataLocation.EXTERNAL
  w.externalData = [
    create(StringStringEntryProtoSchema, { key: 'location', value: location }),
    create(StringStringEntryProtoSchema, { key: 'offset', value: String(offset) }),
    create(StringStringEntryProtoSchema, { key: 'length', value: String(3 * TINY_DIM * 4) })
  ]
  return toBinary(ModelProtoSchema, m)
}

/** Protobuf-level edits that keep the file parseable: versions, initializer dims, graph wiring. */
export function mutateModelStructure(rng: Rng): { name: string; bytes: Uint8Array } {
  const m = fromBinary(ModelProtoSchema, tinyEncoder())
  const g = m.graph!
  const ops: [string, () => void][] = [
    ['model-ir-version', () => (m.irVersion = BigInt(rng.pick([0, 1, 99, 2 ** 31])))],
    ['model-opset', () => (m.opsetImport[0].version = BigInt(rng.pick([0, 1, 99, 10000])))],
    ['model-initializer-dims', () => (g.initializer[0].dims = rng.pick([[3n, 9n], [2n ** 40n, 8n], [0n, 8n], [-1n, 8n], [3n]]))],
    [
      'model-initializer-type',
      () => (g.initializer[0].dataType = rng.pick([TensorProto_DataType.DOUBLE, TensorProto_DataType.INT64, TensorProto_DataType.STRING, 999]))
    ],
    ['model-missing-initializer', () => g.initializer.splice(0, 1)],
    ['model-cycle', () => (g.node[0].input = [g.node[g.node.length - 1].output[0]])],
    ['model-dangling-output', () => (g.output[0].name = 'nowhere')],
    ['model-duplicate-node-output', () => (g.node[1].output = [...g.node[0].output])],
    ['model-empty-graph', () => (g.node = [])],
    // Flatten's axis past the input's rank.
    ['model-bad-attribute', () => (g.node[1].attribute[0].i = BigInt(rng.pick([99, -99, 2 ** 40])))]
  ]
  const [name, op] = rng.pick(ops)
  op()
  return { name, bytes: toBinary(ModelProtoSchema, m) }
}

export function tinyManifest(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: 'Tiny fuzz encoder',
    role: 'encoder',
    file: 'tiny.onnx',
    input: { name: 'x', shape: [-1, 3, 112, 112], layout: 'NCHW', colorOrder: 'RGB', normalisation: { scale: 1, mean: [0, 0, 0], std: [1, 1, 1] } },
    output: { name: 'y', shape: [-1, TINY_DIM] },
    embeddingDim: TINY_DIM,
    licence: 'MIT',
    source: 'fuzz suite',
    ...overrides
  }
}
