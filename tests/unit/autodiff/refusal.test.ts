// An op without a gradient rule on a differentiated path is refused by name, before any run;
// the same op off the path (shape arithmetic, an unused branch) is fine.
import { describe, expect, it } from 'vitest'
import { deriveGradientGraph } from '../../../src/core/autodiff/gradient-graph'
import { weightedSumLoss } from '../../../src/core/autodiff/losses'
import { NotDifferentiableError } from '../../../src/core/autodiff/rule-context'
import { OnnxGraphBuilder } from '../../../src/core/models/onnx-builder'
import { checkModel, oneOp } from './op-harness'

describe('ops without a rule', () => {
  it('refuses a model whose differentiated path uses one, naming the model and the op', async () => {
    const model = oneOp(['batch', 10], (b, x) => b.node('Relu', [b.node('Softmax', [x], { axis: 1 })]))
    const err = await deriveGradientGraph(model, { label: "model 'tiny-softmax'", loss: weightedSumLoss() }).catch((e: Error) => e)
    expect(err).toBeInstanceOf(NotDifferentiableError)
    expect((err as Error).message).toBe("model 'tiny-softmax' uses op Softmax, which Unveil cannot differentiate; use --gradients zo")
  })

  it('refuses before running anything: a model ONNX Runtime could not even load is refused by op name', async () => {
    // 'NoSuchOp' would fail at session creation; the refusal comes first.
    const model = oneOp(['batch', 4], (b, x) => b.node('NoSuchOp', [x]))
    await expect(deriveGradientGraph(model, { label: 'model X', loss: weightedSumLoss() })).rejects.toThrow('model X uses op NoSuchOp, which Unveil cannot differentiate; use --gradients zo')
  })

  it('names an op of another domain with its domain', async () => {
    const b = new OnnxGraphBuilder()
    b.input('x', ['batch', 4])
    b.node('Relu', ['x'], {}, 'y')
    b.output('y', ['batch', 4])
    const bytes = b.build('g')
    const { fromBinary, toBinary } = await import('@bufbuild/protobuf')
    const { ModelProtoSchema } = await import('onnx-buf')
    const m = fromBinary(ModelProtoSchema, bytes)
    m.graph!.node[0].domain = 'com.microsoft'
    m.graph!.node[0].opType = 'FusedGemm'
    await expect(deriveGradientGraph(toBinary(ModelProtoSchema, m), { label: 'model Y', loss: weightedSumLoss() })).rejects.toThrow('model Y uses op com.microsoft.FusedGemm')
  })

  it('accepts the same op where no gradient flows through it', async () => {
    // Softmax of a constant, added to the input: off the differentiated path.
    const model = oneOp(['batch', 3], (b, x) => b.node('Add', [x, b.node('Softmax', [b.floats('k', [1, 2, 3])], { axis: 0 })]))
    const report = await checkModel(model)
    expect(report.worst).toBeLessThan(1e-3)
  })
})
