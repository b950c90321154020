"""Vec2Face feature-conditional generators (Truong et al.): DiBiGAN and its attention variant DAB-GAN.

Both map one input row [template (D values) | v (noise, `noise_dim` values)] to an aligned face:
the template is L2-normalised (x sqrt(D)) and mapped to a style vector w that is injected at
every scale (AdaIN in the CNN, adaptive LayerNorm in the attention blocks); v enters the stem
only and carries what the template does not (background, pose details). Each generator has RGB
heads at 16, 32 and 64 px (the resolution stages of Eqn. 14); the exported graph returns the
64 px head, bilinearly upsampled to the 112x112 ArcFace frame, in [0, 1].

One input row (not two inputs) keeps the ONNX file a one-input model like every other decoder the
workbench runs; its manifest's `conditional.noiseDim` says where the template ends.

Critic: a WGAN-GP critic on 64x64 with a projection term on the template (conditional).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

OUTPUT_SIZE = 112
STAGES = (16, 32, 64)
DEFAULT_WIDTHS = {"dibigan": (128, 96, 64, 32, 16), "dabgan": (96, 96, 64, 32, 16)}


@dataclass
class GeneratorConfig:
    arch: str = "dibigan"
    template_dim: int = 512
    noise_dim: int = 32
    style_dim: int = 256
    # Channels at 4, 8, 16, 32, 64 px (DAB-GAN's 4x4 stem has the 8 px width); empty: the
    # architecture's default, sized to stay under 8 MB in float32.
    widths: tuple[int, ...] = ()
    heads: int = 4
    window: int = 8

    def __post_init__(self):
        if self.arch not in ("dibigan", "dabgan"):
            raise ValueError("arch must be dibigan or dabgan")
        self.widths = tuple(int(w) for w in self.widths) or DEFAULT_WIDTHS[self.arch]
        if len(self.widths) != 5:
            raise ValueError("widths: five channel counts, at 4, 8, 16, 32 and 64 px")

    def as_dict(self) -> dict:
        return asdict(self)


class AdaIN(nn.Module):
    """Instance normalisation, then a per-channel scale (1 + gamma) and shift from the style."""

    def __init__(self, c: int, style_dim: int):
        super().__init__()
        self.affine = nn.Linear(style_dim, 2 * c)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x, w):
        mu = x.mean((2, 3), keepdim=True)
        var = (x - mu).pow(2).mean((2, 3), keepdim=True)
        gamma, beta = self.affine(w)[:, :, None, None].chunk(2, 1)
        return (x - mu) / torch.sqrt(var + 1e-5) * (1 + gamma) + beta


class StyledConv(nn.Module):
    def __init__(self, cin: int, cout: int, style_dim: int, upsample: bool):
        super().__init__()
        self.upsample = upsample
        self.conv = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm = AdaIN(cout, style_dim)

    def forward(self, x, w):
        if self.upsample:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return F.leaky_relu(self.norm(self.conv(x), w), 0.2)


class ToRGB(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv = nn.Conv2d(c, 3, 1)

    def forward(self, x):
        return torch.sigmoid(self.conv(x))


class Mapping(nn.Module):
    """Normalised template -> style w (the identity code injected at every scale)."""

    def __init__(self, template_dim: int, style_dim: int):
        super().__init__()
        self.template_dim = template_dim
        self.net = nn.Sequential(nn.Linear(template_dim, style_dim), nn.LeakyReLU(0.2),
                                 nn.Linear(style_dim, style_dim), nn.LeakyReLU(0.2))

    def forward(self, t):
        return self.net(F.normalize(t, dim=1, eps=1e-8) * math.sqrt(self.template_dim))


class Vec2FaceGenerator(nn.Module):
    """Shared input handling and output heads; subclasses build `stages(x, w)`."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        self.cfg = cfg
        self.mapping = Mapping(cfg.template_dim, cfg.style_dim)

    def split(self, row: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = self.cfg.template_dim
        return row[:, :d], row[:, d:]

    def multi_stage(self, row: torch.Tensor) -> list[torch.Tensor]:
        """The RGB outputs at 16, 32 and 64 px."""
        raise NotImplementedError

    def forward(self, row: torch.Tensor) -> torch.Tensor:
        return F.interpolate(self.multi_stage(row)[-1], size=(OUTPUT_SIZE, OUTPUT_SIZE), mode="bilinear",
                             align_corners=False)


class DiBiGANGenerator(Vec2FaceGenerator):
    """CNN: [w | v] -> 4x4 map -> styled 3x3 convolutions with nearest 2x upsampling to 64 px;
    two convolutions at 8 and 16 px (cheap there), one above."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__(cfg)
        c4, c8, c16, c32, c64 = cfg.widths
        self.stem = nn.Linear(cfg.style_dim + cfg.noise_dim, c4 * 16)
        self.stem_norm = AdaIN(c4, cfg.style_dim)
        self.blocks = nn.ModuleList([
            StyledConv(c4, c8, cfg.style_dim, True), StyledConv(c8, c8, cfg.style_dim, False),
            StyledConv(c8, c16, cfg.style_dim, True), StyledConv(c16, c16, cfg.style_dim, False),
            StyledConv(c16, c32, cfg.style_dim, True),
            StyledConv(c32, c64, cfg.style_dim, True),
        ])
        # Which block's output each RGB head reads (16, 32, 64 px).
        self.head_after = (3, 4, 5)
        self.heads = nn.ModuleList([ToRGB(c16), ToRGB(c32), ToRGB(c64)])

    def multi_stage(self, row):
        t, v = self.split(row)
        w = self.mapping(t)
        x = self.stem(torch.cat([w, v], 1)).reshape(-1, self.cfg.widths[0], 4, 4)
        x = F.leaky_relu(self.stem_norm(x, w), 0.2)
        outs = []
        for i, b in enumerate(self.blocks):
            x = b(x, w)
            if i in self.head_after:
                outs.append(self.heads[self.head_after.index(i)](x))
        return outs


class AdaLN(nn.Module):
    """LayerNorm over channels of [M, T, C] tokens, scale and shift from the style (per sample)."""

    def __init__(self, c: int, style_dim: int):
        super().__init__()
        self.affine = nn.Linear(style_dim, 2 * c)
        nn.init.zeros_(self.affine.weight)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x, w):
        # x [N, T, C], w [N, S]
        mu = x.mean(-1, keepdim=True)
        var = (x - mu).pow(2).mean(-1, keepdim=True)
        gamma, beta = self.affine(w)[:, None, :].chunk(2, -1)
        return (x - mu) / torch.sqrt(var + 1e-5) * (1 + gamma) + beta


class WindowAttentionBlock(nn.Module):
    """Transformer block on non-overlapping `window` x `window` windows (memory bounded by the
    window, not the image): adaptive LayerNorm (template) -> multi-head self-attention -> adaptive
    LayerNorm -> MLP, each with a residual. A learned position embedding per window position."""

    def __init__(self, c: int, heads: int, window: int, side: int, style_dim: int):
        super().__init__()
        self.c, self.heads, self.window, self.side = c, heads, min(window, side), side
        self.norm1 = AdaLN(c, style_dim)
        self.qkv = nn.Linear(c, 3 * c)
        self.proj = nn.Linear(c, c)
        self.norm2 = AdaLN(c, style_dim)
        self.mlp = nn.Sequential(nn.Linear(c, 2 * c), nn.GELU(), nn.Linear(2 * c, c))
        self.pos = nn.Parameter(torch.zeros(1, self.window * self.window, c))
        nn.init.normal_(self.pos, 0, 0.02)

    def forward(self, x, w):
        c, ws, s = self.c, self.window, self.side
        nw = s // ws
        # [N, C, H, W] -> windows [N, nw*nw*ws*ws, C] grouped per window.
        h = x.permute(0, 2, 3, 1).reshape(-1, nw, ws, nw, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, nw * nw * ws * ws, c)
        a = self.norm1(h, w).reshape(-1, ws * ws, c) + self.pos
        hd = c // self.heads
        qkv = self.qkv(a).reshape(-1, ws * ws, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = torch.softmax(q @ k.transpose(-1, -2) * (hd ** -0.5), dim=-1)
        o = (att @ v).permute(0, 2, 1, 3).reshape(-1, nw * nw * ws * ws, c)
        h = h + self.proj(o)
        h = h + self.mlp(self.norm2(h, w))
        return h.reshape(-1, nw, nw, ws, ws, c).permute(0, 5, 1, 3, 2, 4).reshape(-1, c, s, s)


class DABGANGenerator(Vec2FaceGenerator):
    """Attention generator: [w | v] -> 4x4 -> 8x8 tokens -> windowed transformer blocks at 8 (two),
    16 and 32 px, each scale (and the 64 px output) reached by nearest 2x upsampling + a styled
    3x3 conv; the template's style modulates every block (AdaLN) and every conv (AdaIN)."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__(cfg)
        _, c8, c16, c32, c64 = cfg.widths
        sd = cfg.style_dim
        # A 4x4 stem and one styled upsampling conv: a linear layer straight to 8x8 tokens would
        # hold most of the parameters.
        self.stem = nn.Linear(sd + cfg.noise_dim, c8 * 16)
        self.stem_norm = AdaIN(c8, sd)
        self.up8 = StyledConv(c8, c8, sd, True)
        self.attn8 = nn.ModuleList([WindowAttentionBlock(c8, cfg.heads, cfg.window, 8, sd) for _ in range(2)])
        self.up16 = StyledConv(c8, c16, sd, True)
        self.attn16 = WindowAttentionBlock(c16, cfg.heads, cfg.window, 16, sd)
        self.up32 = StyledConv(c16, c32, sd, True)
        self.attn32 = WindowAttentionBlock(c32, max(1, cfg.heads // 2), cfg.window, 32, sd)
        # At 64 px a styled conv only: attention there cost more than the rest of the network.
        self.up64 = StyledConv(c32, c64, sd, True)
        self.heads = nn.ModuleList([ToRGB(c16), ToRGB(c32), ToRGB(c64)])

    def multi_stage(self, row):
        t, v = self.split(row)
        w = self.mapping(t)
        x = self.stem(torch.cat([w, v], 1)).reshape(-1, self.cfg.widths[1], 4, 4)
        x = self.up8(F.leaky_relu(self.stem_norm(x, w), 0.2), w)
        for b in self.attn8:
            x = b(x, w)
        x = self.attn16(self.up16(x, w), w)
        o16 = self.heads[0](x)
        x = self.attn32(self.up32(x, w), w)
        o32 = self.heads[1](x)
        return [o16, o32, self.heads[2](self.up64(x, w))]


def build_generator(cfg: GeneratorConfig) -> Vec2FaceGenerator:
    return DiBiGANGenerator(cfg) if cfg.arch == "dibigan" else DABGANGenerator(cfg)


class Critic(nn.Module):
    """WGAN-GP critic on 64x64 (no normalisation layers: the gradient penalty is per sample),
    conditional by projection: f(x) = a . phi(x) + <E t, phi(x)>."""

    def __init__(self, template_dim: int, width: int = 32):
        super().__init__()
        c = width
        self.net = nn.Sequential(
            nn.Conv2d(3, c, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * c, 4 * c, 4, 2, 1), nn.LeakyReLU(0.2),
            nn.Conv2d(4 * c, 8 * c, 4, 2, 1), nn.LeakyReLU(0.2),
        )
        self.out = nn.Linear(8 * c, 1)
        self.embed = nn.Linear(template_dim, 8 * c, bias=False)

    def forward(self, x01, template):
        phi = self.net(x01 * 2 - 1).sum((2, 3))
        t = F.normalize(template, dim=1, eps=1e-8)
        return self.out(phi).squeeze(1) + (self.embed(t) * phi).sum(1)


def gradient_penalty(critic: Critic, real, fake, template) -> torch.Tensor:
    """Gulrajani et al.: (||grad_x D(x_mix)|| - 1)^2 on random interpolates."""
    eps = torch.rand(len(real), 1, 1, 1, device=real.device)
    mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (g,) = torch.autograd.grad(critic(mix, template).sum(), mix, create_graph=True)
    return (g.flatten(1).norm(dim=1) - 1).pow(2).mean()


def stage_weights(count: int = len(STAGES), mode: str = "exp") -> list[float]:
    """Eqn. 14: stage s of S weighted by exp(s) / sum_k exp(k), so finer stages dominate and the
    coarse ones still shape the layout; 'last' puts all weight on the final stage."""
    if mode == "last":
        return [0.0] * (count - 1) + [1.0]
    e = [math.exp(s) for s in range(1, count + 1)]
    return [x / sum(e) for x in e]


LOSS_NAMES = ("adv", "l1", "bij", "distill")


@dataclass
class Vec2FaceLossConfig:
    losses: tuple[str, ...] = LOSS_NAMES
    stage_weighting: str = "exp"
    w_adv: float = 0.05
    w_l1: float = 1.0
    w_bij: float = 0.1
    w_distill: float = 1.0
    w_features: float = 0.5
    w_gp: float = 10.0
    margin: float = 1.0
    contrastive: float = 1.0
    gp_every: int = 4
    drift: float = 1e-3

    def as_dict(self) -> dict:
        return asdict(self)


def resize(x: torch.Tensor, size: int) -> torch.Tensor:
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
