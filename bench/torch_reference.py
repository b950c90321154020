"""PyTorch eager reference for `npm run bench -- pipeline`, driven over stdin/stdout (one JSON
object per line) so its timings interleave with ONNX Runtime's in the same run.

The generator and encoder are built from the same ONNX files Unveil loads: encoders through
training/unveil_training/onnx_torch.py (an ONNX interpreter in torch ops, weights as buffers),
the two shipped generators (eigenface: MatMul + Add + bilinear Resize + Clip; DCGAN:
ConvTranspose/Relu chain + Sigmoid + bilinear Resize) from their initializers. Tuned the way
the environment notes tune PyTorch on this machine: torch.inference_mode, channels_last,
2 threads, denormals flushed. A parity line against onnxruntime (Python) proves it is the same
model.

Commands: {"cmd": "peak"} -> best sgemm GFLOP/s over sizes;
{"cmd": "load", "id", "generator", "encoder", "norm": {scale, mean, std}, "bgr"} -> parity;
{"cmd": "time", "id", "batch", "total"} -> ms per evaluation.
"""

from __future__ import annotations

import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "training"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from onnx import numpy_helper  # noqa: E402

from unveil_training.onnx_torch import OnnxGraphModule  # noqa: E402

THREADS = int(os.environ.get("BENCH_TORCH_THREADS", "2"))
torch.set_num_threads(THREADS)
torch.set_flush_denormal(True)


