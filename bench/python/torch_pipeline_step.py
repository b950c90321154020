"""PyTorch autograd baseline for `npm run bench -- gradients`: one forward+backward step of
generator -> encoder preprocessing -> encoder -> L2 -> cosine, gradients w.r.t. the latent only
(weights frozen, eval mode, channels_last), on the same ONNX weights.

usage: python torch_pipeline_step.py GENERATOR_ID GENERATOR.onnx ENCODER.onnx BATCH REPEATS THREADS
prints one JSON line: {"ms_per_step": [...], "cpu_ms_per_step": [...], "loss": ...} (CPU: this process, all threads)
"""

import json
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))
from unveil_training.onnx_torch import load_torch_encoder  # noqa: E402


def weights(path):
    return {t.name: torch.from_numpy(numpy_helper.to_array(t).astype(np.float32)) for t in onnx.load(path).graph.initializer}


def eigenface(path):
    w = weights(path)
    comps, mean, scale = w["components_f16"], w["mean_f16"], float(w["scales"][2])
    size = (int(w["image_shape"][2]), int(w["image_shape"][3]))

    def gen(z):
        x = (z @ comps + mean).reshape(-1, 3, *size)
        return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False).clamp(0, 1)
    return gen


def dcgan(path):
    w = weights(path)
    layers = [("net.1", 1, 0), ("net.4", 2, 1), ("net.7", 2, 1), ("net.10", 2, 1), ("net.13", 2, 1)]

    def gen(z):
        x = z.reshape(z.shape[0], -1, 1, 1)
        for i, (name, stride, pad) in enumerate(layers):
            x = F.conv_transpose2d(x, w[f"{name}.weight"], w[f"{name}.bias"], stride=stride, padding=pad)
            x = torch.sigmoid(x) if i == len(layers) - 1 else F.relu(x)
        return F.interpolate(x, size=(112, 112), mode="bilinear", align_corners=False)
    return gen


def main():
    gen_id, gen_path, enc_path, batch, repeats, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    torch.set_num_threads(threads)
    gen = eigenface(gen_path) if gen_id.startswith("eigenface") else dcgan(gen_path)
    enc = load_torch_encoder(enc_path).eval().to(memory_format=torch.channels_last)
    for p in enc.parameters():
        p.requires_grad_(False)
    rng = np.random.default_rng(1)
    z0 = torch.from_numpy(rng.standard_normal((batch, 128)).astype(np.float32))
    target = F.normalize(torch.from_numpy(rng.standard_normal((1, 512)).astype(np.float32)), dim=1)
    times = []
    cpu = []
    loss = None
    for r in range(repeats + 1):
        z = z0.clone().requires_grad_(True)
        t0 = time.perf_counter()
        c0 = time.process_time()
        img = gen(z)
        x = ((img * 255 - 127) / 128).contiguous(memory_format=torch.channels_last)  # fr_feature normalisation
        e = F.normalize(enc(x), dim=1)
        loss = -(e * target).sum()
        loss.backward()
        _ = z.grad.numpy()
        if r > 0:
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
    print(json.dumps({"ms_per_step": times, "cpu_ms_per_step": cpu, "loss": float(loss.detach())}))


if __name__ == "__main__":
    main()
