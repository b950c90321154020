import { readFileSync } from 'node:fs'
import { basename } from 'node:path'

/**
 * A file name that is not valid UTF-8 (Linux names are bytes) reaches process.argv with U+FFFD
 * in place of the bytes, so the file cannot be opened by that string. The kernel keeps the
 * arguments as given in /proc/self/cmdline: the argument is looked up there and returned as a
 * Buffer path, which fs opens byte for byte. Any other argument is returned as it is.
 */
export function rawPath(arg: string): string | Buffer {
  if (!arg.includes('\uFFFD') || process.platform !== 'linux') return arg
  let cmdline: Buffer[]
  try {
    const raw = readFileSync('/proc/self/cmdline')
    cmdline = []
    for (let start = 0; start < raw.length;) {
      const end = raw.indexOf(0, start)
      cmdline.push(raw.subarray(start, end < 0 ? raw.length : end))
      start = (end < 0 ? raw.length : end) + 1
    }
  } catch {
    return arg
  }
  // process.argv[1..] are the last entries of the command line (node's own options come before).
  const args = process.argv.slice(1)
  const tail = cmdline.slice(cmdline.length - args.length)
  for (let i = 0; i < args.length; i++) {
    const a = args[i]
    if (a === arg) return tail[i]
    // --option=VALUE
    if (a.endsWith(`=${arg}`)) return tail[i].subarray(tail[i].indexOf(0x3d) + 1)
  }
  return arg
}

/** A file name to show and record: valid UTF-8 as it is, other bytes escaped (caf\xe9.json). */
export function printableFileName(path: string | Buffer): string {
  if (typeof path === 'string') return basename(path)
  const bytes = path.subarray(path.lastIndexOf(0x2f) + 1)
  const strict = new TextDecoder('utf-8', { fatal: true })
  let out = ''
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i]
    const len = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : lead >= 0xf0 && lead < 0xf5 ? 4 : 0
    if (len > 0 && i + len <= bytes.length) {
      try {
        out += strict.decode(bytes.subarray(i, i + len))
        i += len
        continue
      } catch {
        // not a valid sequence: escaped below
      }
    }
    out += `\\x${lead.toString(16).padStart(2, '0')}`
    i++
  }
  return out
}
