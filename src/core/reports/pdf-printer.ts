import { accessSync, constants, existsSync, statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { ValidationError } from '../../shared/validation'
import { writeFileAtomic } from '../fs/atomic-write'
import { attachFile, type PdfAttachment } from './pdf-attachment'
import type { ReportPrinter } from './report-printer'

/** Refuses, before any work, a target whose folder is missing or not writable, or that is a folder. */
export function checkWritableTarget(out: string): string {
  const abs = resolve(out)
  const dir = dirname(abs)
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ValidationError(`cannot write ${abs}: folder ${dir} does not exist`)
  try {
    accessSync(dir, constants.W_OK)
  } catch {
    throw new ValidationError(`cannot write ${abs}: folder ${dir} is not writable`)
  }
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new ValidationError(`cannot write ${abs}: it is a folder`)
  return abs
}

/**
 * Prints HTML to a PDF, attaches files to it, and writes it to a temporary file beside the
 * target that is renamed over it only when complete, so the target never holds a partial PDF.
 * Returns the final bytes (what the audit entry's sha256 is of).
 */
export async function writePdf(printer: ReportPrinter, html: string, out: string, attachments: PdfAttachment[]): Promise<{ path: string; bytes: Uint8Array }> {
  const target = checkWritableTarget(out)
  let bytes = await printer.print(html)
  if (attachments.length) bytes = await attachFile(bytes, attachments)
  writeFileAtomic(target, bytes)
  return { path: target, bytes }
}
