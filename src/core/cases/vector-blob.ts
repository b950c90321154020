/** Largest finite float32; larger magnitudes would be stored as Infinity. */
export const FLOAT32_MAX = 3.4028234663852886e38

/** Encodes a template vector as float32 little-endian, the on-disk layout regardless of host byte order. */
export function encodeVector(vector: readonly number[]): Buffer {
  const buf = Buffer.alloc(vector.length * 4)
  vector.forEach((v, i) => buf.writeFloatLE(v, i * 4))
  return buf
}

export function decodeVector(blob: Uint8Array): number[] {
  if (blob.byteLength % 4 !== 0) throw new Error(`vector blob of ${blob.byteLength} bytes is not a whole number of float32 values`)
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength)
  const out = new Array<number>(blob.byteLength / 4)
  for (let i = 0; i < out.length; i++) out[i] = buf.readFloatLE(i * 4)
  return out
}
