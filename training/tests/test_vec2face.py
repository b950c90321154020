"""Vec2Face smoke tests: student, flow and both generators train a few steps, export and run."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from unveil_training import train_vec2face
from unveil_training.flow import FaceFlow, FlowConfig, bijective_loss
from unveil_training.metrics import verification_accuracy
from unveil_training.onnx_patch import sha256_file
from unveil_training.vec2face import GeneratorConfig, build_generator, stage_weights


def _lfw(world):
    """A tiny 'aligned LFW' (sources Name/Name_000k.jpg) with a pairs file."""
    root = world["base"] / "lfw-tiny"
    if root.exists():
        return root, world["base"] / "pairs.txt"
    from conftest import make_aligned_dataset

    make_aligned_dataset(root, ["A", "A", "B", "B", "C", "C"], seed=5)
    m = json.loads((root / "manifest.json").read_text())
    for i, it in enumerate(m["items"]):
        it["source"] = f"{it['identity']}/{it['identity']}_{i % 2 + 1:04d}.jpg"
    (root / "manifest.json").write_text(json.dumps(m))
    lines = ["3"] + [f"{n}\t1\t2" for n in "ABC"] + ["A\t1\tB\t2", "B\t1\tC\t2", "C\t1\tA\t2"]
    (world["base"] / "pairs.txt").write_text("\n".join(lines) + "\n")
    return root, world["base"] / "pairs.txt"


def _common(world, run: str, steps: int = 3):
    return ["--data", ",".join(str(d) for d in world["data"]), "--max-steps", str(steps), "--seed", "2", "--batch-size", "4",
            "--val-fraction", "0.25", "--cache-dir", str(world["cache"]), "--run-dir", str(world["base"] / "runs" / run),
            "--threads", "1", "--log-every", "1", "--quiet"]


@pytest.fixture(scope="module")
def aux(world):
    lfw, pairs = _lfw(world)
    s = train_vec2face.main(["student", *_common(world, "student"), "--id", "st", "--encoder", str(world["target"]),
                             "--widths", "8,8,8,8", "--lfw", str(lfw), "--lfw-pairs", str(pairs)])
    f = train_vec2face.main(["flow", *_common(world, "flow"), "--id", "fl", "--hidden", "8", "--steps-per-level", "1"])
    return s, f


def test_student_and_flow_stages(aux):
    s, f = aux
    assert s["step"] == 3 and -1 <= s["metrics"]["heldOutCosine"]["mean"] <= 1
    lfw = s["metrics"]["lfw"]
    assert lfw["pairs"] == 6 and 0 <= lfw["studentAccuracy"] <= 1 and 0 <= lfw["engineAccuracy"] <= 1
    assert f["step"] == 3 and np.isfinite(f["metrics"]["heldOutBitsPerDim"])
    assert f["metrics"]["inverseMaxAbsError"] < 1e-4


@pytest.mark.parametrize("arch", ["dibigan", "dabgan"])
def test_generator_trains_exports_and_runs(world, aux, arch):
    s, f = aux
    out = world["out"]
    result = train_vec2face.main(["generator", *_common(world, arch), "--id", f"{arch}-smoke", "--arch", arch,
                                  "--encoder", str(world["target"]), "--student", s["path"], "--flow", f["path"],
                                  "--widths", "8,8,8,8,8", "--noise-dim", "4", "--critic-width", "4", "--out", str(out),
                                  "--cross-encoders", str(world["other"]), "--val-limit", "4"])
    assert result["step"] == 3
    onnx_path = out / f"{arch}-smoke.onnx"
    m = json.loads((out / f"{arch}-smoke.json").read_text())
    assert m["role"] == "decoder" and m["sha256"] == sha256_file(onnx_path)
    assert m["input"] == {"name": "template", "shape": [-1, 20], "layout": "NC"}
    assert m["conditional"] == {"method": arch, "templateDim": 16, "noiseDim": 4}
    assert m["targetEncoder"]["sha256"] == sha256_file(world["target"]) and m["licence"].startswith("Research use only")
    assert result["export"]["parity_max_abs_diff"] < 1e-4
    assert onnx.load(str(onnx_path)).opset_import[0].version >= 17
    card = (out / f"{arch}-smoke.md").read_text()
    assert "python -m unveil_training.train_vec2face generator" in card and "hardware" in card and "seed" in card
    assert "student" in card and "flow" in card
    log = [json.loads(x) for x in (world["base"] / "runs" / arch / "log.jsonl").read_text().splitlines()]
    last = [r for r in log if r["message"] == "step"][-1]
    assert {"l1", "bij", "distill", "adv", "critic", "bij_margin", "distill_cosine"} <= set(last)
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    rows = np.random.default_rng(0).normal(size=(5, 20)).astype(np.float32)
    img = sess.run(None, {"template": rows})[0]
    assert img.shape == (5, 3, 112, 112) and 0 <= img.min() and img.max() <= 1
    # The noise changes the face; the batch dimension is free.
    other = rows.copy()
    other[:, 16:] = 0
    assert np.abs(sess.run(None, {"template": other})[0] - img).max() > 0


def test_student_on_a_backbone_learns_the_head_and_drives_a_generator(world):
    """A frozen backbone (another network than the engine) + a head: the least-squares start and
    the cosine steps reproduce the engine's templates on the training crops better than chance,
    the saved student holds only the head, and it feeds the generator's distillation loss."""
    s = train_vec2face.main(["student", *_common(world, "student-bb", 20), "--id", "st-bb", "--encoder", str(world["target"]),
                             "--backbone", str(world["other"]), "--val-fraction", "0"])
    assert s["step"] == 20 and s["metrics"]["heldOutCosine"]["mean"] > 0.5
    saved = torch.load(s["path"], weights_only=False)
    assert set(saved["model"]) == {"head.weight", "head.bias"}
    assert saved["config"]["backbone"]["sha256"] == sha256_file(world["other"])
    result = train_vec2face.main(["generator", *_common(world, "gen-bb", 2), "--id", "bb-smoke", "--arch", "dibigan",
                                  "--encoder", str(world["target"]), "--student", s["path"], "--losses", "adv,l1,distill",
                                  "--widths", "8,8,8,8,8", "--noise-dim", "4", "--critic-width", "4",
                                  "--out", str(world["base"] / "bb"), "--val-limit", "4"])
    assert result["step"] == 2
    assert "frozen" in (world["base"] / "bb" / "bb-smoke.md").read_text()
    with pytest.raises(SystemExit, match="another network"):
        train_vec2face.main(["student", *_common(world, "student-self"), "--id", "st-self", "--encoder", str(world["target"]),
                             "--backbone", str(world["target"])])


