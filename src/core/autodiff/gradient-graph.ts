// Reverse-mode differentiation of an ONNX graph into ONE ONNX graph: the source graph (weights
// frozen), a scalar loss appended to it, and for every node on a path from the chosen inputs to
// the loss (in reverse order) the backward nodes its rule emits. The result runs on ONNX
// Runtime's CPU provider like any model and returns the loss, the model outputs and d(loss)/d(input).
import { create, toBinary } from '@bufbuild/protobuf'
import {
  GraphProtoSchema,
  ModelProtoSchema,
  OperatorSetIdProtoSchema,
  TensorShapeProtoSchema,
  TensorShapeProto_DimensionSchema,
  TypeProtoSchema,
  TypeProto_TensorSchema,
  ValueInfoProtoSchema,
  type NodeProto,
  type ValueInfoProto
} from 'onnx-buf'
import { applyRewrites, rewritesFromEnv, type RewriteOptions } from '../models/graph-rewrites'
import { modelSignature, parseModel, patchModel } from '../models/onnx-patch'
import { DT, Emitter, isFloatType, makeTensor } from './onnx-ir'
import { NotDifferentiableError, RuleContext } from './rule-context'
import { GRADIENT_RULES, NON_DIFFERENTIABLE_OPS, RULESET_VERSION } from './rules'
import { probeGraph, type GraphFacts } from './shape-probe'
import { defaultOpset, opChangedBetween } from './compose'

const MIN_TARGET_OPSET = 13
const BUMPED_OPSET = 17

export interface LossSpec {
  /** A short identifier of the loss, part of the cache key. */
  id: string
  /** Extra graph inputs the loss reads, dims with -1 for the batch; `outputDims` are the model outputs'. */
  inputs(outputDims: Record<string, number[]>): { name: string; dims: number[] }[]
  /**
   * Appends the loss nodes (reading the model outputs) and returns the scalar loss tensor, or it
   * and further tensors to return (e.g. each sample's similarity).
   */
  build(e: Emitter, outputs: string[]): string | { loss: string; outputs: string[] }
}

export interface GradientGraphOptions {
  /** Names the model in error messages ("model X uses op Y…"). */
  label: string
  /** Inputs to differentiate with respect to (default: every graph input). */
  wrt?: string[]
  loss: LossSpec
  /** Dimensions of the model inputs with -1 for the batch (default: the file's, batch freed). */
  inputShapes?: Record<string, number[]>
  /** Free a batch fixed at 1 first, as the model loader does (default true). */
  freeBatch?: boolean
}

export interface GradientGraph {
  bytes: Uint8Array
  /** Graph inputs (model inputs then loss inputs), dims with -1 for the batch. */
  inputs: { name: string; dims: number[] }[]
  loss: string
  /** Further outputs of the loss (named by the loss spec). */
  lossOutputs: string[]
  /** The model's own outputs, returned unchanged. */
  outputs: string[]
  /** d(loss)/d(input) output name per differentiated input. */
  gradients: Record<string, string>
  /** Forward and backward node counts; ops used. */
  forwardNodes: number
  backwardNodes: number
  ops: string[]
  opset: number
  rulesetVersion: number
}

function valueInfo(name: string, dtype: number, dims: number[]): ValueInfoProto {
  let param = 0
  return create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, {
      value: {
        case: 'tensorType',
        value: create(TypeProto_TensorSchema, {
          elemType: dtype || DT.FLOAT,
          shape: create(TensorShapeProtoSchema, {
            dim: dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: d >= 0 ? { case: 'dimValue', value: BigInt(d) } : { case: 'dimParam', value: `${name}_d${param++}` } }))
          })
        })
      }
    })
  })
}

/** Names every op that lies on a path from `wrt` to `loss` and has no rule, before anything runs. */
function activeNodes(nodes: NodeProto[], wrt: string[], targets: string[]): { active: Set<string>; needed: Set<string>; onPath: NodeProto[] } {
  const active = new Set(wrt)
  for (const n of nodes) {
    if (NON_DIFFERENTIABLE_OPS.has(n.opType)) continue
    if (n.input.some((i) => i && active.has(i))) for (const o of n.output) if (o) active.add(o)
  }
  const needed = new Set(targets)
  for (let k = nodes.length - 1; k >= 0; k--) {
    const n = nodes[k]
    if (n.output.some((o) => needed.has(o))) for (const i of n.input) if (i) needed.add(i)
  }
  const onPath = nodes.filter((n) => n.output.some((o) => active.has(o) && needed.has(o)) && n.input.some((i) => active.has(i)))
  return { active, needed, onPath }
}

