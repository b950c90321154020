import type { FilePayload } from '@shared/ipc-contract'

export async function readFilePayload(file: File): Promise<FilePayload> {
  return { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) }
}

const MIME: Record<string, string> = {
  json: 'application/json',
  npy: 'application/octet-stream',
  csv: 'text/csv',
  png: 'image/png'
}

/** Saves bytes the main process produced as a download (the Electron save dialog handles it). */
export function downloadPayload(payload: FilePayload): void {
  const ext = payload.name.split('.').pop()?.toLowerCase() ?? ''
  const blob = new Blob([payload.bytes as Uint8Array<ArrayBuffer>], { type: MIME[ext] ?? 'application/octet-stream' })
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = payload.name
  a.rel = 'noopener'
  document.body.appendChild(a)
  a.click()
  a.remove()
  // The download has its own reference once started; release ours shortly after.
  setTimeout(() => URL.revokeObjectURL(url), 10_000)
}

/** Copies text; falls back to execCommand where the clipboard permission is refused. */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text)
    return
  } catch {
    const area = document.createElement('textarea')
    area.value = text
    area.setAttribute('readonly', '')
    area.style.position = 'fixed'
    area.style.opacity = '0'
    document.body.appendChild(area)
    area.select()
    const ok = document.execCommand('copy')
    area.remove()
    if (!ok) throw new Error('The clipboard is not available')
  }
}
