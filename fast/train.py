"""Training: Algorithm 1 of Mathieu, Couprie & LeCun 2016, on one CPU, one GPU or many.

Each step (:meth:`Trainer.step`) reads top to bottom:

1. **D step** (when λ_adv > 0): M clips; G, fixed, predicts their next frames; every critic
   (here the multi-scale discriminator D) is updated on real vs generated frames at every scale
   with :math:`\\mathcal L^D_{adv}` (Eq. 3, :func:`fast.losses.discriminator_loss`).
2. **G step**: M **new** clips; G predicts; G is updated with
   :math:`λ_{adv}\\mathcal L^G_{adv} + λ_{ℓp}\\sum_k \\mathcal L_p + λ_{gdl}\\sum_k \\mathcal L_{gdl}`
   (Eqs. 4-6), the critics fixed.
3. **Guard and log**: the loss terms and gradient norms of each update are read back to the host
   once (the only synchronisation in a step); a non-finite value skips that update (the weights
   never see it) and names the bad term; after ``nan_patience`` bad steps in a row the last
   checkpoint is restored with the learning rates multiplied by ``nan_lr_factor``.

The generator's loss is a list of :class:`LossTerm` parts and the adversaries a list of
:class:`Critic` s, so another term (a perceptual loss) or another critic (a blur detector) is one
more entry.  With λ_adv = 0 no critic is built: the ℓ2 / GDL baselines of the paper.

Conventions: clips are ``(B, m + n, C, S, S)`` in [-1, 1]; with n > 1 the later frames are
predicted recursively from earlier predictions (gradients flow through the recursion) and every
loss is averaged over the n predicted frames, so with n = 1 the logged ``g/total`` and
``d/loss`` are exactly :func:`reference.losses.combined_generator_loss` and
:func:`reference.losses.discriminator_loss` on the same batch, weights and labels (tested).
Conditional critics judge a predicted frame with the window it was predicted from (real frames
with the real window).

Runs scale out with ``torchrun``: every process is a rank with its own data stream (the clip
loader's counter-based streams), DistributedDataParallel averages the gradients, rank 0 alone
writes.  The whole state (networks, optimisers, the learning-rate scale, every RNG, the loader's
position) is checkpointed atomically (:mod:`fast.checkpoint`), and a resumed run logs exactly what
an uninterrupted one would have.  Ctrl-C or SIGTERM finish the current step, save and exit 0.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from fast.checkpoint import (CheckpointError, RunLock, latest_checkpoint, list_checkpoints,
                             load_checkpoint, load_state, rng_state, save_checkpoint,
                             set_rng_state)
from fast.config import TrainConfig, save_config
from fast.devices import FastMath, resolve_device, resolve_fast_math
from fast.losses import (aggregate_adversarial, discriminator_loss, gdl_loss, generator_adversarial_loss, lp_loss,
                         smoothed_labels)
from fast.networks import MultiScaleDiscriminator, MultiScaleGenerator
from fast.pyramid import frame_pyramid
from fast.training.optim import make_optimizer, scheduled_lr, spectral_normalise  # noqa: F401
from fast.video.clips import ClipConfig, ClipLoader, ClipSampler, test_clip, to_model
from fast.video.sources import DataError, open_source, parse_frame_range

#: a source whose frames take fewer bytes than this is decoded once and sampled in memory
IN_MEMORY_BYTES = 1 << 30


class TrainError(Exception):
    """A run that cannot start or continue as asked (the message is one line)."""


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def _is_prepared(spec: str) -> bool:
    return Path(spec, "prepare.json").is_file()


def _open(spec: str, frame_range: str):
    source = open_source(spec)
    return source.frame_range(*parse_frame_range(frame_range)) if frame_range else source


def training_clips(cfg: TrainConfig):
    """The training clips of ``cfg.data``: a prepared folder (:class:`ShardClips`) or a source
    sampled on the fly (:class:`ClipSampler`, in memory when it is small)."""
    clip_cfg = ClipConfig(m=cfg.m, n=cfg.n, size=cfg.patch, keep_anyway=cfg.keep_static)
    if _is_prepared(cfg.data):
        from fast.video.shards import ShardClips

        clips = ShardClips(cfg.data)
        t, c, h, w = clips.shape or (0, 0, 0, 0)
        if clips.shape is None or (h, w) != (cfg.patch, cfg.patch) or t < clip_cfg.length:
            raise DataError(f"{cfg.data}: prepared clips of shape {clips.shape} (T, C, H, W) "
                            f"cannot train m={cfg.m}, n={cfg.n} on {cfg.patch}x{cfg.patch} patches; "
                            f"prepare with --frames {clip_cfg.length} --size {cfg.patch}")
        return clips if t == clip_cfg.length else _Truncated(clips, clip_cfg.length)
    source = _open(cfg.data, cfg.frame_range)
    size = sum(v.num_frames * v.height * v.width * v.channels for v in source)
    return ClipSampler(source, clip_cfg, in_memory=size <= IN_MEMORY_BYTES)


class _Truncated:
    """A prepared clip set whose clips are longer than m + n: the first m + n frames."""

    def __init__(self, clips, length: int):
        self.clips, self.length = clips, length

    def batch(self, k, batch_size, seed=0, rank=0):
        return self.clips.batch(k, batch_size, seed, rank)[:, : self.length]


def validation_clips(cfg: TrainConfig) -> list[np.ndarray]:
    """Up to ``val_clips`` held-out uint8 ``(m + n, C, H, W)`` clips of ``cfg.val_data``: the
    clips of a prepared folder in order, or each video's fixed full-frame test clip."""
    if not cfg.val_data:
        return []
    length = cfg.m + cfg.n
    clips = []
    if _is_prepared(cfg.val_data):
        from fast.video.shards import ShardClips

        for clip in ShardClips(cfg.val_data):
            if len(clip) < length:
                raise DataError(f"{cfg.val_data}: clips of {len(clip)} frames, fewer than the "
                                f"m + n = {length} validation needs")
            clips.append(np.asarray(clip[:length]))
            if len(clips) == cfg.val_clips:
                break
        return clips
    for video in _open(cfg.val_data, cfg.val_frame_range):
        clips.append(test_clip(video, ClipConfig(m=cfg.m, n=cfg.n, size=None))[1])
        if len(clips) == cfg.val_clips:
            break
    return clips


