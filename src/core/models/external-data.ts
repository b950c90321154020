import {
  TensorProto_DataLocation,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type SparseTensorProto,
  type TensorProto
} from 'onnx-buf'
import { OnnxModelError } from './onnx-errors'

/**
 * A tensor whose bytes live outside the model file, or null when none does. ONNX Runtime resolves
 * external data against the working directory (any absolute path too), so such a model's weights
 * could be the bytes of any file the process can read; every tensor is checked, including
 * those of Constant nodes, attributes and subgraphs (Loop, If, Scan bodies) and local functions.
 */
export function findExternalTensor(model: ModelProto): { tensor: string; location: string } | null {
  const external = (t: TensorProto | undefined): { tensor: string; location: string } | null => {
    if (!t) return null
    if (t.dataLocation !== TensorProto_DataLocation.EXTERNAL && t.externalData.length === 0) return null
    return { tensor: t.name || '(unnamed)', location: t.externalData.find((e) => e.key === 'location')?.value ?? '(no location)' }
  }
  const sparse = (s: SparseTensorProto | undefined): ReturnType<typeof external> => external(s?.values) ?? external(s?.indices)
  const inAttribute = (a: AttributeProto): ReturnType<typeof external> => {
    for (const t of [a.t, ...a.tensors]) {
      const hit = external(t)
      if (hit) return hit
    }
    for (const s of [a.sparseTensor, ...a.sparseTensors]) {
      const hit = sparse(s)
      if (hit) return hit
    }
    for (const g of [a.g, ...a.graphs]) {
      const hit = g ? inGraph(g) : null
      if (hit) return hit
    }
    return null
  }
  const inNodes = (nodes: NodeProto[]): ReturnType<typeof external> => {
    for (const n of nodes) {
      for (const a of n.attribute) {
        const hit = inAttribute(a)
        if (hit) return hit
      }
    }
    return null
  }
  function inGraph(g: GraphProto): ReturnType<typeof external> {
    for (const t of g.initializer) {
      const hit = external(t)
      if (hit) return hit
    }
    for (const s of g.sparseInitializer) {
      const hit = sparse(s)
      if (hit) return hit
    }
    return inNodes(g.node)
  }
  if (model.graph) {
    const hit = inGraph(model.graph)
    if (hit) return hit
  }
  for (const f of model.functions) {
    const hit = inNodes(f.node)
    if (hit) return hit
  }
  return null
}

/** Throws a one-line error naming the first tensor whose data is stored outside the model file. */
export function refuseExternalData(model: ModelProto, label: string): void {
  const hit = findExternalTensor(model)
  if (hit) {
    throw new OnnxModelError(
      `${label} is refused: tensor '${hit.tensor}' keeps its data outside the model file (external data '${hit.location}'); only self-contained ONNX files are loaded`
    )
  }
}
