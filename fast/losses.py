"""Fast twin of :mod:`sharpvid.reference.losses` (Mathieu et al. 2016, Eqs. 1, 3-6; label
smoothing).

Differences from the oracle: torch tensors, results are 0-dim tensors of the input's dtype and
device, differentiable (training backpropagates through every loss here).  Reductions (means),
the BCE clipping (at ``BCE_EPS`` on both p and 1 − p, so it holds in float32 too) and the λ
defaults are the oracle's.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sharpvid.fast._tensors import _as_tensor
from sharpvid.reference._checks import _check_image, _check_same_shape
from sharpvid.reference.losses import BCE_EPS, _check_aggregate


def lp_loss(y_hat: torch.Tensor, y: torch.Tensor, p: float = 2) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.losses.lp_loss`: mean |Ŷ − Y|^p."""
    y_hat, y = _as_tensor(y_hat, "y_hat"), _as_tensor(y, "y")
    _check_same_shape(y_hat, y)
    if not p > 0:
        raise ValueError(f"p must be positive, got {p!r}")
    diff = y_hat - y
    if p == 2:  # the common case, with a gradient that is finite everywhere
        return (diff * diff).mean()
    return diff.abs().pow(p).mean()


def gdl_loss(y_hat: torch.Tensor, y: torch.Tensor, alpha: float = 1) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.losses.gdl_loss` (Eq. 5, mean over the existing
    terms)."""
    y_hat, y = _as_tensor(y_hat, "y_hat"), _as_tensor(y, "y")
    _check_same_shape(y_hat, y)
    _check_image(y, "y")
    if y.shape[-2] < 2 and y.shape[-1] < 2:
        raise ValueError(f"gdl_loss needs at least 2 pixels along H or W, got shape {tuple(y.shape)}")
    terms_i = ((y[..., 1:, :] - y[..., :-1, :]).abs()
               - (y_hat[..., 1:, :] - y_hat[..., :-1, :]).abs()).abs().pow(alpha)
    terms_j = ((y[..., :, 1:] - y[..., :, :-1]).abs()
               - (y_hat[..., :, 1:] - y_hat[..., :, :-1]).abs()).abs().pow(alpha)
    return (terms_i.sum() + terms_j.sum()) / (terms_i.numel() + terms_j.numel())


def _bce_terms(p: torch.Tensor, target) -> torch.Tensor:
    """Element-wise −[t log p + (1 − t) log(1 − p)], with the oracle's clip."""
    # log p with p >= eps and log(1 − p) with 1 − p >= eps: the oracle's clip, exact in float32
    log_p = torch.log(p.clamp_min(BCE_EPS))
    log_1mp = torch.log((1.0 - p).clamp_min(BCE_EPS))
    if isinstance(target, (int, float)):  # a hard label: one log term, no label tensor
        if target == 1:
            return -log_p
        if target == 0:
            return -log_1mp
    t = _as_tensor(target, "target", like=p).to(p.dtype)
    # t log p + (1 − t) log(1 − p) = lerp(log(1 − p), log p, t)
    return -torch.lerp(log_1mp, log_p, torch.broadcast_to(t, p.shape))


def _bce_logit_terms(z: torch.Tensor, target) -> torch.Tensor:
    """Element-wise −[t log σ(z) + (1 − t) log(1 − σ(z))] from the logits z, exactly:
    log σ(z) = −softplus(−z) and log(1 − σ(z)) = −softplus(z), so no clip and no zero gradient
    where σ(z) rounds to 0 or 1 (the probability form's gradient is exactly 0 there)."""
    if isinstance(target, (int, float)):  # a hard label: one term, no label tensor
        if target == 1:
            return F.softplus(-z)
        if target == 0:
            return F.softplus(z)
    t = _as_tensor(target, "target", like=z).to(z.dtype)
    return torch.lerp(F.softplus(z), F.softplus(-z), torch.broadcast_to(t, z.shape))


def bce(p: torch.Tensor, target) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.losses.bce` (natural log, p clipped away from 0 and
    1)."""
    return _bce_terms(_as_tensor(p, "p"), target).mean()


def _bce_over_scales(ps: Sequence[torch.Tensor], target, logits: bool = False) -> torch.Tensor:
    """Σ_k bce(p_k, target); one stacked computation when every scale has the same shape (D's
    ``(B,)`` outputs), so a loss costs a handful of kernel launches, not a handful per scale.
    ``logits``: the entries are D's logits, not probabilities."""
    terms = _bce_logit_terms if logits else _bce_terms
    ps = [_as_tensor(p, "p") for p in ps]
    if len({(p.shape, p.dtype, p.device) for p in ps}) == 1:
        return terms(torch.stack(ps), target).flatten(1).mean(dim=1).sum()
    return sum(terms(p, target).mean() for p in ps)


