"""Trains a Deep Face Decoder for one target encoder and exports it to resources/models.

    python -m unveil_training.train_dfd --data /work/aligned/celeba-10k,/work/aligned/utkface \
        --encoder node_modules/faceplugin-face-recognition-js/model/fr_feature.onnx \
        --minutes 75 --seed 1 --out resources/models --id dfd-fr-feature-64

Templates come from the target encoder's ONNX file through onnxruntime (cached); the perceptual
loss uses a different face network (default: mobilefacenet-foamliu from the research data
folder), converted to torch. Stops at --minutes or --max-steps, whichever comes first;
checkpoints and log.jsonl go to --run-dir (default training/runs/<id>).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .data import FaceData, IndexSampler, save_grid, to_tensor
from .dfd import DFD_PRESETS, LOCAL_BOX_112, DeepFaceDecoder, DFDConfig, DFDLoss, LossWeights, PerceptualFeatures, parameter_bytes
from .encoders import OnnxEncoder, find_manifest, shared_data_dir
from .evaluate_dfd import reconstruction_metrics
from .export import MAX_ARTEFACT_BYTES, dataset_licence, decoder_manifest, export_onnx, write_manifest, write_model_card
from .onnx_torch import load_torch_encoder
from .runtime import (  # noqa: F401
    ID_PATTERN,
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

MODULE = "unveil_training.train_dfd"


def parse_args(argv):
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="aligned dataset folders, comma-separated")
    p.add_argument("--encoder", required=True, help="target encoder ONNX: the templates the decoder inverts")
    p.add_argument("--encoder-manifest", help="its manifest, if none lies beside it or in resources/")
    p.add_argument("--perceptual", help="ONNX face network for the perceptual loss, not the target encoder "
                                        "(default: <research data>/models/encoders/mobilefacenet-foamliu.onnx)")
    p.add_argument("--perceptual-manifest")
    p.add_argument("--out", required=True, help="artefact folder (resources/models)")
    p.add_argument("--id", required=True, help="model id: lower-case letters, digits, '.', '_' or '-'")
    p.add_argument("--name", help="display name in the manifest")
    p.add_argument("--minutes", type=float, help="training-loop budget in minutes")
    p.add_argument("--max-steps", type=int, help="step budget (stops at whichever budget ends first)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--preset", choices=sorted(DFD_PRESETS), help="defaults for the fields below (cpu, or gpu on CUDA)")
    p.add_argument("--size", type=int, choices=[64, 112], help="native output size (upsampled to 112 in the model)")
    p.add_argument("--stem-channels", type=int)
    p.add_argument("--widths", help="output channels of the upsampling blocks, comma-separated")
    p.add_argument("--convs-per-block", type=int)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--w-pixel", type=float, default=LossWeights.pixel)
    p.add_argument("--w-gradient", type=float, default=LossWeights.gradient)
    p.add_argument("--w-perceptual", type=float, default=LossWeights.perceptual)
    p.add_argument("--w-local", type=float, default=LossWeights.local)
    p.add_argument("--no-hflip", action="store_true",
                   help="no mirrored training pairs (by default mirrored crops are used with their own templates)")
    p.add_argument("--val-fraction", type=float, default=0.02)
    p.add_argument("--val-limit", type=int, default=256, help="validation images scored at the end")
    p.add_argument("--cache-dir", default=str(TRAINING_DIR / ".cache"))
    p.add_argument("--run-dir", help="checkpoints and logs (default training/runs/<id>)")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--log-every", type=int, default=25, help="steps between progress lines")
    p.add_argument("--resume", action="store_true", help="continue from <run-dir>/checkpoint.pt")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, help="torch and onnxruntime threads (default: all CPUs)")
    p.add_argument("--weights", choices=["auto", "fp32", "fp16"], default="auto", help="stored weight precision")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    check_args(p, args)
    return args


def build_config(args, template_dim: int, device: torch.device) -> tuple[DFDConfig, dict]:
    preset = apply_preset(DFD_PRESETS, args, device, ("size", "stem_channels", "convs_per_block", "batch_size", "lr"))
    if args.widths:
        preset["widths"] = tuple(int(w) for w in args.widths.split(","))
    cfg = DFDConfig(template_dim, preset["size"], preset["stem_channels"], preset["widths"], preset["convs_per_block"],
                    args.dropout)
    return cfg, {"batch_size": preset["batch_size"], "lr": preset["lr"]}


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    wall_start, device, run_dir, log = begin(MODULE, argv, args, TRAINING_DIR)

    encoder = OnnxEncoder(args.encoder, find_manifest(args.encoder, args.encoder_manifest), args.threads)
    perceptual_path = Path(args.perceptual) if args.perceptual else \
        shared_data_dir() / "models" / "encoders" / "mobilefacenet-foamliu.onnx"
    if not perceptual_path.is_file():
        raise SystemExit(f"perceptual network not found: {perceptual_path} (pass --perceptual)")
    perceptual_manifest = find_manifest(perceptual_path, args.perceptual_manifest)
    perceptual_encoder = OnnxEncoder(perceptual_path, perceptual_manifest, args.threads)
    if perceptual_encoder.sha256 == encoder.sha256:
        raise SystemExit("the perceptual network must differ from the target encoder")

    cfg, opt_cfg = build_config(args, encoder.dim, device)
    model = DeepFaceDecoder(cfg).to(device, memory_format=torch.channels_last)
    n_params = sum(p.numel() for p in model.parameters())
    # Fail before training, not after: even float16 weights must fit the artefact limit.
    if parameter_bytes(model, 2) > MAX_ARTEFACT_BYTES * 0.98:
        raise SystemExit(f"{n_params} parameters do not fit {MAX_ARTEFACT_BYTES // 2**20} MiB even as float16: narrow the model")

    prep_start = time.time()
    data = FaceData(args.data.split(","), (cfg.size, 112), args.cache_dir, log)
    templates = data.templates(encoder, args.cache_dir, log=log)
    templates_flip = None if args.no_hflip else data.templates(encoder, args.cache_dir, flip=True, log=log)
    train_idx, val_idx = data.split(args.val_fraction, args.seed)
    prep_seconds = time.time() - prep_start
    log("data", images=data.count, train=len(train_idx), val=len(val_idx), prep_seconds=round(prep_seconds, 1))

    network = load_torch_encoder(str(perceptual_path)).to(device, memory_format=torch.channels_last)
    loss_fn = DFDLoss(PerceptualFeatures(network, perceptual_manifest),
                      LossWeights(args.w_pixel, args.w_gradient, args.w_perceptual, args.w_local))
    opt = torch.optim.AdamW(model.parameters(), lr=opt_cfg["lr"], weight_decay=args.weight_decay)
    sampler = IndexSampler(train_idx, opt_cfg["batch_size"], args.seed)
    aug_rng = np.random.default_rng(args.seed + 1)
    run = RunState(MODULE, argv, run_dir, sampler, aug_rng, log, wall_start)
    if args.resume:
        ck = run.resume()
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
    budget = run.start_budget(args.minutes, args.max_steps, args.log_every, args.checkpoint_minutes)

    def checkpoint(step):
        run.save(step, model=model.state_dict(), optimizer=opt.state_dict(), config=vars(cfg), args=vars(args))

    def train_step(step):
        idx = sampler.next()
        big, small = data.gather(112, idx), data.gather(cfg.size, idx)
        flip = mirror_batch(aug_rng, templates_flip is not None, big, small)
        t = np.where(flip[:, None], templates_flip[idx], templates[idx]) if templates_flip is not None else templates[idx]
        target112, target_native = to_tensor(big, device), to_tensor(small, device)
        tmpl = torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32)).to(device)
        set_lr([opt], cosine_lr(opt_cfg["lr"], budget.fraction(step)))
        native = model.decode(tmpl)
        loss, parts = loss_fn(native, model.to_output(native), target_native, target112)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return len(idx), lambda: {"loss": float(loss.detach()), "lr": opt.param_groups[0]["lr"], **parts}

    model.train()
    step, train_seconds = run.train(train_step, checkpoint)

    model.eval()
    pool = val_idx if len(val_idx) else train_idx
    # A seeded subset across all datasets (the indices are grouped by dataset).
    val = np.sort(np.random.default_rng(args.seed).choice(pool, size=min(args.val_limit, len(pool)), replace=False))
    with torch.no_grad():
        recon = np.concatenate([model(torch.from_numpy(templates[val[i:i + 64]]).to(device)).float().cpu().numpy()
                                for i in range(0, len(val), 64)])
    originals = data.gather(112, val)
    metrics = reconstruction_metrics(originals, recon, templates[val], encoder, [perceptual_encoder])
    save_grid([originals[:8], recon[:8]], run_dir / "samples.png")
    log("validation", psnr=metrics["psnr"]["mean"], ssim=metrics["ssim"]["mean"], cosine=metrics["cosineTarget"]["mean"])

    out = Path(args.out)
    example = torch.from_numpy(templates[val[:3]] if len(val) >= 3 else templates[:3]).float()
    report = export_onnx(model, example, out / f"{args.id}.onnx", "template", "image", args.weights)
    names = [d.name for d in data.datasets]
    licence = dataset_licence(names)
    command = run.command()
    name = args.name or f"Deep Face Decoder for {encoder.id} ({cfg.size}x{cfg.size}, upsampled to 112x112)"
    manifest = decoder_manifest(
        args.id, name, report, encoder.dim, encoder.describe(), licence,
        f"trained by `python -m {MODULE}` (Unveil's training/ package, seed {args.seed}); command in {args.id}.md",
        notes=f"Decodes {encoder.id} templates (sha256 {encoder.sha256}) to an ArcFace-aligned 112x112 face; "
              "the template is L2-normalised inside the model.")
    write_manifest(out / f"{args.id}.json", manifest)
    versions = software_versions()
    wall = run.wall_seconds()
    counts = "; ".join(f"{d['items']} aligned crops from `{d['name']}`" for d in data.describe())
    write_model_card(
        out / f"{args.id}.md", args.id,
        f"A Deep Face Decoder (after Krizaj et al.) that maps a `{encoder.id}` template ({encoder.dim}-d) to an "
        f"ArcFace-aligned face: a linear layer to {cfg.stem_channels}x{cfg.start}x{cfg.start}, "
        f"{len(cfg.widths)} upsampling blocks ({', '.join(map(str, cfg.widths))} channels, {cfg.convs_per_block} conv each, "
        f"BatchNorm, ReLU, dropout {cfg.dropout}) to {cfg.size}x{cfg.size}, a sigmoid, and a bilinear Resize to 112x112 "
        "in the graph.",
        [
            ("file", f"`{args.id}.onnx` ({report.weights} weights, {report.bytes / 2**20:.1f} MiB, {n_params} parameters)"),
            ("sha256", f"`{report.sha256}`"),
            ("target encoder", f"`{encoder.id}` ({encoder.path.name}, sha256 `{encoder.sha256}`)"),
            ("perceptual network", f"`{perceptual_encoder.id}` ({perceptual_path.name}, sha256 `{perceptual_encoder.sha256}`), "
                                   f"converted to torch; features at {len(loss_fn.perceptual.taps)} resolutions + embedding"),
            ("data", f"{counts}; {data.count} in total; split by identity (seed {args.seed}): {len(train_idx)} train, "
                     f"{len(val_idx)} validation{'; mirrored crops with their own templates' if templates_flip is not None else ''}"),
            ("losses", ", ".join(f"{k} {v:g}" for k, v in loss_fn.weights.as_dict().items()) +
             " (pixel L2, image-gradient L2, perceptual; `local` re-weights each on the central face box "
             f"{list(LOCAL_BOX_112)})"),
            ("optimiser", f"AdamW lr {opt_cfg['lr']:g} (warm-up, cosine decay), weight decay {args.weight_decay:g}, "
                          f"batch {opt_cfg['batch_size']}"),
            ("training", f"{step} steps, {step * opt_cfg['batch_size']} images seen, {train_seconds / 60:.1f} min training loop, "
                         f"{prep_seconds / 60:.1f} min data and template caching, {wall / 60:.1f} min in all"),
            ("hardware", hardware_description(device)),
            ("software", ", ".join(f"{k} {v}" for k, v in versions.items()) + f", unveil_training {__version__}"),
            ("licence", f"**{licence}**: the model inherits the training data's terms"),
            ("rebuild", f"`{command}` (seed {args.seed}; bit-identical only with --max-steps as the binding budget, "
                        "no resume, and the same thread count and hardware)"),
        ],
        [
            ("validation images", str(metrics["images"])),
            ("PSNR (dB), 112x112 vs aligned original", f"{metrics['psnr']['mean']:.2f} (median {metrics['psnr']['median']:.2f})"),
            ("SSIM", f"{metrics['ssim']['mean']:.4f} (median {metrics['ssim']['median']:.4f})"),
            (f"cosine to target template ({encoder.id})", f"{metrics['cosineTarget']['mean']:.4f} "
                                                          f"(median {metrics['cosineTarget']['median']:.4f})"),
            ("impostor baseline (mean cosine between different validation templates)", f"{metrics['impostorCosineMean']:.4f}"),
            *[(f"cosine reconstruction vs original under {k}", f"{v['mean']:.4f}") for k, v in metrics["cross"].items()],
            ("ONNX parity (max abs diff vs torch)", f"{report.parity_max_abs_diff:.2e}"),
            (f"exported vs trained model (BatchNorm folding{' + float16 rounding' if report.weights == 'fp16' else ''}; max abs diff)",
             f"{report.export_copy_max_abs_diff:.2e}"),
        ],
        notes=["Validation images come from the training datasets' held-out identities; evaluate on aligned LFW with "
               f"`python -m unveil_training.evaluate_dfd --model {out / (args.id + '.onnx')} --data <aligned lfw> "
               f"--encoder {args.encoder}`.",
               f"Samples: `{display_path(run_dir / 'samples.png')}` (originals over reconstructions; not committed)."],
    )
    result = {"step": step, "train_seconds": train_seconds, "metrics": metrics, "export": report.as_dict(),
              "manifest": manifest, "run_dir": str(run_dir)}
    log("exported", path=report.path, sha256=report.sha256, parity=report.parity_max_abs_diff)
    return result


if __name__ == "__main__":
    ensure_allocator_tunables()
    main()