def test_student_on_a_backbone_resumes_from_its_checkpoint(world):
    """Checkpoints of a backbone student hold its head; --resume restores it and carries on."""
    args = ["student", *_common(world, "student-bb-resume", 4), "--id", "st-bb-rs", "--encoder", str(world["target"]),
            "--backbone", str(world["other"]), "--val-fraction", "0", "--checkpoint-minutes", "0"]
    train_vec2face.main(args)
    args[args.index("--max-steps") + 1] = "8"
    assert train_vec2face.main([*args, "--resume"])["step"] == 8


def test_loss_switches_are_checked(world):
    with pytest.raises(SystemExit):
        train_vec2face.main(["generator", *_common(world, "bad"), "--id", "x", "--arch", "dibigan", "--encoder",
                             str(world["target"]), "--out", str(world["base"]), "--losses", "adv,l1,distill"])
    with pytest.raises(SystemExit):
        train_vec2face.main(["generator", *_common(world, "bad"), "--id", "x", "--arch", "dibigan", "--encoder",
                             str(world["target"]), "--out", str(world["base"]), "--losses", "adv"])


def test_plain_cgan_variant_needs_no_auxiliary_networks(world):
    result = train_vec2face.main(["generator", *_common(world, "plain", 2), "--id", "plain-smoke", "--arch", "dibigan",
                                  "--encoder", str(world["target"]), "--losses", "adv,l1", "--stage-weighting", "last",
                                  "--widths", "8,8,8,8,8", "--noise-dim", "4", "--critic-width", "4",
                                  "--out", str(world["base"] / "plain"), "--val-limit", "4"])
    assert result["step"] == 2 and result["export"]["parity_max_abs_diff"] < 1e-4


def test_flow_is_exactly_invertible_and_the_metric_separates():
    torch.manual_seed(0)
    flow = FaceFlow(FlowConfig(2, 16)).eval()
    x = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        flow(x)  # ActNorm initialisation
        z, logdet = flow(x)
        assert float((flow.inverse(z) - x).abs().max()) < 1e-4
        # log-det from the layers equals the Jacobian's, on a tiny flow (exactness of the NLL).
        small = FaceFlow(FlowConfig(1, 4))
        small(x)
        xi = torch.rand(1, 3, 32, 32, dtype=torch.float64)
        small = small.double()
        jac = torch.autograd.functional.jacobian(lambda a: small(a.reshape(1, 3, 32, 32))[0].flatten(), xi.flatten(),
                                                   vectorize=True)
        assert abs(float(torch.linalg.slogdet(jac)[1]) - float(small(xi)[1])) < 1e-6
        same, _ = bijective_loss(flow, x, x, torch.arange(4), margin=0.0)
        assert float(same) < 1e-10
        far, parts = bijective_loss(flow, x.flip(0), x, torch.arange(4), margin=100.0)
        assert parts["bij_w2"] > 0 and parts["bij_margin"] > 0


def test_stage_weights_are_exponential():
    w = stage_weights(3)
    assert abs(sum(w) - 1) < 1e-9 and w[2] / w[1] == pytest.approx(np.e) and stage_weights(3, "last") == [0, 0, 1]


@pytest.mark.parametrize("arch", ["dibigan", "dabgan"])
def test_shipping_size_fits(arch):
    g = build_generator(GeneratorConfig(arch))
    assert sum(p.numel() for p in g.parameters()) * 4 < 8 * 2**20


def test_verification_accuracy_matches_the_lfw_protocol():
    scores = np.r_[np.linspace(0.8, 1, 20), np.linspace(0, 0.2, 20)]
    same = np.r_[np.ones(20, bool), np.zeros(20, bool)]
    assert verification_accuracy(scores, same) == 1.0
    assert verification_accuracy(-scores, same) <= 0.5
