import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname, extname, join, resolve, sep } from 'node:path'
import { ValidationError } from '../../shared/validation'

/**
 * How a face dataset names its identities:
 * - `lfw`: a folder per person, `<Person>/<Person>_NNNN.jpg` (identity = folder name);
 * - `celeba`: an `identity.txt` beside the images, lines `<file name> <identity>`;
 * - `flat`: anything else (no identities).
 */
export type DatasetLayoutKind = 'lfw' | 'celeba' | 'flat'

export interface DatasetLayout {
  kind: DatasetLayoutKind
  /** The folder the caller named (absolute). */
  inDir: string
  /** The folder the images are under: inDir, or inDir/images for a dataset root. */
  imagesDir: string
  /** The identity file a `celeba` layout was read from; null otherwise. */
  identityFile: string | null
  /** Identity of an image given by its path relative to imagesDir ('/' separated); null when unknown. */
  identityOf(relPath: string): string | null
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp'])
const IDENTITY_FILE = 'identity.txt'

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase())
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/**
 * Image files under `dir`, recursively, as '/'-separated paths relative to it, in a stable
 * order (code-point sort per folder, so every run and every machine sees the same sequence).
 * Hidden entries are skipped: they are editor, OS or half-written temp files, never images.
 * Folders are read one at a time, so only the names of the current path are held.
 */
export function* walkImages(dir: string, prefix = ''): Generator<string> {
  const entries = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const e of entries) {
    const full = join(dir, e.name)
    const rel = prefix ? `${prefix}/${e.name}` : e.name
    // Symbolic links are followed by stat: datasets are often assembled from links.
    const kind = e.isSymbolicLink() ? (isDirectory(full) ? 'dir' : 'file') : e.isDirectory() ? 'dir' : 'file'
    if (kind === 'dir') yield* walkImages(full, rel)
    else if (isImageFile(e.name)) yield rel
  }
}

/**
 * The folder holding the images: `inDir` itself, or `inDir/images` when `inDir` is a dataset
 * root (no images of its own beside an `images` folder, as in shared/datasets/lfw).
 */
export function resolveImagesDir(inDir: string): string {
  const abs = resolve(inDir)
  if (!isDirectory(abs)) throw new ValidationError(`${abs} is not a folder`)
  const images = join(abs, 'images')
  if (!isDirectory(images)) return abs
  const hasOwnImages = readdirSync(abs, { withFileTypes: true }).some((e) => !e.isDirectory() && isImageFile(e.name))
  return hasOwnImages ? abs : images
}

/** Reads `<file name> <identity>` lines; a header or any line not naming an image is ignored. */
export function readIdentityFile(path: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const [file, identity] = line.trim().split(/\s+/)
    if (file && identity && isImageFile(file)) map.set(basename(file), identity)
  }
  return map
}

/** The identity file beside the images: in their folder or its parent. */
export function findIdentityFile(imagesDir: string): string | null {
  for (const dir of [imagesDir, dirname(imagesDir)]) {
    const file = join(dir, IDENTITY_FILE)
    if (existsSync(file) && !isDirectory(file)) return file
  }
  return null
}

/**
 * True when every image sits one folder deep and is named after its folder
 * (`<Person>/<Person>_NNNN.ext`). Strict on purpose: a stray file falls back to `flat`, since
 * no identities are better than wrong ones (train/val splits also make one-deep folders).
 */
export function isPerPersonLayout(relPaths: Iterable<string>): boolean {
  let any = false
  for (const rel of relPaths) {
    const parts = rel.split('/')
    if (parts.length !== 2) return false
    const [folder, file] = parts
    const stem = file.slice(0, file.length - extname(file).length)
    if (!stem.startsWith(`${folder}_`) || !/^\d+$/.test(stem.slice(folder.length + 1))) return false
    any = true
  }
  return any
}

/** Works out a dataset's layout; `relPaths` are its images relative to the images folder. */
export function detectLayout(inDir: string, relPaths?: Iterable<string>): DatasetLayout {
  const abs = resolve(inDir)
  const imagesDir = resolveImagesDir(abs)
  const identityFile = findIdentityFile(imagesDir)
  if (identityFile) {
    const identities = readIdentityFile(identityFile)
    return { kind: 'celeba', inDir: abs, imagesDir, identityFile, identityOf: (rel) => identities.get(basename(rel)) ?? null }
  }
  if (isPerPersonLayout(relPaths ?? walkImages(imagesDir))) {
    return { kind: 'lfw', inDir: abs, imagesDir, identityFile: null, identityOf: (rel) => rel.split('/')[0] ?? null }
  }
  return { kind: 'flat', inDir: abs, imagesDir, identityFile: null, identityOf: () => null }
}

/** True when `child` is `parent` or lies inside it. */
export function isWithin(child: string, parent: string): boolean {
  const c = resolve(child)
  const p = resolve(parent)
  return c === p || c.startsWith(p.endsWith(sep) ? p : p + sep)
}
