// The rule set: one gradient rule per ONNX op. Bump RULESET_VERSION whenever a rule changes, so
// cached derived graphs are rebuilt.
import type { GradRule } from '../rule-context'
import { CONV_RULES } from './conv-rules'
import { ELEMENTWISE_RULES } from './elementwise-rules'
import { LINEAR_RULES } from './linear-rules'
import { POOL_RULES } from './pool-rules'
import { REDUCE_RULES } from './reduce-rules'
import { RESIZE_RULES } from './resize-rule'
import { SHAPE_RULES } from './shape-rules'

export const RULESET_VERSION = 2

export const GRADIENT_RULES: Record<string, GradRule> = {
  ...ELEMENTWISE_RULES,
  ...CONV_RULES,
  ...LINEAR_RULES,
  ...POOL_RULES,
  ...REDUCE_RULES,
  ...SHAPE_RULES,
  ...RESIZE_RULES
}

/** Ops whose outputs carry no gradient: integer or boolean results, constants, shape queries, and
 * piecewise-constant functions (Floor, Ceil, Round, Sign: zero derivative almost everywhere). */
export const NON_DIFFERENTIABLE_OPS = new Set(['Constant', 'Shape', 'Size', 'ConstantOfShape', 'Equal', 'Greater', 'Less', 'GreaterOrEqual', 'LessOrEqual', 'Not', 'And', 'Or', 'Xor', 'ArgMax', 'ArgMin', 'NonZero', 'Floor', 'Ceil', 'Round', 'Sign', 'RandomNormal', 'RandomUniform', 'RandomNormalLike', 'RandomUniformLike', 'EyeLike', 'Range'])

export function differentiableOps(): string[] {
  return Object.keys(GRADIENT_RULES).sort()
}