def split_clip(clip: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, m + n, C, H, W)`` -> inputs X ``(B, m, C, H, W)`` and targets Y ``(B, n, C, H, W)``."""
    return clip[:, :m], clip[:, m:]


# ---------------------------------------------------------------------------------------------
# The generator's rollout, loss terms and critics
# ---------------------------------------------------------------------------------------------


@dataclass
class Rollout:
    """G's predictions of n frames, each with the window it saw and its target, per scale."""

    windows: list[torch.Tensor]           # per predicted frame j: the input window (B, m, C, H, W)
    preds: list[list[torch.Tensor]]       # per j: \hat Y_k, coarse to fine, (B, C, H_k, W_k)
    targets: list[list[torch.Tensor]]     # per j: Y_k, the real frame's pyramid
    real_windows: list[torch.Tensor]      # per j: the window of real frames before frame j


def rollout(g: Callable, x: torch.Tensor, y: torch.Tensor, n_scales: int) -> Rollout:
    """Predict y's n frames from x recursively (each prediction slides into the window)."""
    frames = torch.cat([x, y], dim=1)
    m = x.shape[1]
    out = Rollout([], [], [], [])
    window = x
    for j in range(y.shape[1]):
        preds = g(window)
        out.windows.append(window)
        out.preds.append(preds)
        out.targets.append(frame_pyramid(y[:, j], n_scales))
        out.real_windows.append(frames[:, j : j + m])
        window = torch.cat([window[:, 1:], preds[-1][:, None]], dim=1)
    return out


@dataclass
class LossTerm:
    """One part of G's loss: ``weight * fn(rollout, fake_scores)``, logged as ``g/<name>``.

    ``fake_scores`` maps each critic's name to its scores on the rollout's frames (per predicted
    frame, a list over scales).
    """

    name: str
    weight: float
    fn: Callable[[Rollout, dict], torch.Tensor]


def _mean_over_frames(values: list[torch.Tensor]) -> torch.Tensor:
    return values[0] if len(values) == 1 else torch.stack(values).mean()


def lp_term(p: float) -> Callable:
    """Σ_k L_p(\\hat Y_k, Y_k) (Eq. 1 summed over scales), averaged over predicted frames."""
    return lambda r, _: _mean_over_frames(
        [sum(lp_loss(a, b, p) for a, b in zip(pk, tk)) for pk, tk in zip(r.preds, r.targets)])


def gdl_term(alpha: float) -> Callable:
    """Σ_k L_gdl(\\hat Y_k, Y_k) (Eq. 5 summed over scales), averaged over predicted frames."""
    return lambda r, _: _mean_over_frames(
        [sum(gdl_loss(a, b, alpha) for a, b in zip(pk, tk)) for pk, tk in zip(r.preds, r.targets)])


def perceptual_term(vgg: nn.Module, layers) -> Callable:
    """L_perc (:func:`fast.perceptual.perceptual_loss`, VGG19 features of the finest predicted
    frame against the real one), averaged over predicted frames."""
    from fast.perceptual import perceptual_loss

    pairs = [tuple(p) for p in layers]
    return lambda r, _: _mean_over_frames(
        [perceptual_loss(vgg, pk[-1], tk[-1], pairs) for pk, tk in zip(r.preds, r.targets)])


def load_vgg19(cfg: TrainConfig, device) -> nn.Module:
    """The frozen VGG19 feature stack of the perceptual loss, from ``cfg.vgg19_weights``."""
    from fast.perceptual import VGG19_CHECKPOINT, VGG19Features, load_vgg19_weights
    from reference.perceptual import VGG19_LAYERS

    if not cfg.vgg19_weights:
        raise TrainError(f"lam_perc > 0 needs VGG19 weights: torchvision's ImageNet checkpoint "
                         f"{VGG19_CHECKPOINT}, downloaded by you (sharpvid downloads nothing), "
                         f"given as --vgg19_weights FILE")
    names = [name for name, _ in cfg.perc_layers]
    deepest = max(names, key=VGG19_LAYERS.index)
    weights = load_vgg19_weights(cfg.vgg19_weights, deepest)
    return VGG19Features(names, weights).to(device)


def adversarial_term(mode: str, temperature: float) -> Callable:
    """L^G_adv (Eq. 4) against every critic (each averaged over predicted frames), aggregated by
    :func:`fast.losses.aggregate_adversarial`: mean (the seed), max or GMAN's softmax at
    ``temperature`` (the config's ``gman_lambda``)."""
    return lambda _, adversarial: aggregate_adversarial(list(adversarial.values()), mode,
                                                        temperature)


def generator_loss_terms(cfg: TrainConfig, critics: list["Critic"], vgg=None) -> list[LossTerm]:
    """Eq. (6) as parts: ℓp, GDL, the VGG19 perceptual term (each when its λ > 0) and the
    adversarial term over critics.

    A term's ``fn(rollout, adversarial)`` gets G's adversarial loss against each critic by name.
    """
    terms = []
    if cfg.lam_lp > 0:
        terms.append(LossTerm("lp", cfg.lam_lp, lp_term(cfg.p)))
    if cfg.lam_gdl > 0:
        terms.append(LossTerm("gdl", cfg.lam_gdl, gdl_term(cfg.alpha)))
    if cfg.lam_perc > 0:
        terms.append(LossTerm("perc", cfg.lam_perc, perceptual_term(vgg, cfg.perc_layers)))
    if critics:
        terms.append(LossTerm("adv", cfg.lam_adv, adversarial_term(cfg.adv_aggregate,
                                                                   cfg.gman_lambda)))
    if not terms:
        raise TrainError("every loss weight is 0 (lam_lp, lam_gdl, lam_adv): nothing to train")
    return terms


