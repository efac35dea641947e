"""Fast twin of :mod:`reference.pyramid` (Mathieu et al. 2016, Sec. 2.1): the multi-scale pyramid.

Differences from the oracle: torch tensors of any floating dtype on any device, computed with
``avg_pool2d`` / ``interpolate``; differentiable.  Conventions (floor pooling, nearest or
half-pixel bilinear upsampling, tanh after the Laplacian sum) are the oracle's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from fast._tensors import _as_tensor, _frames_2d
from reference._checks import _check_image, _check_positive_int


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Fast twin of :func:`reference.pyramid.downsample` (average pooling, floor)."""
    x = _as_tensor(x, "x")
    factor = _check_positive_int(factor, "factor")
    _check_image(x, "x", min_size=factor)
    if factor == 1:
        return x.clone()
    flat, shape = _frames_2d(x)
    out = F.avg_pool2d(flat, factor)
    return out.reshape(shape[:-2] + tuple(out.shape[-2:]))


def upsample(x: torch.Tensor, factor: int, mode: str = "nearest") -> torch.Tensor:
    """Fast twin of :func:`reference.pyramid.upsample` (nearest, or bilinear with half-pixel centres)."""
    x = _as_tensor(x, "x")
    factor = _check_positive_int(factor, "factor")
    _check_image(x, "x")
    if mode == "nearest":
        return x.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)
    if mode == "bilinear":
        flat, shape = _frames_2d(x)
        out = F.interpolate(flat, scale_factor=factor, mode="bilinear", align_corners=False)
        return out.reshape(shape[:-2] + tuple(out.shape[-2:]))
    raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")


def frame_pyramid(x: torch.Tensor, n_scales: int) -> list[torch.Tensor]:
    """Fast twin of :func:`reference.pyramid.frame_pyramid` (coarse to fine)."""
    x = _as_tensor(x, "x")
    n_scales = _check_positive_int(n_scales, "n_scales")
    return [downsample(x, 2 ** (n_scales - 1 - k)) for k in range(n_scales)]


def laplacian_step(
    y_coarse: torch.Tensor, residual: torch.Tensor, *, factor: int = 2, mode: str = "nearest",
    squash: bool = True,
) -> torch.Tensor:
    """Fast twin of :func:`reference.pyramid.laplacian_step`: tanh(u(Ŷ_{k−1}) + G'_k)."""
    up = upsample(y_coarse, factor, mode)
    residual = _as_tensor(residual, "residual")
    if up.shape != residual.shape:
        raise ValueError(
            f"residual must have the upsampled shape {tuple(up.shape)}, got {tuple(residual.shape)}"
        )
    y_k = up + residual
    return torch.tanh(y_k) if squash else y_k
