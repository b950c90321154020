"""Aligned face datasets written by `unveil dataset align`, as uint8 arrays and [0,1] tensors.

A dataset folder holds 112x112 ArcFace-aligned PNG crops and a manifest.json
({format: 'unveil-aligned-dataset', version: 1, items: [{file, identity, ...}], ...}). Decoded
images are cached as one .npy per (dataset manifest, size) under the cache dir and memory-mapped,
so a 20k-image dataset costs one decoding pass, not one per run.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .encoders import cached_templates

ALIGNED_FORMAT = "unveil-aligned-dataset"
ALIGNED_SIZE = 112


class DatasetError(ValueError):
    pass


@dataclass
class AlignedDataset:
    root: Path
    name: str
    manifest_sha256: str
    layout: str
    items: list[dict]

    @staticmethod
    def open(root: str | Path) -> AlignedDataset:
        root = Path(root).resolve()
        path = root / "manifest.json"
        if not path.is_file():
            raise DatasetError(f"{root}: no manifest.json (not a folder written by `unveil dataset align`)")
        raw = path.read_bytes()
        m = json.loads(raw)
        if m.get("format") != ALIGNED_FORMAT or m.get("version") != 1:
            raise DatasetError(f"{path}: format must be {ALIGNED_FORMAT!r} version 1")
        items = m.get("items")
        if not isinstance(items, list) or not items:
            raise DatasetError(f"{path}: no aligned items")
        for i, it in enumerate(items):
            if not isinstance(it, dict) or not isinstance(it.get("file"), str):
                raise DatasetError(f"{path}: items[{i}] has no 'file'")
        return AlignedDataset(root, root.name, hashlib.sha256(raw).hexdigest(), str(m.get("layout", "")), items)

    @property
    def key(self) -> str:
        """Names cache entries: the folder name for people, the manifest hash for correctness."""
        return f"{self.name}-{self.manifest_sha256[:16]}"

    def identities(self) -> list[str]:
        """Identity labels qualified by dataset; items without one get a unique label."""
        return [f"{self.name}/{it['identity']}" if it.get("identity") is not None else f"{self.name}/#{i}"
                for i, it in enumerate(self.items)]


def _decode(path: Path, size: int) -> np.ndarray:
    try:
        with Image.open(path) as im:
            im = im.convert("RGB")
            if im.size != (size, size):
                # PIL's bicubic filter widens its support when shrinking, i.e. it antialiases.
                im = im.resize((size, size), Image.BICUBIC)
            return np.asarray(im, dtype=np.uint8)
    except FileNotFoundError as err:
        raise DatasetError(f"aligned image missing: {path}") from err


def load_images(ds: AlignedDataset, size: int, cache_dir: str | Path, log=print) -> np.ndarray:
    """All of a dataset's crops at size x size as a read-only (N, size, size, 3) uint8 memmap."""
    cache = Path(cache_dir) / "images"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{ds.key}-{size}.npy"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(ds.items), size, size, 3))
        for i, it in enumerate(ds.items):
            arr[i] = _decode(ds.root / it["file"], size)
            if (i + 1) % 2000 == 0:
                log(f"decoded {i + 1}/{len(ds.items)} images of {ds.name} at {size}px")
        arr.flush()
        del arr
        os.replace(tmp, path)
    arr = np.load(path, mmap_mode="r")
    if arr.shape != (len(ds.items), size, size, 3):
        raise DatasetError(f"{path}: cached array has shape {arr.shape}; delete it to rebuild")
    return arr