@dataclass
class Critic:
    """An adversary of G: a module judging frames at every scale, and its optimiser.

    ``kind="real_fake"``: the paper's D (Eqs. 3-4), real frames 1, G's frames 0, conditioned on
    the window when its network is.  ``kind="blur"``: the seed's blur detector D2, unconditional,
    real (sharp) frames 1, blurred real frames 0 (and G's frames 0 with ``blur_detector_fakes``);
    G is rewarded when it calls G's frames sharp.  ``scores(window, pyramid)`` gives
    logits ``(B,)`` per scale (the losses take logits).
    """

    name: str
    module: nn.Module                     # the weights (what the checkpoint saves)
    optimizer: torch.optim.Optimizer
    kind: str = "real_fake"
    frozen: bool = False                  # judged by, never updated (a pretrained D2 kept as is)
    train_module: nn.Module | None = None  # DDP-wrapped (or compiled) module for the D step
    lr_key: str = "d"

    def scores(self, window, pyramid, *, training: bool = False) -> list[torch.Tensor]:
        """D's logits ``(B,)`` per scale (training's losses take logits: exact BCE gradients)."""
        module = self.train_module if training and self.train_module is not None else self.module
        return module(window, pyramid, logits=True)


def critic_names(cfg: TrainConfig) -> list[tuple[str, str]]:
    """``(name, kind)`` of the run's critics: ``d`` (or ``d1 ... dK`` for several real/fake
    discriminators) and ``blur`` for the blur detector; none when λ_adv = 0."""
    if not cfg.adversarial:
        return []
    k = cfg.discriminators
    names = [("d" if k == 1 else f"d{i + 1}", "real_fake") for i in range(k)]
    return names + ([("blur", "blur")] if cfg.blur_detector else [])


def build_critics(cfg: TrainConfig, device, fast_math: FastMath | None = None) -> list[Critic]:
    """The critics, each a multi-scale discriminator with its own optimiser (built after G, in
    order, from the run's seeded torch generator: their initial weights differ); ``fast_math``:
    the plan (default: ``cfg.fast_math`` resolved for ``device``)."""
    if fast_math is None:
        fast_math = resolve_fast_math(cfg.fast_math, device)
    critics = []
    for name, kind in critic_names(cfg):
        net = cfg.discriminator_config()
        if kind == "blur":  # D2 judges a frame alone: is it sharp?
            net = dataclasses.replace(net, conditional_d=False)
        d = MultiScaleDiscriminator(net, fast_math=fast_math).to(device)
        if cfg.d_spectral_norm:
            spectral_normalise(d)
        critics.append(Critic(name, d, make_optimizer(cfg.d_optimizer, d.parameters(), cfg.d_lr,
                                                      cfg.d_momentum,
                                                      (cfg.d_adam_beta1, cfg.d_adam_beta2)), kind,
                              frozen=kind == "blur" and cfg.freeze_d2))
    return critics


def init_blur_detector(critic: Critic, path) -> None:
    """Load only D2's weights from a checkpoint (a pretraining or a training one), naming any
    mismatched tensors; G and the other critics keep their initial weights."""
    state = load_checkpoint(path)
    d2 = state.get("critics", {}).get("blur")
    if d2 is None:
        raise CheckpointError(f"{state['path']}: holds no blur detector (critics: "
                              f"{sorted(state.get('critics', {}))})")
    load_state(critic.module, d2, "blur detector D2", state["path"])


# ---------------------------------------------------------------------------------------------
# Config warnings
# ---------------------------------------------------------------------------------------------


def config_warnings(cfg: TrainConfig) -> list[str]:
    """What a valid config may still get wrong, one line each (printed when training starts)."""
    warnings = []
    if cfg.label_smoothing and cfg.adversarial:
        for key in ("real_label_range", "fake_label_range"):
            if getattr(cfg, key)[1] > 1:
                warnings.append(f"{key}={list(getattr(cfg, key))} reaches above 1: BCE with a "
                                f"target above 1 is unbounded below and rewards D for "
                                f"saturating (the seed's range; one-sided [0.7, 1] is the default)")
    return warnings


# ---------------------------------------------------------------------------------------------
# Distributed set-up (torchrun)
# ---------------------------------------------------------------------------------------------


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    def from_main(self, value):
        """Rank 0's ``value`` on every rank (a picklable object; the others' is ignored): rank
        0 decides what concerns the run folder, and every rank acts on the same decision."""
        if self.world <= 1:
            return value
        holder = [value]
        dist.broadcast_object_list(holder, src=0)
        return holder[0]