def discriminator_loss(
    d_real: Sequence[torch.Tensor], d_fake: Sequence[torch.Tensor], real_target=1.0, fake_target=0.0,
    *, logits: bool = False,
) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.losses.discriminator_loss` (Eq. 3, summed over
    scales).

    Differences: ``logits=True`` takes D's logits (before the sigmoid) and computes the same
    loss exactly from them (training uses it: exact gradients where a probability would round
    to 0 or 1); the oracle's probability form, clip included, is the default.
    """
    if len(d_real) != len(d_fake) or len(d_real) == 0:
        raise ValueError(
            f"d_real and d_fake need one entry per scale, got {len(d_real)} and {len(d_fake)}"
        )
    return (_bce_over_scales(d_real, real_target, logits)
            + _bce_over_scales(d_fake, fake_target, logits))


def generator_adversarial_loss(d_fake: Sequence[torch.Tensor], *, logits: bool = False
                               ) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.losses.generator_adversarial_loss` (Eq. 4).

    Differences: ``logits`` as in :func:`discriminator_loss`.
    """
    if len(d_fake) == 0:
        raise ValueError("d_fake needs one entry per scale, got none")
    return _bce_over_scales(d_fake, 1.0, logits)


def combined_generator_loss(
    y_hat: Sequence[torch.Tensor],
    y: Sequence[torch.Tensor],
    d_fake: Sequence[torch.Tensor] | None = None,
    *,
    lam_adv: float = 0.05,
    lam_lp: float = 1.0,
    lam_gdl: float = 1.0,
    p: float = 2,
    alpha: float = 1,
) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.losses.combined_generator_loss` (Eq. 6)."""
    if len(y_hat) != len(y) or len(y) == 0:
        raise ValueError(f"y_hat and y need one entry per scale, got {len(y_hat)} and {len(y)}")
    loss_lp = sum(lp_loss(a, b, p) for a, b in zip(y_hat, y))
    loss_gdl = sum(gdl_loss(a, b, alpha) for a, b in zip(y_hat, y))
    loss = lam_lp * loss_lp + lam_gdl * loss_gdl
    if d_fake is not None:
        loss = loss + lam_adv * generator_adversarial_loss(d_fake)
    return loss


def smoothed_labels(
    shape,
    real: bool,
    rng=None,
    *,
    real_range: tuple[float, float] = (0.7, 1.2),
    fake_range: tuple[float, float] = (0.0, 0.3),
    device=None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.losses.smoothed_labels`.

    Differences: returns a tensor on ``device`` of ``dtype``.  With ``rng`` a
    ``torch.Generator`` the labels are drawn by torch on its device; otherwise (None, int,
    ``numpy.random.Generator``) by NumPy exactly as the oracle draws them.
    """
    low, high = real_range if real else fake_range
    if not low <= high:
        raise ValueError(f"label range must be (low, high) with low <= high, got {(low, high)}")
    if isinstance(rng, torch.Generator):
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        u = torch.rand(shape, generator=rng, device=rng.device, dtype=dtype)
        return (low + (high - low) * u).to(device or rng.device)
    draws = np.random.default_rng(rng).uniform(low, high, size=shape)
    return torch.as_tensor(draws, dtype=dtype, device=device)


def aggregate_adversarial(losses: Sequence[torch.Tensor], mode: str = "mean",
                          lam: float = 1.0) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.losses.aggregate_adversarial` (mean, max, GMAN).

    Differences: a 0-dim tensor, differentiable (through GMAN's softmax weights too).
    """
    _check_aggregate(losses, mode, lam)
    values = torch.stack([_as_tensor(v, "losses").reshape(()) for v in losses])  # (I,)
    if mode == "mean":
        return values.mean()
    if mode == "max":
        return values.max()
    return (torch.softmax(lam * values, dim=0) * values).sum()
