// Folders the renderer may name in IPC calls: those the user picked in a native folder dialog
// during this session (chooseFolder grants its answer), plus the case root main itself chose.
// A compromised or buggy renderer can then not make main create, open, read or write a case,
// report or dataset anywhere else on disk.
import { existsSync, realpathSync } from 'node:fs'
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path'
import { ValidationError } from '../shared/validation'

function within(root: string, path: string): boolean {
  const rel = relative(root, path)
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel))
}

/** The real path of `p`, or of its nearest existing ancestor with the rest appended (a folder about to be created). */
function realOrNearest(p: string): string {
  let dir = p
  const rest: string[] = []
  while (!existsSync(dir)) {
    const up = dirname(dir)
    if (up === dir) return p
    rest.unshift(dir.slice(up.length).replace(/^[\\/]+/, ''))
    dir = up
  }
  return resolve(realpathSync(dir), ...rest)
}

export class PathGrants {
  private readonly roots: { path: string; real: string }[] = []

  /** Grants a folder and everything under it for the rest of the session. */
  grant(dir: string): void {
    const path = resolve(dir)
    if (!this.roots.some((r) => r.path === path)) this.roots.push({ path, real: realOrNearest(path) })
  }

  /**
   * The absolute path if it lies inside a granted folder (by its text and, symlinks followed,
   * by where it really is); a one-line ValidationError naming the field otherwise.
   */
  require(value: string, field: string): string {
    if (!isAbsolute(value)) throw new ValidationError(`${field} ${value} must be an absolute path`)
    const path = resolve(value)
    const real = realOrNearest(path)
    if (this.roots.some((r) => within(r.path, path) && within(r.real, real))) return path
    throw new ValidationError(`${field} ${path} was not chosen in a folder dialog in this session; use Choose… to pick it`)
  }
}
