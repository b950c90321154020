"""Process setup, budgets, logs and checkpoints shared by the training entry points."""

from __future__ import annotations

import json
import math
import os
import platform
import random
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

TRAINING_DIR = Path(__file__).resolve().parents[1]
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")

# glibc otherwise maps and unmaps every large tensor buffer (page faults on each call); on the
# 2-core training machines this made PyTorch up to 4.8x slower (docs: environment notes, Python).
GLIBC_TUNABLES = "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=4294967296"


def ensure_allocator_tunables() -> None:
    """Re-executes the command with GLIBC_TUNABLES set when it is missing: glibc reads tunables
    only at process start. UNVEIL_NO_REEXEC=1 turns this off."""
    if sys.platform != "linux" or os.environ.get("UNVEIL_NO_REEXEC") == "1":
        return
    current = os.environ.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.mmap_threshold" in current:
        return
    env = dict(os.environ, GLIBC_TUNABLES=f"{current}:{GLIBC_TUNABLES}" if current else GLIBC_TUNABLES,
               UNVEIL_NO_REEXEC="1")
    os.execve(sys.executable, list(sys.orig_argv), env)


def setup_torch(device: str = "auto", threads: int | None = None) -> torch.device:
    torch.set_num_threads(threads or os.cpu_count() or 1)
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def command_line(module: str, argv: list[str]) -> str:
    """The command that reproduces this run, as written in model cards."""
    return f"python -m {module} {shlex.join(argv)}".rstrip()


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def hardware_description(device: torch.device) -> str:
    text = f"{cpu_model()}, {os.cpu_count()} logical CPUs, torch threads {torch.get_num_threads()}"
    if device.type == "cuda":
        text += f"; GPU {torch.cuda.get_device_name(device)}"
    return text


def software_versions() -> dict:
    import onnx
    import onnxruntime

    return {"python": platform.python_version(), "torch": torch.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "numpy": np.__version__}


class Budget:
    """Stops at whichever comes first: `minutes` of loop time or `max_steps` steps. Time spent
    before a resume is carried in `offset` so the budget covers the whole run."""

    def __init__(self, minutes: float | None, max_steps: int | None, offset_seconds: float = 0.0):
        if minutes is None and max_steps is None:
            raise ValueError("give --minutes, --max-steps or both")
        self.seconds = None if minutes is None else minutes * 60.0
        self.max_steps = max_steps
        self.offset = offset_seconds
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return self.offset + time.monotonic() - self.start

    def fraction(self, step: int) -> float:
        parts = []
        if self.seconds:
            parts.append(self.elapsed() / self.seconds)
        if self.max_steps:
            parts.append(step / self.max_steps)
        return min(1.0, max(parts)) if parts else 0.0

    def done(self, step: int) -> bool:
        if self.max_steps is not None and step >= self.max_steps:
            return True
        return self.seconds is not None and self.elapsed() >= self.seconds


def check_args(parser, args) -> None:
    """The checks both trainers' arguments need: a usable model id and at least one budget."""
    if not ID_PATTERN.match(args.id):
        parser.error("--id must be lower-case letters, digits, '.', '_' or '-' (at most 80)")
    if args.minutes is None and args.max_steps is None:
        parser.error("give --minutes, --max-steps or both")


def apply_preset(presets: dict, args, device: torch.device, keys) -> dict:
    """The named preset (default: gpu on CUDA, else cpu) with the fields the command line sets."""
    preset = dict(presets[args.preset or ("gpu" if device.type == "cuda" else "cpu")])
    for key in keys:
        if getattr(args, key) is not None:
            preset[key] = getattr(args, key)
    return preset


def set_lr(optimizers, lr: float) -> None:
    for o in optimizers:
        for g in o.param_groups:
            g["lr"] = lr


def mirror_batch(rng: np.random.Generator, enabled: bool, *batches: np.ndarray) -> np.ndarray:
    """Mirrors a random half of the batch in place (the same rows of every array); returns which
    rows. Draws from `rng` only when enabled, so runs without mirroring keep their RNG stream."""
    n = len(batches[0])
    flip = rng.random(n) < 0.5 if enabled else np.zeros(n, bool)
    if enabled:
        for b in batches:
            b[flip] = b[flip][:, :, ::-1]
    return flip


def begin(module: str, argv: list[str], args, training_dir: Path) -> tuple[float, torch.device, Path, RunLog]:
    """Start of every trainer: wall clock, torch set-up, seeds, run folder and log."""
    wall_start = time.time()
    device = setup_torch(args.device, args.threads)
    seed_everything(args.seed)
    run_dir = Path(args.run_dir) if args.run_dir else training_dir / "runs" / args.id
    log = RunLog(run_dir, args.quiet)
    log("start", command=command_line(module, argv), device=str(device))
    return wall_start, device, run_dir, log


