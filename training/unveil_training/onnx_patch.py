"""In-memory ONNX patching, the same as the workbench's src/core/models/onnx-patch.ts.

Encoders exported with a batch of 1 bake it into their input/output shapes and into constant
Reshape targets such as [1, -1]. Freeing the batch means: dim 0 of inputs and outputs becomes the
symbolic 'batch', and a constant Reshape target's leading 1 becomes 0 ("copy the input's first
dimension"). Denormal float32 weights are zeroed because they trap to microcode on many x86 CPUs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

FLT_MIN = np.float32(1.1754943508222875e-38)
BATCH_PARAM = "batch"


@dataclass
class PatchReport:
    denormals_flushed: int = 0
    batch_dims_freed: list[str] = field(default_factory=list)
    reshapes_fixed: int = 0


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _flush_denormals(t: onnx.TensorProto) -> int:
    if t.data_type != onnx.TensorProto.FLOAT:
        return 0
    values = numpy_helper.to_array(t)
    mask = (values != 0) & (np.abs(values) < FLT_MIN)
    count = int(mask.sum())
    if count:
        fixed = np.where(mask, np.float32(0), values).astype(np.float32)
        t.CopyFrom(numpy_helper.from_array(fixed, t.name))
    return count


def _free_batch_dim(vi: onnx.ValueInfoProto) -> bool:
    if not vi.type.HasField("tensor_type"):
        return False
    dims = vi.type.tensor_type.shape.dim
    if len(dims) == 0:
        return False
    first = dims[0]
    if first.HasField("dim_value") and first.dim_value == 1:
        first.ClearField("dim_value")
        first.dim_param = BATCH_PARAM
        return True
    return False


def _fix_constant_reshapes(graph: onnx.GraphProto) -> int:
    constants: dict[str, onnx.TensorProto] = {t.name: t for t in graph.initializer}
    for n in graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    constants[n.output[0]] = a.t
    fixed = 0
    for n in graph.node:
        if n.op_type != "Reshape":
            continue
        if any(a.name == "allowzero" and a.i == 1 for a in n.attribute):
            continue
        target = constants.get(n.input[1])
        if target is None or target.data_type != onnx.TensorProto.INT64:
            continue
        values = numpy_helper.to_array(target).copy()
        if values.ndim == 1 and values.size >= 2 and values[0] == 1:
            values[0] = 0
            target.CopyFrom(numpy_helper.from_array(values.astype(np.int64), target.name))
            fixed += 1
    return fixed


def patch_model(
    model: onnx.ModelProto, free_batch: bool = True, flush_denormals: bool = True
) -> tuple[onnx.ModelProto, PatchReport]:
    """Returns a patched copy of `model` and what was changed."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    g = m.graph
    report = PatchReport()
    if flush_denormals:
        for t in g.initializer:
            report.denormals_flushed += _flush_denormals(t)
        for n in g.node:
            for a in n.attribute:
                if a.HasField("t"):
                    report.denormals_flushed += _flush_denormals(a.t)
    if free_batch:
        inits = {t.name for t in g.initializer}
        for vi in [*[i for i in g.input if i.name not in inits], *g.output]:
            if _free_batch_dim(vi):
                report.batch_dims_freed.append(vi.name)
        if report.batch_dims_freed:
            # Intermediate shape annotations would contradict the freed batch dimension.
            del g.value_info[:]
            report.reshapes_fixed = _fix_constant_reshapes(g)
    return m, report


def model_io(model: onnx.ModelProto) -> tuple[list[tuple[str, list]], list[tuple[str, list]]]:
    """(name, shape) of the real inputs (initializers excluded) and outputs; symbolic dims as str."""

    def shape(vi: onnx.ValueInfoProto) -> list:
        return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else "?")
                for d in vi.type.tensor_type.shape.dim]

    inits = {t.name for t in model.graph.initializer}
    inputs = [(i.name, shape(i)) for i in model.graph.input if i.name not in inits]
    outputs = [(o.name, shape(o)) for o in model.graph.output]
    return inputs, outputs
