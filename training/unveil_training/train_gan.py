"""Trains the DCGAN face prior and exports its generator to resources/models.

    python -m unveil_training.train_gan --data /work/aligned/celeba-10k,/work/aligned/utkface \
        --minutes 75 --seed 1 --out resources/models --id dcgan-celeba-utk-64

Real images are the aligned crops at 64x64 (mirrored at random). Stops at --minutes or
--max-steps, whichever comes first; checkpoints and log.jsonl go to --run-dir. The exported
generator (the EMA weights unless --ema 0) maps z [N, 128] to [N, 3, 112, 112] in [0, 1]. Its card
reports a Frechet distance between encoder templates of generated and held-out real faces.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import __version__
from .data import FaceData, IndexSampler, save_grid, to_tensor
from .encoders import FR_FEATURE_PATH, OnnxEncoder, find_manifest
from .export import MAX_ARTEFACT_BYTES, dataset_licence, export_onnx, generator_manifest, write_manifest, write_model_card
from .gan import EMA, GAN_PRESETS, Discriminator, GANConfig, Generator, d_loss, g_loss, recalibrate_batchnorm
from .metrics import frechet_distance
from .runtime import (
    TRAINING_DIR,
    RunState,
    apply_preset,
    begin,
    check_args,
    cosine_lr,
    display_path,
    ensure_allocator_tunables,
    hardware_description,
    mirror_batch,
    set_lr,
    software_versions,
)

MODULE = "unveil_training.train_gan"


def parse_args(argv):
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="aligned dataset folders, comma-separated")
    p.add_argument("--out", required=True, help="artefact folder (resources/models)")
    p.add_argument("--id", required=True)
    p.add_argument("--name")
    p.add_argument("--minutes", type=float, help="training-loop budget in minutes")
    p.add_argument("--max-steps", type=int, help="step budget (stops at whichever budget ends first)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--preset", choices=sorted(GAN_PRESETS), help="defaults for the fields below (cpu, or gpu on CUDA)")
    p.add_argument("--ngf", type=int, help="generator width")
    p.add_argument("--ndf", type=int, help="discriminator width")
    p.add_argument("--latent-dim", type=int, default=128)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--ema", type=float, default=0.999, help="EMA decay of the generator's weights; 0 turns EMA off")
    p.add_argument("--bn-batches", type=int, default=100,
                   help="batches of z over which the exported weights' BatchNorm statistics are re-estimated")
    p.add_argument("--no-hflip", action="store_true")
    p.add_argument("--val-fraction", type=float, default=0.02)
    p.add_argument("--encoder", default=str(FR_FEATURE_PATH),
                   help="encoder ONNX for the template Frechet distance; 'none' skips it")
    p.add_argument("--encoder-manifest")
    p.add_argument("--fd-samples", type=int, default=512)
    p.add_argument("--cache-dir", default=str(TRAINING_DIR / ".cache"))
    p.add_argument("--run-dir")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int)
    p.add_argument("--weights", choices=["auto", "fp32", "fp16"], default="auto")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    check_args(p, args)
    return args


def encode_at_64(encoder: OnnxEncoder, images64: torch.Tensor) -> np.ndarray:
    """Templates of 64x64 images seen the way the generator's output is: bilinear to 112."""
    up = F.interpolate(images64.float().cpu(), size=(112, 112), mode="bilinear", align_corners=False)
    return encoder.encode_float(up.numpy())


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    wall_start, device, run_dir, log = begin(MODULE, argv, args, TRAINING_DIR)

    preset = apply_preset(GAN_PRESETS, args, device, ("ngf", "ndf", "batch_size", "lr"))
    cfg = GANConfig(args.latent_dim, preset["ngf"], preset["ndf"])
    gen = Generator(cfg).to(device, memory_format=torch.channels_last)
    disc = Discriminator(cfg).to(device, memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in gen.parameters())
    if n_params * 2 > MAX_ARTEFACT_BYTES * 0.98:
        raise SystemExit(f"{n_params} generator parameters do not fit {MAX_ARTEFACT_BYTES // 2**20} MiB even as float16")
    ema = EMA(gen, args.ema) if args.ema > 0 else None

    prep_start = time.time()
    data = FaceData(args.data.split(","), (cfg.size,), args.cache_dir, log)
    train_idx, val_idx = data.split(args.val_fraction, args.seed)
    prep_seconds = time.time() - prep_start
    log("data", images=data.count, train=len(train_idx), val=len(val_idx))

    betas = (args.beta1, 0.999)
    opt_g = torch.optim.Adam(gen.parameters(), lr=preset["lr"], betas=betas)
    opt_d = torch.optim.Adam(disc.parameters(), lr=preset["lr"], betas=betas)
    sampler = IndexSampler(train_idx, preset["batch_size"], args.seed)
    aug_rng = np.random.default_rng(args.seed + 1)
    run = RunState(MODULE, argv, run_dir, sampler, aug_rng, log, wall_start)
    if args.resume:
        ck = run.resume()
        gen.load_state_dict(ck["generator"])
        disc.load_state_dict(ck["discriminator"])
        opt_g.load_state_dict(ck["opt_g"])
        opt_d.load_state_dict(ck["opt_d"])
        if ema is not None and ck.get("ema") is not None:
            ema.model.load_state_dict(ck["ema"])
    budget = run.start_budget(args.minutes, args.max_steps, args.log_every, args.checkpoint_minutes)

    def checkpoint(step):
        run.save(step, generator=gen.state_dict(), discriminator=disc.state_dict(), opt_g=opt_g.state_dict(),
                 opt_d=opt_d.state_dict(), ema=ema.model.state_dict() if ema else None, config=vars(cfg), args=vars(args))

    def train_step(step):
        idx = sampler.next()
        real_np = data.gather(cfg.size, idx)
        mirror_batch(aug_rng, not args.no_hflip, real_np)
        real = to_tensor(real_np, device)
        lr = cosine_lr(preset["lr"], budget.fraction(step), floor=0.2)
        set_lr((opt_g, opt_d), lr)
        z = torch.randn(len(idx), cfg.latent_dim, device=device)
        fake = gen.native(z)
        loss_d = d_loss(disc(real), disc(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        opt_d.step()
        loss_g = g_loss(disc(fake))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        if ema is not None:
            ema.update(gen)
        return len(idx), lambda: {"loss_d": float(loss_d.detach()), "loss_g": float(loss_g.detach()), "lr": lr}

    gen.train()
    disc.train()
    step, train_seconds = run.train(train_step, checkpoint)

    final = ema.model if ema is not None else gen
    recalibrate_batchnorm(final, args.bn_batches, preset["batch_size"], args.seed + 3, device)
    gen_z = torch.Generator().manual_seed(args.seed)
    z_grid = torch.randn(16, cfg.latent_dim, generator=gen_z)
    with torch.no_grad():
        save_grid([final(z_grid[:8].to(device)).cpu().numpy(), final(z_grid[8:].to(device)).cpu().numpy()],
                  run_dir / "samples.png")
    metrics = []
    if args.encoder.lower() != "none" and Path(args.encoder).is_file():
        encoder = OnnxEncoder(args.encoder, find_manifest(args.encoder, args.encoder_manifest), args.threads)
        pool = val_idx if len(val_idx) >= 2 else train_idx
        n = min(args.fd_samples, len(pool))
        held_out = np.sort(np.random.default_rng(args.seed + 2).choice(pool, size=n, replace=False))
        real = to_tensor(data.gather(cfg.size, held_out))
        with torch.no_grad():
            z = torch.randn(n, cfg.latent_dim, generator=gen_z)
            fake = torch.cat([final.native(z[i:i + 64].to(device)).cpu() for i in range(0, n, 64)])
        real_t, fake_t = encode_at_64(encoder, real), encode_at_64(encoder, fake)
        ref_idx = np.random.default_rng(args.seed).choice(train_idx, size=min(n, len(train_idx)), replace=False)
        ref_t = encode_at_64(encoder, to_tensor(data.gather(cfg.size, np.sort(ref_idx))))
        fd = frechet_distance(fake_t, real_t) if n >= 2 else float("nan")
        fd_ref = frechet_distance(ref_t, real_t) if n >= 2 else float("nan")
        metrics += [(f"template Frechet distance, generated vs held-out real ({encoder.id}, {n} each)", f"{fd:.4f}"),
                    ("same, training images vs held-out real (the floor)", f"{fd_ref:.4f}")]
        log("validation", fd=fd, fd_real=fd_ref)

    out = Path(args.out)
    example = torch.randn(4, cfg.latent_dim, generator=gen_z)
    report = export_onnx(final, example, out / f"{args.id}.onnx", "z", "image", args.weights)
    names = [d.name for d in data.datasets]
    licence = dataset_licence(names)
    command = run.command()
    manifest = generator_manifest(args.id, args.name or f"DCGAN face prior ({cfg.latent_dim}-d latent, 64x64)", report,
                                  cfg.latent_dim, licence,
                                  f"trained by `python -m {MODULE}` (Unveil's training/ package, seed {args.seed}); command in {args.id}.md",
                                  notes="z is standard normal; the 64x64 output is upsampled to 112x112 in the graph.")
    write_manifest(out / f"{args.id}.json", manifest)
    wall = run.wall_seconds()
    counts = "; ".join(f"{d['items']} aligned crops from `{d['name']}`" for d in data.describe())
    write_model_card(
        out / f"{args.id}.md", args.id,
        f"A DCGAN face prior: `z` of {cfg.latent_dim} standard-normal values through transposed convolutions "
        f"(width {cfg.ngf}, BatchNorm folded at export) to a 64x64 RGB face, a sigmoid for [0, 1], and a bilinear "
        "Resize to the 112x112 ArcFace frame in the graph.",
        [
            ("file", f"`{args.id}.onnx` ({report.weights} weights, {report.bytes / 2**20:.1f} MiB, {n_params} parameters)"),
            ("sha256", f"`{report.sha256}`"),
            ("data", f"{counts}; {data.count} in total; {len(train_idx)} train, {len(val_idx)} held out (seed {args.seed})"
                     f"{'; random horizontal mirroring' if not args.no_hflip else ''}"),
            ("training", f"non-saturating GAN loss, Adam lr {preset['lr']:g} betas {betas}, batch {preset['batch_size']}, "
                         f"discriminator width {cfg.ndf}, EMA {args.ema if ema else 'off'} (BatchNorm statistics re-estimated over "
                         f"{args.bn_batches} batches of z for the exported weights); {step} steps, "
                         f"{train_seconds / 60:.1f} min training loop, {prep_seconds / 60:.1f} min data caching, "
                         f"{wall / 60:.1f} min in all"),
            ("hardware", hardware_description(device)),
            ("software", ", ".join(f"{k} {v}" for k, v in software_versions().items()) + f", unveil_training {__version__}"),
            ("licence", f"**{licence}**: the model inherits the training data's terms"),
            ("rebuild", f"`{command}` (seed {args.seed}; bit-identical only with --max-steps as the binding budget, "
                        "no resume, and the same thread count and hardware)"),
        ],
        metrics + [
            ("ONNX parity (max abs diff vs torch)", f"{report.parity_max_abs_diff:.2e}"),
            (f"exported vs trained model (BatchNorm folding{' + float16 rounding' if report.weights == 'fp16' else ''}; max abs diff)",
             f"{report.export_copy_max_abs_diff:.2e}"),
        ],
        notes=[f"Training-time samples: `{display_path(run_dir / 'samples.png')}` (not committed). The workbench draws a "
               f"contact sheet and the detector's face rate from the exported model: `unveil prior inspect --generator {args.id} "
               "--samples 500 --sheet FILE.png`."],
    )
    log("exported", path=report.path, sha256=report.sha256, parity=report.parity_max_abs_diff)
    return {"step": step, "train_seconds": train_seconds, "export": report.as_dict(), "manifest": manifest,
            "run_dir": str(run_dir), "metrics": dict(metrics)}


if __name__ == "__main__":
    ensure_allocator_tunables()
    main()
