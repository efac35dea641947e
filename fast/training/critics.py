"""G's adversaries ("critics"): the paper's discriminator D, several of them (GMAN), the seed's
blur detector D2; what each judges, its targets and its loss.

Names: a critic is called ``d`` (one real/fake discriminator), ``d1 ... dK`` (several) or
``blur`` (D2); its values are logged as ``d/...``, ``d_d1/...``, ``d_blur/...``
(:attr:`Critic.prefix`), its weights saved under ``critics/<name>``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sharpvid.fast.blur import blur
from sharpvid.fast.checkpoint import CheckpointError, load_checkpoint, load_state
from sharpvid.fast.config import TrainConfig
from sharpvid.fast.devices import FastMath, resolve_fast_math
from sharpvid.fast.losses import discriminator_loss, smoothed_labels
from sharpvid.fast.networks import MultiScaleDiscriminator
from sharpvid.fast.pyramid import frame_pyramid
from sharpvid.fast.training.objectives import Rollout, mean_over_frames
from sharpvid.fast.training.optim import make_optimizer, spectral_normalise


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

    @property
    def prefix(self) -> str:
        """Where its values are logged: ``d/...``, ``d_d1/...``, ``d_blur/...``."""
        return "d" if self.name == "d" else f"d_{self.name}"

    def scores(self, window, pyramid, *, training: bool = False) -> list[torch.Tensor]:
        """D's logits ``(B,)`` per scale (training's losses take logits: exact BCE gradients);
        ``window`` is ignored by a critic that judges frames alone (D2)."""
        module = self.train_module if training and self.train_module is not None else self.module
        return module(window if self.kind == "real_fake" else None, pyramid, logits=True)


def critic_names(cfg: TrainConfig) -> list[tuple[str, str]]:
    """``(name, kind)`` of the run's critics: ``d`` (or ``d1 ... dK`` for several real/fake
    discriminators) and ``blur`` for the blur detector; none when λ_adv = 0."""
    if not cfg.adversarial:
        return []
    k = cfg.discriminators
    names = [("d" if k == 1 else f"d{i + 1}", "real_fake") for i in range(k)]
    return names + ([("blur", "blur")] if cfg.blur_detector else [])


def build_discriminator(cfg: TrainConfig, kind: str, device,
                        fast_math: FastMath | None = None) -> MultiScaleDiscriminator:
    """One critic's network: ``cfg.discriminator_config()`` (unconditional for the blur
    detector: D2 judges a frame alone), spectral-normalised with ``d_spectral_norm``; built from
    torch's current seed."""
    net = cfg.discriminator_config()
    if kind == "blur":
        net = dataclasses.replace(net, conditional_d=False, d_input="frame")
    if fast_math is None:
        fast_math = resolve_fast_math(cfg.fast_math, device)
    d = MultiScaleDiscriminator(net, fast_math=fast_math).to(device)
    return spectral_normalise(d) if cfg.d_spectral_norm else d


def make_d_optimizer(cfg: TrainConfig, params) -> torch.optim.Optimizer:
    """A critic's optimiser: ``d_optimizer`` at ``d_lr`` (SGD with ``d_momentum``, or Adam)."""
    return make_optimizer(cfg.d_optimizer, params, cfg.d_lr, cfg.d_momentum,
                          (cfg.d_adam_beta1, cfg.d_adam_beta2))