export function uncoveredOps(nodes: NodeProto[]): string[] {
  return [...new Set(nodes.filter((n) => !GRADIENT_RULES[n.opType] || (n.domain && n.domain !== 'ai.onnx')).map((n) => (n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType)))]
}

export function refusal(label: string, op: string, detail?: string): NotDifferentiableError {
  return new NotDifferentiableError(`${label} uses op ${op}${detail ? ` (${detail})` : ''}, which Unveil cannot differentiate; use --gradients zo`)
}

/**
 * The load-time rewrites to apply before deriving: all enabled ones except PRelu. A PRelu's
 * gradient is dy times one factor of its input (three blocked-layout passes); that of its
 * rewritten form (BN, Relu, BN, Add) was five passes and a Sum. The forward PRelus are
 * rewritten after derivation.
 */
export function rewritesBeforeDerivation(env: NodeJS.ProcessEnv = process.env): RewriteOptions {
  const r = rewritesFromEnv(env)
  return { ...r, enabled: new Set([...r.enabled].filter((n) => n !== 'prelu')) }
}

/**
 * Derives the gradient graph. Refuses (NotDifferentiableError, naming the op) before any run
 * when an op on a differentiated path has no rule; otherwise probes shapes once, then emits.
 */
export async function deriveGradientGraph(source: Uint8Array, options: GradientGraphOptions): Promise<GradientGraph> {
  const label = options.label
  const bytes = options.freeBatch === false ? source : patchModel(source, label, { rewrites: rewritesBeforeDerivation() }).bytes
  const model = parseModel(bytes, label)
  const g = model.graph!
  const sig = modelSignature(model)
  const wrt = options.wrt ?? sig.inputs.map((i) => i.name)
  for (const w of wrt) if (!sig.inputs.some((i) => i.name === w)) throw new Error(`${label} has no input '${w}' (inputs: ${sig.inputs.map((i) => i.name).join(', ')})`)
  const inputShapes: Record<string, number[]> = {}
  for (const i of sig.inputs) {
    const dims = options.inputShapes?.[i.name] ?? i.shape
    if (dims.slice(1).some((d) => d < 0)) throw new Error(`${label} input '${i.name}' has a dynamic size ${JSON.stringify(i.shape)}; give its dimensions`)
    inputShapes[i.name] = dims
  }
  const sourceOpset = defaultOpset(model)

  // The forward graph: the model's nodes, then the loss (its shapes come from the probe too).
  const taken = new Set<string>([...g.node.flatMap((n) => [...n.input, ...n.output, n.name]), ...g.initializer.map((t) => t.name), ...g.input.map((i) => i.name)])
  const lossEmitter = new Emitter('loss/', taken)
  const outputs = g.output.map((o) => o.name)
  const modelPath = activeNodes(g.node, wrt, outputs).onPath
  const uncoveredInModel = uncoveredOps(modelPath)
  if (uncoveredInModel.length) throw refusal(label, uncoveredInModel[0], uncoveredInModel.length > 1 ? `and ${uncoveredInModel.slice(1).join(', ')}` : undefined)
  // Output sizes as measured (declared ones are often symbolic or missing): a forward run at batch 2 and 3.
  const measured = await probeGraph(model, inputShapes, new Set())
  const outputDims: Record<string, number[]> = Object.fromEntries(outputs.map((o) => [o, measured.get(o)!.shape]))
  const lossInputs = options.loss.inputs(outputDims)
  const built = options.loss.build(lossEmitter, outputs)
  const loss = typeof built === 'string' ? built : built.loss
  const lossOutputs = typeof built === 'string' ? [] : built.outputs
  const forward = [...g.node, ...lossEmitter.nodes]

  const { active, needed, onPath } = activeNodes(forward, wrt, [loss])
  const uncovered = uncoveredOps(onPath)
  if (uncovered.length) throw refusal(label, uncovered[0], uncovered.length > 1 ? `and ${uncovered.slice(1).join(', ')}` : undefined)
  if (!active.has(loss)) throw new Error(`${label}: the loss does not depend on ${wrt.join(', ')}`)

  let targetOpset = sourceOpset
  if (sourceOpset < BUMPED_OPSET) {
    // Relabelled only when no op of the graph changes meaning between the two opsets (e.g. Clip is the same from 11 on).
    const changed = opChangedBetween(g.node, sourceOpset, BUMPED_OPSET)
    if (changed === null) targetOpset = BUMPED_OPSET
    else if (sourceOpset < MIN_TARGET_OPSET) throw refusal(label, changed, `opset ${sourceOpset}; re-export the model at opset ${MIN_TARGET_OPSET} or later`)
  }

  const combined = create(ModelProtoSchema, {
    irVersion: model.irVersion < 8n ? 8n : model.irVersion,
    producerName: 'unveil-autodiff',
    opsetImport: [...model.opsetImport.filter((o) => o.domain !== '' && o.domain !== 'ai.onnx'), create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(targetOpset) })],
    graph: create(GraphProtoSchema, {
      name: `${g.name || 'model'}_grad`,
      node: forward,
      initializer: [...g.initializer, ...lossEmitter.initializers],
      input: [...g.input, ...lossInputs.map((i) => valueInfo(i.name, DT.FLOAT, i.dims))],
      output: [...g.output, valueInfo(loss, DT.FLOAT, [])],
      valueInfo: []
    })
  })
  const allInputShapes = { ...inputShapes, ...Object.fromEntries(lossInputs.map((i) => [i.name, i.dims])) }
  const inactive = new Set<string>()
  for (const n of forward) for (const o of n.output) if (o && !active.has(o)) inactive.add(o)
  const facts: GraphFacts = await probeGraph(combined, allInputShapes, inactive)
  const isActive = (name: string): boolean => !!name && active.has(name) && isFloatType(facts.get(name)?.dtype ?? 0)

  // Reverse sweep.
  const back = new Emitter('grad/', taken)
  const contributions = new Map<string, string[]>()
  const gradOf = (name: string): string | null => {
    const parts = contributions.get(name)
    if (!parts || parts.length === 0) return null
    if (parts.length === 1) return parts[0]
    const sum = back.one('Sum', parts)
    contributions.set(name, [sum])
    return sum
  }
  const lossDtype = facts.get(loss)?.dtype || DT.FLOAT
  contributions.set(loss, [back.one('ConstantOfShape', [back.one('Shape', [loss])], { value: { tensor: makeTensor('one', [1], [1], lossDtype) } })])
  const ops = new Set<string>()
  const pathSet = new Set(onPath)
  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k]
    if (!pathSet.has(node)) continue
    if (!node.input.some(isActive)) continue
    const dys = node.output.map((o) => (o && needed.has(o) && isActive(o) ? gradOf(o) : null))
    if (dys.every((d) => d === null)) continue
    const rule = GRADIENT_RULES[node.opType]
    const ctx = new RuleContext(node, back, facts, isActive, sourceOpset, targetOpset)
    let grads: (string | null)[]
    try {
      grads = rule(ctx, dys)
    } catch (err) {
      if (err instanceof NotDifferentiableError) throw refusal(label, node.opType, `node '${node.name || node.output[0]}': ${err.message}`)
      throw err
    }
    ops.add(node.opType)
    node.input.forEach((name, i) => {
      const d = grads[i]
      if (!d || !isActive(name)) return
      const list = contributions.get(name) ?? []
      list.push(d)
      contributions.set(name, list)
    })
  }
  const gradients: Record<string, string> = {}
  for (const w of wrt) {
    const out = back.fresh(`d_${w.replace(/[^A-Za-z0-9_]/g, '_')}`)
    const d = gradOf(w)
    if (d) back.op('Identity', [d], {}, [out])
    else back.op('ConstantOfShape', [back.one('Shape', [w])], { value: { tensor: makeTensor('zero', [1], [0], DT.FLOAT) } }, [out])
    gradients[w] = out
  }
  const outInfo = (name: string, like: string): ValueInfoProto => valueInfo(name, facts.get(like)?.dtype ?? DT.FLOAT, facts.get(like)?.shape ?? [])
  const derived = create(ModelProtoSchema, {
    ...combined,
    graph: create(GraphProtoSchema, {
      name: combined.graph!.name,
      node: [...forward, ...back.nodes],
      initializer: [...combined.graph!.initializer, ...back.initializers],
      input: combined.graph!.input,
      output: [outInfo(loss, loss), ...lossOutputs.map((o) => outInfo(o, o)), ...outputs.map((o) => outInfo(o, o)), ...wrt.map((w) => outInfo(gradients[w], w))]
    })
  })
  // The forward PRelus (their gradients read only their input) in the form the forward path uses.
  const forwardRewrites = rewritesFromEnv()
  if (forwardRewrites.enabled.has('prelu')) applyRewrites(derived, { ...forwardRewrites, enabled: new Set(['prelu']) })
  return {
    bytes: toBinary(ModelProtoSchema, derived),
    inputs: [...sig.inputs.map((i) => ({ name: i.name, dims: inputShapes[i.name] })), ...lossInputs],
    loss,
    lossOutputs,
    outputs,
    gradients,
    forwardNodes: forward.length,
    backwardNodes: back.nodes.length,
    ops: [...ops].sort(),
    opset: targetOpset,
    rulesetVersion: RULESET_VERSION
  }
}
