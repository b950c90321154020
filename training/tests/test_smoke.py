"""Smoke tests of the training package on tiny data and tiny ONNX encoders (a few seconds of CPU)."""

from __future__ import annotations

import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from unveil_training import evaluate_dfd, train_dfd, train_gan
from unveil_training.data import FaceData, IndexSampler, to_tensor
from unveil_training.dfd import DeepFaceDecoder, DFDConfig
from unveil_training.encoders import FR_FEATURE_PATH, OnnxEncoder, find_manifest, shared_data_dir
from unveil_training.export import ParityError, check_parity, export_onnx
from unveil_training.gan import GANConfig, Generator
from unveil_training.metrics import frechet_distance, psnr, ssim
from unveil_training.onnx_patch import patch_model, sha256_file
from unveil_training.onnx_torch import load_torch_encoder

torch.set_num_threads(2)
SHA256 = re.compile(r"^[0-9a-f]{64}$")
ARCFACE = [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]]


def ort_run(path_or_bytes, feeds):
    sess = ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)[0]


def test_batch_patch_frees_a_fixed_batch(world):
    model = onnx.load(str(world["target"]))
    x = np.random.default_rng(0).normal(size=(2, 3, 112, 112)).astype(np.float32)
    with pytest.raises(Exception):
        ort_run(model.SerializeToString(), {"input": x})
    patched, report = patch_model(model)
    assert report.batch_dims_freed == ["input", "output"] and report.reshapes_fixed == 1
    both = ort_run(patched.SerializeToString(), {"input": x})
    singles = np.concatenate([ort_run(model.SerializeToString(), {"input": x[i:i + 1]}) for i in range(2)])
    np.testing.assert_allclose(both, singles, rtol=1e-5, atol=1e-6)


def test_encoder_preprocessing_and_template_cache(world):
    enc = OnnxEncoder(world["other"])
    assert enc.batchable and enc.dim == 12 and SHA256.match(enc.sha256)
    imgs = np.random.default_rng(1).integers(0, 256, (3, 112, 112, 3), dtype=np.uint8)
    # BGR order and ImageNet statistics, exactly as the manifest says.
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
    manual = ((imgs[..., ::-1].astype(np.float32) / 255 - mean) / std).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(enc.preprocess_uint8(imgs), manual, rtol=1e-6, atol=1e-6)
    # uint8 pixels and the same pixels as [0, 1] floats give the same templates.
    np.testing.assert_allclose(enc.encode_uint8(imgs), enc.encode_float(imgs.transpose(0, 3, 1, 2) / 255.0),
                               rtol=1e-4, atol=1e-5)

    data = FaceData(world["data"], (112,), world["cache"])
    first = data.templates(enc, world["cache"])
    cached = sorted((world["cache"] / "templates").glob(f"{enc.sha256[:16]}-*.npy"))
    assert len(cached) == 2
    np.testing.assert_array_equal(first, data.templates(enc, world["cache"]))
    np.testing.assert_allclose(first[:3], enc.encode_uint8(data.gather(112, [0, 1, 2])), rtol=1e-5, atol=1e-6)
    flipped = data.templates(enc, world["cache"], flip=True)
    np.testing.assert_allclose(flipped[:2], enc.encode_uint8(data.gather(112, [0, 1])[:, :, ::-1]), rtol=1e-5, atol=1e-6)


def test_data_sizes_cache_and_deterministic_split(world):
    data = FaceData(world["data"], (64, 112), world["cache"])
    assert data.count == 8
    assert list(data.identities[:2]) == ["celeba-tiny/p1", "celeba-tiny/p1"]
    x = to_tensor(data.gather(64, [7, 0, 3]))
    assert x.shape == (3, 3, 64, 64) and x.dtype == torch.float32
    assert 0 <= float(x.min()) and float(x.max()) <= 1
    assert x.is_contiguous(memory_format=torch.channels_last)
    assert len(list((world["cache"] / "images").glob("*-64.npy"))) == 2
    tr1, va1 = data.split(0.25, seed=5)
    tr2, va2 = data.split(0.25, seed=5)
    np.testing.assert_array_equal(va1, va2)
    assert len(va1) >= 2 and sorted([*tr1, *va1]) == list(range(8))
    assert not set(data.identities[tr1]) & set(data.identities[va1])
    s = IndexSampler(tr1, 4, seed=3)
    seen = np.concatenate([s.next() for _ in range(3)])
    state = s.state_dict()
    nxt = s.next()
    s2 = IndexSampler(tr1, 4, seed=99)
    s2.load_state_dict(state)
    np.testing.assert_array_equal(nxt, s2.next())
    assert set(seen) <= set(tr1)


