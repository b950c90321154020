import type { TemplateRecord } from '../../shared/types'
import { ValidationError } from '../../shared/validation'
import { FLOAT32_MAX } from './vector-blob'

const ORIGINS = ['import', 'enrolment'] as const
const FORMATS = ['json', 'npy', 'csv', 'bin'] as const

function nonEmptyString(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`template ${field} must be a non-empty string`)
}

function finite(value: unknown, field: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ValidationError(`template ${field} must be a finite number, got ${String(value)}`)
}

/**
 * Checks a template before it is stored; throws an Error naming the first problem. Checks that
 * need the database (does the image exist? is the id free?) are the store's job.
 */
export function validateTemplate(t: TemplateRecord): void {
  if (!t || typeof t !== 'object') throw new ValidationError('template must be an object')
  nonEmptyString(t.id, 'id')
  if (typeof t.label !== 'string') throw new ValidationError('template label must be a string')
  nonEmptyString(t.encoderId, 'encoderId')
  nonEmptyString(t.encoderSha256, 'encoderSha256')
  nonEmptyString(t.sourceFileSha256, 'sourceFileSha256')
  if (t.sourceFileName !== null && typeof t.sourceFileName !== 'string') throw new ValidationError('template sourceFileName must be a string or null')
  if (t.imageSha256 !== null && typeof t.imageSha256 !== 'string') throw new ValidationError('template imageSha256 must be a string or null')
  if (!ORIGINS.includes(t.origin)) throw new ValidationError(`template origin must be one of ${ORIGINS.join(', ')}, got ${JSON.stringify(t.origin)}`)
  if (t.format !== null && !FORMATS.includes(t.format)) {
    throw new ValidationError(`template format must be one of ${FORMATS.join(', ')} or null, got ${JSON.stringify(t.format)}`)
  }
  if (typeof t.createdAt !== 'string' || Number.isNaN(Date.parse(t.createdAt))) {
    throw new ValidationError(`template createdAt must be an ISO date string, got ${JSON.stringify(t.createdAt)}`)
  }

  if (!Number.isInteger(t.dimension) || t.dimension < 1) throw new ValidationError(`template dimension must be a positive integer, got ${String(t.dimension)}`)
  if (!Array.isArray(t.vector)) throw new ValidationError('template vector must be an array of numbers')
  if (t.vector.length !== t.dimension) {
    throw new ValidationError(`template dimension ${t.dimension} does not match its vector length ${t.vector.length}`)
  }
  let sumSquares = 0
  for (let i = 0; i < t.vector.length; i++) {
    const v = t.vector[i]
    finite(v, `vector[${i}]`)
    // Vectors are stored as float32; a value beyond its range would silently become Infinity.
    if (Math.abs(v) > FLOAT32_MAX) throw new ValidationError(`template vector[${i}] = ${v} is outside the float32 range`)
    const stored = Math.fround(v)
    sumSquares += stored * stored
  }
  if (!(sumSquares > 0)) throw new ValidationError('template vector has zero norm (all components are 0 once stored as float32)')
  finite(t.norm, 'norm')
  if (t.norm <= 0) throw new ValidationError(`template norm must be greater than 0, got ${t.norm}`)

  if (t.face !== undefined && t.face !== null) {
    const { index, box, score } = t.face
    if (!Number.isInteger(index) || index < 0) throw new ValidationError(`template face.index must be a non-negative integer, got ${String(index)}`)
    if (!Array.isArray(box) || box.length !== 4) throw new ValidationError('template face.box must be 4 numbers')
    box.forEach((b, i) => finite(b, `face.box[${i}]`))
    finite(score, 'face.score')
  }
}
