// Why a template file was rejected: one error class for every format reader and writer, so
// callers check `code` without knowing which format the file turned out to be.

import { printable } from '../../shared/printable'

/** Machine-readable reason a template file was rejected; the message carries the specifics. */
export type TemplateErrorCode =
  | 'UNKNOWN_FORMAT'
  | 'TRUNCATED'
  | 'NON_FINITE'
  | 'ZERO_VECTOR'
  | 'WRONG_DIMENSION'
  | 'EMPTY'
  | 'TOO_LARGE'
  | 'RAGGED'
  /** Syntactically broken: bad npy header, JSON of an unrecognised shape, a string where a number belongs. */
  | 'MALFORMED'
  /** Well-formed but outside what we read: fortran order, int dtype, 3-D arrays, newer versions. */
  | 'UNSUPPORTED'
  /** One file naming several encoders; a template is meaningless without its encoder. */
  | 'MIXED_ENCODERS'

export class TemplateFormatError extends Error {
  readonly code: TemplateErrorCode

  constructor(code: TemplateErrorCode, message: string) {
    super(message)
    this.name = 'TemplateFormatError'
    this.code = code
  }
}

/**
 * A piece of the file, quoted for an error message: escaped (no raw control characters reach
 * a terminal) and cut to `max` characters, so a 100,000-value line stays a one-line message.
 */
export function quoted(text: string, max = 60): string {
  // JSON.stringify escapes C0 controls but not DEL or C1 (0x9b starts a terminal sequence too).
  return printable(JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text))
}