def test_torch_conversion_matches_onnxruntime(world):
    net = load_torch_encoder(str(world["other"]))
    x = np.random.default_rng(2).normal(size=(3, 3, 112, 112)).astype(np.float32)
    patched, _ = patch_model(onnx.load(str(world["other"])))
    ref = ort_run(patched.SerializeToString(), {"input": x})
    with torch.no_grad():
        got = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5)
    taps = net.default_taps()
    assert len(taps) == 2
    xt = torch.from_numpy(x).requires_grad_(True)
    net(xt).sum().backward()
    assert xt.grad is not None and float(xt.grad.abs().sum()) > 0
    assert all(not b.requires_grad for b in net.buffers())


def test_metrics():
    a = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(psnr(a.clamp(0, 0.9), a.clamp(0, 0.9) + 0.1), torch.full((2,), 20.0), atol=1e-4)
    assert torch.allclose(ssim(a, a), torch.ones(2), atol=1e-6)
    noisy = (a + 0.2 * torch.randn(a.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    s = ssim(a, noisy)
    assert (s < 0.9).all() and torch.allclose(s, ssim(noisy, a), atol=1e-6)
    x = np.random.default_rng(0).normal(size=(400, 4))
    assert abs(frechet_distance(x, x)) < 1e-6
    assert frechet_distance(x, x + 1.0) == pytest.approx(4.0, abs=1e-6)


@pytest.mark.parametrize("size", [64, 112])
def test_decoder_variants_export_112_and_match(world, size, tmp_path):
    torch.manual_seed(0)
    model = DeepFaceDecoder(DFDConfig(16, size, 16, (8, 8, 8, 8), 2, 0.1))
    model.train()
    model(torch.randn(8, 16))  # moves BatchNorm running statistics away from their defaults
    example = torch.randn(3, 16)
    report = export_onnx(model, example, tmp_path / "d.onnx", "template", "image", "fp32")
    out = ort_run(str(tmp_path / "d.onnx"), {"template": np.random.default_rng(0).normal(size=(5, 16)).astype(np.float32)})
    assert out.shape == (5, 3, 112, 112) and out.min() >= 0 and out.max() <= 1
    assert report.parity_max_abs_diff < 1e-4 and report.export_copy_max_abs_diff < 1e-4
    names = {n.op_type for n in onnx.load(str(tmp_path / "d.onnx")).graph.node}
    assert "BatchNormalization" not in names and "Resize" in names


def test_parity_check_raises_on_a_mismatch(tmp_path):
    a = Generator(GANConfig(ngf=4)).eval()
    z = torch.randn(3, 128)
    export_onnx(a, z, tmp_path / "g.onnx", "z", "image", "fp32")
    assert check_parity(a, tmp_path / "g.onnx", z, "z") < 1e-4
    with torch.no_grad():
        a.net[-2].bias.add_(0.01)
    with pytest.raises(ParityError):
        check_parity(a, tmp_path / "g.onnx", z, "z")


def _card_checks(card: str, command_module: str):
    assert f"python -m {command_module}" in card
    assert "Research use only" in card and "CelebA: non-commercial research only" in card
    assert "hardware" in card and "ONNX parity" in card and "seed" in card


def test_train_dfd_three_steps_export_and_evaluate(world):
    out, base = world["out"], world["base"]
    data = ",".join(str(d) for d in world["data"])
    common = ["--data", data, "--encoder", str(world["target"]), "--perceptual", str(world["other"]),
              "--out", str(out), "--id", "dfd-smoke", "--seed", "3", "--size", "64", "--stem-channels", "16",
              "--widths", "16,8,8,8", "--batch-size", "4", "--val-fraction", "0.25", "--cache-dir", str(world["cache"]),
              "--run-dir", str(base / "runs" / "dfd"), "--log-every", "1", "--threads", "2", "--quiet"]
    first = train_dfd.main([*common, "--max-steps", "2"])
    assert first["step"] == 2
    result = train_dfd.main([*common, "--max-steps", "3", "--resume"])
    assert result["step"] == 3
    log = [json.loads(line) for line in (base / "runs" / "dfd" / "log.jsonl").read_text().splitlines()]
    steps = [r for r in log if r["message"] == "step"]
    assert {"pixel", "gradient", "perceptual", "perceptual_local", "pixel_local"} <= set(steps[-1])
    assert all(np.isfinite(r["loss"]) for r in steps)
    assert (base / "runs" / "dfd" / "checkpoint.pt").is_file() and (base / "runs" / "dfd" / "samples.png").is_file()

    onnx_path, manifest_path, card_path = out / "dfd-smoke.onnx", out / "dfd-smoke.json", out / "dfd-smoke.md"
    m = json.loads(manifest_path.read_text())
    assert m["id"] == "dfd-smoke" and m["role"] == "decoder" and m["file"] == "dfd-smoke.onnx"
    assert m["sha256"] == sha256_file(onnx_path)
    assert m["input"] == {"name": "template", "shape": [-1, 16], "layout": "NC"}
    assert m["output"] == {"name": "image", "shape": [-1, 3, 112, 112]}
    assert m["outputRange"] == [0, 1] and m["alignment"] == {"size": [112, 112], "points": ARCFACE}
    assert m["targetEncoder"]["sha256"] == sha256_file(world["target"])
    assert m["licence"].startswith("Research use only")
    assert result["export"]["parity_max_abs_diff"] < 1e-4 and onnx_path.stat().st_size < 20 * 2**20
    _card_checks(card_path.read_text(), "unveil_training.train_dfd")

    t = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    img = ort_run(str(onnx_path), {"template": t})
    assert img.shape == (3, 3, 112, 112) and 0 <= img.min() and img.max() <= 1

    ev = evaluate_dfd.main(["--model", str(onnx_path), "--data", data, "--encoder", str(world["target"]),
                            "--cross-encoders", str(world["other"]), "--limit", "6", "--cache-dir", str(world["cache"]),
                            "--out", str(base / "eval.json"), "--grid", str(base / "eval.png")])
    assert ev["images"] == 6 and np.isfinite(ev["psnr"]["mean"]) and -1 <= ev["ssim"]["mean"] <= 1
    assert -1 <= ev["cosineTarget"]["mean"] <= 1 and "tiny-encoder-11" in ev["cross"]
    assert json.loads((base / "eval.json").read_text())["images"] == 6 and (base / "eval.png").is_file()
    with pytest.raises(SystemExit):
        evaluate_dfd.main(["--model", str(onnx_path), "--data", data, "--encoder", str(world["other"]),
                           "--cache-dir", str(world["cache"])])


def test_dfd_refuses_the_target_encoder_as_perceptual_network(world, tmp_path):
    with pytest.raises(SystemExit):
        train_dfd.main(["--data", str(world["data"][0]), "--encoder", str(world["target"]), "--perceptual",
                        str(world["target"]), "--out", str(tmp_path), "--id", "x", "--max-steps", "1",
                        "--cache-dir", str(world["cache"]), "--run-dir", str(tmp_path / "run"), "--quiet"])


def test_train_gan_three_steps_fp16_export(world):
    out, base = world["out"], world["base"]
    result = train_gan.main(["--data", ",".join(str(d) for d in world["data"]), "--out", str(out), "--id", "gan-smoke",
                             "--max-steps", "3", "--minutes", "5", "--seed", "4", "--ngf", "8", "--ndf", "8",
                             "--batch-size", "4", "--ema", "0.9", "--bn-batches", "2", "--weights", "fp16", "--val-fraction", "0.25",
                             "--encoder", str(world["target"]), "--fd-samples", "4", "--cache-dir", str(world["cache"]),
                             "--run-dir", str(base / "runs" / "gan"), "--threads", "2", "--quiet"])
    assert result["step"] == 3
    onnx_path = out / "gan-smoke.onnx"
    m = json.loads((out / "gan-smoke.json").read_text())
    assert m["role"] == "generator" and m["latentDim"] == 128 and m["sha256"] == sha256_file(onnx_path)
    assert m["input"] == {"name": "z", "shape": [-1, 128], "layout": "NC"}
    assert m["output"]["shape"] == [-1, 3, 112, 112] and m["outputRange"] == [0, 1]
    g = onnx.load(str(onnx_path)).graph
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in g.initializer)
    assert result["export"]["weights"] == "fp16" and result["export"]["parity_max_abs_diff"] < 1e-4
    card = (out / "gan-smoke.md").read_text()
    _card_checks(card, "unveil_training.train_gan")
    assert "Frechet distance" in card
    img = ort_run(str(onnx_path), {"z": np.random.default_rng(0).normal(size=(3, 128)).astype(np.float32)})
    assert img.shape == (3, 3, 112, 112) and 0 <= img.min() and img.max() <= 1


@pytest.mark.skipif(not FR_FEATURE_PATH.is_file(), reason="fr_feature.onnx not installed (npm install)")
def test_real_fr_feature_batches_after_the_patch():
    enc = OnnxEncoder(FR_FEATURE_PATH, find_manifest(FR_FEATURE_PATH))
    assert enc.sha256 == enc.manifest["sha256"] and enc.dim == 512
    assert enc.patch_report.batch_dims_freed == ["input", "output"] and enc.patch_report.reshapes_fixed == 1
    assert enc.batchable
    imgs = np.random.default_rng(0).integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    x = enc.preprocess_uint8(imgs)
    both = enc._run(x)
    singles = np.concatenate([enc._run(x[:1]), enc._run(x[1:])])
    np.testing.assert_allclose(both, singles, rtol=1e-5, atol=1e-6)
    # The patched model gives the shipped model's outputs.
    shipped = ort.InferenceSession(str(FR_FEATURE_PATH), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(singles[:1], shipped.run(None, {"input": x[:1]})[0], rtol=1e-5, atol=1e-6)
    # The torch conversion used for perceptual losses agrees with onnxruntime.
    with torch.no_grad():
        torch_out = load_torch_encoder(str(FR_FEATURE_PATH))(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(torch_out, both, rtol=1e-4, atol=1e-5)


FOAMLIU = shared_data_dir() / "models" / "encoders" / "mobilefacenet-foamliu.onnx"


@pytest.mark.skipif(not FOAMLIU.is_file(), reason="research data folder not found (set UNVEIL_DATA)")
def test_real_perceptual_network_converts():
    enc = OnnxEncoder(FOAMLIU)
    net = load_torch_encoder(str(FOAMLIU))
    imgs = np.random.default_rng(0).integers(0, 256, (2, 112, 112, 3), dtype=np.uint8)
    with torch.no_grad():
        got = net(torch.from_numpy(enc.preprocess_uint8(imgs))).numpy()
    np.testing.assert_allclose(got, enc.encode_uint8(imgs), rtol=1e-4, atol=1e-4)
    assert len(net.default_taps()) == 4


def test_batchnorm_recalibration_matches_the_weights_in_use():
    """Stale running statistics (as an EMA copy inherits) are replaced by the weights' own."""
    import torch

    from unveil_training.gan import GANConfig, Generator, recalibrate_batchnorm
    torch.manual_seed(0)
    g = Generator(GANConfig(ngf=8))
    for m in g.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.fill_(3.0)
            m.running_var.fill_(50.0)
    z = torch.randn(512, 128)
    with torch.no_grad():
        batch_stats = g.train().native(z)
        recalibrate_batchnorm(g, 8, 512, 1, torch.device("cpu"))
        assert not g.training
        running_stats = g.native(z)
    assert float((batch_stats - running_stats).abs().mean()) < 0.02
