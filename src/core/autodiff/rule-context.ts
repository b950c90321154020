// What a gradient rule sees: its forward node, the measured facts of every tensor, and an
// emitter for the backward nodes. A rule returns one gradient name (or null) per node input.
import type { NodeProto, TensorProto } from 'onnx-buf'
import { DT, makeTensor, type Emitter } from './onnx-ir'
import type { GraphFacts, TensorFacts } from './shape-probe'

/** A forward node that cannot be differentiated as configured; the builder names op and node. */
export class NotDifferentiableError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NotDifferentiableError'
  }
}

export class RuleContext {
  constructor(
    readonly node: NodeProto,
    readonly e: Emitter,
    private readonly graphFacts: GraphFacts,
    /** Whether a tensor depends on a differentiated input (so needs a gradient). */
    readonly active: (name: string) => boolean,
    /** The opset the source node was written for (attribute vs input forms). */
    readonly opsetOf: number,
    /** The opset of the derived graph (at least 13, so ReduceSum/Unsqueeze take axes as inputs). */
    readonly targetOpset: number
  ) {}

  /** A Reduce* node in the form the derived graph's opset expects. */
  reduce(op: string, x: string, axes: number[], keepdims: number): string {
    const asInput = op === 'ReduceSum' ? this.targetOpset >= 13 : this.targetOpset >= 18
    return asInput ? this.e.one(op, [x, this.e.ints(axes)], { keepdims }) : this.e.one(op, [x], { axes, keepdims })
  }

  input(i: number): string {
    return this.node.input[i] ?? ''
  }

  output(i: number): string {
    return this.node.output[i] ?? ''
  }

  has(i: number): boolean {
    return (this.node.input[i] ?? '') !== ''
  }

  facts(name: string): TensorFacts {
    const f = this.graphFacts.get(name)
    if (!f) throw new NotDifferentiableError(`no shape measured for tensor '${name}'`)
    return f
  }

  shape(name: string): number[] {
    return this.facts(name).shape
  }

  rank(name: string): number {
    return this.shape(name).length
  }

  dtype(name: string): number {
    return this.facts(name).dtype
  }

  /** Values of an input that must be a constant (shapes, axes, pads...), or a refusal. */
  constValue(i: number, what: string): number[] {
    const v = this.has(i) ? this.facts(this.input(i)).value : null
    if (!v) this.refuse(`its ${what} input is not a constant`)
    return v!
  }

  optionalConst(i: number): number[] | null {
    return this.has(i) ? this.facts(this.input(i)).value : null
  }

  /** Spatial dims must not depend on the batch. */
  staticDims(name: string, from: number, what: string): number[] {
    const dims = this.shape(name).slice(from)
    if (dims.some((d) => d < 0)) this.refuse(`its ${what} size depends on the batch`)
    return dims
  }

  refuse(why: string): never {
    throw new NotDifferentiableError(why)
  }

  /** A one-element zero tensor, for ConstantOfShape. */
  zeroTensor(dtype: number): TensorProto {
    return makeTensor('zero', [1], [0], dtype || DT.FLOAT)
  }

  /** A scalar in the dtype of `like`. */
  scalar(value: number, like: string): string {
    // Backward tensors have no measured facts; a gradient has the dtype of its forward tensor.
    const dtype = this.graphFacts.get(like)?.dtype || this.graphFacts.get(this.output(0))?.dtype || DT.FLOAT
    return this.e.scalar(value, dtype)
  }

  /**
   * The gradient of a broadcast operand: dy summed over the axes `operand` was broadcast along
   * (leading missing axes and axes of size 1), reshaped to the operand's shape; the last `tail`
   * axes are matrix axes (MatMul) and never summed.
   */
  unbroadcast(dy: string, yName: string, operand: string, tail = 0): string {
    const y = this.shape(yName)
    const x = this.shape(operand)
    const lead = y.length - x.length
    const axes: number[] = []
    for (let i = 0; i < y.length; i++) {
      if (i < lead) axes.push(i)
      else if (i < y.length - tail && x[i - lead] === 1 && y[i] !== 1) axes.push(i)
    }
    if (axes.length === 0) return dy
    const summed = this.reduce('ReduceSum', dy, axes, 1)
    if (lead === 0) return summed
    return this.e.one('Reshape', [summed, this.e.one('Shape', [operand])])
  }

  /** axes normalised to [0, rank). */
  static normAxes(axes: number[], rank: number): number[] {
    return axes.map((a) => (a < 0 ? a + rank : a))
  }
}

export type GradRule = (c: RuleContext, dys: (string | null)[]) => (string | null)[]
