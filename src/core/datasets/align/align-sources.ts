import { extname, resolve } from 'node:path'
import { ValidationError } from '../../../shared/validation'
import { detectLayout, isWithin, walkImages, type DatasetLayout } from '../dataset-layout'

/** The images one alignment run covers, in the stable walk order, and the crop file of each. */
export interface AlignSources {
  layout: DatasetLayout
  /** Relative to layout.imagesDir, '/' separated. */
  relPaths: string[]
  /** Relative to the output folder; one per path. */
  crops: string[]
}

/**
 * Crop names: the source path with a .png extension, or the full source name plus .png when
 * two sources in one folder would otherwise share a crop (a.jpg beside a.png).
 */
export function cropNames(relPaths: string[]): string[] {
  const stem = (rel: string): string => rel.slice(0, rel.length - extname(rel).length)
  const uses = new Map<string, number>()
  for (const rel of relPaths) uses.set(stem(rel).toLowerCase(), (uses.get(stem(rel).toLowerCase()) ?? 0) + 1)
  return relPaths.map((rel) => ((uses.get(stem(rel).toLowerCase()) ?? 0) > 1 ? `${rel}.png` : `${stem(rel)}.png`))
}


/** Step 1: the dataset's layout and images (the first `limit` of them), refusing an output folder inside the input. */
export function listSources(inDir: string, outDir: string, limit?: number): AlignSources {
  const layout = detectLayout(resolve(inDir))
  if (isWithin(outDir, layout.imagesDir)) throw new ValidationError(`the output folder ${outDir} must not be inside the input images ${layout.imagesDir}`)

  // Paths only (not pixels) are held for the whole run: the manifest needs them all anyway.
  let relPaths = [...walkImages(layout.imagesDir)]
  if (relPaths.length === 0) throw new ValidationError(`no images (jpg, jpeg, png, webp) under ${layout.imagesDir}`)
  if (limit !== undefined) {
    if (!Number.isInteger(limit) || limit < 1) throw new ValidationError('limit must be a positive whole number')
    relPaths = relPaths.slice(0, limit)
  }
  return { layout, relPaths, crops: cropNames(relPaths) }
}
