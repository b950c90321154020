"""ONNX export with a parity check, registry manifests and model cards for resources/models.

The legacy TorchScript exporter (dynamo=False) is used: it exports these plain conv stacks with a
dynamic batch and no extra dependencies (the dynamo exporter needs onnxscript).

Export path: a CPU fp32 copy of the model in eval mode -> BatchNorm folded into the preceding
Conv/ConvTranspose/Linear -> (if the fp32 file would exceed the 20 MB artefact limit) every
parameter rounded to the nearest float16 -> legacy TorchScript exporter, opset 17, dynamic batch
-> large float initializers stored as float16 with a Cast to float32 in the graph (lossless,
since the values are already float16-exact) -> parity: onnxruntime vs the exported torch copy on
a batch of a different size than the export's, max abs difference < 1e-4 or ParityError.
The exported copy is also compared with the trained model: in fp32 the folding must change the
outputs by < 1e-4 too; the change fp16 rounding makes is measured and reported.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import helper, numpy_helper
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .encoders import ARCFACE_112
from .onnx_patch import sha256_file

MAX_ARTEFACT_BYTES = 20 * 1024 * 1024
OPSET = 17
PARITY_TOLERANCE = 1e-4
# Initializers smaller than this stay float32 (biases, shape constants): no gain in halving them.
FP16_MIN_ELEMENTS = 1024


class ParityError(RuntimeError):
    pass


class ArtefactTooLarge(RuntimeError):
    pass


@dataclass
class ExportReport:
    path: str
    sha256: str
    bytes: int
    weights: str
    parameters: int
    parity_max_abs_diff: float
    export_copy_max_abs_diff: float
    opset: int = OPSET

    def as_dict(self) -> dict:
        return asdict(self)


def _fold_linear_bn2d(linear: nn.Linear, bn: nn.BatchNorm2d, spatial: int) -> nn.Linear:
    """Linear -> Unflatten(C, s, s) -> BatchNorm2d is one Linear: each output row belongs to
    channel row // (s*s) and is scaled and shifted by that channel's BN affine."""
    k = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    shift = bn.bias - bn.running_mean * k
    k_rows = k.repeat_interleave(spatial)
    fused = nn.Linear(linear.in_features, linear.out_features, bias=True)
    with torch.no_grad():
        fused.weight.copy_(linear.weight * k_rows[:, None])
        b = linear.bias if linear.bias is not None else torch.zeros_like(k_rows)
        fused.bias.copy_(b * k_rows + shift.repeat_interleave(spatial))
    return fused


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """Folds every BatchNorm2d that directly follows a Conv2d/ConvTranspose2d, or a Linear +
    Unflatten, inside an nn.Sequential (in place; the model must be in eval mode)."""
    for seq in [m for m in model.modules() if isinstance(m, nn.Sequential)]:
        items = list(seq._modules.items())
        for i in range(len(items) - 1):
            (ka, a), (kb, b) = items[i], items[i + 1]
            if isinstance(a, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(b, nn.BatchNorm2d):
                seq._modules[ka] = fuse_conv_bn_eval(a, b, transpose=isinstance(a, nn.ConvTranspose2d))
                seq._modules[kb] = nn.Identity()
            elif (isinstance(a, nn.Linear) and isinstance(b, nn.Unflatten) and i + 2 < len(items)
                  and isinstance(items[i + 2][1], nn.BatchNorm2d)):
                kc, c = items[i + 2]
                spatial = int(np.prod(b.unflattened_size[1:]))
                seq._modules[ka] = _fold_linear_bn2d(a, c, spatial)
                seq._modules[kc] = nn.Identity()
    left = [n for n, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if left:
        raise ValueError(f"BatchNorm layers that could not be folded: {', '.join(left)}")
    return model


def _round_fp16(model: nn.Module) -> None:
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.half().float())


def _store_fp16(model: onnx.ModelProto) -> None:
    g = model.graph
    casts = []
    keep = []
    for t in g.initializer:
        a = numpy_helper.to_array(t)
        if t.data_type != onnx.TensorProto.FLOAT or a.size < FP16_MIN_ELEMENTS:
            keep.append(t)
            continue
        half = a.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), a):
            raise ValueError(f"initializer {t.name} is not float16-exact; rounding was not applied")
        keep.append(numpy_helper.from_array(half, f"{t.name}__fp16"))
        casts.append(helper.make_node("Cast", [f"{t.name}__fp16"], [t.name], to=onnx.TensorProto.FLOAT,
                                      name=f"{t.name}__cast"))
    del g.initializer[:]
    g.initializer.extend(keep)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)