def _inits(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    out = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    out[n.output[0]] = numpy_helper.to_array(a.t)
    return out


class Generator(torch.nn.Module):
    """The shipped generators, recognised by their graph's ops."""

    def __init__(self, path: str):
        super().__init__()
        m = onnx.load(path)
        ops = [n.op_type for n in m.graph.node]
        w = _inits(m)
        resize = next(n for n in m.graph.node if n.op_type == "Resize")
        self.out_hw = (112, 112)
        if "ConvTranspose" in ops:
            self.kind = "dcgan"
            self.layers = []
            for i, n in enumerate(x for x in m.graph.node if x.op_type == "ConvTranspose"):
                a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
                weight = torch.from_numpy(w[n.input[1]].astype(np.float32).copy())
                bias = torch.from_numpy(w[n.input[2]].astype(np.float32).copy())
                self.register_buffer(f"w{i}", weight)
                self.register_buffer(f"b{i}", bias)
                self.layers.append((f"w{i}", f"b{i}", tuple(a.get("strides", [1, 1])), tuple(a.get("pads", [0, 0, 0, 0])[:2])))
        else:
            self.kind = "eigen"
            self.register_buffer("components", torch.from_numpy(w["components_f16"].astype(np.float32)))
            self.register_buffer("mean", torch.from_numpy(w["mean_f16"].astype(np.float32)))
            self.shape = [int(v) for v in w["image_shape"]]
            self.lo = float(w["lo"])
            self.hi = float(w["hi"])
        assert resize is not None

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.kind == "eigen":
            x = (z @ self.components + self.mean).reshape([z.shape[0]] + self.shape[1:])
            x = F.interpolate(x, size=self.out_hw, mode="bilinear", align_corners=False)
            return x.clamp(self.lo, self.hi)
        x = z.reshape(z.shape[0], -1, 1, 1)
        for i, (wn, bn, stride, pad) in enumerate(self.layers):
            x = F.conv_transpose2d(x, getattr(self, wn), getattr(self, bn), stride, pad)
            x = torch.relu(x) if i < len(self.layers) - 1 else torch.sigmoid(x)
            x = x.contiguous(memory_format=torch.channels_last)
        return F.interpolate(x, size=self.out_hw, mode="bilinear", align_corners=False)


class Pipeline(torch.nn.Module):
    def __init__(self, generator: str, encoder: str, norm: dict, bgr: bool):
        super().__init__()
        self.gen = Generator(generator)
        self.enc = OnnxGraphModule(onnx.load(encoder))
        mean = norm["mean"] * 3 if len(norm["mean"]) == 1 else norm["mean"]
        std = norm["std"] * 3 if len(norm["std"]) == 1 else norm["std"]
        k = 255.0 / norm["scale"]
        self.register_buffer("scale", torch.tensor([k / s for s in std]).reshape(1, 3, 1, 1))
        self.register_buffer("shift", torch.tensor([-m / s for m, s in zip(mean, std)]).reshape(1, 3, 1, 1))
        self.bgr = bgr

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        img = self.gen(z)
        if self.bgr:
            img = img.flip(1)
        x = (img * self.scale + self.shift).contiguous(memory_format=torch.channels_last)
        return self.enc(x)


def onnx_parity(p: Pipeline, generator: str, encoder: str, norm: dict, bgr: bool) -> float:
    """Min cosine between torch templates and onnxruntime's (generator, then encoder)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    z = torch.randn(4, 128, generator=torch.Generator().manual_seed(1))
    g = ort.InferenceSession(generator, so, providers=["CPUExecutionProvider"])
    img = g.run(None, {g.get_inputs()[0].name: z.numpy()})[0]
    mean = np.array(norm["mean"] * (3 if len(norm["mean"]) == 1 else 1), np.float32).reshape(1, 3, 1, 1)
    std = np.array(norm["std"] * (3 if len(norm["std"]) == 1 else 1), np.float32).reshape(1, 3, 1, 1)
    x = (img[:, ::-1] if bgr else img) * (255.0 / norm["scale"])
    x = ((x - mean) / std).astype(np.float32)
    # Encoders with a batch fixed at 1 in the file: one face at a time.
    e = ort.InferenceSession(encoder, so, providers=["CPUExecutionProvider"])
    ref = np.concatenate([e.run(None, {e.get_inputs()[0].name: x[i:i + 1]})[0] for i in range(len(x))])
    with torch.inference_mode():
        out = p(z).numpy()
    cos = (ref * out).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(out, axis=1)
    return float(cos.min())


def gflop(path: str) -> float:
    """Multiply-add FLOPs (2 per MAC) of Conv, ConvTranspose, MatMul and Gemm for one sample;
    shapes measured by running the graph once at batch 1 with every value exposed."""
    import onnxruntime as ort

    m = onnx.load(path)
    w = _inits(m)
    inits = set(w)
    inp = next(i for i in m.graph.input if i.name not in inits)
    dims = [d.dim_value if d.dim_value > 0 else 1 for d in inp.type.tensor_type.shape.dim]
    known = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in known:
                m.graph.output.append(onnx.ValueInfoProto(name=o))
                known.add(o)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    values = sess.run(names, {inp.name: np.zeros(dims, np.float32)})
    shapes = {k: list(np.shape(v)) for k, v in zip(names, values)}
    shapes[inp.name] = dims
    for k, v in w.items():
        shapes[k] = list(v.shape)
    total = 0
    for n in m.graph.node:
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        if n.op_type == "Conv":
            total += int(np.prod(shapes[n.output[0]])) * int(np.prod(shapes[n.input[1]][1:]))
        elif n.op_type == "ConvTranspose":
            k = shapes[n.input[1]]
            total += int(np.prod(shapes[n.input[0]])) * int(np.prod(k[1:]))
        elif n.op_type in ("MatMul", "Gemm"):
            x = shapes[n.input[0]]
            kdim = x[0] if (n.op_type == "Gemm" and a.get("transA", 0)) else x[-1]
            total += int(np.prod(shapes[n.output[0]])) * kdim
    return 2 * total / 1e9


def peak() -> float:
    best = 0.0
    for n in (1024, 2048, 3072, 4096):
        a = torch.randn(n, n)
        b = torch.randn(n, n)
        a @ b
        for _ in range(3):
            t = time.perf_counter()
            a @ b
            best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def main() -> None:
    pipelines: dict[str, Pipeline] = {}
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "gflop":
            reply = {"gflop": gflop(req["path"])}
        elif cmd == "peak":
            reply = {"gflops": peak()}
        elif cmd == "load":
            p = Pipeline(req["generator"], req["encoder"], req["norm"], req.get("bgr", False)).eval()
            p = p.to(memory_format=torch.channels_last)
            pipelines[req["id"]] = p
            reply = {"parity": onnx_parity(p, req["generator"], req["encoder"], req["norm"], req.get("bgr", False))}
        elif cmd == "time":
            p = pipelines[req["id"]]
            batch, total = int(req["batch"]), int(req["total"])
            zs = torch.randn(total, 128, generator=torch.Generator().manual_seed(2))
            with torch.inference_mode():
                p(zs[:batch])
                t = time.perf_counter()
                for i in range(0, total, batch):
                    p(zs[i:i + batch])
                ms = (time.perf_counter() - t) * 1000 / total
            reply = {"ms": ms}
        else:
            reply = {"error": f"unknown command {cmd}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
