"""The workbench's face encoders (ONNX) run with onnxruntime, with the workbench's preprocessing.

Templates used as training inputs come from these ONNX files, exactly as the workbench computes
them: the same in-memory batch patch, the same (p/scale - mean)/std normalisation from the
model's manifest, RGB/BGR order, and the raw (not L2-normalised) output.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from .onnx_patch import model_io, patch_model, sha256_file

REPO_ROOT = Path(__file__).resolve().parents[2]
ARCFACE_112 = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]

# Mirror of the bundled encoder's manifest in src/core/models/bundled-models.ts.
FR_FEATURE_MANIFEST = {
    "id": "faceplugin-fr-feature",
    "name": "Faceplugin face feature (512-d)",
    "role": "encoder",
    "file": "fr_feature.onnx",
    "sha256": "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
    "input": {"name": "input", "shape": [-1, 3, 112, 112], "layout": "NCHW", "colorOrder": "RGB",
              "normalisation": {"scale": 1, "mean": [127, 127, 127], "std": [128, 128, 128]}},
    "output": {"name": "output", "shape": [-1, 512]},
    "embeddingDim": 512,
    "alignment": {"size": [112, 112], "points": ARCFACE_112},
    "licence": "MIT (npm package faceplugin-face-recognition-js@0.0.1)",
    "source": "npm:faceplugin-face-recognition-js@0.0.1/model/fr_feature.onnx",
}
FR_FEATURE_PATH = REPO_ROOT / "node_modules" / "faceplugin-face-recognition-js" / "model" / "fr_feature.onnx"


class EncoderError(ValueError):
    pass


def shared_data_dir() -> Path:
    """The research data folder, as the workbench resolves it: UNVEIL_DATA or ../shared."""
    return Path(os.environ.get("UNVEIL_DATA") or REPO_ROOT.parent / "shared")


def find_manifest(model_path: str | Path, manifest_path: str | Path | None = None) -> dict:
    """The encoder's manifest: given explicitly, <model>.json beside it, a registry manifest in
    resources/ naming its file, or the bundled fr_feature's."""
    model_path = Path(model_path)
    if manifest_path:
        return json.loads(Path(manifest_path).read_text())
    beside = model_path.with_suffix(".json")
    if beside.is_file():
        return json.loads(beside.read_text())
    for folder in (REPO_ROOT / "resources" / "manifests", REPO_ROOT / "resources" / "models"):
        for f in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            m = json.loads(f.read_text())
            if m.get("role") == "encoder" and m.get("file") == model_path.name:
                return m
    if model_path.name == FR_FEATURE_MANIFEST["file"]:
        return FR_FEATURE_MANIFEST
    raise EncoderError(f"no manifest found for {model_path}: pass one with --encoder-manifest")


def _norm_arrays(manifest: dict) -> tuple[float, np.ndarray, np.ndarray, list[int]]:
    inp = manifest["input"]
    order = inp.get("colorOrder", "RGB")
    if order not in ("RGB", "BGR"):
        raise EncoderError(f"encoder {manifest.get('id')}: colour order {order} is not supported for face crops")
    n = inp.get("normalisation")
    if n is None:
        raise EncoderError(f"encoder {manifest.get('id')}: manifest has no input.normalisation")
    mean = np.broadcast_to(np.asarray(n["mean"], dtype=np.float32), (3,)).copy()
    std = np.broadcast_to(np.asarray(n["std"], dtype=np.float32), (3,)).copy()
    return float(n["scale"]), mean, std, ([2, 1, 0] if order == "BGR" else [0, 1, 2])


def preprocess_torch(x01: torch.Tensor, manifest: dict) -> torch.Tensor:
    """RGB NCHW in [0,1] to the encoder's input, as planarToModelInput does in the workbench."""
    scale, mean, std, order = _norm_arrays(manifest)
    if order != [0, 1, 2]:
        x01 = x01[:, order]
    m = torch.as_tensor(mean, device=x01.device).view(1, 3, 1, 1)
    s = torch.as_tensor(std, device=x01.device).view(1, 3, 1, 1)
    return (x01 * (255.0 / scale) - m) / s