def build_critics(cfg: TrainConfig, device, fast_math: FastMath | None = None) -> list[Critic]:
    """The critics, each a multi-scale discriminator with its own optimiser (built after G, in
    order, from the run's seeded torch generator: their initial weights differ); ``fast_math``:
    the plan (default: ``cfg.fast_math`` resolved for ``device``)."""
    critics = []
    for name, kind in critic_names(cfg):
        d = build_discriminator(cfg, kind, device, fast_math)
        critics.append(Critic(name, d, make_d_optimizer(cfg, d.parameters()), kind,
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


@contextlib.contextmanager
def frozen(critics: list[Critic]):
    """The critics' weights out of autograd while G's loss is built through them (G's backward
    then reaches G alone)."""
    for critic in critics:
        critic.module.requires_grad_(False)
    try:
        yield
    finally:
        for critic in critics:
            critic.module.requires_grad_(True)


# ---------------------------------------------------------------------------------------------
# What a critic judges in the D step, its targets, its loss
# ---------------------------------------------------------------------------------------------


def critic_batch(critic: Critic, fake: Rollout, cfg: TrainConfig
                 ) -> tuple[torch.Tensor | None, list[torch.Tensor], int]:
    """One critic's D-step input from a rollout of n frames of B clips: the windows (or None),
    the frames' pyramid (per scale, the real frames of every predicted frame then the
    negatives, each block frame-major: ``((1 + negatives) n B, C, H_k, W_k)``) and the number of
    negative blocks.  D's negatives are G's frames; D2's the real frames blurred by
    ``cfg.blur`` (:func:`sharpvid.fast.blur.blur`), then G's frames with ``blur_detector_fakes``."""
    n_scales = len(fake.targets[0])
    real = [[t[k] for t in fake.targets] for k in range(n_scales)]  # per scale, frame by frame
    generated = [[p[k] for p in fake.preds] for k in range(n_scales)]
    if critic.kind == "real_fake":
        windows = torch.cat(fake.real_windows + fake.windows)
        return windows, [torch.cat(r + g) for r, g in zip(real, generated)], 1
    blurred = frame_pyramid(blur(torch.cat(real[-1]), cfg.blur, cfg), n_scales)
    fakes = generated if cfg.blur_detector_fakes else [[] for _ in range(n_scales)]
    return None, [torch.cat(r + [b] + g) for r, b, g in zip(real, blurred, fakes)], \
        1 + bool(cfg.blur_detector_fakes)


def labels(cfg: TrainConfig, rank: int, step: int, n_real: int, n_fake: int, device):
    """D's targets at ``step``: 1 and 0, or with ``label_smoothing`` a draw per sample of
    :func:`sharpvid.fast.losses.smoothed_labels` (real first, then fake) from the counter-based
    generator ``default_rng([seed, rank, step, 1])`` (the same on resume; no state)."""
    if not cfg.label_smoothing:
        return 1.0, 0.0
    rng = np.random.default_rng([cfg.seed, rank, step, 1])
    kw = dict(real_range=tuple(cfg.real_label_range), fake_range=tuple(cfg.fake_label_range),
              device=device)
    return (smoothed_labels((n_real,), True, rng, **kw),
            smoothed_labels((n_fake,), False, rng, **kw))


def instance_noise(critic: Critic, pyramid: list[torch.Tensor], cfg: TrainConfig,
                   step: int) -> list[torch.Tensor]:
    """The frames a real/fake critic judges at ``step``, with instance noise (σ falling linearly
    to 0 over ``instance_noise_steps``; torch's generator, saved with the run)."""
    if not cfg.instance_noise or critic.kind != "real_fake":
        return pyramid
    span = cfg.instance_noise_steps or cfg.steps
    sigma = cfg.instance_noise * max(0.0, 1.0 - step / max(span, 1))
    if sigma == 0:
        return pyramid
    return [p + sigma * torch.randn_like(p) for p in pyramid]


def judge(d_real: list[torch.Tensor], d_fake: list[torch.Tensor], real_target=1.0,
          fake_target=0.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. (3) on logits per scale, and the accuracies: real called real, fake called fake
    (p > 0.5 is logit > 0), each the mean over scales."""
    loss = discriminator_loss(d_real, d_fake, real_target, fake_target, logits=True)
    acc_real = torch.stack([(z > 0).float().mean() for z in d_real]).mean()
    acc_fake = torch.stack([(z < 0).float().mean() for z in d_fake]).mean()
    return loss, acc_real, acc_fake


def critic_loss(scores: list[torch.Tensor], n: int, b: int, real_target, fake_target
                ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """:func:`judge` on each of the n predicted frames of :func:`critic_batch`'s scores (per
    scale ``((1 + negatives) n B,)``), averaged over frames: the loss and both accuracies."""
    blocks = [s.view(-1, n, b) for s in scores]  # per scale (1 + negatives, n, B)
    per_frame = [judge([z[0, j] for z in blocks], [z[1:, j].reshape(-1) for z in blocks],
                       real_target, fake_target) for j in range(n)]
    loss, acc_real, acc_fake = (mean_over_frames(list(v)) for v in zip(*per_frame))
    return loss, acc_real, acc_fake
