import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

/** The six real sample photos that ship with @vladmandic/face-api (demo/sample1..6.jpg). */
export function sampleImagePaths(): string[] {
  try {
    const require = createRequire(import.meta.url)
    const dir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'demo')
    return [1, 2, 3, 4, 5, 6].map((i) => join(dir, `sample${i}.jpg`)).filter((p) => existsSync(p))
  } catch {
    return []
  }
}
