// Derived gradient graphs are cached by the source model's sha256, the rule-set version and what
// was derived (loss, inputs, input sizes): in memory, and on disk when given a folder.
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../fs/atomic-write'
import { sha256Hex } from '../fs/sha256'
import { deriveGradientGraph, type GradientGraph, type GradientGraphOptions } from './gradient-graph'
import { RULESET_VERSION } from './rules'

export function gradientCacheKey(sourceSha256: string, options: GradientGraphOptions): string {
  const what = JSON.stringify({ loss: options.loss.id, wrt: options.wrt ?? null, shapes: options.inputShapes ?? null, freeBatch: options.freeBatch ?? true })
  return `${sourceSha256.slice(0, 32)}-r${RULESET_VERSION}-${sha256Hex(what).slice(0, 16)}`
}

export class GradientGraphCache {
  private readonly memory = new Map<string, Promise<GradientGraph>>()

  constructor(private readonly dir: string | null = null) {}

  get(source: Uint8Array, options: GradientGraphOptions, sourceSha256 = sha256Hex(source)): Promise<GradientGraph> {
    const key = gradientCacheKey(sourceSha256, options)
    let p = this.memory.get(key)
    if (!p) {
      p = this.load(key, source, options)
      this.memory.set(key, p)
      p.catch(() => this.memory.delete(key))
    }
    return p
  }

  private async load(key: string, source: Uint8Array, options: GradientGraphOptions): Promise<GradientGraph> {
    const onnxPath = this.dir ? join(this.dir, `${key}.onnx`) : null
    const metaPath = this.dir ? join(this.dir, `${key}.json`) : null
    if (onnxPath && metaPath && existsSync(onnxPath) && existsSync(metaPath)) {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Omit<GradientGraph, 'bytes'>
      if (meta.rulesetVersion === RULESET_VERSION) return { ...meta, bytes: new Uint8Array(readFileSync(onnxPath)) }
    }
    const graph = await deriveGradientGraph(source, options)
    if (onnxPath && metaPath) {
      mkdirSync(this.dir!, { recursive: true })
      writeFileAtomic(onnxPath, graph.bytes)
      // The bytes are the .onnx file beside it; the JSON holds the rest.
      writeFileAtomic(metaPath, JSON.stringify({ ...graph, bytes: undefined }, null, 2))
    }
    return graph
  }
}
