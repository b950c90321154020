"""The bijective metric of Vec2Face (Truong et al., Eqns. 6-9): a normalising flow H.

H is a small multi-scale Glow-like flow on 32x32 face crops: squeeze -> K steps (ActNorm,
invertible 1x1 convolution, affine coupling) -> split off half the channels -> squeeze -> K
steps. Every step is exactly invertible with an exact log-determinant, so the negative
log-likelihood is exact. The prior is one Gaussian per training identity, N(mu_c, I) with mu_c
on the all-ones line (Eqns. 8-9: mu_c = 1 * c; here c is the identity's rank scaled so that
adjacent identities' means lie `spacing` apart, which keeps the latent values small).

The metric between a reconstruction and its original is the 2-Wasserstein distance between the
Gaussians N(H(x_hat), I) and N(H(x), I) in H's space, which for equal covariances is the
distance of the means (Eqn. 6); the large-margin term pushes reconstructions at least `margin`
away from other identities' originals (Eqn. 7).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

FLOW_SIZE = 32


def squeeze(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    x = x.reshape(n, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4)
    return x.reshape(n, c * 4, h // 2, w // 2)


def unsqueeze(x: torch.Tensor) -> torch.Tensor:
    n, c, h, w = x.shape
    x = x.reshape(n, c // 4, 2, 2, h, w).permute(0, 1, 4, 2, 5, 3)
    return x.reshape(n, c // 4, h * 2, w * 2)


class ActNorm(nn.Module):
    """Per-channel affine, initialised from the first batch to zero mean and unit variance."""

    def __init__(self, c: int):
        super().__init__()
        self.loc = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, c, 1, 1))
        self.register_buffer("initialised", torch.tensor(0, dtype=torch.uint8))

    def forward(self, x):
        if not self.initialised:
            with torch.no_grad():
                self.loc.copy_(-x.mean((0, 2, 3), keepdim=True))
                self.log_scale.copy_(-torch.log(x.std((0, 2, 3), keepdim=True) + 1e-6))
                self.initialised.fill_(1)
        y = (x + self.loc) * torch.exp(self.log_scale)
        return y, self.log_scale.sum() * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return y * torch.exp(-self.log_scale) - self.loc


class InvConv1x1(nn.Module):
    """Glow's invertible 1x1 convolution: log|det W| per position, from slogdet."""

    def __init__(self, c: int, seed: int):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        w, _ = torch.linalg.qr(torch.randn(c, c, generator=g))
        self.weight = nn.Parameter(w)

    def forward(self, x):
        y = F.conv2d(x, self.weight[:, :, None, None])
        return y, torch.linalg.slogdet(self.weight)[1] * x.shape[2] * x.shape[3]

    def inverse(self, y):
        return F.conv2d(y, torch.linalg.inv(self.weight)[:, :, None, None])