class RunState:
    """What both trainers carry across --resume: step, loop-time budget, wall time, the commands
    run so far, and the sampler and RNG states; each trainer adds its models and optimisers."""

    def __init__(self, module: str, argv: list[str], run_dir: Path, sampler, aug_rng: np.random.Generator, log: RunLog,
                 started: float):
        self.started = started
        self.wall_before = 0.0
        self.offset = 0.0
        self.step = 0
        self.commands = [command_line(module, argv)]
        self.path = run_dir / "checkpoint.pt"
        self.sampler, self.aug_rng, self.log = sampler, aug_rng, log
        self.budget: Budget | None = None

    def resume(self) -> dict:
        """Restores the shared state from <run dir>/checkpoint.pt; returns the checkpoint."""
        ck = load_checkpoint(self.path)
        self.sampler.load_state_dict(ck["sampler"])
        self.aug_rng.bit_generator.state = ck["aug_rng"]
        torch.set_rng_state(ck["torch_rng"])
        self.step, self.offset = ck["step"], ck["elapsed"]
        self.wall_before = ck.get("wall", 0.0)
        self.commands = ck["commands"] + self.commands
        self.log("resumed", step=self.step, elapsed=self.offset)
        return ck

    def start_budget(self, minutes: float | None, max_steps: int | None, log_every: int, checkpoint_minutes: float) -> Budget:
        self.budget = Budget(minutes, max_steps, self.offset)
        self.log_every, self.checkpoint_seconds = log_every, checkpoint_minutes * 60
        self.last_checkpoint = self.window_start = time.monotonic()
        self.window_images = 0
        return self.budget

    def after_step(self, step: int, images: int, fields, checkpoint) -> None:
        """Logs every `log_every` steps (`fields()` gives the losses) and checkpoints on schedule."""
        self.window_images += images
        if step % self.log_every == 0 or step == 1:
            now = time.monotonic()
            self.log("step", step=step, epoch=self.sampler.epoch, **fields(),
                     images_per_s=self.window_images / max(now - self.window_start, 1e-9), elapsed=self.budget.elapsed())
            self.window_start, self.window_images = now, 0
        if time.monotonic() - self.last_checkpoint >= self.checkpoint_seconds:
            checkpoint()
            self.last_checkpoint = time.monotonic()

    def train(self, train_step, checkpoint) -> tuple[int, float]:
        """The loop both trainers run, from the (resumed) step until the budget ends.
        `train_step(step)` trains one batch and returns (images, fields) for after_step;
        `checkpoint(step)` saves. Returns the final step and the training-loop seconds."""
        step = self.step
        while not self.budget.done(step):
            images, fields = train_step(step)
            step += 1
            self.after_step(step, images, fields, lambda: checkpoint(step))
        return step, self.finish(step, lambda: checkpoint(step))

    def finish(self, step: int, checkpoint) -> float:
        """Writes the last checkpoint; returns the training-loop seconds of the whole run."""
        checkpoint()
        seconds = self.budget.elapsed()
        self.log("trained", step=step, seconds=round(seconds, 1))
        return seconds

    def save(self, step: int, **state) -> None:
        save_checkpoint(self.path, {**state, "sampler": self.sampler.state_dict(), "aug_rng": self.aug_rng.bit_generator.state,
                                    "torch_rng": torch.get_rng_state(), "step": step, "elapsed": self.budget.elapsed(),
                                    "wall": self.wall_seconds(), "commands": self.commands})

    def wall_seconds(self) -> float:
        """Wall time of the whole run, earlier sessions (up to their last checkpoint) included."""
        return self.wall_before + time.time() - self.started

    def command(self) -> str:
        return " && ".join(self.commands)


def display_path(path: Path) -> str:
    """Relative to the working directory when inside it: cards must not carry one machine's paths."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def cosine_lr(base: float, fraction: float, warmup: float = 0.02, floor: float = 0.05) -> float:
    """Linear warm-up then cosine decay to floor*base, over the budget's consumed fraction (time
    or steps), so a minutes-bounded run still ends at a low learning rate."""
    if fraction < warmup:
        return base * max(fraction / warmup, 0.01)
    t = (fraction - warmup) / max(1e-8, 1 - warmup)
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, t))))


class RunLog:
    """Progress lines on stdout and as JSON lines in <run dir>/log.jsonl."""

    def __init__(self, run_dir: Path, quiet: bool = False):
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / "log.jsonl"
        self.quiet = quiet

    def __call__(self, message: str, **fields) -> None:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "message": message, **fields}
        with open(self.path, "a") as f:
            f.write(json.dumps(record, default=float) + "\n")
        if not self.quiet:
            extra = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in fields.items())
            print(f"[{record['time']}] {message}{' ' + extra if extra else ''}", flush=True)


def save_checkpoint(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    # Checkpoints hold numpy RNG state and argument dicts, not only tensors.
    return torch.load(path, map_location="cpu", weights_only=False)
