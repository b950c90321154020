/**
 * Canonical JSON: object keys sorted (by UTF-16 code unit, recursively), no whitespace.
 * The audit hash chain is computed over this form, so it must be identical for equal values
 * regardless of key insertion order, and stable across a JSON.parse round trip.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$')
}

function encode(value: unknown, where: string): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`canonical JSON: ${where} is ${value}, which JSON cannot represent`)
      return JSON.stringify(value)
    case 'object': {
      if (Array.isArray(value)) {
        return `[${value.map((item, i) => (item === undefined ? 'null' : encode(item, `${where}[${i}]`))).join(',')}]`
      }
      const proto = Object.getPrototypeOf(value)
      if (proto !== Object.prototype && proto !== null) {
        throw new Error(`canonical JSON: ${where} is a ${proto?.constructor?.name ?? 'non-plain'} object; only plain objects are allowed`)
      }
      const record = value as Record<string, unknown>
      const parts: string[] = []
      for (const key of Object.keys(record).sort()) {
        if (record[key] === undefined) continue
        parts.push(`${JSON.stringify(key)}:${encode(record[key], `${where}.${key}`)}`)
      }
      return `{${parts.join(',')}}`
    }
    default:
      throw new Error(`canonical JSON: ${where} is of type ${typeof value}, which JSON cannot represent`)
  }
}
