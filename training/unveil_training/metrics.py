"""Image and template metrics: PSNR, SSIM (Wang et al. 2004), cosine, Frechet distance."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def psnr(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-image PSNR in dB of NCHW images; identical images are capped at 100 dB."""
    mse = (a.double() - b.double()).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(data_range ** 2 / mse.clamp_min(1e-10))).float()


def _gaussian_window(size: int, sigma: float, channels: int, device, dtype) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x ** 2) / (2 * sigma ** 2))
    g = g / g.sum()
    w = (g[:, None] * g[None, :]).to(device=device, dtype=dtype)
    return w.expand(channels, 1, size, size).contiguous()


def ssim(a: torch.Tensor, b: torch.Tensor, data_range: float = 1.0, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-image mean SSIM of NCHW images: 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03,
    valid positions only, averaged over channels (the usual reference implementation)."""
    a, b = a.double(), b.double()
    c = a.shape[1]
    w = _gaussian_window(window, sigma, c, a.device, a.dtype)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2

    def blur(x):
        return F.conv2d(x, w, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a ** 2
    var_b = blur(b * b) - mu_b ** 2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1).float()


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    return (np.sum(a * b, 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1) + 1e-12)).astype(np.float32)


def impostor_cosine_mean(t: np.ndarray) -> float:
    """Mean cosine between different rows: the baseline a reconstruction's cosine should beat."""
    u = np.asarray(t, np.float64)
    u = u / (np.linalg.norm(u, axis=1, keepdims=True) + 1e-12)
    g = u @ u.T
    n = len(u)
    return float((g.sum() - np.trace(g)) / max(n * (n - 1), 1))


def frechet_distance(x: np.ndarray, y: np.ndarray) -> float:
    """Frechet distance between Gaussians fitted to two sets of feature rows (as in FID, but on
    face-encoder templates). tr(sqrt(S1 S2)) comes from the eigenvalues of sqrt(S1) S2 sqrt(S1),
    which is symmetric, so no general matrix square root is needed."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    mu1, mu2 = x.mean(0), y.mean(0)
    s1, s2 = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    e, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(e, 0, None))) @ v.T
    mid = np.linalg.eigvalsh(root1 @ s2 @ root1)
    tr_sqrt = np.sqrt(np.clip(mid, 0, None)).sum()
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt)


def summary(values) -> dict:
    v = np.asarray(values, np.float64)
    return {"mean": float(v.mean()), "median": float(np.median(v)), "std": float(v.std()), "n": int(v.size)}


def _best_threshold(scores: np.ndarray, same: np.ndarray) -> float:
    """The threshold ("same" when score > threshold) with the most correct decisions."""
    order = np.argsort(scores, kind="stable")
    s, y = scores[order], same[order]
    # correct[i]: threshold just above s[i] -> pairs 0..i called different.
    correct = y.sum() - np.cumsum(y) + np.cumsum(~y)
    last = np.r_[s[1:] != s[:-1], True]
    i = int(np.argmax(np.where(last, correct, -1)))
    below = y.sum()
    if below >= correct[i]:
        return float(s[0] - 1e-6)
    return float((s[i] + s[i + 1]) / 2) if i + 1 < len(s) else float(s[i] + 1e-6)


def verification_accuracy(scores, same, folds: int = 10) -> float:
    """LFW protocol as the workbench computes it (evaluation/verification-accuracy.ts): 10
    interleaved folds, each scored at the threshold that is best on the other nine."""
    scores, same = np.asarray(scores, np.float64), np.asarray(same, bool)
    correct = 0
    for k in range(folds):
        test = np.arange(len(scores)) % folds == k
        t = _best_threshold(scores[~test], same[~test])
        correct += int(((scores[test] > t) == same[test]).sum())
    return correct / len(scores)
