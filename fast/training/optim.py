"""Optimisers, learning-rate schedules, gradient clipping and the critics' spectral
normalisation: what the training step and the blur detector's pretraining both use."""

from __future__ import annotations

import math

import torch
from torch import nn


def make_optimizer(kind: str, params, lr: float, momentum: float, betas) -> torch.optim.Optimizer:
    """``sgd`` (with ``momentum``) or ``adam`` (with ``betas``) over ``params`` at rate ``lr``."""
    if kind == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=momentum)
    return torch.optim.Adam(params, lr=lr, betas=betas)


def scheduled_lr(kind: str, lr0: float, lr1: float, step: int, steps: int) -> float:
    """The rate at ``step`` of ``steps``: constant ``lr0``, or from ``lr0`` at step 0 to ``lr1``
    at the last step, geometrically (``exponential``) or linearly."""
    if kind == "constant" or steps <= 1:
        return lr0
    t = min(step, steps - 1) / (steps - 1)
    if kind == "exponential":
        return lr0 * (lr1 / lr0) ** t
    return lr0 + (lr1 - lr0) * t


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Every parameter group of ``optimizer`` at rate ``lr`` (this step's)."""
    for group in optimizer.param_groups:
        group["lr"] = lr


def clip_grad_norm(params, max_norm: float) -> torch.Tensor:
    """The gradients' total norm (what is logged), the gradients clipped to ``max_norm`` when it
    is > 0."""
    return torch.nn.utils.clip_grad_norm_(list(params), max_norm if max_norm > 0 else math.inf,
                                          foreach=True)


def spectral_normalise(module: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al. 2018) of every conv and linear layer of a critic,
    through torch's parametrisation: the layer computes with W / σ(W), σ estimated by one power
    iteration per forward in training mode; the state dict keeps W and the iteration's vectors."""
    from torch.nn.utils.parametrizations import spectral_norm

    for layer in [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]:
        spectral_norm(layer)
    return module
