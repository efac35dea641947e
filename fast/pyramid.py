"""Fast twin of :mod:`sharpvid.reference.pyramid` (Mathieu et al. 2016, Sec. 2.1): the multi-scale
pyramid.

Differences from the oracle: torch tensors of any floating dtype on any device, computed with
``avg_pool2d``, ``repeat_interleave`` and matmuls; differentiable.  Conventions (floor pooling, nearest or
half-pixel bilinear upsampling, tanh after the Laplacian sum, the warp's clamped border) are the
oracle's.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from sharpvid.fast._tensors import _as_tensor, _frames_2d
from sharpvid.reference._checks import _check_image, _check_positive_int
from sharpvid.reference.pyramid import _linear_weights as _linear_weights_np


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.pyramid.downsample` (average pooling, floor)."""
    x = _as_tensor(x, "x")
    factor = _check_positive_int(factor, "factor")
    _check_image(x, "x", min_size=factor)
    if factor == 1:
        return x.clone()
    flat, shape = _frames_2d(x)
    out = F.avg_pool2d(flat, factor)
    return out.reshape(shape[:-2] + tuple(out.shape[-2:]))


@functools.lru_cache(maxsize=64)
def _linear_weights(n_in: int, factor: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The oracle's ``(factor * n_in, n_in)`` interpolation matrix, cached per size and device.

    Made outside inference mode even when the first call is inside it (evaluation, prediction):
    an inference tensor in the cache could not be saved for backward by a later training step
    at the same size."""
    with torch.inference_mode(False):
        return torch.as_tensor(_linear_weights_np(n_in, n_in * factor), dtype=dtype,
                               device=device)


def upsample(x: torch.Tensor, factor: int, mode: str = "nearest") -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.pyramid.upsample` (nearest, or bilinear with
    half-pixel centres).

    Differences: bilinear is two batched matmuls with the oracle's interpolation matrices (the
    same numbers as ``F.interpolate(align_corners=False)``, faster at the pyramid's small sizes).
    """
    x = _as_tensor(x, "x")
    factor = _check_positive_int(factor, "factor")
    _check_image(x, "x")
    if mode == "nearest":
        return x.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)
    if mode == "bilinear":
        h, w = x.shape[-2:]
        rows = _linear_weights(h, factor, x.dtype, x.device)  # (fH, H)
        cols = _linear_weights(w, factor, x.dtype, x.device)  # (fW, W)
        return rows @ x @ cols.T  # the oracle's separable formula, batched matmuls
    raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")


def frame_pyramid(x: torch.Tensor, n_scales: int) -> list[torch.Tensor]:
    """Fast twin of :func:`sharpvid.reference.pyramid.frame_pyramid` (coarse to fine)."""
    x = _as_tensor(x, "x")
    n_scales = _check_positive_int(n_scales, "n_scales")
    return [downsample(x, 2 ** (n_scales - 1 - k)) for k in range(n_scales)]


def laplacian_step(
    y_coarse: torch.Tensor, residual: torch.Tensor, *, factor: int = 2, mode: str = "nearest",
    squash: bool = True,
) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.pyramid.laplacian_step`: tanh(u(Ŷ_{k−1}) + G'_k)."""
    up = upsample(y_coarse, factor, mode)
    residual = _as_tensor(residual, "residual")
    if up.shape != residual.shape:
        raise ValueError(
            f"residual must have the upsampled shape {tuple(up.shape)}, got {tuple(residual.shape)}"
        )
    y_k = up + residual
    return torch.tanh(y_k) if squash else y_k


def copy_step(
    last: torch.Tensor, residual: torch.Tensor, *, y_coarse: torch.Tensor | None = None,
    last_coarse: torch.Tensor | None = None, factor: int = 2, mode: str = "nearest",
) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.pyramid.copy_step`: clip(F_k + u(Ŷ_{k−1} − F_{k−1}) +
    G'_k)."""
    last = _as_tensor(last, "last")
    residual = _as_tensor(residual, "residual")
    if residual.shape != last.shape:
        raise ValueError(f"residual must have the shape of last {tuple(last.shape)}, got "
                         f"{tuple(residual.shape)}")
    if (y_coarse is None) != (last_coarse is None):
        raise ValueError("give both y_coarse and last_coarse, or neither")
    change = residual
    if y_coarse is not None:
        y_coarse, last_coarse = _as_tensor(y_coarse, "y_coarse"), _as_tensor(last_coarse, "last_coarse")
        if y_coarse.shape != last_coarse.shape:
            raise ValueError(f"y_coarse {tuple(y_coarse.shape)} and last_coarse "
                             f"{tuple(last_coarse.shape)} must have the same shape")
        up = upsample(y_coarse - last_coarse, factor, mode)
        if up.shape != last.shape:
            raise ValueError(f"last must have the upsampled shape {tuple(up.shape)}, got "
                             f"{tuple(last.shape)}")
        change = up + residual
    return torch.clamp(last + change, -1.0, 1.0)


def warp(frame: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.pyramid.warp`: backward bilinear warping, border
    clamped.

    Differences: differentiable in the frame and the flow (the weights' gradient; none through the
    floor or where the position is clamped).  Four gathers, not ``F.grid_sample``: its normalised
    coordinates round, so a zero flow would not give the frame back exactly.
    """
    frame = _as_tensor(frame, "frame")
    flow = _as_tensor(flow, "flow")
    _check_image(frame, "frame")
    h, w = frame.shape[-2:]
    lead = frame.shape[:-3]
    if tuple(flow.shape[-3:]) != (2, h, w) or flow.shape[:-3] != lead:
        raise ValueError(f"flow must have shape {tuple(lead) + (2, h, w)}, got "
                         f"{tuple(flow.shape)}")
    xs = torch.arange(w, dtype=flow.dtype, device=flow.device)
    ys = torch.arange(h, dtype=flow.dtype, device=flow.device)[:, None]
    x = (xs + flow[..., 0, :, :]).clamp(0, w - 1)  # where each pixel reads from
    y = (ys + flow[..., 1, :, :]).clamp(0, h - 1)
    x0, y0 = x.detach().floor(), y.detach().floor()
    ax, ay = (x - x0).unsqueeze(-3), (y - y0).unsqueeze(-3)  # (..., 1, H, W)
    x0, y0 = x0.long(), y0.long()
    x1, y1 = (x0 + 1).clamp(max=w - 1), (y0 + 1).clamp(max=h - 1)
    flat = frame.reshape(*frame.shape[:-2], h * w)

    def at(rows, cols):  # frame[..., c, rows[i, j], cols[i, j]]
        index = (rows * w + cols).reshape(*rows.shape[:-2], 1, h * w).expand_as(flat)
        return flat.gather(-1, index).reshape(frame.shape)

    return ((1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x1))
            + ay * ((1 - ax) * at(y1, x0) + ax * at(y1, x1)))


def shrink(v: torch.Tensor, tau: float) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.pyramid.shrink`: sign(v) max(|v| − τ, 0).

    Differences: the gradient passes straight through (the identity, Bengio et al. 2013's
    straight-through estimator): the soft threshold's own gradient is 0 inside the dead zone, so
    a flow that starts at 0 (the warp path's zero-initialised last conv) would never start to
    move; outside the zone the two gradients are the same (1).
    """
    v = _as_tensor(v, "v")
    return v + (torch.sign(v) * (v.abs() - float(tau)).clamp(min=0) - v).detach()
