"""Vec2Face (Truong et al.): DiBiGAN and DAB-GAN feature-conditional generators, in three stages.

    # 1. Student encoder, distilled from the engine's templates (the engine is only queried)
    python -m unveil_training.train_vec2face student --data /work/aligned/celeba-10k \
        --encoder node_modules/faceplugin-face-recognition-js/model/fr_feature.onnx --lfw /work/aligned/lfw \
        --minutes 4 --seed 1 --id v2f-student-fr-feature
    # 2. Normalising flow H for the bijective metric (NLL, one Gaussian per CelebA identity)
    python -m unveil_training.train_vec2face flow --data /work/aligned/celeba-10k --minutes 4 --seed 1 --id v2f-flow
    # 3. A generator (dibigan or dabgan); --losses switches the terms for the ablation
    python -m unveil_training.train_vec2face generator --arch dibigan --data /work/aligned/celeba-10k \
        --encoder node_modules/faceplugin-face-recognition-js/model/fr_feature.onnx \
        --student training/runs/v2f-student-fr-feature/student.pt --flow training/runs/v2f-flow/flow.pt \
        --losses adv,l1,bij,distill --minutes 10 --seed 1 --out resources/models --id dibigan-fr-feature-64

Stages 1 and 2 write <run dir>/student.pt and flow.pt (training artefacts, not shipped); stage 3
exports the generator to ONNX with its manifest and model card, naming the student's and the
flow's sha256s. Each stops at --minutes (loop time) or --max-steps, whichever comes first.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .data import AlignedDataset, FaceData, IndexSampler, lfw_pairs, save_grid, to_tensor
from .encoders import OnnxEncoder, find_manifest, shared_data_dir
from .evaluate_dfd import reconstruction_metrics
from .export import MAX_ARTEFACT_BYTES, dataset_licence, decoder_manifest, export_onnx, write_manifest, write_model_card
from .flow import FLOW_SIZE, FaceFlow, FlowConfig, bijective_loss, load_flow, nll_bits_per_dim
from .metrics import cosine_rows, summary, verification_accuracy
from .runtime import (
    TRAINING_DIR,
    RunState,
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
from .student import STUDENT_SIZE, StudentConfig, StudentEncoder, cosine_loss, distillation_loss, load_student
from .vec2face import (
    LOSS_NAMES,
    STAGES,
    Critic,
    GeneratorConfig,
    Vec2FaceLossConfig,
    build_generator,
    gradient_penalty,
    resize,
    stage_weights,
)

MODULE = "unveil_training.train_vec2face"


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def common_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="aligned dataset folders, comma-separated")
    p.add_argument("--id", required=True, help="run (and model) id")
    p.add_argument("--minutes", type=float, help="training-loop budget in minutes")
    p.add_argument("--max-steps", type=int, help="step budget (stops at whichever budget ends first)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--val-fraction", type=float, default=0.05)
    p.add_argument("--cache-dir", default=str(TRAINING_DIR / ".cache"))
    p.add_argument("--run-dir", help="checkpoints and logs (default training/runs/<id>)")
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--log-every", type=int, default=25)
    p.add_argument("--resume", action="store_true", help="continue from <run-dir>/checkpoint.pt")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--threads", type=int, help="torch and onnxruntime threads (default: all CPUs)")
    p.add_argument("--quiet", action="store_true")


def encoder_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--encoder", required=True, help="target engine ONNX: only queried for templates of training images")
    p.add_argument("--encoder-manifest")


def parse_args(argv):
    p = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="stage", required=True)
    s = sub.add_parser("student", help="distil a student encoder from the engine's templates")
    common_args(s)
    encoder_args(s)
    s.add_argument("--widths", default="32,64,128,256")
    s.add_argument("--backbone", help="a public face network (ONNX, not the engine): frozen, with a trained head onto "
                                      "the engine's templates, instead of the CNN from scratch")
    s.add_argument("--backbone-manifest")
    s.add_argument("--ridge", type=float, default=1e-2, help="ridge of the backbone head's least-squares start")
    s.add_argument("--lfw", help="aligned LFW folder: agreement and verification accuracy on its pairs")
    s.add_argument("--lfw-pairs", help="pair list (default <research data>/datasets/lfw/pairsDevTrain.txt)")
    s.add_argument("--lfw-limit", type=int, default=600,
                   help="at most this many pairs, half genuine and half impostor, evenly spaced (each photo is one engine query)")
    f = sub.add_parser("flow", help="train the normalising flow H by NLL with one Gaussian per identity")
    common_args(f)
    f.add_argument("--steps-per-level", type=int, default=FlowConfig.steps)
    f.add_argument("--hidden", type=int, default=FlowConfig.hidden)
    f.add_argument("--spacing", type=float, default=FlowConfig.spacing,
                   help="distance between adjacent identities' means along the all-ones line")
    g = sub.add_parser("generator", help="train a DiBiGAN or DAB-GAN generator and export it")
    common_args(g)
    encoder_args(g)
    g.add_argument("--arch", choices=["dibigan", "dabgan"], required=True)
    g.add_argument("--student", help="student.pt from the student stage (needed by the distill loss)")
    g.add_argument("--flow", help="flow.pt from the flow stage (needed by the bij loss)")
    g.add_argument("--losses", default=",".join(LOSS_NAMES),
                   help=f"comma-separated subset of {','.join(LOSS_NAMES)} (adv,l1 = the plain conditional GAN)")
    g.add_argument("--stage-weighting", choices=["exp", "last"], default="exp",
                   help="exp: Eqn. 14's exponential weights over the 16/32/64 px stages; last: final stage only")
    g.add_argument("--noise-dim", type=int, default=GeneratorConfig.noise_dim)
    g.add_argument("--widths", help="channels at 4,8,16,32,64 px (default dibigan 128,128,96,48,24; dabgan 112,112,96,48,24)")
    g.add_argument("--critic-width", type=int, default=32)
    g.add_argument("--w-adv", type=float, default=Vec2FaceLossConfig.w_adv)
    g.add_argument("--w-l1", type=float, default=Vec2FaceLossConfig.w_l1)
    g.add_argument("--w-bij", type=float, default=Vec2FaceLossConfig.w_bij)
    g.add_argument("--w-distill", type=float, default=Vec2FaceLossConfig.w_distill)
    g.add_argument("--w-features", type=float, default=Vec2FaceLossConfig.w_features)
    g.add_argument("--margin", type=float, default=Vec2FaceLossConfig.margin)
    g.add_argument("--out", required=True, help="artefact folder (resources/models to ship)")
    g.add_argument("--name")
    g.add_argument("--cross-encoders", default="",
                   help="comma-separated ONNX encoders that also score the validation reconstructions")
    g.add_argument("--val-limit", type=int, default=256)
    g.add_argument("--weights", choices=["auto", "fp32", "fp16"], default="auto")
    args = p.parse_args(argv)
    check_args(p, args)
    if args.stage == "generator":
        args.loss_list = tuple(x for x in args.losses.split(",") if x)
        bad = [x for x in args.loss_list if x not in LOSS_NAMES]
        if bad or "l1" not in args.loss_list:
            p.error(f"--losses: a subset of {','.join(LOSS_NAMES)} that includes l1 (got {args.losses})")
        if "distill" in args.loss_list and not args.student:
            p.error("--losses distill needs --student")
        if "bij" in args.loss_list and not args.flow:
            p.error("--losses bij needs --flow")
    return args


def _seeded_subset(pool: np.ndarray, n: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(pool, size=min(n, len(pool)), replace=False))


# --- stage 1: student ---------------------------------------------------------------------

def lfw_agreement(student: StudentEncoder, encoder: OnnxEncoder, lfw_root: str, pairs_file: Path, limit: int,
                  cache_dir: Path, device, log) -> dict:
    """On LFW pairs (never trained on): the student's cosine to the engine's templates of the same
    photos, and both networks' verification accuracy (10 folds)."""
    ds = AlignedDataset.open(lfw_root)
    a, b, same = lfw_pairs(ds, pairs_file)
    keep = np.concatenate([np.flatnonzero(same == s)[np.linspace(0, (same == s).sum() - 1, min(limit // 2, (same == s).sum())).astype(int)]
                           for s in (True, False)])
    a, b, same = a[keep], b[keep], same[keep]
    used = np.unique(np.concatenate([a, b]))
    data = FaceData([lfw_root], (112,), cache_dir, log)
    cache = Path(cache_dir) / "templates" / f"{encoder.sha256[:16]}-{ds.key}-{Path(pairs_file).stem}-{len(a)}.npy"
    if cache.is_file():
        engine_t = np.load(cache)
    else:
        engine_t = encoder.encode_uint8(data.gather(112, used))
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.save(cache, engine_t)
    with torch.no_grad():
        student_t = np.concatenate([student(to_tensor(data.gather(112, used[i:i + 128]), device)).cpu().numpy()
                                    for i in range(0, len(used), 128)])
    pos = {int(k): i for i, k in enumerate(used)}
    ia, ib = np.array([pos[int(k)] for k in a]), np.array([pos[int(k)] for k in b])
    return {"images": int(len(used)), "pairs": int(len(a)),
            "cosineToEngine": summary(cosine_rows(student_t, engine_t)),
            "engineAccuracy": verification_accuracy(cosine_rows(engine_t[ia], engine_t[ib]), same),
            "studentAccuracy": verification_accuracy(cosine_rows(student_t[ia], student_t[ib]), same)}


def _start_loop(args, argv, run_dir, train_idx, log, wall_start, states):
    """Sampler, augmentation stream, run state and budget of one training loop; on --resume the
    checkpoint's entries are loaded into `states` (name -> module or optimizer)."""
    sampler = IndexSampler(train_idx, args.batch_size, args.seed)
    aug_rng = np.random.default_rng(args.seed + 1)
    run = RunState(MODULE, argv, run_dir, sampler, aug_rng, log, wall_start)
    if args.resume:
        ck = run.resume()
        for name, obj in states.items():
            obj.load_state_dict(ck[name])
    budget = run.start_budget(args.minutes, args.max_steps, args.log_every, args.checkpoint_minutes)
    return sampler, aug_rng, run, budget


def ridge_head(features: np.ndarray, targets: np.ndarray, ridge: float) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares start of the backbone head: W, b minimising |F W + b - T|^2 + ridge n |W|^2
    with T the unit-length templates (the cosine loss then refines it)."""
    t = targets / np.linalg.norm(targets, axis=1, keepdims=True).clip(1e-12)
    mu_f, mu_t = features.mean(0), t.mean(0)
    f = (features - mu_f).astype(np.float64)
    w = np.linalg.solve(f.T @ f + ridge * len(f) * np.eye(f.shape[1]), f.T @ (t - mu_t))
    return w.astype(np.float32), (mu_t - mu_f @ w).astype(np.float32)


def train_student(args, argv) -> dict:
    wall_start, device, run_dir, log = begin(MODULE, argv, args, TRAINING_DIR)
    encoder = OnnxEncoder(args.encoder, find_manifest(args.encoder, args.encoder_manifest), args.threads)
    prep = time.time()
    data = FaceData(args.data.split(","), (STUDENT_SIZE, 112), args.cache_dir, log)
    templates = data.templates(encoder, args.cache_dir, log=log)
    train_idx, val_idx = data.split(args.val_fraction, args.seed)
    backbone = None
    if args.backbone:
        backbone = OnnxEncoder(args.backbone, find_manifest(args.backbone, args.backbone_manifest), args.threads)
        if backbone.sha256 == encoder.sha256:
            raise SystemExit("the student's backbone must be another network than the engine it stands in for")
        # The head learns from the backbone's embeddings of the crops and their mirror images, with
        # the engine's templates of the same: both only computed (queried), once, and cached.
        feats = np.concatenate([data.templates(backbone, args.cache_dir, log=log),
                                data.templates(backbone, args.cache_dir, flip=True, log=log)])
        targets = np.concatenate([templates, data.templates(encoder, args.cache_dir, flip=True, log=log)])
        rows = np.concatenate([train_idx, train_idx + data.count])
    prep_seconds = time.time() - prep
    log("data", images=data.count, train=len(train_idx), val=len(val_idx), prep_seconds=round(prep_seconds, 1))
    cfg = StudentConfig(encoder.dim, tuple(int(w) for w in args.widths.split(",")),
                        {"path": str(backbone.path), "sha256": backbone.sha256, "manifest": backbone.manifest,
                         "dim": backbone.dim, "id": backbone.id} if backbone else None)
    model = StudentEncoder(cfg).to(device, memory_format=torch.channels_last)
    if backbone:
        w, b = ridge_head(feats[rows], targets[rows], args.ridge)
        with torch.no_grad():
            model.head.weight.copy_(torch.from_numpy(w.T))
            model.head.bias.copy_(torch.from_numpy(b))
        feats_t, targets_t = torch.from_numpy(feats).to(device), torch.from_numpy(targets).to(device)
    # With a backbone only the head trains: it is what checkpoints hold and --resume restores.
    trained = model.head if backbone else model
    opt = torch.optim.AdamW(trained.parameters(), lr=args.lr, weight_decay=1e-4)
    sampler, aug_rng, run, budget = _start_loop(args, argv, run_dir, rows if backbone else train_idx, log, wall_start,
                                                {"model": trained, "optimizer": opt})

    def own_state():
        # A backbone's weights are its ONNX file's; the student stores its head.
        return {k: v for k, v in model.state_dict().items() if not k.startswith("backbone.")}

    def checkpoint(step):
        run.save(step, model=trained.state_dict(), optimizer=opt.state_dict(), config=cfg.as_dict(), args=vars(args))

    def train_step(step):
        idx = sampler.next()
        set_lr([opt], cosine_lr(args.lr, budget.fraction(step)))
        if backbone:
            loss = cosine_loss(model.head(feats_t[idx]), targets_t[idx])
        else:
            x = to_tensor(data.gather(STUDENT_SIZE, idx), device)
            loss = cosine_loss(model(x), torch.from_numpy(templates[idx]).to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return len(idx), lambda: {"loss": float(loss.detach()), "lr": opt.param_groups[0]["lr"]}

    model.train()
    if backbone:
        model.backbone.eval()
    step, train_seconds = run.train(train_step, checkpoint)
    model.eval()
    pool = val_idx if len(val_idx) else train_idx
    with torch.no_grad():
        # Through the whole student (the torch-converted backbone too), as the generator will use it.
        pred = np.concatenate([model(to_tensor(data.gather(model.input_size, pool[i:i + 128]), device)).cpu().numpy()
                               for i in range(0, len(pool), 128)])
    metrics = {"heldOutImages": int(len(pool)), "heldOutCosine": summary(cosine_rows(pred, templates[pool]))}
    if args.lfw:
        pairs = Path(args.lfw_pairs) if args.lfw_pairs else shared_data_dir() / "datasets" / "lfw" / "pairsDevTrain.txt"
        metrics["lfw"] = lfw_agreement(model, encoder, args.lfw, pairs, args.lfw_limit, Path(args.cache_dir), device, log)
    log("validation", **{"held_out_cosine": metrics["heldOutCosine"]["mean"]},
        **({"lfw_student_acc": metrics["lfw"]["studentAccuracy"], "lfw_engine_acc": metrics["lfw"]["engineAccuracy"],
            "lfw_cosine": metrics["lfw"]["cosineToEngine"]["mean"]} if "lfw" in metrics else {}))
    info = {"config": cfg.as_dict(), "model": own_state(), "encoder": encoder.describe(), "data": data.describe(),
            "metrics": metrics, "steps": step, "trainSeconds": train_seconds, "wallSeconds": run.wall_seconds(),
            "command": run.command(), "seed": args.seed, "hardware": hardware_description(device)}
    path = run_dir / "student.pt"
    torch.save(info, path)
    (run_dir / "student.json").write_text(json.dumps({k: v for k, v in info.items() if k != "model"}, indent=2) + "\n")
    log("saved", path=str(path))
    return {"step": step, "metrics": metrics, "path": str(path)}


# --- stage 2: flow ------------------------------------------------------------------------

def train_flow(args, argv) -> dict:
    wall_start, device, run_dir, log = begin(MODULE, argv, args, TRAINING_DIR)
    data = FaceData(args.data.split(","), (FLOW_SIZE,), args.cache_dir, log)
    names, labels = np.unique(data.identities, return_inverse=True)
    # Held-out *images* (not identities): their identity's Gaussian is known, so the NLL is exact.
    order = np.random.default_rng(args.seed).permutation(data.count)
    n_val = int(round(args.val_fraction * data.count))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    classes = len(names)
    log("data", images=data.count, identities=classes, train=len(train_idx), val=len(val_idx))
    cfg = FlowConfig(args.steps_per_level, args.hidden, args.spacing)
    flow = FaceFlow(cfg).to(device)
    labels_t = torch.from_numpy(labels).to(device)
    with torch.no_grad():  # ActNorm's data-dependent initialisation
        flow(to_tensor(data.gather(FLOW_SIZE, train_idx[:256]), device))
    opt = torch.optim.Adam(flow.parameters(), lr=args.lr)
    sampler, aug_rng, run, budget = _start_loop(args, argv, run_dir, train_idx, log, wall_start, {"model": flow, "optimizer": opt})

    def checkpoint(step):
        run.save(step, model=flow.state_dict(), optimizer=opt.state_dict(), config=cfg.as_dict(), args=vars(args))

    def train_step(step):
        idx = sampler.next()
        x_np = data.gather(FLOW_SIZE, idx)
        mirror_batch(aug_rng, True, x_np)
        set_lr([opt], cosine_lr(args.lr, budget.fraction(step)))
        loss = nll_bits_per_dim(flow, to_tensor(x_np, device), labels_t[idx], classes)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(flow.parameters(), 50.0)
        opt.step()
        return len(idx), lambda: {"bits_per_dim": float(loss.detach()), "lr": opt.param_groups[0]["lr"]}

    flow.train()
    step, train_seconds = run.train(train_step, checkpoint)
    flow.eval()
    torch.manual_seed(args.seed)
    with torch.no_grad():
        bpd = [float(nll_bits_per_dim(flow, to_tensor(data.gather(FLOW_SIZE, val_idx[i:i + 128]), device),
                                      labels_t[val_idx[i:i + 128]], classes)) for i in range(0, len(val_idx), 128)]
        x = to_tensor(data.gather(FLOW_SIZE, val_idx[:64]), device)
        z, _ = flow(x)
        inverse_error = float((flow.inverse(z) - x).abs().max())
    metrics = {"heldOutImages": int(len(val_idx)), "heldOutBitsPerDim": float(np.mean(bpd)) if bpd else float("nan"),
               "inverseMaxAbsError": inverse_error, "identities": int(classes)}
    log("validation", bits_per_dim=metrics["heldOutBitsPerDim"], inverse_error=inverse_error)
    info = {"config": cfg.as_dict(), "model": flow.state_dict(), "data": data.describe(), "metrics": metrics,
            "steps": step, "trainSeconds": train_seconds, "wallSeconds": run.wall_seconds(), "command": run.command(),
            "seed": args.seed, "hardware": hardware_description(device)}
    path = run_dir / "flow.pt"
    torch.save(info, path)
    (run_dir / "flow.json").write_text(json.dumps({k: v for k, v in info.items() if k != "model"}, indent=2) + "\n")
    log("saved", path=str(path))
    return {"step": step, "metrics": metrics, "path": str(path)}


# --- stage 3: generator -------------------------------------------------------------------

def generator_rows(templates: np.ndarray, noise_dim: int, seed: int) -> torch.Tensor:
    """[template | v] rows with v ~ N(0, I) from a seeded generator."""
    v = torch.randn(len(templates), noise_dim, generator=torch.Generator().manual_seed(seed))
    return torch.cat([torch.from_numpy(np.ascontiguousarray(templates, np.float32)), v], 1)


def train_generator(args, argv) -> dict:
    wall_start, device, run_dir, log = begin(MODULE, argv, args, TRAINING_DIR)
    encoder = OnnxEncoder(args.encoder, find_manifest(args.encoder, args.encoder_manifest), args.threads)
    losses = Vec2FaceLossConfig(args.loss_list, args.stage_weighting, args.w_adv, args.w_l1, args.w_bij, args.w_distill,
                                args.w_features, margin=args.margin)
    cfg = GeneratorConfig(args.arch, encoder.dim, args.noise_dim,
                          widths=tuple(int(w) for w in args.widths.split(",")) if args.widths else ())
    widths = cfg.widths
    gen = build_generator(cfg).to(device)
    n_params = sum(p.numel() for p in gen.parameters())
    if n_params * 2 > MAX_ARTEFACT_BYTES * 0.98:
        raise SystemExit(f"{n_params} generator parameters do not fit {MAX_ARTEFACT_BYTES // 2**20} MiB even as float16")
    critic = Critic(encoder.dim, args.critic_width).to(device) if "adv" in losses.losses else None
    student, student_info = load_student(args.student, device) if "distill" in losses.losses else (None, None)
    flow, flow_info = load_flow(args.flow, device) if "bij" in losses.losses else (None, None)
    if student_info and student_info["encoder"]["sha256"] != encoder.sha256:
        raise SystemExit(f"the student was distilled from {student_info['encoder']['id']}, not {encoder.id}")

    prep = time.time()
    data = FaceData(args.data.split(","), (64, 112), args.cache_dir, log)
    templates = data.templates(encoder, args.cache_dir, log=log)
    _, id_labels = np.unique(data.identities, return_inverse=True)
    train_idx, val_idx = data.split(args.val_fraction, args.seed)
    prep_seconds = time.time() - prep
    log("data", images=data.count, train=len(train_idx), val=len(val_idx), parameters=n_params)
    weights = stage_weights(len(STAGES), losses.stage_weighting)
    betas = (0.5, 0.99)
    opt_g = torch.optim.Adam(gen.parameters(), lr=args.lr, betas=betas)
    opt_d = torch.optim.Adam(critic.parameters(), lr=args.lr, betas=betas) if critic else None
    states = {"generator": gen, "opt_g": opt_g, **({"critic": critic, "opt_d": opt_d} if critic else {})}
    sampler, aug_rng, run, budget = _start_loop(args, argv, run_dir, train_idx, log, wall_start, states)

    def checkpoint(step):
        run.save(step, generator=gen.state_dict(), opt_g=opt_g.state_dict(),
                 critic=critic.state_dict() if critic else None, opt_d=opt_d.state_dict() if critic else None,
                 config=cfg.as_dict(), args=vars(args))

    def train_step(step):
        idx = sampler.next()
        real = to_tensor(data.gather(64, idx), device)
        t = torch.from_numpy(templates[idx]).to(device)
        ids = torch.from_numpy(id_labels[idx]).to(device)
        row = torch.cat([t, torch.randn(len(idx), cfg.noise_dim, device=device)], 1)
        lr = cosine_lr(args.lr, budget.fraction(step), floor=0.1)
        set_lr([o for o in (opt_g, opt_d) if o], lr)
        outs = gen.multi_stage(row)
        parts: dict[str, float] = {}
        if critic:
            fake = outs[-1].detach()
            d_real, d_fake = critic(real, t), critic(fake, t)
            loss_d = d_fake.mean() - d_real.mean() + losses.drift * d_real.pow(2).mean()
            if step % losses.gp_every == 0:
                # Lazy regularisation: the penalty every k steps, scaled by k.
                loss_d = loss_d + losses.w_gp * losses.gp_every * gradient_penalty(critic, real, fake, t)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            parts["critic"] = float(loss_d.detach())
        total = 0.0
        l1 = sum(w * (o - resize(real, o.shape[-1])).abs().mean() for w, o in zip(weights, outs) if w > 0)
        total = total + losses.w_l1 * l1
        parts["l1"] = float(l1.detach())
        if flow is not None:
            bij_terms = [(w, bijective_loss(flow, o, real, ids, losses.margin, losses.contrastive))
                         for w, o in zip(weights, outs) if w > 0]
            bij = sum(w * b[0] for w, b in bij_terms)
            total = total + losses.w_bij * bij
            parts.update(bij=float(bij.detach()), **bij_terms[-1][1][1])
        if student is not None:
            dist, dparts = distillation_loss(student, outs[-1], real, t, losses.w_features)
            total = total + losses.w_distill * dist
            parts.update(distill=float(dist.detach()), **dparts)
        if critic:
            adv = -critic(outs[-1], t).mean()
            total = total + losses.w_adv * adv
            parts["adv"] = float(adv.detach())
        opt_g.zero_grad(set_to_none=True)
        total.backward()
        opt_g.step()
        return len(idx), lambda: {"loss": float(total.detach()), "lr": lr, **parts}

    gen.train()
    step, train_seconds = run.train(train_step, checkpoint)
    load_after = os.getloadavg()[0]  # the card says whether the run had the machine to itself
    gen.eval()

    pool = val_idx if len(val_idx) else train_idx
    val = _seeded_subset(pool, args.val_limit, args.seed)
    rows = generator_rows(templates[val], cfg.noise_dim, args.seed)
    with torch.no_grad():
        recon = np.concatenate([gen(rows[i:i + 64].to(device)).cpu().numpy() for i in range(0, len(rows), 64)])
    originals = data.gather(112, val)
    cross = [OnnxEncoder(p, find_manifest(p), args.threads) for p in args.cross_encoders.split(",") if p]
    metrics = reconstruction_metrics(originals, recon, templates[val], encoder, cross)
    # Variations: the same templates with K = 4 seeded v each; how far they differ and whether
    # they keep the identity.
    k_val = val[: min(16, len(val))]
    with torch.no_grad():
        var = np.stack([gen(generator_rows(templates[k_val], cfg.noise_dim, args.seed + 1 + k).to(device)).cpu().numpy()
                        for k in range(4)])
    var_t = encoder.encode_float(var.reshape(-1, 3, 112, 112)).reshape(4, len(k_val), -1)
    metrics["variations"] = {
        "templates": int(len(k_val)), "perTemplate": 4,
        "pixelStd": float(var.std(0).mean()),
        "cosineTarget": float(np.mean([cosine_rows(var_t[k], templates[k_val]).mean() for k in range(4)])),
    }
    save_grid([originals[:8], recon[:8], var[1, :8]], run_dir / "samples.png")
    log("validation", psnr=metrics["psnr"]["mean"], ssim=metrics["ssim"]["mean"], cosine=metrics["cosineTarget"]["mean"],
        impostor=metrics["impostorCosineMean"], variation_std=metrics["variations"]["pixelStd"])

    out = Path(args.out)
    example = generator_rows(templates[val[:3]] if len(val) >= 3 else templates[:3], cfg.noise_dim, args.seed + 7)
    report = export_onnx(gen, example, out / f"{args.id}.onnx", "template", "image", args.weights)
    names = [d.name for d in data.datasets]
    licence = dataset_licence(names)
    title = "DiBiGAN" if args.arch == "dibigan" else "DAB-GAN"
    manifest = decoder_manifest(
        args.id, args.name or f"{title} Vec2Face generator for {encoder.id} (64x64, upsampled to 112x112)", report,
        encoder.dim + cfg.noise_dim, encoder.describe(), licence,
        f"trained by `python -m {MODULE} generator` (Unveil's training/ package, seed {args.seed}); command in {args.id}.md",
        notes=f"Input row: a {encoder.id} template ({encoder.dim} values, L2-normalised inside the model) followed by "
              f"{cfg.noise_dim} standard-normal noise values v (one face per v).")
    manifest["conditional"] = {"method": args.arch, "templateDim": encoder.dim, "noiseDim": cfg.noise_dim}
    write_manifest(out / f"{args.id}.json", manifest)
    wall = run.wall_seconds()
    loss_text = ", ".join(losses.losses)
    used = [("student", args.student, student_info), ("flow", args.flow, flow_info)]
    def backbone_of(info):
        b = info["config"].get("backbone")
        return f"frozen `{b['id']}` backbone + a trained head, " if b else ""

    aux = "; ".join(f"{name} `{display_path(Path(p))}` (sha256 `{sha256_of(Path(p))[:16]}…`, {backbone_of(info)}{info['steps']} steps, "
                    f"command `{info['command']}`)" for name, p, info in used if info)
    arch_text = (
        "CNN: template -> mapping MLP -> style w; [w | v] -> 4x4 map; styled 3x3 convolutions (AdaIN from w at every scale) "
        f"with nearest 2x upsampling to 64x64 (channels {', '.join(map(str, widths))} at 4..64 px)"
        if args.arch == "dibigan" else
        "attention generator: template -> mapping MLP -> style w; [w | v] -> 8x8 tokens; windowed multi-head self-attention "
        f"blocks (window {cfg.window}, adaptive LayerNorm from w) at 8 (two), 16, 32 and 64 px, each scale reached by nearest 2x "
        f"upsampling + a styled 3x3 conv (channels {', '.join(map(str, widths[1:]))} at 8..64 px)")
    metric_rows = [
        ("validation images (held-out CelebA identities)", str(metrics["images"])),
        ("PSNR (dB), 112x112 vs aligned original", f"{metrics['psnr']['mean']:.2f} (median {metrics['psnr']['median']:.2f})"),
        ("SSIM", f"{metrics['ssim']['mean']:.4f} (median {metrics['ssim']['median']:.4f})"),
        (f"cosine to target template ({encoder.id})", f"{metrics['cosineTarget']['mean']:.4f} (median {metrics['cosineTarget']['median']:.4f})"),
        ("impostor baseline (mean cosine between different validation templates)", f"{metrics['impostorCosineMean']:.4f}"),
        *[(f"cosine reconstruction vs original under {k}", f"{v['mean']:.4f}") for k, v in metrics["cross"].items()],
        ("variations: pixel std across 4 seeded v (mean over pixels)", f"{metrics['variations']['pixelStd']:.4f}"),
        ("variations: mean cosine to target", f"{metrics['variations']['cosineTarget']:.4f}"),
        ("ONNX parity (max abs diff vs torch)", f"{report.parity_max_abs_diff:.2e}"),
        ("exported vs trained model (max abs diff)", f"{report.export_copy_max_abs_diff:.2e}"),
    ]
    write_model_card(
        out / f"{args.id}.md", args.id,
        f"A {title} feature-conditional generator (after Truong et al., Vec2Face) for `{encoder.id}` templates: {arch_text}; "
        "RGB heads at 16, 32 and 64 px; the 64 px head, bilinearly resized to 112x112, is the output.",
        [
            ("file", f"`{args.id}.onnx` ({report.weights} weights, {report.bytes / 2**20:.1f} MiB, {n_params} parameters, "
                     f"opset {report.opset}, dynamic batch)"),
            ("sha256", f"`{report.sha256}`"),
            ("input", f"`template` [-1, {encoder.dim + cfg.noise_dim}]: the {encoder.dim}-d template, "
                      f"then {cfg.noise_dim} noise values v ~ N(0, I)"),
            ("target encoder", f"`{encoder.id}` ({encoder.path.name}, sha256 `{encoder.sha256}`), black box: "
                               "only queried for templates of the training images"),
            ("losses", f"{loss_text} (weights adv {losses.w_adv:g}, L1 {losses.w_l1:g}, bijective {losses.w_bij:g} with margin {losses.margin:g}, "
                       f"distillation {losses.w_distill:g} with feature weight {losses.w_features:g}); stages 16/32/64 px weighted "
                       f"{', '.join(f'{w:.3f}' for w in weights)} ({'Eqn. 14, exponential' if losses.stage_weighting == 'exp' else 'final stage only'}); "
                       f"WGAN-GP critic (projection on the template, GP {losses.w_gp:g} every {losses.gp_every} steps)" if critic else
                       f"{loss_text}; stages weighted {', '.join(f'{w:.3f}' for w in weights)}"),
            ("auxiliary networks", aux or "none"),
            ("data", "; ".join(f"{d['items']} aligned crops from `{d['name']}`" for d in data.describe()) +
             f"; split by identity (seed {args.seed}): {len(train_idx)} train, {len(val_idx)} validation"),
            ("optimiser", f"Adam lr {args.lr:g} (betas 0.5, 0.99; warm-up, cosine decay to 0.1x), batch {args.batch_size}"),
            ("training", f"{step} steps, {step * args.batch_size} images seen, {train_seconds / 60:.1f} min training loop, "
                         f"{prep_seconds / 60:.1f} min data and template caching, {wall / 60:.1f} min in all"),
            ("hardware", hardware_description(device) + f" (1-minute load average {load_after:.1f} when the training loop ended)"),
            ("software", ", ".join(f"{k} {v}" for k, v in software_versions().items()) + f", unveil_training {__version__}"),
            ("licence", f"**{licence}**: the model inherits the training data's terms"),
            ("rebuild", f"`{run.command()}` (seed {args.seed}; bit-identical only with --max-steps as the binding budget, "
                        "no resume, and the same thread count and hardware)"),
        ],
        metric_rows,
        notes=[f"Samples: `{display_path(run_dir / 'samples.png')}` (originals, reconstructions with v seeded {args.seed}, "
               "and another v; not committed)."],
    )
    log("exported", path=report.path, sha256=report.sha256, parity=report.parity_max_abs_diff)
    return {"step": step, "train_seconds": train_seconds, "metrics": metrics, "export": report.as_dict(),
            "manifest": manifest, "run_dir": str(run_dir)}


def main(argv: list[str] | None = None) -> dict:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    return {"student": train_student, "flow": train_flow, "generator": train_generator}[args.stage](args, argv)


if __name__ == "__main__":
    ensure_allocator_tunables()
    main()
