// Gemm and MatMul: the gradients are products with the other operand transposed.
import { attrFloat, attrInt } from '../onnx-ir'
import type { GradRule } from '../rule-context'

const gemm: GradRule = (c, [dy]) => {
  const [a, b] = [c.input(0), c.input(1)]
  const transA = attrInt(c.node, 'transA', 0)
  const transB = attrInt(c.node, 'transB', 0)
  const alpha = attrFloat(c.node, 'alpha', 1)
  const beta = attrFloat(c.node, 'beta', 1)
  const da = c.active(a)
    ? transA === 0
      ? c.e.one('Gemm', [dy!, b], { alpha: { float: alpha }, transB: 1 - transB })
      : c.e.one('Gemm', [b, dy!], { alpha: { float: alpha }, transA: transB, transB: 1 })
    : null
  const db = c.active(b)
    ? transB === 0
      ? c.e.one('Gemm', [a, dy!], { alpha: { float: alpha }, transA: 1 - transA })
      : c.e.one('Gemm', [dy!, a], { alpha: { float: alpha }, transA: 1, transB: transA })
    : null
  let dc: string | null = null
  if (c.has(2) && c.active(c.input(2))) {
    const scaled = beta === 1 ? dy! : c.e.one('Mul', [dy!, c.scalar(beta, dy!)])
    dc = c.unbroadcast(scaled, c.output(0), c.input(2))
  }
  return [da, db, dc]
}

const matmul: GradRule = (c, [dy]) => {
  const [a, b] = [c.input(0), c.input(1)]
  const ra = c.rank(a)
  const rb = c.rank(b)
  if (ra < 2 || rb < 2) c.refuse('it has a one-dimensional operand')
  const swapLast = (name: string, rank: number): string =>
    c.e.one('Transpose', [name], { perm: [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2] })
  const da = c.active(a) ? c.unbroadcast(c.e.one('MatMul', [dy!, swapLast(b, rb)]), c.output(0), a, 2) : null
  const db = c.active(b) ? c.unbroadcast(c.e.one('MatMul', [swapLast(a, ra), dy!]), c.output(0), b, 2) : null
  return [da, db]
}

export const LINEAR_RULES: Record<string, GradRule> = { Gemm: gemm, MatMul: matmul }
