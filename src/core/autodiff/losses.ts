// Scalar losses appended to a model before differentiation (they are differentiated by the same
// rules as the model).
import type { Emitter } from './onnx-ir'
import type { LossSpec } from './gradient-graph'

export const SEED_PREFIX = 'seed/'

/**
 * loss = Σ_outputs Σ seed_o ⊙ output_o: its gradient is the vector-Jacobian product with the
 * seeds (graph inputs named `seed/<output>`), which is what a gradient check needs.
 */
export function weightedSumLoss(): LossSpec {
  return {
    id: 'weighted-sum',
    inputs: (outputDims) => Object.entries(outputDims).map(([name, dims]) => ({ name: `${SEED_PREFIX}${name}`, dims })),
    build(e: Emitter, outputs: string[]): string {
      const terms = outputs.map((o) => e.one('ReduceSum', [e.one('Mul', [o, `${SEED_PREFIX}${o}`])], { keepdims: 0 }))
      return terms.length === 1 ? terms[0] : e.one('Sum', terms)
    }
  }
}
