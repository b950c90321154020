"""Student encoder for Vec2Face's distillation (Truong et al., Eqns. 10-11).

The target engine is a black box: it is only *queried* for templates of training images (the
template cache), never differentiated. The student learns to reproduce those templates (loss
1 - cosine, Eqn. 10); its intermediate feature maps and its embedding then give the generator a
differentiable stand-in for the engine (Eqn. 11).

Two forms: a small CNN on 64x64 crops trained from scratch, or (``backbone``) a frozen public
face network, converted from ONNX, with a trained head onto the engine's template space. Why the
second: on a 2-core CPU a from-scratch student reached cosine 0.16 to the engine in the minutes
it could be given, too weak for its features to carry identity; a face network's features carry
it at once, and only the head has to be learned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .encoders import preprocess_torch
from .onnx_patch import sha256_file
from .onnx_torch import load_torch_encoder

STUDENT_SIZE = 64
BACKBONE_SIZE = 112


@dataclass
class StudentConfig:
    template_dim: int = 512
    widths: tuple[int, ...] = (32, 64, 128, 256)
    # A pretrained face network: {"path", "sha256", "manifest", "dim"}; None = the CNN from scratch.
    backbone: dict | None = None

    def __post_init__(self):
        self.widths = tuple(int(w) for w in self.widths)

    def as_dict(self) -> dict:
        return asdict(self)


class StudentEncoder(nn.Module):
    """RGB in [0, 1] -> template; `features=True` also returns each stage's feature map."""

    def __init__(self, cfg: StudentConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.backbone:
            self._init_backbone(cfg.backbone)
            return
        self.backbone = None
        self.input_size = STUDENT_SIZE
        stages = []
        cin = 3
        for w in cfg.widths:
            stages.append(nn.Sequential(
                nn.Conv2d(cin, w, 3, 2, 1, bias=False), nn.BatchNorm2d(w), nn.PReLU(w),
                nn.Conv2d(w, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.PReLU(w),
            ))
            cin = w
        self.stages = nn.ModuleList(stages)
        side = STUDENT_SIZE // 2 ** len(cfg.widths)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(cin * side * side, cfg.template_dim),
                                  nn.BatchNorm1d(cfg.template_dim))

    def _init_backbone(self, b: dict) -> None:
        if sha256_file(b["path"]) != b["sha256"]:
            raise ValueError(f"student backbone {b['path']} is not the file it was trained with (sha256 {b['sha256'][:16]}…)")
        self.backbone = load_torch_encoder(b["path"])
        self.backbone_manifest = b["manifest"]
        self.taps = self.backbone.default_taps(BACKBONE_SIZE)
        self.input_size = BACKBONE_SIZE
        self.head = nn.Linear(int(b["dim"]), self.cfg.template_dim)

    def forward(self, x01: torch.Tensor, features: bool = False):
        if x01.shape[-1] != self.input_size:
            x01 = F.interpolate(x01, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False,
                                antialias=x01.shape[-1] > self.input_size)
        if self.backbone is not None:
            env = self.backbone(preprocess_torch(x01, self.backbone_manifest), taps=self.taps)
            out = self.head(env[self.backbone.output_name].flatten(1))
            return (out, [env[t] for t in self.taps]) if features else out
        h = x01 * 2 - 1
        maps = []
        for s in self.stages:
            h = s(h)
            maps.append(h)
        out = self.head(h)
        return (out, maps) if features else out


def cosine_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Eqn. 10: 1 - cos(student(x), engine(x)), averaged over the batch."""
    return (1 - F.cosine_similarity(pred, target, dim=1)).mean()


def distillation_loss(student: StudentEncoder, recon64: torch.Tensor, real64: torch.Tensor, template: torch.Tensor,
                      feature_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Eqn. 11: per-stage distances between the student's (channel-normalised) feature maps of
    the reconstruction and of the original, plus 1 - cos(student(reconstruction), engine
    template). The student is frozen; gradients reach only the reconstruction."""
    with torch.no_grad():
        _, real_maps = student(real64, features=True)
    emb, maps = student(recon64, features=True)
    feat = torch.stack([(F.normalize(a, dim=1, eps=1e-6) - F.normalize(b, dim=1, eps=1e-6)).pow(2).sum(1).mean()
                        for a, b in zip(maps, real_maps)]).mean()
    cos = (1 - F.cosine_similarity(emb, template, dim=1)).mean()
    return feature_weight * feat + cos, {"distill_features": float(feat.detach()), "distill_cosine": float(cos.detach())}


def load_student(path, device="cpu") -> tuple[StudentEncoder, dict]:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    model = StudentEncoder(StudentConfig(**ck["config"]))
    # A backbone's weights come from its (sha256-checked) ONNX file; only the head is stored.
    model.load_state_dict(ck["model"], strict=model.backbone is None)
    model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model, ck
