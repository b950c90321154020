import type { MethodInfo } from '../../shared/types'
import { ValidationError, requireInteger, requireNumber, requireString } from '../../shared/validation'
import type { ReconstructionMethod } from './reconstruction-method'

const methods = new Map<string, ReconstructionMethod>()

export function registerMethod(method: ReconstructionMethod): void {
  if (methods.has(method.info.id)) throw new Error(`method '${method.info.id}' is already registered`)
  methods.set(method.info.id, method)
}

export function listMethods(): MethodInfo[] {
  return [...methods.values()].map((m) => m.info)
}

export function getMethod(id: string): ReconstructionMethod {
  const m = methods.get(id)
  if (!m) throw new ValidationError(`unknown method '${id}'; registered: ${[...methods.keys()].join(', ') || 'none'}`)
  return m
}

/** Checks user parameters against a method's specs and fills in defaults; unknown keys are refused. */
export function resolveParameters(info: MethodInfo, given: Record<string, unknown>): Record<string, number | string> {
  const specs = new Map(info.parameters.map((p) => [p.key, p]))
  for (const key of Object.keys(given)) {
    if (!specs.has(key)) throw new ValidationError(`method '${info.id}' has no parameter '${key}'`)
  }
  const out: Record<string, number | string> = {}
  for (const spec of info.parameters) {
    const v = given[spec.key] ?? spec.default
    const field = `parameter '${spec.key}'`
    if (spec.type === 'integer') out[spec.key] = requireInteger(v, field, spec.min, spec.max)
    else if (spec.type === 'number') out[spec.key] = requireNumber(v, field, spec.min, spec.max)
    // An empty model choice means "the method picks" (e.g. the decoder made for the template's encoder).
    else out[spec.key] = requireString(v, field, { max: 200, allowEmpty: spec.type === 'model' })
  }
  return out
}
