"""A minimal ONNX -> PyTorch converter for the face encoders' inference graphs.

Why: the DFD's perceptual loss needs gradients through a face network other than the target
encoder, and the workbench's encoders exist only as ONNX files. onnx2torch is not in this
machine's offline wheel store, so this module interprets the graph with torch ops. It covers what
the workbench's encoders use (mobilefacenet-foamliu: Conv, Clip, Relu, Add, Reshape, Constant;
mobileface-v2: Sub, Mul, Conv, BatchNormalization, Max, Min, Add, Flatten, Gemm, Identity;
fr_feature: Conv, PRelu, Add, Reshape) plus a few trivial elementwise ops, and refuses any other
op by name. Weights become frozen buffers: the module is a fixed feature extractor, gradients flow
only to its input.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

from .onnx_patch import patch_model

SUPPORTED_OPS = {
    "Conv", "BatchNormalization", "Clip", "Relu", "PRelu", "Sigmoid", "Add", "Sub", "Mul", "Div",
    "Max", "Min", "Flatten", "Reshape", "Gemm", "MatMul", "Identity", "Constant", "GlobalAveragePool",
}
# Node outputs that are natural feature taps: activations and residual sums.
TAP_OPS = {"Clip", "Relu", "PRelu", "Min", "Add", "Sigmoid"}


class UnsupportedOnnxOp(ValueError):
    pass


def _attrs(node: onnx.NodeProto) -> dict:
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _prod(xs: Sequence[int]) -> int:
    return int(math.prod(xs))


class OnnxGraphModule(nn.Module):
    """Runs an ONNX graph with torch ops. forward(x) returns the graph's first output, or with
    `taps` a dict {name: tensor} of the named intermediate values plus the output."""

    def __init__(self, model: onnx.ModelProto):
        super().__init__()
        model, _ = patch_model(model, free_batch=True, flush_denormals=True)
        g = model.graph
        unknown = sorted({n.op_type for n in g.node} - SUPPORTED_OPS)
        if unknown:
            raise UnsupportedOnnxOp(f"ONNX ops not supported by the converter: {', '.join(unknown)}")
        inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        self.input_name = next(i.name for i in g.input if i.name not in inits)
        self.output_name = g.output[0].name
        self.node_names: list[str] = []
        self.node_ops: list[str] = []
        self._steps: list[tuple[Callable, list[str], str]] = []
        # Buffer names must be valid attribute names; ONNX value names are arbitrary strings.
        self._buffer_of: dict[str, str] = {}
        self._static: dict[str, np.ndarray] = {}

        def const(name: str, value: np.ndarray) -> None:
            self._static[name] = value
            if value.dtype.kind == "f":
                key = f"w{len(self._buffer_of)}"
                self.register_buffer(key, torch.from_numpy(np.array(value, dtype=np.float32, copy=True)))
                self._buffer_of[name] = key

        for name, value in inits.items():
            const(name, value)
        for n in g.node:
            if n.op_type == "Constant":
                a = _attrs(n)
                if "value" not in a:
                    raise UnsupportedOnnxOp(f"Constant node {n.name!r} without a tensor 'value'")
                const(n.output[0], numpy_helper.to_array(a["value"]))
                continue
            self._steps.append((self._make(n), list(n.input), n.output[0]))
            self.node_names.append(n.output[0])
            self.node_ops.append(n.op_type)

    def _static_values(self, name: str) -> np.ndarray:
        if name not in self._static:
            raise UnsupportedOnnxOp(f"value {name!r} must be a constant for the converter")
        return self._static[name]

    def _make(self, n: onnx.NodeProto) -> Callable:
        a = _attrs(n)
        op = n.op_type
        if op == "Conv":
            if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
                raise UnsupportedOnnxOp(f"Conv {n.name!r}: auto_pad is not supported")
            stride = tuple(a.get("strides", [1, 1]))
            dilation = tuple(a.get("dilations", [1, 1]))
            groups = int(a.get("group", 1))
            pads = list(a.get("pads", [0, 0, 0, 0]))
            top, left, bottom, right = pads
            symmetric = top == bottom and left == right

            def conv(x, w, b=None):
                if not symmetric:
                    x = F.pad(x, (left, right, top, bottom))
                return F.conv2d(x, w, b, stride, (top, left) if symmetric else 0, dilation, groups)
            return conv
        if op == "BatchNormalization":
            eps = float(a.get("epsilon", 1e-5))
            return lambda x, g, b, m, v: F.batch_norm(x, m, v, g, b, False, 0.0, eps)
        if op == "Clip":
            if len(n.input) > 1:
                lo = float(self._static_values(n.input[1])) if n.input[1] else None
                hi = float(self._static_values(n.input[2])) if len(n.input) > 2 and n.input[2] else None
            else:
                lo, hi = a.get("min"), a.get("max")
            # hardtanh/relu have single-kernel backward passes; clamp's builds masks (slower on CPU).
            if lo is not None and hi is not None:
                return lambda x, *_: F.hardtanh(x, lo, hi)
            if lo == 0 and hi is None:
                return lambda x, *_: F.relu(x)
            return lambda x, *_: torch.clamp(x, lo, hi)
        if op == "Relu":
            return F.relu
        if op == "Sigmoid":
            return torch.sigmoid
        if op == "PRelu":
            slope_shape = self._static[n.input[1]].shape if n.input[1] in self._static else None
            # A scalar or [C,1,1] slope (per channel of an NCHW tensor under ONNX broadcasting) maps
            # onto F.prelu's fused kernel; any other shape keeps the literal broadcast.
            if slope_shape is not None and (int(np.prod(slope_shape)) == 1 or
                                            (len(slope_shape) == 3 and slope_shape[1:] == (1, 1))):
                return lambda x, s: F.prelu(x, s.reshape(-1))
            return lambda x, s: torch.where(x >= 0, x, x * s)
        if op in ("Add", "Sub", "Mul", "Div"):
            return {"Add": torch.add, "Sub": torch.sub, "Mul": torch.mul, "Div": torch.div}[op]
        if op in ("Max", "Min"):
            reduce = torch.maximum if op == "Max" else torch.minimum

            def elementwise(*xs):
                out = xs[0]
                for x in xs[1:]:
                    out = reduce(out, x)
                return out
            return elementwise
        if op == "Flatten":
            axis = int(a.get("axis", 1))
            return lambda x: x.reshape(_prod(x.shape[:axis]), _prod(x.shape[axis:]))
        if op == "Reshape":
            target = [int(v) for v in self._static_values(n.input[1])]
            if int(a.get("allowzero", 0)) == 1 and 0 in target:
                raise UnsupportedOnnxOp(f"Reshape {n.name!r}: allowzero with a 0 target")

            def reshape(x, *_):
                return x.reshape([x.shape[i] if v == 0 else v for i, v in enumerate(target)])
            return reshape
        if op == "Gemm":
            alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
            ta, tb = int(a.get("transA", 0)), int(a.get("transB", 0))

            def gemm(x, w, c=None):
                y = (x.t() if ta else x) @ (w.t() if tb else w)
                if alpha != 1.0:
                    y = y * alpha
                return y if c is None else y + beta * c
            return gemm
        if op == "MatMul":
            return torch.matmul
        if op == "Identity":
            return lambda x: x
        if op == "GlobalAveragePool":
            return lambda x: x.mean(dim=(2, 3), keepdim=True)
        raise UnsupportedOnnxOp(op)

    def _value(self, env: dict, name: str):
        if name in env:
            return env[name]
        key = self._buffer_of.get(name)
        if key is not None:
            return getattr(self, key)
        return self._static[name]

    def forward(self, x: torch.Tensor, taps: Sequence[str] | None = None):
        env: dict[str, torch.Tensor] = {self.input_name: x}
        for fn, inputs, out in self._steps:
            env[out] = fn(*[self._value(env, i) for i in inputs if i])
        if taps is None:
            return env[self.output_name]
        result = {t: env[t] for t in taps}
        result[self.output_name] = env[self.output_name]
        return result

    def default_taps(self, size: int = 112) -> list[str]:
        """For each spatial resolution below the input's, the last activation or residual sum at
        it: a coarse-to-fine set of feature maps, chosen from the graph so any encoder works."""
        with torch.no_grad():
            probe = torch.zeros(1, 3, size, size)
            env = self.forward(probe, taps=self.node_names)
        last_at: dict[int, str] = {}
        for name, op in zip(self.node_names, self.node_ops):
            v = env[name]
            if op in TAP_OPS and v.dim() == 4 and 1 < v.shape[-1] < size:
                last_at[int(v.shape[-1])] = name
        return [last_at[h] for h in sorted(last_at, reverse=True)]


def load_torch_encoder(path: str) -> OnnxGraphModule:
    module = OnnxGraphModule(onnx.load(path))
    module.eval()
    for p in module.buffers():
        p.requires_grad_(False)
    return module
