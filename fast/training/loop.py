"""Training: the run around the step.  :class:`Trainer` builds a run (ranks, run folder, models,
data), saves and restores its whole state, and :meth:`Trainer.fit` loops Algorithm 1's steps
(:mod:`sharpvid.fast.training.step`) with the guard, the log, validation, pictures and a clean stop.

Runs scale out with ``torchrun`` (:mod:`sharpvid.fast.training.dist`): every process is a rank with
its own data stream (the clip loader's counter-based streams), DistributedDataParallel averages the
gradients, rank 0 alone writes.  The whole state (networks, optimisers, the guard, every RNG, the
loader's position) is checkpointed atomically (:mod:`sharpvid.fast.checkpoint`), each part saving
and loading its own, and a resumed run logs exactly what an uninterrupted one would have.  Ctrl-C or
SIGTERM finish the current step, save and exit 0.
"""

from __future__ import annotations

import math
import signal
import sys
import time
from pathlib import Path

import torch
from torch import nn

from sharpvid.fast.checkpoint import (CheckpointError, RunLock, latest_checkpoint, list_checkpoints,
                                      load_checkpoint, load_state, rng_state, save_checkpoint,
                                      set_rng_state)
from sharpvid.fast.config import TrainConfig, save_config
from sharpvid.fast.devices import resolve_fast_math
from sharpvid.fast.networks import MultiScaleGenerator
from sharpvid.fast.training.critics import build_critics, init_blur_detector
from sharpvid.fast.training.data import training_clips, validation_clips, with_still_clips
from sharpvid.fast.training.dist import init_distributed, on_every_rank
from sharpvid.fast.training.errors import TrainError
from sharpvid.fast.training.guard import Guard, skipped
from sharpvid.fast.training.objectives import Rollout, check_weights, load_vgg19
from sharpvid.fast.training.optim import make_optimizer
from sharpvid.fast.training.runlog import (RunLog, check_resumable, check_run_dir, clear_run_dir,
                                           truncate_log)
from sharpvid.fast.training.step import train_step
from sharpvid.fast.video.clips import ClipLoader, to_model


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
        check_weights(cfg)  # Eq. (6) has a term to train
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
        self.vgg = load_vgg19(cfg, self.device) if cfg.lam_perc > 0 else None
        self.last_rollout: Rollout | None = None  # the last G step's first frame (samples/)
        self._batches = None
        self._wrap_for_training()
        try:
            clips = with_still_clips(training_clips(cfg) if clips is None else clips,
                                     cfg.still_clips)
            self.loader = ClipLoader(clips, cfg.batch, seed=cfg.seed, rank=self.dist.rank,
                                     device=self.device, workers=cfg.workers)
            self.val = validation_clips(cfg) if val_clips is None else list(val_clips)
            self._val_baselines: dict[str, list[float]] | None = None  # fixed clips: scored once
            self.step_no = 0
            self.guard = Guard(cfg)
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
        self.last_rollout = None
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
            "guard": self.guard.state_dict(),
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
        self.guard.load_state_dict(state["guard"], lr_factor=lr_factor)
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
        self.guard.saved()
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
    @property
    def n_scales(self) -> int:
        return self.net.n_scales

    def step(self) -> dict:
        """One step of Algorithm 1 (D then G, :func:`sharpvid.fast.training.step.train_step`);
        returns the step's values (and ``bad``: the non-finite names, whose updates were
        skipped)."""
        self.g.train()
        values = train_step(self, lambda: next(self._batches))
        self.step_no += 1
        self.guard.record(values.get("bad"))
        self.last = values
        return values

    # -- validation and pictures ----------------------------------------------------------------
    @torch.no_grad()
    def validate(self) -> dict:
        """The held-out clips' n frames predicted by G and by the two baselines, copy-last-frame
        and optical-flow extrapolation (:func:`sharpvid.fast.evaluate.predict_and_score`; keys
        ``*_copy_last`` and ``*_flow_extrap``): PSNR, SSIM and sharpness (seed
        convention) on the whole frame and PSNR on the moving area; means over clips and frames,
        NaNs (a frame with no moving pixel) skipped."""
        from sharpvid.fast.evaluate import predict_and_score

        self.g.eval()
        keys = ("psnr_seed", "psnr_seed_moving", "ssim_seed", "sharp_seed")
        values: dict[str, list[float]] = {}
        first = self._val_baselines is None  # the baselines' scores never change: once a run
        methods = (("model", ""), ("copy_last", "_copy_last"), ("flow_extrap", "_flow_extrap"))
        for clip in self.val:
            _, scores = predict_and_score(self.g, to_model(clip[None], self.device), self.cfg.m,
                                          self.cfg.n, baselines=first)
            for method, suffix in methods if first else methods[:1]:
                for key in keys:  # every predicted frame of every clip; NaN = no moving pixel
                    values.setdefault(key + suffix, []).extend(
                        scores[method][key].flatten().tolist())
        if first:
            self._val_baselines = {k: v for k, v in values.items() if k not in keys}
        values.update(self._val_baselines)
        self.g.train()
        out = {}
        for key, vals in values.items():
            finite = [v for v in vals if not math.isnan(v)]
            out[key] = sum(finite) / len(finite) if finite else float("nan")
        return out

    def write_samples(self) -> None:
        """``samples/step-N.png`` (input_m | generated | ground truth at every scale) and
        ``samples/step-N.gif`` (the first clip's inputs, then its prediction)."""
        from sharpvid.fast.figures import gif_frames, save_gif, save_png, scale_grid

        r = self.last_rollout
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
        try:
            self.guard.restoring(failed_at)
        except TrainError as exc:  # the same on every rank (the values were all-reduced)
            raise on_every_rank(exc) from None
        self.restore(path, lr_factor=self.cfg.nan_lr_factor)
        log.write({"step": failed_at, "kind": "restore", "from_step": self.step_no,
                   "lr_scale": self.guard.lr_scale})
        if self.dist.main:
            print(f"sharpvid: {self.cfg.nan_patience} non-finite steps in a row at step "
                  f"{failed_at}: restored step {self.step_no} with learning rates x"
                  f"{self.guard.lr_scale:g}", file=sys.stderr)

    def _stop_everywhere(self, requested: bool) -> bool:
        """Whether a stop (Ctrl-C, SIGTERM) was asked of any rank: all then stop after this
        step."""
        return self.dist.any_rank(requested, self.device)

    def fit(self) -> int:
        """Train to ``cfg.steps``; returns 0 (also after Ctrl-C / SIGTERM: the state is saved)."""
        from sharpvid.fast.imageio import Progress

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
                                  f"{skipped(values['bad'], bool(self.critics))}", file=sys.stderr)
                        if self.guard.must_restore and s < cfg.steps:
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
                        bar.step(f"{rate:,.0f} clips/s | {self._summary(values)}")
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
        from sharpvid.fast.imageio import ImageError

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
    from sharpvid.fast.config import read_config, with_overrides

    check_resumable(Path(run_dir))
    cfg = read_config(Path(run_dir) / "config.json")
    return with_overrides(cfg, overrides) if overrides else cfg
