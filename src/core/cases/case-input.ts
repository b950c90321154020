import { ValidationError } from '../../shared/validation'
import { canonicalJson } from './canonical-json'

// Checks on the caller's input to a case write, shared by the repositories; each throws a
// ValidationError naming the field.

export function requireText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`${what} must be a non-empty string`)
  return value
}

export function optionalText(value: unknown, what: string): string | null {
  if (value === undefined || value === null) return null
  if (typeof value !== 'string') throw new ValidationError(`${what} must be a string or null`)
  return value
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** Canonical JSON of a plain object. */
export function jsonObject(value: unknown, what: string): string {
  if (!isPlainObject(value)) throw new ValidationError(`${what} must be a plain object`)
  return jsonValue(value, what)
}

/** Canonical JSON of any JSON value. */
export function jsonValue(value: unknown, what: string): string {
  try {
    return canonicalJson(value)
  } catch (err) {
    throw new ValidationError(`${what} is not storable as JSON: ${(err as Error).message}`)
  }
}

export function optionalTimestamp(value: unknown, what: string): string | null {
  if (value === null) return null
  if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw new ValidationError(`${what} must be an ISO date string or null`)
  return value
}