class FaceData:
    """One or more aligned datasets addressed by a global index 0..count-1."""

    def __init__(self, roots: list[str | Path], sizes: tuple[int, ...], cache_dir: str | Path, log=print):
        if not roots:
            raise DatasetError("no dataset folders given")
        self.datasets = [AlignedDataset.open(r) for r in roots]
        self.cache_dir = Path(cache_dir)
        self.sizes = tuple(sorted(set(sizes)))
        self.images = {s: [load_images(d, s, cache_dir, log) for d in self.datasets] for s in self.sizes}
        counts = [len(d.items) for d in self.datasets]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.count = int(self.offsets[-1])
        self.identities = np.array([i for d in self.datasets for i in d.identities()])

    def _locate(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        which = np.searchsorted(self.offsets, indices, side="right") - 1
        return which, indices - self.offsets[which]

    def gather(self, size: int, indices) -> np.ndarray:
        """uint8 (B, size, size, 3) crops for global indices, in the order given."""
        indices = np.asarray(indices, dtype=np.int64)
        out = np.empty((len(indices), size, size, 3), dtype=np.uint8)
        which, local = self._locate(indices)
        for d in np.unique(which):
            sel = np.nonzero(which == d)[0]
            # Sorted reads keep memmap access sequential.
            order = np.argsort(local[sel])
            out[sel[order]] = self.images[size][d][local[sel][order]]
        return out

    def split(self, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Deterministic train/validation split by identity groups (no person in both)."""
        if not 0 <= val_fraction < 1:
            raise ValueError("val_fraction must be in [0, 1)")
        groups, inverse = np.unique(self.identities, return_inverse=True)
        order = np.random.default_rng(seed).permutation(len(groups))
        sizes = np.bincount(inverse, minlength=len(groups))
        want = int(round(val_fraction * self.count))
        taken = np.cumsum(sizes[order])
        n_val_groups = int(np.searchsorted(taken, want, side="left")) + 1 if want > 0 else 0
        n_val_groups = min(n_val_groups, len(groups) - 1)
        val_groups = np.zeros(len(groups), dtype=bool)
        val_groups[order[:n_val_groups]] = True
        is_val = val_groups[inverse]
        return np.nonzero(~is_val)[0], np.nonzero(is_val)[0]

    def templates(self, encoder, cache_dir: str | Path | None = None, flip: bool = False, log=print) -> np.ndarray:
        """(count, D) templates of the 112x112 crops from an encoders.OnnxEncoder, cached per dataset."""
        cache = Path(cache_dir) if cache_dir else self.cache_dir
        imgs = self.images.get(ALIGNED_SIZE) or [load_images(d, ALIGNED_SIZE, self.cache_dir, log) for d in self.datasets]
        return np.concatenate([cached_templates(encoder, d, a, cache, flip=flip, log=log)
                               for d, a in zip(self.datasets, imgs)])

    def describe(self) -> list[dict]:
        return [{"name": d.name, "path": str(d.root), "items": len(d.items), "manifestSha256": d.manifest_sha256,
                 "identities": sum(1 for it in d.items if it.get("identity") is not None)} for d in self.datasets]


class IndexSampler:
    """Endless shuffled passes over a set of indices; its state is checkpointable."""

    def __init__(self, indices: np.ndarray, batch_size: int, seed: int):
        if len(indices) == 0:
            raise DatasetError("no training images")
        self.indices = np.asarray(indices)
        self.batch_size = batch_size
        self.rng = np.random.default_rng(seed)
        self._order = self.rng.permutation(self.indices)
        self._pos = 0
        self.epoch = 0

    def next(self) -> np.ndarray:
        out = []
        need = self.batch_size
        while need > 0:
            if self._pos >= len(self._order):
                self._order = self.rng.permutation(self.indices)
                self._pos = 0
                self.epoch += 1
            take = self._order[self._pos:self._pos + need]
            self._pos += len(take)
            need -= len(take)
            out.append(take)
        return np.concatenate(out)

    def state_dict(self) -> dict:
        return {"rng": self.rng.bit_generator.state, "order": self._order, "pos": self._pos, "epoch": self.epoch}

    def load_state_dict(self, s: dict) -> None:
        self.rng.bit_generator.state = s["rng"]
        self._order, self._pos, self.epoch = s["order"], s["pos"], s["epoch"]


def to_tensor(batch: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 NHWC -> float NCHW in [0, 1]; the permuted view is already channels_last in memory."""
    t = torch.from_numpy(np.ascontiguousarray(batch)).to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def save_grid(rows: list[np.ndarray], path: str | Path) -> None:
    """Rows of float NCHW [0,1] (or uint8 NHWC) images, same size, to one PNG."""
    tiles = []
    for r in rows:
        a = np.asarray(r)
        if a.dtype != np.uint8:
            a = (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)
        tiles.append(np.concatenate(list(a), axis=1))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(tiles, axis=0)).save(path)


def lfw_pairs(ds: AlignedDataset, pairs_file: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pairsDevTrain.txt-style pairs as indices into an aligned LFW dataset (by each item's source
    path); pairs whose photos were not aligned are dropped. Returns (a, b, same)."""
    by_source = {it.get("source"): i for i, it in enumerate(ds.items)}
    a, b, same = [], [], []
    lines = Path(pairs_file).read_text().split("\n")[1:]
    for line in lines:
        f = line.split()
        if len(f) == 3:
            pa, pb, s = (f[0], int(f[1])), (f[0], int(f[2])), True
        elif len(f) == 4:
            pa, pb, s = (f[0], int(f[1])), (f[2], int(f[3])), False
        else:
            continue
        ia, ib = (by_source.get(f"{n}/{n}_{k:04d}.jpg") for n, k in (pa, pb))
        if ia is not None and ib is not None:
            a.append(ia)
            b.append(ib)
            same.append(s)
    return np.array(a, np.int64), np.array(b, np.int64), np.array(same, bool)
