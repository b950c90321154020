"""Compares a derived gradient graph (run with onnxruntime) with PyTorch autograd on the same
weights (the ONNX graph interpreted by training/unveil_training/onnx_torch.py).

usage: python autodiff_vs_torch.py SOURCE.onnx DERIVED.onnx INPUT OUTPUT GRAD_OUTPUT [BATCH]
prints one JSON line: {"rel_l2": ..., "max_abs": ..., "grad_norm": ..., "cosine": ...}
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "training"))
from unveil_training.onnx_torch import load_torch_encoder  # noqa: E402


def main() -> None:
    source, derived, input_name, output_name, grad_name = sys.argv[1:6]
    batch = int(sys.argv[6]) if len(sys.argv) > 6 else 2
    torch.set_num_threads(1)
    module = load_torch_encoder(source)
    module.eval()
    session = ort.InferenceSession(derived, providers=["CPUExecutionProvider"])
    shape = [batch] + [d for d in session.get_inputs()[0].shape[1:]]
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, size=shape).astype(np.float32)
    out_shape = module(torch.from_numpy(x)).shape
    seed = rng.standard_normal(size=tuple(out_shape)).astype(np.float32)
    feeds = {input_name: x, f"seed/{output_name}": seed}
    (grad_onnx,) = session.run([grad_name], feeds)
    # Autograd in float64 (the same weights, widened) is the reference; float32 autograd is
    # reported too, to show how far float32 alone moves a gradient through this network.
    grads = {}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        mod = load_torch_encoder(source).to(dtype)
        xt = torch.from_numpy(x).to(dtype).requires_grad_(True)
        (mod(xt) * torch.from_numpy(seed).to(dtype)).sum().backward()
        grads[name] = xt.grad.numpy().astype(np.float64)
    grad_torch = grads["float64"]
    diff = grad_onnx - grad_torch
    result = {
        "torch32_rel_l2": float(np.linalg.norm(grads["float32"] - grad_torch) / max(np.linalg.norm(grad_torch), 1e-30)),
        "rel_l2": float(np.linalg.norm(diff) / max(np.linalg.norm(grad_torch), 1e-30)),
        "max_abs": float(np.abs(diff).max()),
        "grad_norm": float(np.linalg.norm(grad_torch)),
        "cosine": float((grad_onnx * grad_torch).sum() / (np.linalg.norm(grad_onnx) * np.linalg.norm(grad_torch))),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
