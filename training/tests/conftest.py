"""Tiny stand-ins for the real data and models, so the smoke tests need neither."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

IMAGENET = {"scale": 255, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
CENTRED = {"scale": 1, "mean": [127, 127, 127], "std": [128, 128, 128]}


def make_tiny_encoder(path: Path, dim: int, seed: int, color_order: str = "RGB", normalisation: dict = CENTRED) -> Path:
    """A 112x112 -> dim encoder exported like fr_feature: batch fixed at 1 and a Reshape [1, -1],
    so the workbench's batch patch is needed to run it batched."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.1, (4, 3, 8, 8)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, (4,)).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 4, 2, 2)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "b2"),
        numpy_helper.from_array(np.full((8, 1, 1), 0.25, np.float32), "slope"),
        numpy_helper.from_array(np.array([1, -1], np.int64), "flat"),
        numpy_helper.from_array(rng.normal(0, 0.05, (dim, 8 * 7 * 7)).astype(np.float32), "wfc"),
        numpy_helper.from_array(rng.normal(0, 0.1, (dim,)).astype(np.float32), "bfc"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], strides=[8, 8], kernel_shape=[8, 8]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], strides=[2, 2], kernel_shape=[2, 2]),
        helper.make_node("PRelu", ["c2", "slope"], ["p2"]),
        helper.make_node("Reshape", ["p2", "flat"], ["f"]),
        helper.make_node("Gemm", ["f", "wfc", "bfc"], ["output"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, f"tiny{seed}",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 112, 112])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, dim])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    manifest = {
        "id": f"tiny-encoder-{seed}", "name": f"tiny test encoder {seed}", "role": "encoder", "file": path.name,
        "input": {"name": "input", "shape": [1, 3, 112, 112], "layout": "NCHW", "colorOrder": color_order,
                  "normalisation": normalisation},
        "output": {"name": "output", "shape": [1, dim]}, "embeddingDim": dim,
        "licence": "test", "source": "training/tests/conftest.py",
    }
    path.with_suffix(".json").write_text(json.dumps(manifest))
    return path


def make_aligned_dataset(root: Path, identities: list[str | None], seed: int) -> Path:
    """Smooth random 112x112 'aligned crops' and a manifest as `unveil dataset align` writes it."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    items = []
    for i, ident in enumerate(identities):
        coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
        img = Image.fromarray(coarse).resize((112, 112), Image.BICUBIC)
        name = f"img{i:03d}.png"
        img.save(root / name)
        items.append({"file": name, "source": name.replace(".png", ".jpg"), "sourceSha256": "0" * 64,
                      "identity": ident, "landmarks": [[38.3, 51.7], [73.5, 51.5], [56.0, 71.7], [41.5, 92.4], [70.7, 92.2]],
                      "box": [10, 10, 100, 100], "score": 0.99})
    manifest = {"format": "unveil-aligned-dataset", "version": 1, "layout": "flat", "items": items, "failures": []}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    base = tmp_path_factory.mktemp("world")
    a = make_aligned_dataset(base / "celeba-tiny", ["p1", "p1", "p2", "p2", "p3"], seed=1)
    b = make_aligned_dataset(base / "utkface-tiny", [None, None, None], seed=2)
    target = make_tiny_encoder(base / "target.onnx", 16, seed=10)
    other = make_tiny_encoder(base / "other.onnx", 12, seed=11, color_order="BGR", normalisation=IMAGENET)
    out = Path(os.environ["UNVEIL_TRAINING_SMOKE_OUT"]) if os.environ.get("UNVEIL_TRAINING_SMOKE_OUT") else base / "models"
    out.mkdir(parents=True, exist_ok=True)
    return {"base": base, "data": [a, b], "target": target, "other": other, "out": out, "cache": base / "cache"}
