"""What G is trained against: its rollout over n frames and the terms of Eq. (6).

With n > 1 the later frames are predicted recursively from earlier predictions (gradients flow
through the recursion, :func:`sharpvid.fast.networks.recursion`) and every term is averaged over the
n predicted frames, so with n = 1 each is exactly the paper's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from sharpvid.fast.config import TrainConfig
from sharpvid.fast.losses import gdl_loss, lp_loss
from sharpvid.fast.metrics import moving_mask
from sharpvid.fast.networks import recursion
from sharpvid.fast.pyramid import frame_pyramid
from sharpvid.fast.training.errors import TrainError


@dataclass
class Rollout:
    """G's predictions of n frames, each with the window it saw and its target, per scale."""

    windows: list[torch.Tensor]           # per predicted frame j: the input window (B, m, C, H, W)
    preds: list[list[torch.Tensor]]       # per j: \hat Y_k, coarse to fine, (B, C, H_k, W_k)
    targets: list[list[torch.Tensor]]     # per j: Y_k, the real frame's pyramid
    real_windows: list[torch.Tensor]      # per j: the window of real frames before frame j


def rollout(g: Callable, x: torch.Tensor, y: torch.Tensor, n_scales: int) -> Rollout:
    """Predict y's n frames from x recursively (each prediction slides into the window)."""
    frames, m = torch.cat([x, y], dim=1), x.shape[1]
    out = Rollout([], [], [], [])
    for j, (window, preds) in enumerate(recursion(g, x, y.shape[1])):
        out.windows.append(window)
        out.preds.append(preds)
        out.targets.append(frame_pyramid(y[:, j], n_scales))
        out.real_windows.append(frames[:, j : j + m])
    return out


def mean_over_frames(values: list[torch.Tensor]) -> torch.Tensor:
    return values[0] if len(values) == 1 else torch.stack(values).mean()


def lp_term(r: Rollout, p: float) -> torch.Tensor:
    """Σ_k L_p(\\hat Y_k, Y_k) (Eq. 1 summed over scales), averaged over predicted frames."""
    return mean_over_frames([sum(lp_loss(a, b, p) for a, b in zip(pk, tk))
                             for pk, tk in zip(r.preds, r.targets)])


def gdl_term(r: Rollout, alpha: float) -> torch.Tensor:
    """Σ_k L_gdl(\\hat Y_k, Y_k) (Eq. 5 summed over scales), averaged over predicted frames."""
    return mean_over_frames([sum(gdl_loss(a, b, alpha) for a, b in zip(pk, tk))
                             for pk, tk in zip(r.preds, r.targets)])


def perceptual_term(r: Rollout, vgg: nn.Module, layers) -> torch.Tensor:
    """L_perc (:func:`sharpvid.fast.perceptual.perceptual_loss`, VGG19 features of the finest
    predicted frame against the real one), averaged over predicted frames."""
    from sharpvid.fast.perceptual import perceptual_loss

    pairs = [tuple(p) for p in layers]
    return mean_over_frames([perceptual_loss(vgg, pk[-1], tk[-1], pairs)
                             for pk, tk in zip(r.preds, r.targets)])


def load_vgg19(cfg: TrainConfig, device) -> nn.Module:
    """The frozen VGG19 feature stack of the perceptual loss, from ``cfg.vgg19_weights``."""
    from sharpvid.fast.perceptual import VGG19_CHECKPOINT, VGG19Features, load_vgg19_weights
    from sharpvid.reference.perceptual import VGG19_LAYERS

    if not cfg.vgg19_weights:
        raise TrainError(f"lam_perc > 0 needs VGG19 weights: torchvision's ImageNet checkpoint "
                         f"{VGG19_CHECKPOINT}, downloaded by you (sharpvid downloads nothing), "
                         f"given as --vgg19_weights FILE")
    names = [name for name, _ in cfg.perc_layers]
    deepest = max(names, key=VGG19_LAYERS.index)
    weights = load_vgg19_weights(cfg.vgg19_weights, deepest)
    return VGG19Features(names, weights).to(device)


def adversarial_weight(cfg: TrainConfig, step: int) -> float:
    """λ_adv at ``step`` (counted from 0): the config's, ramped up linearly over
    ``adv_warmup`` steps when that is > 0."""
    if not cfg.adv_warmup:
        return cfg.lam_adv
    return cfg.lam_adv * min(1.0, (step + 1) / cfg.adv_warmup)


def adversarial_region(r: Rollout, region: str, threshold: float
                       ) -> list[tuple[torch.Tensor, list[torch.Tensor]]]:
    """Each predicted frame as G's adversarial term (Eq. 4) sees it: ``(window, pyramid)`` per
    frame j.

    ``region="frame"`` (the paper): as predicted.  ``"moving"`` (beyond the paper): the same
    values, but the gradient reaches a predicted frame only at the pixels of
    :func:`sharpvid.fast.metrics.moving_mask` (its real frame against the real frame before it,
    per scale, more than ``threshold`` apart in some channel); elsewhere it enters detached.
    That holds for the judged pyramid and, with n > 1, for the earlier predictions in the window
    the critic is conditioned on; the gradient G's own recursion carries (frame j's moving pixels
    through frame j - 1 as G's input) is left as it is.  The forward pass, so every logged loss
    and the critics' judgement of the whole frame, is unchanged."""
    if region == "frame":
        return list(zip(r.windows, r.preds))
    masks = [[moving_mask(x, t, threshold).unsqueeze(-3)  # per predicted frame i and scale k
              for x, t in zip(frame_pyramid(real[:, -1], len(targets)), targets)]
             for real, targets in zip(r.real_windows, r.targets)]

    def keep_moving(pred, i, k):  # predicted frame i at scale k, gradient on its moving pixels
        return torch.where(masks[i][k], pred, pred.detach())

    seen = []
    for j, (window, preds) in enumerate(zip(r.windows, r.preds)):
        m = window.shape[1]
        if j > 0:  # window[:, t] is predicted frame j + t - m where that is >= 0
            window = torch.stack([keep_moving(window[:, t], j + t - m, -1) if j + t >= m
                                  else window[:, t] for t in range(m)], dim=1)
        seen.append((window, [keep_moving(p, j, k) for k, p in enumerate(preds)]))
    return seen


def check_weights(cfg: TrainConfig) -> None:
    """A config that trains something: some λ of Eq. (6) (or the perceptual term's) > 0."""
    if not (cfg.lam_lp > 0 or cfg.lam_gdl > 0 or cfg.lam_perc > 0 or cfg.adversarial):
        raise TrainError("every loss weight is 0 (lam_lp, lam_gdl, lam_adv): nothing to train")
