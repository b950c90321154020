import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { writeFileAtomic } from '../../fs/atomic-write'
import { encodePng, type RgbImage } from '../../imaging/image-io'

/** Step 4: writes crops as PNG under the output folder, mirroring the source paths. */
export class CropWriter {
  private readonly madeDirs = new Set<string>()

  constructor(private readonly outDir: string) {}

  async write(file: string, crop: RgbImage): Promise<void> {
    const target = join(this.outDir, file)
    const dir = dirname(target)
    if (!this.madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true })
      this.madeDirs.add(dir)
    }
    // Atomic, so a crash never leaves a half-written crop that a resumed run would trust.
    writeFileAtomic(target, await encodePng(crop))
  }
}
