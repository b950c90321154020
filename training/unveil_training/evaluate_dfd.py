"""Evaluates an exported Deep Face Decoder (the ONNX artefact itself) on aligned face images.

For each image: its template under the target encoder (the ONNX model the decoder was trained
for) -> the decoder -> a 112x112 reconstruction, compared with the aligned original by PSNR and
SSIM, and with the template by the cosine of the reconstruction's template (what an attacker
gets). Optional cross encoders score reconstruction vs original under other face networks.

    python -m unveil_training.evaluate_dfd --model resources/models/ID.onnx --data /work/aligned/lfw \
        --encoder node_modules/faceplugin-face-recognition-js/model/fr_feature.onnx --out eval.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .data import FaceData, save_grid, to_tensor
from .encoders import OnnxEncoder, find_manifest
from .metrics import cosine_rows, impostor_cosine_mean, psnr, ssim, summary
from .runtime import ensure_allocator_tunables, setup_torch

DEFAULT_CACHE = Path(__file__).resolve().parents[1] / ".cache"


def reconstruction_metrics(originals: np.ndarray, recon: np.ndarray, templates: np.ndarray, encoder: OnnxEncoder,
                           cross: list[OnnxEncoder] = ()) -> dict:
    """originals uint8 NHWC 112, recon float NCHW [0,1] 112, templates (N, D) of the originals."""
    p, s = [], []
    for i in range(0, len(recon), 64):
        a = to_tensor(originals[i:i + 64])
        b = torch.from_numpy(np.ascontiguousarray(recon[i:i + 64], dtype=np.float32))
        p.append(psnr(b, a))
        s.append(ssim(b, a))
    rec_t = encoder.encode_float(recon)
    out = {
        "images": int(len(recon)),
        "psnr": summary(torch.cat(p).numpy()),
        "ssim": summary(torch.cat(s).numpy()),
        "cosineTarget": summary(cosine_rows(rec_t, templates)),
        "impostorCosineMean": impostor_cosine_mean(templates),
        "cross": {},
    }
    for e in cross:
        out["cross"][e.id] = summary(cosine_rows(e.encode_float(recon), e.encode_uint8(originals)))
    return out


class OnnxDecoder:
    def __init__(self, path: str | Path, threads: int | None = None):
        self.path = Path(path)
        manifest_path = self.path.with_suffix(".json")
        if not manifest_path.is_file():
            raise FileNotFoundError(f"no manifest beside {self.path} (expected {manifest_path.name})")
        self.manifest = json.loads(manifest_path.read_text())
        if self.manifest.get("role") != "decoder":
            raise ValueError(f"{manifest_path} is not a decoder manifest")
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads or torch.get_num_threads()
        self.session = ort.InferenceSession(str(self.path), so, providers=["CPUExecutionProvider"])
        self.input_name = self.manifest["input"]["name"]

    def decode(self, templates: np.ndarray, batch_size: int = 64) -> np.ndarray:
        return np.concatenate([self.session.run(None, {self.input_name: templates[i:i + batch_size].astype(np.float32)})[0]
                               for i in range(0, len(templates), batch_size)])


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m unveil_training.evaluate_dfd", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="decoder ONNX with its manifest (<id>.json) beside it")
    p.add_argument("--data", required=True, help="aligned dataset folder(s), comma-separated (e.g. aligned LFW)")
    p.add_argument("--encoder", required=True, help="the target encoder ONNX; must be the one in the manifest's targetEncoder")
    p.add_argument("--encoder-manifest", help="manifest of --encoder when it has none beside it or in resources/")
    p.add_argument("--cross-encoders", default="", help="other encoder ONNX files, comma-separated")
    p.add_argument("--limit", type=int, default=1000, help="images evaluated (a seeded random subset)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--cache-dir", default=str(DEFAULT_CACHE))
    p.add_argument("--threads", type=int)
    p.add_argument("--out", help="write the metrics JSON here")
    p.add_argument("--grid", help="write originals (top) over reconstructions (bottom) of 8 images to this PNG")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    setup_torch("cpu", args.threads)
    start = time.time()
    decoder = OnnxDecoder(args.model, args.threads)
    encoder = OnnxEncoder(args.encoder, find_manifest(args.encoder, args.encoder_manifest), args.threads)
    want = decoder.manifest.get("targetEncoder", {}).get("sha256")
    if want and want != encoder.sha256:
        raise SystemExit(f"{args.encoder} (sha256 {encoder.sha256[:12]}) is not the encoder this decoder was trained for "
                         f"({decoder.manifest['targetEncoder'].get('id')}, sha256 {want[:12]})")
    cross = [OnnxEncoder(c, threads=args.threads) for c in args.cross_encoders.split(",") if c]
    data = FaceData(args.data.split(","), (112,), args.cache_dir)
    templates = data.templates(encoder, args.cache_dir)
    rng = np.random.default_rng(args.seed)
    idx = np.sort(rng.choice(data.count, size=min(args.limit, data.count), replace=False))
    originals = data.gather(112, idx)
    recon = decoder.decode(templates[idx], args.batch_size)
    result = {
        "model": {"id": decoder.manifest.get("id"), "file": str(args.model), "sha256": decoder.manifest.get("sha256")},
        "encoder": encoder.describe(),
        "data": data.describe(),
        "seed": args.seed,
        **reconstruction_metrics(originals, recon, templates[idx], encoder, cross),
        "seconds": round(time.time() - start, 2),
    }
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    if args.grid:
        n = min(8, len(idx))
        save_grid([originals[:n], recon[:n]], args.grid)
    print(text)
    return result


if __name__ == "__main__":
    ensure_allocator_tunables()
    main()