def init_distributed(device_spec: str) -> tuple[Dist, torch.device]:
    """torchrun's environment -> the process group (NCCL on CUDA, gloo on the CPU) and the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), resolve_device(device_spec)
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_spec)
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        # DistributedDataParallel's constructor imports torch._dynamo.  Imported after the
        # group exists, dynamo keeps references to it (torch 2.13), so destroy_process_group()
        # cannot free it: gloo's loop and work threads then run until the interpreter tears
        # the group down at exit, where ranks aborted at random ("terminate called without an
        # active exception", SIGABRT).  Imported first, it never sees the group.
        import torch._dynamo  # noqa: F401

        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local), device


def on_every_rank(exc: Exception) -> Exception:
    """Mark an error that every rank raises at the same point (a decision rank 0 broadcast, or
    one taken on all-reduced values): ``sharpvid train`` then has every rank print it before any
    exits."""
    exc.every_rank = True
    return exc


def shutdown_distributed(*, synchronise: bool) -> None:
    """Leave the process group, on every path out of a distributed run.

    ``synchronise`` (a run that ended normally, every rank alike): a barrier first, so no rank
    tears its connections down while another is still in the last collective (the last
    checkpoint's).  After an error or Ctrl-C another rank may be gone: no barrier.  Then
    ``destroy_process_group()`` and a garbage collection, so the group's C++ threads are joined
    now, while the interpreter is whole, not during its teardown (see :func:`init_distributed`).
    """
    import gc

    if not (dist.is_available() and dist.is_initialized()):
        return
    try:
        if synchronise:
            dist.barrier()
    finally:
        dist.destroy_process_group()
        gc.collect()


# ---------------------------------------------------------------------------------------------
# The run folder and its log
# ---------------------------------------------------------------------------------------------


class RunLog:
    """``metrics.jsonl`` (every logged value, one JSON object per line), TensorBoard when
    installed and asked for, and the progress line on stderr.  Rank 0 only."""

    def __init__(self, run_dir: Path, cfg: TrainConfig, active: bool, start_step: int):
        self.path, self.active = run_dir / "metrics.jsonl", active
        self.file = self.tb = None
        if not active:
            return
        self.file = open(self.path, "a")
        if cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start_step + 1)
            except ImportError:
                print("sharpvid: tensorboard is not installed (pip install 'sharpvid[tensorboard]');"
                      " logging to metrics.jsonl only", file=sys.stderr)

    def write(self, record: dict) -> None:
        if not self.active:
            return
        from fast.evaluate import _json_value  # strict JSON, as metrics.json

        self.file.write(json.dumps(_json_value(record), allow_nan=False) + "\n")
        self.file.flush()
        if self.tb is not None:
            for key, value in record.items():
                if key not in ("step", "kind", "time") and isinstance(value, (int, float)) \
                        and not isinstance(value, bool):
                    self.tb.add_scalar(f"{record.get('kind', 'train')}/{key}", value,
                                       record["step"])

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.tb is not None:
            self.tb.close()


def truncate_log(path: Path, step: int) -> None:
    """Keep only the lines of steps <= ``step`` (what a resumed run will log again goes)."""
    from fast.imageio import _atomic_write

    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a line cut short by a kill or a full disk
            print(f"sharpvid: {path}: dropping a damaged line", file=sys.stderr)
            continue
        if record.get("step", 0) <= step:
            kept.append(line)
    _atomic_write(path, lambda tmp: Path(tmp).write_text("".join(k + "\n" for k in kept)))


def _check_resumable(run_dir: Path) -> None:
    """A run to resume has its ``config.json``; else the one-line error."""
    if not (run_dir / "config.json").is_file():
        raise TrainError(f"{run_dir}: no run to resume (config.json missing)")


def check_run_dir(run_dir: Path, *, resume: bool, force: bool) -> bool:
    """Refuse an output folder holding another run unless resuming or forcing; whether an old
    run is there to clear (with ``force``; :func:`clear_run_dir` does it once training starts)."""
    if resume:
        _check_resumable(run_dir)
        return False
    holds_run = (run_dir / "config.json").exists() or bool(list_checkpoints(run_dir))
    if holds_run and not force:
        raise TrainError(f"{run_dir} holds another run; use --resume {run_dir} to continue it, "
                         f"--force to start over, or another --out")
    return holds_run


def clear_run_dir(run_dir: Path) -> None:
    """Remove an old run's files (``--force``), once the new run has been built."""
    for name in ("checkpoints", "samples", "tensorboard"):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    for name in ("metrics.jsonl", "config.json"):
        (run_dir / name).unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# The trainer
# ---------------------------------------------------------------------------------------------


def _skipped(bad: list[str], critics: bool = True) -> str:
    """Which update a step's non-finite values skipped: the D step and the G step are checked
    apart (D's runs first), so a non-finite critic loss skips the critics' update while G's,
    computed from finite values against the unchanged critics, lands, and the other way round."""
    if not critics:
        return "update skipped"
    g_bad = any(name.startswith("g/") for name in bad)
    d_bad = any(not name.startswith("g/") for name in bad)
    if g_bad and d_bad:
        return "no update landed"
    return "G's update skipped (the critics' landed)" if g_bad else \
        "the critics' update skipped (G's landed)"


class _StopRequest:
    """Ctrl-C / SIGTERM: the first one asks the loop to finish its step, save and exit 0; a
    second Ctrl-C aborts at once (the checkpoints on disk are whole either way)."""

    def __init__(self):
        self.requested = False
        self._old = {}

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name  # the loop says so: no I/O in a handler

    def __exit__(self, *exc):
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


class Trainer:
    """A training run in ``run_dir``: build with a config, then :meth:`fit` (or :meth:`step`).

    Parameters
    ----------
    cfg : TrainConfig
    run_dir : path
        Where the config, checkpoints, metrics and pictures go (rank 0 writes).
    resume : bool
        Continue the run in ``run_dir`` from its newest checkpoint (``cfg`` then usually comes
        from its ``config.json``, with overrides such as a larger ``steps``).
    force : bool
        Start over in a folder that holds another run (its checkpoints are removed).
    clips, val_clips
        Replace the clips ``cfg.data`` / ``cfg.val_data`` name (anything with
        ``batch(k, batch_size, seed, rank)``; a list of uint8 clips), for tests and tools.
    progress : bool
        Show the progress line on stderr.
    """

    def __init__(self, cfg: TrainConfig, run_dir, *, resume: bool = False, force: bool = False,
                 clips=None, val_clips=None, progress: bool = True):
        self.cfg = cfg.validate()
        self.run_dir = Path(run_dir)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.dist, self.device = init_distributed(cfg.device)
        problem, self._clear, self._lock = None, False, RunLock(self.run_dir)
        if self.dist.main:  # rank 0 writes the run folder: it holds the lock
            try:
                self._lock.acquire()
                self._clear = check_run_dir(self.run_dir, resume=resume, force=force)
            except (TrainError, CheckpointError) as exc:
                self._lock.release()
                problem = str(exc)
        problem = self.dist.from_main(problem)  # every rank stops with rank 0's one-line error
        if problem:
            raise on_every_rank(TrainError(problem))
        self.progress = progress and self.dist.main
        if self.dist.main:
            for warning in config_warnings(cfg):
                print(f"sharpvid: warning: {warning}", file=sys.stderr)
        self.net = cfg.generator_config()
        self.fast_math = resolve_fast_math(cfg.fast_math, self.device)
        if self.dist.main and self.fast_math.notice:
            print(f"sharpvid: notice: {self.fast_math.notice}", file=sys.stderr)

        torch.manual_seed(cfg.seed)
        self.g = MultiScaleGenerator(self.net, fast_math=self.fast_math).to(self.device)
        self.g_opt = make_optimizer(cfg.g_optimizer, self.g.parameters(), cfg.g_lr, cfg.g_momentum,
                                    (cfg.adam_beta1, cfg.adam_beta2))
        self.critics = build_critics(cfg, self.device, self.fast_math)
        if cfg.init_d2:
            init_blur_detector(self.critics[-1], cfg.init_d2)
        vgg = load_vgg19(cfg, self.device) if cfg.lam_perc > 0 else None
        self.terms = generator_loss_terms(cfg, self.critics, vgg)
        self._last_rollout: Rollout | None = None
        self._batches = None
        self._wrap_for_training()
        try:
            clips = training_clips(cfg) if clips is None else clips
            self.loader = ClipLoader(clips, cfg.batch, seed=cfg.seed, rank=self.dist.rank,
                                     device=self.device, workers=cfg.workers)
            self.val = validation_clips(cfg) if val_clips is None else list(val_clips)
            self.step_no = 0
            self.lr_scale = 1.0
            self.bad_steps = 0
            self.restores = 0  # guard restores since the last good checkpoint
            self.last: dict = {}
            if resume:
                self.restore(latest_checkpoint(self.run_dir))
            self._batches = iter(self.loader)
        except BaseException:
            self.close()  # the half-built trainer stays in the traceback; the group must not
            raise

    def close(self) -> None:
        """Let go of what holds the process group (the DDP or compiled wrappers, the batch
        stream, the last rollout's graph) and of the run folder's lock.  The plain modules,
        their weights and the optimisers stay, so a closed trainer still evaluates and
        predicts; training again needs a new one.  ``sharpvid train`` calls it on every way
        out, before :func:`shutdown_distributed`."""
        self.g_train = self.g
        for critic in self.critics:
            critic.train_module = None
        self._batches = None
        self._last_rollout = None
        self._lock.release()

    # -- set-up ---------------------------------------------------------------------------------
    def _wrap_for_training(self) -> None:
        """DDP over ranks, channels_last before wrapping (when the fast-math plan says so),
        torch.compile."""
        modules = [self.g] + [c.module for c in self.critics]
        if self.fast_math.channels_last:
            for module in modules:
                module.to(memory_format=torch.channels_last)
        g_train: nn.Module = self.g
        critic_train = [c.module for c in self.critics]
        if self.dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.device.index] if self.device.type == "cuda" else None
            g_train = DDP(self.g, device_ids=ids)
            critic_train = [DDP(m, device_ids=ids) for m in critic_train]
        if self.cfg.compile:
            g_train = torch.compile(g_train, mode=self.cfg.compile_mode)
            critic_train = [torch.compile(m, mode=self.cfg.compile_mode) for m in critic_train]
        self.g_train = g_train
        for critic, module in zip(self.critics, critic_train):
            critic.train_module = module

    # -- state ----------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        return {
            "config": self.cfg.to_dict(),
            "generator": self.g.state_dict(),
            "critics": {c.name: c.module.state_dict() for c in self.critics},
            "optimizers": {"g": self.g_opt.state_dict(),
                           **{c.name: c.optimizer.state_dict() for c in self.critics}},
            "guard": {"lr_scale": self.lr_scale, "bad_steps": self.bad_steps},
            "rng": rng_state(),
            "loader": self.loader.state_dict(),
            "world": self.dist.world,
        }

    def restore(self, path, *, lr_factor: float | None = None) -> None:
        """Load a checkpoint of this run: weights, optimisers, guard, RNGs, the data position.

        ``lr_factor`` (the guard's restore): the learning-rate scale becomes the smaller of the
        saved one and the current one, times ``lr_factor``, so it keeps falling when the same
        checkpoint is restored again.
        """
        if path is None:
            raise TrainError(f"{self.run_dir}: no checkpoint to resume from")
        state = load_checkpoint(path)  # on the CPU: RNG states must stay there
        where = state["path"]
        load_state(self.g, state["generator"], "generator", where)
        saved = state.get("critics", {})
        if sorted(saved) != sorted(c.name for c in self.critics):
            raise CheckpointError(f"{where}: checkpoint has critics {sorted(saved)}, this run "
                                  f"{sorted(c.name for c in self.critics)} (lam_adv changed?)")
        for critic in self.critics:
            load_state(critic.module, saved[critic.name], f"critic {critic.name!r}", where)
        try:
            self.g_opt.load_state_dict(state["optimizers"]["g"])
            for critic in self.critics:
                critic.optimizer.load_state_dict(state["optimizers"][critic.name])
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"{where}: optimiser state does not fit this run's optimisers "
                                  f"({exc}); g_optimizer or d_optimizer changed?") from None
        if int(state.get("world", 1)) != self.dist.world:
            raise CheckpointError(f"{where}: saved by a run of {state.get('world', 1)} "
                                  f"process(es), resumed with {self.dist.world}: the global batch "
                                  f"and the data streams would differ; resume with as many")
        self.step_no = int(state["step"])
        saved_scale = float(state["guard"]["lr_scale"])
        self.lr_scale = (saved_scale if lr_factor is None
                         else min(saved_scale, self.lr_scale) * lr_factor)
        self.bad_steps = 0
        set_rng_state(state["rng"])
        loader = dict(state["loader"], rank=self.dist.rank)
        if loader["batch_size"] != self.cfg.batch or loader["seed"] != self.cfg.seed:
            raise CheckpointError(f"{where}: saved with batch={loader['batch_size']}, "
                                  f"seed={loader['seed']}; this run has batch={self.cfg.batch}, "
                                  f"seed={self.cfg.seed}")
        self.loader.load_state_dict(loader)
        self._batches = iter(self.loader)

    def save(self) -> Path | None:
        """Checkpoint the current step (rank 0); earlier ones beyond ``keep_checkpoints`` go.
        A failed write (CheckpointError) stops every rank with rank 0's one-line error, rather
        than leaving the others waiting in the next collective."""
        if not self.bad_steps:  # a new good state to go back to; a save after a bad step is not
            self.restores = 0   # one, or nan_max_restores could never be reached
        path, problem = None, None
        if self.dist.main:
            try:
                path = save_checkpoint(self.run_dir, self.step_no, self.state_dict(),
                                       keep=self.cfg.keep_checkpoints)
            except CheckpointError as exc:
                problem = exc
        message = self.dist.from_main(None if problem is None else str(problem))
        if message is not None and problem is None:
            problem = CheckpointError(message)
        if problem is not None:
            raise on_every_rank(problem)
        return path

    # -- one step of Algorithm 1 ----------------------------------------------------------------
    def _set_learning_rates(self) -> dict:
        cfg, s = self.cfg, self.step_no
        lrs = {"g": scheduled_lr(cfg.g_lr_schedule, cfg.g_lr, cfg.g_lr_final, s, cfg.steps),
               "d": scheduled_lr(cfg.d_lr_schedule, cfg.d_lr, cfg.d_lr_final, s, cfg.steps)}
        lrs = {k: v * self.lr_scale for k, v in lrs.items()}
        for group in self.g_opt.param_groups:
            group["lr"] = lrs["g"]
        for critic in self.critics:
            for group in critic.optimizer.param_groups:
                group["lr"] = lrs[critic.lr_key]
        return lrs

    def _next_clip(self) -> torch.Tensor:
        return next(self._batches)

    def _clip_grad_norm(self, params) -> torch.Tensor:
        """The gradients' total norm (logged), clipped to ``grad_clip`` when it is > 0."""
        clip = self.cfg.grad_clip if self.cfg.grad_clip > 0 else math.inf
        return torch.nn.utils.clip_grad_norm_(list(params), clip, foreach=True)

    def _host(self, values: dict[str, torch.Tensor]) -> dict[str, float]:
        """One device->host copy of a step's values, averaged over ranks."""
        stacked = torch.stack([v.detach().float().reshape(()) for v in values.values()])
        if self.dist.world > 1:
            dist.all_reduce(stacked)
            stacked /= self.dist.world
        return dict(zip(values, stacked.cpu().tolist()))

    def labels(self, n_real: int, n_fake: int):
        """D's targets for this step: 1 and 0, or with ``label_smoothing`` a draw per sample of
        :func:`fast.losses.smoothed_labels` (real first, then fake) from the counter-based
        generator ``default_rng([seed, rank, step, 1])`` (the same on resume; no state)."""
        cfg = self.cfg
        if not cfg.label_smoothing:
            return 1.0, 0.0
        rng = np.random.default_rng([cfg.seed, self.dist.rank, self.step_no, 1])
        kw = dict(real_range=tuple(cfg.real_label_range), fake_range=tuple(cfg.fake_label_range),
                  device=self.device)
        return (smoothed_labels((n_real,), True, rng, **kw),
                smoothed_labels((n_fake,), False, rng, **kw))

    def _prefix(self, critic: Critic) -> str:
        return "d" if critic.name == "d" else f"d_{critic.name}"  # d/..., d_d1/..., d_blur/...

    def _blurred(self, frames: torch.Tensor) -> torch.Tensor:
        """The blur detector's negatives: real frames ``(B, C, H, W)`` blurred by ``cfg.blur``
        (Gaussian 5x5 of variance 5 by default, median or bilateral), as pretraining blurs them
        (:func:`fast.blur_detector.blur`)."""
        from fast.blur_detector import blur

        return blur(frames, self.cfg.blur, self.cfg)

    def _critic_loss(self, critic: Critic, fake: Rollout) -> tuple[torch.Tensor, dict]:
        """One critic's loss on the D batch (Eq. 3 for D; sharp vs blurred for the blur
        detector), averaged over predicted frames, and its accuracies on real and on fake."""
        n, b = len(fake.preds), fake.windows[0].shape[0]
        n_scales = self.net.n_scales
        if critic.kind == "real_fake":
            # one forward: real then generated frames of every predicted frame, stacked (one
            # DDP forward per backward; per-sample results as separate calls)
            windows = torch.cat(fake.real_windows + fake.windows)
            pyramid = [torch.cat([p[k] for p in fake.targets + fake.preds])
                       for k in range(n_scales)]
            negatives = 1
        else:
            sharp = torch.cat([t[-1] for t in fake.targets])  # (n B, C, H, W)
            parts = [frame_pyramid(self._blurred(sharp), n_scales)]
            if self.cfg.blur_detector_fakes:
                parts.append([torch.cat([p[k] for p in fake.preds]) for k in range(n_scales)])
            pyramid = [torch.cat([torch.cat([t[k] for t in fake.targets])]
                                 + [part[k] for part in parts]) for k in range(n_scales)]
            windows, negatives = None, len(parts)
        pyramid = self._noisy(critic, pyramid)
        scores = critic.scores(windows, pyramid, training=True)  # logits per scale, ((1+neg) n B,)
        real_t, fake_t = self.labels(b, negatives * b)
        losses, acc_real, acc_fake = [], [], []
        for j in range(n):
            d_real = [s[j * b : (j + 1) * b] for s in scores]
            d_fake = [torch.cat([s[(i * n + j) * b : (i * n + j + 1) * b]
                                 for i in range(1, negatives + 1)]) for s in scores]
            losses.append(discriminator_loss(d_real, d_fake, real_t, fake_t, logits=True))
            # p > 0.5 is logit > 0
            acc_real.append(torch.stack([(z > 0).float().mean() for z in d_real]).mean())
            acc_fake.append(torch.stack([(z < 0).float().mean() for z in d_fake]).mean())
        return _mean_over_frames(losses), {"acc_real": _mean_over_frames(acc_real),
                                           "acc_fake": _mean_over_frames(acc_fake)}

    def discriminator_step(self) -> tuple[dict[str, float], list[str]]:
        """Eq. (3): every critic on M clips, G fixed; returns the logged values and the names of
        non-finite ones (then no critic is updated).  The critics' losses are summed for one
        backward: each only reaches its own weights."""
        x, y = split_clip(self._next_clip(), self.cfg.m)
        with torch.no_grad():
            fake = rollout(self.g, x, y, self.net.n_scales)  # G fixed
        values: dict[str, torch.Tensor] = {}
        total = 0.0
        trained = [c for c in self.critics if not c.frozen]
        for critic in trained:
            loss, acc = self._critic_loss(critic, fake)
            total = total + loss
            prefix = self._prefix(critic)
            values[f"{prefix}/loss"] = loss
            values.update({f"{prefix}/{k}": v for k, v in acc.items()})
        if not trained:  # the only critic is a frozen D2: nothing to update
            return {}, []
        for critic in trained:
            critic.optimizer.zero_grad(set_to_none=True)
        total.backward()
        for critic in trained:
            values[f"{self._prefix(critic)}/grad_norm"] = self._clip_grad_norm(
                critic.module.parameters())
        logged = self._host(values)
        bad = [k for k, v in logged.items() if not math.isfinite(v)]
        if not bad:
            for critic in trained:
                critic.optimizer.step()
        return logged, bad

    def generator_step(self) -> tuple[dict[str, float], list[str]]:
        """Eqs. (4-6): G on M new clips against the fixed critics; logged values and bad names."""
        x, y = split_clip(self._next_clip(), self.cfg.m)
        r = rollout(self.g_train, x, y, self.net.n_scales)
        for critic in self.critics:
            critic.module.requires_grad_(False)
        try:
            adversarial = {  # G's Eq. (4) loss against each critic, averaged over frames
                c.name: _mean_over_frames([generator_adversarial_loss(
                    c.scores(w if c.kind == "real_fake" else None, self._noisy(c, p)),
                    logits=True)
                    for w, p in zip(r.windows, r.preds)])
                for c in self.critics}
            values = {f"g/{t.name}": t.fn(r, adversarial) for t in self.terms}
            total = sum(self._weight(t) * values[f"g/{t.name}"] for t in self.terms)
        finally:
            for critic in self.critics:
                critic.module.requires_grad_(True)
        values = {"g/total": total, **values}
        if len(self.critics) > 1:  # each critic's share, for the log (not weighted)
            values.update({f"g/adv_{name}": v for name, v in adversarial.items()})
        self.g_opt.zero_grad(set_to_none=True)
        total.backward()
        values["g/grad_norm"] = self._clip_grad_norm(self.g.parameters())
        logged = self._host(values)
        bad = [k for k, v in logged.items() if not math.isfinite(v)]
        if not bad:
            self.g_opt.step()
        self._last_rollout = Rollout([x], [[p.detach() for p in r.preds[0]]],
                                     r.targets[:1], r.real_windows[:1])
        return logged, bad

    def _noisy(self, critic: Critic, pyramid: list[torch.Tensor]) -> list[torch.Tensor]:
        """The frames a real/fake critic judges, with this step's instance noise (σ falling
        linearly to 0 over ``instance_noise_steps``; torch's generator, saved with the run)."""
        cfg = self.cfg
        if not cfg.instance_noise or critic.kind != "real_fake":
            return pyramid
        span = cfg.instance_noise_steps or cfg.steps
        sigma = cfg.instance_noise * max(0.0, 1.0 - self.step_no / max(span, 1))
        if sigma == 0:
            return pyramid
        return [p + sigma * torch.randn_like(p) for p in pyramid]

    def _weight(self, term: LossTerm) -> float:
        """A term's λ at this step: the config's, λ_adv ramped up over ``adv_warmup`` steps."""
        warmup = self.cfg.adv_warmup
        if term.name != "adv" or not warmup:
            return term.weight
        return term.weight * min(1.0, (self.step_no + 1) / warmup)

    def step(self) -> dict:
        """One step of Algorithm 1 (D then G); returns the step's values (and ``bad``)."""
        self.g.train()
        lrs = self._set_learning_rates()
        values = {"step": self.step_no + 1, "lr/g": lrs["g"]}
        bad: list[str] = []
        if self.critics:
            values["lr/d"] = lrs["d"]
            d_values, d_bad = self.discriminator_step()
            values.update(d_values)
            bad += d_bad
        g_values, g_bad = self.generator_step()
        values.update(g_values)
        bad += g_bad
        self.step_no += 1
        self.bad_steps = self.bad_steps + 1 if bad else 0
        if bad:
            values["bad"] = bad
        self.last = values
        return values

    # -- validation and pictures ----------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict:
        """The held-out clips' n frames predicted by G and by copy-last-frame: PSNR, SSIM and
        sharpness (seed convention), on the whole frame and on the moving area
        (:func:`fast.evaluate.frame_metrics`); means over clips and frames, NaNs (a frame with no
        moving pixel) skipped."""
        from fast.evaluate import frame_metrics

        self.g.eval()
        keys = ("psnr_seed", "psnr_seed_moving", "ssim_seed", "sharp_seed")
        values: dict[str, list[float]] = {}
        for clip in self.val:
            frames = to_model(clip[None], self.device)
            x, y = split_clip(frames, self.cfg.m)
            prev = torch.cat([x[:, -1:], y[:, :-1]], dim=1)  # the real frame before each target
            methods = {"": self.g.predict(x, self.cfg.n, pad=True).clamp(-1, 1),
                       "_copy_last": x[:, -1:].expand_as(y)}
            for suffix, pred in methods.items():
                scores = frame_metrics(pred, y, prev)
                for key in keys:  # every predicted frame of every clip; NaN = no moving pixel
                    values.setdefault(key + suffix, []).extend(scores[key].flatten().tolist())
        self.g.train()
        out = {}
        for key, vals in values.items():
            finite = [v for v in vals if not math.isnan(v)]
            out[key] = sum(finite) / len(finite) if finite else float("nan")
        return out

    def write_samples(self) -> None:
        """``samples/step-N.png`` (input_m | generated | ground truth at every scale) and
        ``samples/step-N.gif`` (the first clip's inputs, then its prediction)."""
        from fast.figures import gif_frames, save_gif, save_png, scale_grid

        r = self._last_rollout
        if r is None:
            return
        x = r.windows[0]
        stem = self.run_dir / "samples" / f"step-{self.step_no:08d}"
        save_png(stem.with_suffix(".png"), scale_grid(x[:, -1], r.preds[0], r.targets[0]))
        save_gif(stem.with_suffix(".gif"), gif_frames(x[0], r.preds[0][-1][:1]))

    # -- the loop -------------------------------------------------------------------------------
    def _recover(self, log: RunLog) -> None:
        """``nan_patience`` bad steps in a row: back to the last checkpoint, rates scaled down."""
        path = latest_checkpoint(self.run_dir) if self.dist.main else None
        path = self.dist.from_main(str(path) if path else None)
        if path is None:
            raise on_every_rank(TrainError(f"{self.cfg.nan_patience} non-finite steps in a row "
                                           f"and no checkpoint to restore"))
        failed_at = self.step_no
        self.restores += 1
        if self.restores > self.cfg.nan_max_restores:  # the same on every rank (all-reduced)
            raise on_every_rank(TrainError(
                f"non-finite losses at step {failed_at} after {self.restores - 1} restores with "
                f"smaller learning rates; see metrics.jsonl for the terms, and lower the "
                f"learning rates or check the data"))
        self.restore(path, lr_factor=self.cfg.nan_lr_factor)
        log.write({"step": failed_at, "kind": "restore", "from_step": self.step_no,
                   "lr_scale": self.lr_scale})
        if self.dist.main:
            print(f"sharpvid: {self.cfg.nan_patience} non-finite steps in a row at step "
                  f"{failed_at}: restored step {self.step_no} with learning rates x"
                  f"{self.lr_scale:g}", file=sys.stderr)

    def _stop_everywhere(self, requested: bool) -> bool:
        if self.dist.world == 1:
            return requested
        flag = torch.tensor([1.0 if requested else 0.0], device=self.device)  # NCCL: on the GPU
        dist.all_reduce(flag)
        return bool(flag.item() > 0)

    def fit(self) -> int:
        """Train to ``cfg.steps``; returns 0 (also after Ctrl-C / SIGTERM: the state is saved)."""
        from fast.imageio import Progress

        cfg = self.cfg
        if self.dist.main:
            if self._clear:
                clear_run_dir(self.run_dir)
                self._clear = False
            self.run_dir.mkdir(parents=True, exist_ok=True)
            save_config(cfg, self.run_dir / "config.json")
            truncate_log(self.run_dir / "metrics.jsonl", self.step_no)
        # save() is collective: every rank calls it, or none
        first = self.dist.from_main(not list_checkpoints(self.run_dir) if self.dist.main else None)
        if first:
            self.save()  # step 0: the guard always has a state to go back to
        log = RunLog(self.run_dir, cfg, self.dist.main, self.step_no)
        bar = Progress(cfg.steps, "train", unit="steps", done=self.step_no, every=1.0) \
            if self.progress else None
        clips_per_step = cfg.batch * self.dist.world * (2 if self.critics else 1)
        self._tick = (time.monotonic(), self.step_no)
        t_start, s_start = self._tick
        try:
            with _StopRequest() as stop:
                while self.step_no < cfg.steps:
                    values = self.step()
                    s = self.step_no
                    if "bad" in values:  # the update(s) with a non-finite value were skipped
                        log.write({"step": s, "kind": "nonfinite", "terms": values["bad"]})
                        if self.dist.main:
                            print(f"sharpvid: step {s}: non-finite {', '.join(values['bad'])}; "
                                  f"{_skipped(values['bad'], bool(self.critics))}", file=sys.stderr)
                        if self.bad_steps >= cfg.nan_patience and s < cfg.steps:
                            self._recover(log)
                            continue
                    else:
                        self._log_step(log, values, s, clips_per_step)
                        if self.val and cfg.val_every and s % cfg.val_every == 0:
                            log.write({"step": s, "kind": "val", **self.validate()})
                        if self.dist.main and cfg.sample_every and s % cfg.sample_every == 0:
                            self._write_samples_or_warn()
                    saved = s % cfg.checkpoint_every == 0 or s == cfg.steps
                    if saved:
                        self.save()
                    if bar is not None:
                        elapsed = time.monotonic() - t_start
                        rate = (s - s_start) * clips_per_step / max(elapsed, 1e-9)
                        bar.step(f"{rate:,.0f} samples/s | {self._summary(values)}")
                    if self._stop_everywhere(bool(stop.requested)):
                        if not saved:
                            self.save()
                        if self.dist.main:
                            print(f"\nsharpvid: {stop.requested or 'stop'}: stopped after step {s} "
                                  f"(saved); continue with sharpvid train --resume "
                                  f"{self.run_dir}", file=sys.stderr)
                        break
        finally:
            log.close()
        return 0

    def _log_step(self, log: RunLog, values: dict, s: int, clips_per_step: int) -> None:
        if s % self.cfg.log_every and s != self.cfg.steps:
            return
        now = time.monotonic()
        rate = (s - self._tick[1]) / max(now - self._tick[0], 1e-9)
        self._tick = (now, s)
        log.write({"step": s, "kind": "train", "time": time.time(), **values,
                   "steps_per_s": rate, "samples_per_s": rate * clips_per_step})

    def _write_samples_or_warn(self) -> None:
        """Pictures are a view of training, not its state: a failure to write them is a warning."""
        from fast.imageio import ImageError

        try:
            self.write_samples()
        except ImageError as exc:
            print(f"sharpvid: warning: {exc}; training goes on", file=sys.stderr)

    def _summary(self, values: dict) -> str:
        parts = [f"{k.split('/')[1]} {v:.4g}" for k, v in values.items()
                 if k.startswith("g/") and k != "g/grad_norm"]
        if "d/loss" in values:
            parts += [f"D {values['d/loss']:.3g}",
                      f"acc {values['d/acc_real']:.2f}/{values['d/acc_fake']:.2f}"]
        return " ".join(parts)


def resume_config(run_dir: Path, overrides: dict | None = None) -> TrainConfig:
    """The config of the run in ``run_dir``, with ``overrides`` (e.g. more ``steps``)."""
    from fast.config import read_config, with_overrides

    _check_resumable(Path(run_dir))
    cfg = read_config(Path(run_dir) / "config.json")
    return with_overrides(cfg, overrides) if overrides else cfg