class AffineCoupling(nn.Module):
    """The second half of the channels scaled and shifted by a CNN of the first half
    (log-scale bounded by tanh for stability); the last conv starts at zero (identity map)."""

    def __init__(self, c: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(c // 2, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 1), nn.ReLU(),
                                 nn.Conv2d(hidden, c, 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.scale = nn.Parameter(torch.ones(1, c - c // 2, 1, 1))

    def _params(self, a):
        h = self.net(a)
        log_s, t = h[:, 0::2], h[:, 1::2]
        return self.scale * torch.tanh(log_s), t

    def forward(self, x):
        a, b = x.chunk(2, 1)
        log_s, t = self._params(a)
        return torch.cat([a, (b + t) * torch.exp(log_s)], 1), log_s.flatten(1).sum(1)

    def inverse(self, y):
        a, b = y.chunk(2, 1)
        log_s, t = self._params(a)
        return torch.cat([a, b * torch.exp(-log_s) - t], 1)


class FlowStep(nn.Module):
    def __init__(self, c: int, hidden: int, seed: int):
        super().__init__()
        self.layers = nn.ModuleList([ActNorm(c), InvConv1x1(c, seed), AffineCoupling(c, hidden)])

    def forward(self, x):
        logdet = 0
        for layer in self.layers:
            x, ld = layer(x)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, y):
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y


@dataclass
class FlowConfig:
    steps: int = 4
    hidden: int = 64
    spacing: float = 0.02

    def as_dict(self) -> dict:
        return asdict(self)


class FaceFlow(nn.Module):
    """x (3x32x32 in [0,1]) <-> z (3072-d). Two levels: 12x16x16, split 6+6; 24x8x8."""

    def __init__(self, cfg: FlowConfig):
        super().__init__()
        self.cfg = cfg
        self.level1 = nn.ModuleList([FlowStep(12, cfg.hidden, i) for i in range(cfg.steps)])
        self.level2 = nn.ModuleList([FlowStep(24, cfg.hidden, 100 + i) for i in range(cfg.steps)])
        self.dim = 3 * FLOW_SIZE * FLOW_SIZE

    def forward(self, x01: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """z [N, 3072] and log|det dz/dx| [N] for x - 0.5 (x at 32x32, resized if not)."""
        if x01.shape[-1] != FLOW_SIZE:
            x01 = F.interpolate(x01, size=(FLOW_SIZE, FLOW_SIZE), mode="bilinear", align_corners=False, antialias=True)
        h = squeeze(x01 - 0.5)
        logdet = torch.zeros(len(x01), device=x01.device)
        for s in self.level1:
            h, ld = s(h)
            logdet = logdet + ld
        out1, h = h[:, :6], h[:, 6:]
        h = squeeze(h)
        for s in self.level2:
            h, ld = s(h)
            logdet = logdet + ld
        return torch.cat([out1.flatten(1), h.flatten(1)], 1), logdet

    def inverse(self, z: torch.Tensor) -> torch.Tensor:
        n = len(z)
        out1 = z[:, :6 * 16 * 16].reshape(n, 6, 16, 16)
        h = z[:, 6 * 16 * 16:].reshape(n, 24, 8, 8)
        for s in reversed(self.level2):
            h = s.inverse(h)
        h = torch.cat([out1, unsqueeze(h)], 1)
        for s in reversed(self.level1):
            h = s.inverse(h)
        return unsqueeze(h) + 0.5

    def class_means(self, labels: torch.Tensor, classes: int) -> torch.Tensor:
        """mu_c = 1 * s * (c - (C - 1) / 2) / sqrt(D): adjacent identities `spacing` apart."""
        k = self.cfg.spacing / math.sqrt(self.dim)
        return (k * (labels.float() - (classes - 1) / 2))[:, None].expand(-1, self.dim)


def nll_bits_per_dim(flow: FaceFlow, x01: torch.Tensor, labels: torch.Tensor, classes: int,
                     dequantise: bool = True) -> torch.Tensor:
    """Exact negative log-likelihood of 8-bit images under N(mu_label, I) in H's space, in bits per
    dimension (uniform dequantisation: x + U(0, 1/256))."""
    if x01.shape[-1] != FLOW_SIZE:
        x01 = F.interpolate(x01, size=(FLOW_SIZE, FLOW_SIZE), mode="bilinear", align_corners=False, antialias=True)
    if dequantise:
        x01 = x01 + torch.rand_like(x01) / 256
    z, logdet = flow(x01)
    d = flow.dim
    mu = flow.class_means(labels, classes)
    log_pz = -0.5 * ((z - mu) ** 2).sum(1) - 0.5 * d * math.log(2 * math.pi)
    log_px = log_pz + logdet - d * math.log(256)
    return (-log_px / (d * math.log(2))).mean()


def bijective_loss(flow: FaceFlow, recon: torch.Tensor, real: torch.Tensor, identities: torch.Tensor,
                   margin: float, contrastive_weight: float = 1.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Eqn. 6: W2(N(H(x_hat), I), N(H(x), I))^2 = ||H(x_hat) - H(x)||^2 (per dimension here), plus
    Eqn. 7's large-margin term: max(0, m - ||H(x_hat_i) - H(x_j)|| / sqrt(D))^2 over pairs of
    different identities in the batch. H is frozen; gradients reach only the reconstruction."""
    with torch.no_grad():
        z_real, _ = flow(real)
    z_fake, _ = flow(recon)
    d = flow.dim
    w2 = (z_fake - z_real).pow(2).sum(1).div(d).mean()
    dist = torch.cdist(z_fake, z_real) / math.sqrt(d)
    other = identities[:, None] != identities[None, :]
    hinge = F.relu(margin - dist[other]).pow(2).mean() if bool(other.any()) else dist.sum() * 0
    return w2 + contrastive_weight * hinge, {"bij_w2": float(w2.detach()), "bij_margin": float(hinge.detach())}


def load_flow(path, device="cpu") -> tuple[FaceFlow, dict]:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    flow = FaceFlow(FlowConfig(**ck["config"]))
    flow.load_state_dict(ck["model"])
    flow.to(device).eval()
    for p in flow.parameters():
        p.requires_grad_(False)
    return flow, ck
