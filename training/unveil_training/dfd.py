"""Deep Face Decoder (after Krizaj et al.): a face template -> the aligned face it came from.

The decoder is an inverted VGG-style stack: a linear layer to a small C x s x s map, then blocks
of nearest-neighbour 2x upsampling + 3x3 convolutions with BatchNorm and ReLU (dropout between
blocks), a 3x3 convolution to RGB and a sigmoid. The 64 variant starts at 4x4 and ends at 64x64;
the 112 variant starts at 7x7 and ends at 112x112. The bilinear upsampling to the 112x112 ArcFace
frame is part of the model, so the exported ONNX always outputs [N, 3, 112, 112] in [0, 1].

The template is L2-normalised inside the model (times sqrt(D), for unit-scale inputs): encoders'
raw template norms vary (fr_feature's output is not normalised) and carry no identity.

Loss: pixel L2 + image-gradient L2 + a perceptual term on a face network other than the target
encoder, each on the whole image and again on the central face region (the "local" terms).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .encoders import preprocess_torch

OUTPUT_SIZE = 112
# Central face region in the ArcFace 112 frame: brows to below the mouth, cheek to cheek
# (eyes at y~52, mouth corners at y~92, x 38..74).
LOCAL_BOX_112 = (24, 32, 88, 96)


@dataclass
class DFDConfig:
    template_dim: int
    size: int = 64
    stem_channels: int = 512
    widths: tuple[int, ...] = (256, 128, 64, 32)
    convs_per_block: int = 1
    dropout: float = 0.1

    def __post_init__(self):
        self.widths = tuple(int(w) for w in self.widths)
        start = self.size / 2 ** len(self.widths)
        if start != int(start) or start < 2:
            raise ValueError(f"size {self.size} is not reachable from an integer start with {len(self.widths)} doublings")

    @property
    def start(self) -> int:
        return self.size // 2 ** len(self.widths)


# Starting points sized to the budgets in training/README.md; CLI flags override each field.
DFD_PRESETS = {
    # 2-core CPU, <= 90 min: 64x64 decoder, one conv per block (~0.6 GFLOP per image forward).
    "cpu": {"size": 64, "stem_channels": 512, "widths": (256, 128, 64, 32), "convs_per_block": 1, "batch_size": 32, "lr": 1e-3},
    # One GPU: native 112x112, two convs per block.
    "gpu": {"size": 112, "stem_channels": 256, "widths": (256, 128, 64, 32), "convs_per_block": 2, "batch_size": 128, "lr": 1e-3},
}


class DeepFaceDecoder(nn.Module):
    def __init__(self, cfg: DFDConfig):
        super().__init__()
        self.cfg = cfg
        c0, s0 = cfg.stem_channels, cfg.start
        self.stem = nn.Sequential(
            nn.Linear(cfg.template_dim, c0 * s0 * s0),
            nn.Unflatten(1, (c0, s0, s0)),
            nn.BatchNorm2d(c0),
            nn.ReLU(inplace=True),
        )
        blocks = []
        cin = c0
        for i, w in enumerate(cfg.widths):
            layers: list[nn.Module] = [nn.Upsample(scale_factor=2, mode="nearest")]
            for j in range(cfg.convs_per_block):
                layers += [nn.Conv2d(cin if j == 0 else w, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True)]
            # Full resolution keeps every channel: dropout there would punch holes in the detail.
            if cfg.dropout > 0 and i < len(cfg.widths) - 1:
                layers.append(nn.Dropout2d(cfg.dropout))
            blocks.append(nn.Sequential(*layers))
            cin = w
        self.blocks = nn.Sequential(*blocks)
        self.head = nn.Sequential(nn.Conv2d(cin, 3, 3, padding=1), nn.Sigmoid())

    def decode(self, template: torch.Tensor) -> torch.Tensor:
        """Template [N, D] -> image at the native size, [N, 3, size, size] in [0, 1]."""
        t = F.normalize(template, dim=1, eps=1e-8) * math.sqrt(self.cfg.template_dim)
        return self.head(self.blocks(self.stem(t)))

    def to_output(self, native: torch.Tensor) -> torch.Tensor:
        if self.cfg.size == OUTPUT_SIZE:
            return native
        return F.interpolate(native, size=(OUTPUT_SIZE, OUTPUT_SIZE), mode="bilinear", align_corners=False)

    def forward(self, template: torch.Tensor) -> torch.Tensor:
        return self.to_output(self.decode(template))


def crop_box(x: torch.Tensor, box112=LOCAL_BOX_112) -> torch.Tensor:
    """The central face region of an aligned image of any size (box scaled from the 112 frame)."""
    k = x.shape[-1] / OUTPUT_SIZE
    x0, y0, x1, y1 = (int(round(v * k)) for v in box112)
    return x[..., y0:y1, x0:x1]


def image_gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def gradient_l2(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    (ax, ay), (bx, by) = image_gradients(a), image_gradients(b)
    return F.mse_loss(ax, bx) + F.mse_loss(ay, by)


class PerceptualFeatures(nn.Module):
    """Feature maps of a frozen face network (converted from ONNX) for a [0,1] RGB image.
    Distance per tap: squared difference of channel-normalised features (as in LPIPS, without
    learned weights), plus 1 - cosine of the network's embeddings."""

    def __init__(self, network: nn.Module, manifest: dict, taps: list[str] | None = None):
        super().__init__()
        self.network = network
        self.manifest = manifest
        self.taps = list(taps) if taps is not None else network.default_taps()
        self.output_name = network.output_name

    def features(self, x01: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.network(preprocess_torch(x01, self.manifest), taps=self.taps)

    def distance(self, pred: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> torch.Tensor:
        terms = []
        for name in self.taps:
            p = F.normalize(pred[name], dim=1, eps=1e-6)
            t = F.normalize(target[name], dim=1, eps=1e-6)
            terms.append((p - t).pow(2).sum(1).mean())
        e_p, e_t = pred[self.output_name].flatten(1), target[self.output_name].flatten(1)
        terms.append((1 - F.cosine_similarity(e_p, e_t, dim=1)).mean())
        return torch.stack(terms).mean()


@dataclass
class LossWeights:
    pixel: float = 1.0
    gradient: float = 1.0
    perceptual: float = 0.1
    # Multiplies each term again on the central face region.
    local: float = 0.5

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class DFDLoss:
    perceptual: PerceptualFeatures | None
    weights: LossWeights = field(default_factory=LossWeights)

    def __call__(self, pred_native, pred112, target_native, target112) -> tuple[torch.Tensor, dict[str, float]]:
        w = self.weights
        parts: dict[str, torch.Tensor] = {
            "pixel": F.mse_loss(pred_native, target_native),
            "gradient": gradient_l2(pred_native, target_native),
            "pixel_local": F.mse_loss(crop_box(pred_native), crop_box(target_native)),
            "gradient_local": gradient_l2(crop_box(pred_native), crop_box(target_native)),
        }
        total = w.pixel * (parts["pixel"] + w.local * parts["pixel_local"]) + \
            w.gradient * (parts["gradient"] + w.local * parts["gradient_local"])
        if self.perceptual is not None and w.perceptual > 0:
            # The local crop is resized back to 112 so the face network sees its usual input size.
            def local(x):
                return F.interpolate(crop_box(x), size=(OUTPUT_SIZE, OUTPUT_SIZE), mode="bilinear", align_corners=False)

            with torch.no_grad():
                t_whole = self.perceptual.features(target112)
                t_local = self.perceptual.features(local(target112))
            parts["perceptual"] = self.perceptual.distance(self.perceptual.features(pred112), t_whole)
            parts["perceptual_local"] = self.perceptual.distance(self.perceptual.features(local(pred112)), t_local)
            total = total + w.perceptual * (parts["perceptual"] + w.local * parts["perceptual_local"])
        return total, {k: float(v.detach()) for k, v in parts.items()}


def parameter_bytes(model: nn.Module, bytes_per_value: int = 4) -> int:
    return sum(p.numel() for p in model.parameters()) * bytes_per_value