class OnnxEncoder:
    """A face encoder from an ONNX file, batched, on onnxruntime."""

    def __init__(self, path: str | Path, manifest: dict | None = None, threads: int | None = None,
                 providers: list[str] | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise EncoderError(f"encoder model not found: {self.path}")
        self.manifest = manifest or find_manifest(self.path)
        self.sha256 = sha256_file(self.path)
        self.id = self.manifest.get("id", self.path.stem)
        model = onnx.load(str(self.path))
        patched, self.patch_report = patch_model(model)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or torch.get_num_threads()
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(patched.SerializeToString(), so,
                                            providers=providers or ["CPUExecutionProvider"])
        inputs, outputs = model_io(patched)
        self.input_name = self.manifest["input"]["name"]
        self.output_name = self.manifest["output"]["name"]
        if self.input_name not in [n for n, _ in inputs]:
            raise EncoderError(f"{self.path.name}: manifest input {self.input_name!r} is not a model input")
        if self.output_name not in [n for n, _ in outputs]:
            raise EncoderError(f"{self.path.name}: manifest output {self.output_name!r} is not a model output")
        self._scale, self._mean, self._std, self._order = _norm_arrays(self.manifest)
        # After the patch a batch dimension is symbolic unless the model fixes it at some other size.
        self.batchable = not isinstance(dict(inputs)[self.input_name][0], int)
        if self.batchable and self.patch_report.batch_dims_freed:
            self._check_batching()
        self.dim = int(self._run(np.zeros((1, 3, 112, 112), np.float32)).shape[1])

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.output_name], {self.input_name: x})[0].astype(np.float32)

    def _check_batching(self) -> None:
        """The workbench's trial run: a batch of two must equal two single runs."""
        rng = np.random.default_rng(0)
        x = self.preprocess_uint8(rng.integers(0, 256, (2, 112, 112, 3), dtype=np.uint8))
        both = self._run(x)
        singles = np.concatenate([self._run(x[:1]), self._run(x[1:])])
        if not np.allclose(both, singles, rtol=1e-4, atol=1e-5):
            self.batchable = False

    def preprocess_uint8(self, images: np.ndarray) -> np.ndarray:
        """uint8 NHWC RGB -> float32 NCHW model input, as imageToChw does in the workbench."""
        x = images.astype(np.float32)[..., self._order]
        x = (x / self._scale - self._mean) / self._std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def preprocess_float(self, images01: np.ndarray) -> np.ndarray:
        """float NCHW RGB in [0,1] (decoder/generator output) -> model input."""
        x = images01[:, self._order].astype(np.float32) * (255.0 / self._scale)
        return np.ascontiguousarray((x - self._mean.reshape(1, 3, 1, 1)) / self._std.reshape(1, 3, 1, 1))

    def encode_input(self, x: np.ndarray, batch_size: int = 64) -> np.ndarray:
        step = batch_size if self.batchable else 1
        return np.concatenate([self._run(x[i:i + step]) for i in range(0, len(x), step)]) if len(x) else \
            np.zeros((0, self.dim), np.float32)

    def encode_uint8(self, images: np.ndarray, batch_size: int = 64) -> np.ndarray:
        out = [self.encode_input(self.preprocess_uint8(images[i:i + batch_size]), batch_size)
               for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def encode_float(self, images01: np.ndarray, batch_size: int = 64) -> np.ndarray:
        out = [self.encode_input(self.preprocess_float(images01[i:i + batch_size]), batch_size)
               for i in range(0, len(images01), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)

    def describe(self) -> dict:
        return {"id": self.id, "file": self.path.name, "sha256": self.sha256, "embeddingDim": self.dim}


def cached_templates(encoder: OnnxEncoder, dataset, images: np.ndarray, cache_dir: str | Path,
                     flip: bool = False, log=print) -> np.ndarray:
    """Templates of a dataset's 112x112 crops (optionally mirrored), cached as .npy keyed by the
    encoder file's sha256 and the dataset manifest's sha256."""
    cache = Path(cache_dir) / "templates"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{encoder.sha256[:16]}-{dataset.key}{'-flip' if flip else ''}.npy"
    if path.exists():
        t = np.load(path)
        if t.shape == (len(images), encoder.dim):
            return t
        log(f"{path.name}: stale template cache (shape {t.shape}), recomputing")
    start = time.time()
    chunks = []
    for i in range(0, len(images), 512):
        batch = np.asarray(images[i:i + 512])
        chunks.append(encoder.encode_uint8(batch[:, :, ::-1] if flip else batch))
        if (i // 512) % 8 == 7:
            log(f"templates {encoder.id} {dataset.name}{' (mirrored)' if flip else ''}: {i + len(batch)}/{len(images)}")
    t = np.concatenate(chunks).astype(np.float32)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, t)
    os.replace(tmp, path)
    meta = {"encoder": encoder.describe(), "dataset": str(dataset.root), "manifestSha256": dataset.manifest_sha256,
            "flip": flip, "count": len(t), "seconds": round(time.time() - start, 2)}
    path.with_suffix(".json").write_text(json.dumps(meta, indent=2))
    log(f"templates {encoder.id} {dataset.name}{' (mirrored)' if flip else ''}: {len(t)} in {meta['seconds']} s")
    return t
