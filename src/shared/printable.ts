/**
 * Text with its control characters (C0, DEL, C1) written as \uXXXX escapes: a file name or id
 * from outside, echoed in a message or printed on a terminal, cannot move the cursor, recolour
 * the screen or split the line.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