def check_parity(reference: nn.Module, onnx_path: str | Path, example: torch.Tensor, input_name: str,
                 tolerance: float = PARITY_TOLERANCE) -> float:
    """Max abs difference between onnxruntime and the torch module; ParityError above tolerance."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = max(1, torch.get_num_threads())
    sess = ort.InferenceSession(str(onnx_path), so, providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = reference(example).numpy()
    got = sess.run(None, {input_name: example.numpy()})[0]
    if got.shape != ref.shape:
        raise ParityError(f"{onnx_path}: output shape {got.shape} differs from torch's {ref.shape}")
    diff = float(np.abs(got - ref).max())
    if not diff < tolerance:
        raise ParityError(f"{onnx_path}: onnxruntime and torch differ by {diff:.3g} (tolerance {tolerance:g})")
    return diff


def export_onnx(model: nn.Module, example: torch.Tensor, path: str | Path, input_name: str, output_name: str,
                weights: str = "auto") -> ExportReport:
    """Exports `model` (any device, train or eval mode: a CPU eval copy is used) to `path`.
    `example` is a CPU batch of >= 3 rows for the parity check; the export traces its first 2."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    trained = copy.deepcopy(model).float().cpu().eval().to(memory_format=torch.contiguous_format)
    exported = fold_batchnorm(copy.deepcopy(trained))
    n_params = sum(p.numel() for p in exported.parameters())
    if weights == "auto":
        weights = "fp32" if n_params * 4 <= MAX_ARTEFACT_BYTES * 0.98 else "fp16"
    if weights not in ("fp32", "fp16"):
        raise ValueError("weights must be auto, fp32 or fp16")
    if weights == "fp16":
        _round_fp16(exported)
    if len(example) < 3:
        raise ValueError("the parity batch needs at least 3 rows: the export traces 2, parity checks another size")
    trace_input = example[:2]
    with warnings.catch_warnings():
        # The legacy exporter is deliberate (see the module docstring); its deprecation notice is noise.
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            exported, (trace_input,), str(path), dynamo=False, opset_version=OPSET,
            input_names=[input_name], output_names=[output_name],
            dynamic_axes={input_name: {0: "batch"}, output_name: {0: "batch"}}, do_constant_folding=True,
        )
    m = onnx.load(str(path))
    if weights == "fp16":
        _store_fp16(m)
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, str(path))
    size = path.stat().st_size
    if size > MAX_ARTEFACT_BYTES:
        raise ArtefactTooLarge(f"{path.name} is {size / 2**20:.1f} MiB, over the {MAX_ARTEFACT_BYTES // 2**20} MiB limit for "
                               "resources/models: make the model narrower")
    parity = check_parity(exported, path, example, input_name)
    with torch.no_grad():
        copy_diff = float((exported(example) - trained(example)).abs().max())
    # In fp32 the exported copy differs from the trained model only by BatchNorm folding.
    if weights == "fp32" and not copy_diff < PARITY_TOLERANCE:
        raise ParityError(f"BatchNorm folding changed the outputs by {copy_diff:.3g}")
    return ExportReport(str(path), sha256_file(path), size, weights, n_params, parity, copy_diff)


def _image_output(output_name: str) -> dict:
    return {"name": output_name, "shape": [-1, 3, 112, 112]}


ALIGNMENT = {"size": [112, 112], "points": ARCFACE_112}


def decoder_manifest(model_id: str, name: str, report: ExportReport, template_dim: int, target_encoder: dict,
                     licence: str, source: str, notes: str | None = None) -> dict:
    """Registry manifest (src/shared/types.ts ModelManifest) of a template -> image decoder.
    `targetEncoder` names the encoder whose templates it inverts (not read by the app's validator)."""
    m = {
        "id": model_id, "name": name, "role": "decoder", "file": Path(report.path).name, "sha256": report.sha256,
        "input": {"name": "template", "shape": [-1, template_dim], "layout": "NC"},
        "output": _image_output("image"),
        "outputRange": [0, 1], "alignment": ALIGNMENT, "licence": licence, "source": source,
        "targetEncoder": target_encoder,
    }
    if notes:
        m["notes"] = notes
    return m


def generator_manifest(model_id: str, name: str, report: ExportReport, latent_dim: int, licence: str, source: str,
                       notes: str | None = None) -> dict:
    m = {
        "id": model_id, "name": name, "role": "generator", "file": Path(report.path).name, "sha256": report.sha256,
        "input": {"name": "z", "shape": [-1, latent_dim], "layout": "NC"},
        "output": _image_output("image"),
        "latentDim": latent_dim, "outputRange": [0, 1], "alignment": ALIGNMENT, "licence": licence, "source": source,
    }
    if notes:
        m["notes"] = notes
    return m


def write_manifest(path: str | Path, manifest: dict) -> None:
    Path(path).write_text(json.dumps(manifest, indent=2) + "\n")


# Dataset folder names -> terms; anything else is flagged for a person to check.
DATASET_TERMS = {
    "celeba": "CelebA: non-commercial research only",
    "utkface": "UTKFace: non-commercial research only",
    "lfw": "LFW: research benchmark, no licence granted for other uses",
}


def dataset_licence(names: list[str]) -> str:
    terms = []
    for n in names:
        key = next((k for k in DATASET_TERMS if n.lower().startswith(k)), None)
        terms.append(DATASET_TERMS[key] if key else f"{n}: terms unknown, check before any use")
    return f"Research use only (trained on {', '.join(names)}; {'; '.join(dict.fromkeys(terms))})"


def write_model_card(path: str | Path, title: str, summary: str, rows: list[tuple[str, str]],
                     metrics: list[tuple[str, str]], notes: list[str] | None = None) -> None:
    """Markdown model card in the style of resources/models/eigenface-celeba-utk-128.md."""
    lines = [f"# Model card: {title}", "", summary, "", "| | |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    lines += ["", "## Metrics", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in metrics]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    Path(path).write_text("\n".join(lines) + "\n")
