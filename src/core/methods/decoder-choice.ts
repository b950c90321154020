import { ValidationError, decoderMethod } from '../../shared/validation'
import type { ModelRegistry } from '../models/model-registry'
import type { TargetTemplate } from './reconstruction-method'

export interface DecoderChoice {
  /** The method whose decoders fit: 'dfd' (plain decoders) or a conditional method (Vec2Face). */
  method: string
  /** Names the model kind in messages (decoder, generator). */
  noun: string
  /** Let a model trained on another encoder's templates run (transfer); the dimension must still fit. */
  allowOtherEncoder?: boolean
}

/**
 * The decoder for a template: the one asked for, or the registered one of the method's kind that
 * was trained on the template's encoder; refused in one line when none fits (another kind of
 * decoder, another encoder unless allowOtherEncoder, another dimension), naming both encoders.
 */
export function chooseDecoder(
  registry: ModelRegistry,
  template: Pick<TargetTemplate, 'encoderId' | 'encoderSha256'> & { vector: ArrayLike<number> },
  requested: string,
  choice: DecoderChoice
): string {
  const { method, noun } = choice
  const fitting = registry.byRole('decoder').filter((d) => decoderMethod(d.manifest) === method)
  const own = fitting.find((d) => d.manifest.targetEncoder?.sha256 === template.encoderSha256)
  const id = String(requested || own?.manifest.id || (choice.allowOtherEncoder ? fitting[0]?.manifest.id : '') || '')
  if (!id) {
    const others = [...new Set(fitting.map((d) => d.manifest.targetEncoder?.id).filter(Boolean))]
    const hint =
      others.length > 0 && method !== 'dfd' ? ` (registered ones invert ${others.map((o) => `'${o}'`).join(', ')}; --allow-other-encoder to transfer)` : ''
    throw new ValidationError(`no ${method === 'dfd' ? '' : `${method} `}${noun} is registered for encoder '${template.encoderId}'${hint}`)
  }
  const entry = registry.getWithRole(id, 'decoder')
  const kind = decoderMethod(entry.manifest)
  if (kind !== method) throw new ValidationError(`'${id}' is a ${kind} model: run it with --method ${kind}`)
  const target = entry.manifest.targetEncoder
  const templateDim = entry.manifest.conditional?.templateDim ?? entry.manifest.input.shape[1]
  if (templateDim > 0 && templateDim !== template.vector.length) {
    throw new ValidationError(
      `${noun} '${id}' takes ${templateDim}-d templates${target ? ` of '${target.id}'` : ''}, this one from '${template.encoderId}' has ${template.vector.length}`
    )
  }
  if (target && target.sha256 !== template.encoderSha256 && !choice.allowOtherEncoder) {
    const transfer = method === 'dfd' ? '' : ' (--allow-other-encoder to transfer)'
    throw new ValidationError(`${noun} '${id}' inverts templates of '${target.id}', but this template comes from '${template.encoderId}'${transfer}`)
  }
  return id
}
