import { execSync } from 'node:child_process'
import { cpus } from 'node:os'

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Machine and date line every recorded figure carries (lscpu model name, cores, date). */
export function machineLine(): string {
  let model = cpus()[0]?.model ?? 'unknown CPU'
  try {
    const line = execSync('lscpu', { encoding: 'utf8' }).split('\n').find((l) => l.startsWith('Model name:'))
    if (line) model = line.replace('Model name:', '').trim()
  } catch {
    // lscpu is Linux-only; the Node CPU string is the fallback.
  }
  return `Machine: ${model}, ${cpus().length} cores, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`
}

export function markdownTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}
