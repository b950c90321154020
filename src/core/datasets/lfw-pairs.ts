import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface FacePair {
  a: string
  b: string
  same: boolean
}

function imagePath(name: string, index: string): string {
  const i = Number(index)
  if (!Number.isInteger(i) || i < 1) throw new Error(`bad image index '${index}' for ${name}`)
  return join(name, `${name}_${String(i).padStart(4, '0')}.jpg`)
}

/** Reads an LFW pair list: N, then N genuine lines `Name i j`, then N impostor lines `A i B j`. */
export function readLfwPairs(file: string): FacePair[] {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean)
  const n = Number(lines[0])
  if (!Number.isInteger(n) || n < 1) throw new Error(`${file}: first line must be the pair count`)
  const pairs: FacePair[] = []
  for (const line of lines.slice(1)) {
    const f = line.split(/\s+/)
    if (f.length === 3) pairs.push({ a: imagePath(f[0], f[1]), b: imagePath(f[0], f[2]), same: true })
    else if (f.length === 4) pairs.push({ a: imagePath(f[0], f[1]), b: imagePath(f[2], f[3]), same: false })
    else throw new Error(`${file}: cannot read pair line '${line}'`)
  }
  if (pairs.length !== 2 * n) throw new Error(`${file}: expected ${2 * n} pairs, found ${pairs.length}`)
  return pairs
}

/** A subset with equal genuine and impostor counts, spread over the whole list. */
export function balancedSubset(pairs: FacePair[], count: number): FacePair[] {
  const genuine = pairs.filter((p) => p.same)
  const impostor = pairs.filter((p) => !p.same)
  const half = Math.min(Math.floor(count / 2), genuine.length, impostor.length)
  const pick = (list: FacePair[]): FacePair[] => Array.from({ length: half }, (_, i) => list[Math.floor((i * list.length) / half)])
  return [...pick(genuine), ...pick(impostor)]
}
