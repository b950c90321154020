import { alsuvMethod } from './alsuv-method'
import { dfdMethod } from './dfd-method'
import { gaMethod } from './ga-method'
import { registerMethod } from './method-registry'
import { randomSearchMethod } from './random-search-method'
import { dabganMethod, dibiganMethod } from './vec2face-method'

let registered = false

/** Registers the methods that ship with Unveil (idempotent: the app and tests may both call it). */
export function registerBuiltinMethods(): void {
  if (registered) return
  registered = true
  registerMethod(gaMethod)
  registerMethod(randomSearchMethod)
  registerMethod(dfdMethod)
  registerMethod(alsuvMethod)
  registerMethod(dibiganMethod)
  registerMethod(dabganMethod)
}
