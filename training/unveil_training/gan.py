"""A DCGAN face prior for the workbench's latent searches.

Generator: z (128 standard-normal values) -> transposed-convolution stack (BatchNorm, ReLU) to
64x64 RGB, a sigmoid for [0, 1], and a bilinear upsampling to the 112x112 ArcFace frame inside the
graph, so the exported ONNX is a drop-in `generator` like the eigenface prior. Discriminator: the
mirrored strided-convolution stack with LeakyReLU. Loss: the standard non-saturating GAN loss.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

OUTPUT_SIZE = 112


@dataclass
class GANConfig:
    latent_dim: int = 128
    ngf: int = 64
    ndf: int = 64
    size: int = 64

    def __post_init__(self):
        if self.size != 64:
            raise ValueError("the DCGAN stack is laid out for 64x64 (4 -> 8 -> 16 -> 32 -> 64)")


GAN_PRESETS = {
    # 2-core CPU, <= 90 min.
    "cpu": {"ngf": 64, "ndf": 48, "batch_size": 64, "lr": 2e-4},
    # One GPU: wider stacks (fp16 weights keep the generator under the 20 MB artefact limit).
    "gpu": {"ngf": 96, "ndf": 96, "batch_size": 256, "lr": 2e-4},
}


class Generator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        self.cfg = cfg
        g = cfg.ngf
        self.net = nn.Sequential(
            nn.Unflatten(1, (cfg.latent_dim, 1, 1)),
            nn.ConvTranspose2d(cfg.latent_dim, 8 * g, 4, 1, 0, bias=False), nn.BatchNorm2d(8 * g), nn.ReLU(True),
            nn.ConvTranspose2d(8 * g, 4 * g, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * g), nn.ReLU(True),
            nn.ConvTranspose2d(4 * g, 2 * g, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * g), nn.ReLU(True),
            nn.ConvTranspose2d(2 * g, g, 4, 2, 1, bias=False), nn.BatchNorm2d(g), nn.ReLU(True),
            nn.ConvTranspose2d(g, 3, 4, 2, 1), nn.Sigmoid(),
        )
        init_dcgan(self)

    def native(self, z: torch.Tensor) -> torch.Tensor:
        """z [N, latent] -> [N, 3, 64, 64] in [0, 1]."""
        return self.net(z)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.native(z), size=(OUTPUT_SIZE, OUTPUT_SIZE), mode="bilinear", align_corners=False)


class Discriminator(nn.Module):
    def __init__(self, cfg: GANConfig):
        super().__init__()
        d = cfg.ndf
        self.net = nn.Sequential(
            nn.Conv2d(3, d, 4, 2, 1), nn.LeakyReLU(0.2, True),
            nn.Conv2d(d, 2 * d, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * d), nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * d, 4 * d, 4, 2, 1, bias=False), nn.BatchNorm2d(4 * d), nn.LeakyReLU(0.2, True),
            nn.Conv2d(4 * d, 8 * d, 4, 2, 1, bias=False), nn.BatchNorm2d(8 * d), nn.LeakyReLU(0.2, True),
            nn.Conv2d(8 * d, 1, 4, 1, 0),
        )
        init_dcgan(self)

    def forward(self, x01: torch.Tensor) -> torch.Tensor:
        """[N, 3, 64, 64] in [0, 1] -> [N] logits."""
        return self.net(x01 * 2 - 1).flatten(1).squeeze(1)


def init_dcgan(module: nn.Module) -> None:
    """Radford et al.'s initialisation: N(0, 0.02) convolutions, N(1, 0.02) BatchNorm scales."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z)))."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: -log D(G(z))."""
    return F.softplus(-fake_logits).mean()


@torch.no_grad()
def recalibrate_batchnorm(gen: Generator, batches: int, batch_size: int, seed: int, device: torch.device) -> None:
    """Re-estimates BatchNorm statistics for the weights as they are (a cumulative average over
    `batches` batches of fresh z). The EMA copy's running statistics belong to the raw weights,
    and normalising EMA activations with them washes the samples out."""
    norms = [m for m in gen.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    rng = torch.Generator().manual_seed(seed)
    gen.train()
    for _ in range(batches):
        gen.native(torch.randn(batch_size, gen.cfg.latent_dim, generator=rng).to(device))
    gen.eval()
    for m in norms:
        m.momentum = 0.1


class EMA:
    """Exponential moving average of the generator's weights (buffers copied as they are)."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        for e, p in zip(self.model.parameters(), model.parameters()):
            e.lerp_(p, 1 - self.decay)
        for e, b in zip(self.model.buffers(), model.buffers()):
            e.copy_(b)
