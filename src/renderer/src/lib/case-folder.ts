// The suggested folder of a new case: <defaultCaseRoot>/<name>, with the name made safe as one
// path segment on every platform the app ships for.
const UNSAFE = /[<>:"/\\|?*\u0000-\u001f]/g

export function folderNameFor(caseName: string): string {
  return caseName.replace(UNSAFE, '_').trim().replace(/[. ]+$/, '').slice(0, 120)
}

export function suggestCaseFolder(root: string, caseName: string): string {
  const name = folderNameFor(caseName)
  if (!root || !name) return root
  // Keep the root's own separator style (a Windows root arrives with backslashes).
  const sep = root.includes('\\') && !root.includes('/') ? '\\' : '/'
  const base = root.endsWith(sep) ? root.slice(0, -1) : root
  return `${base}${sep}${name}`
}
