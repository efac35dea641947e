"""Fast twin of :mod:`sharpvid.reference.flow`: dense optical flow by coarse-to-fine iterative
Lucas–Kanade (Lucas & Kanade 1981; Le Besnerais & Champagnat 2005), and the ``flow_extrap``
baseline that extrapolates the last frame along it.

Differences from the oracle: torch tensors of any floating dtype on any device, batched over
every leading axis; the window sums are built by doubling (another order of additions); the five
window means of a step are one call; the warps (inside the iterations and of the extrapolated
frame) are one ``grid_sample`` each, equal to the oracle's sampler up to float rounding and exact
where the flow is exactly zero.  Conventions (flow direction and units, luma, borders, pyramid)
are the oracle's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sharpvid.fast._tensors import _as_tensor
from sharpvid.fast.metrics import rgb_to_luma
from sharpvid.fast.pyramid import downsample, upsample
from sharpvid.reference._checks import (_check_image, _check_nonnegative_number,
                                        _check_positive_int)
from sharpvid.reference.flow import ITERATIONS, LAM, LEVELS, MIN_SIZE, RADIUS, _pyramid_levels


def _check_frames(x, name: str) -> torch.Tensor:
    """The oracle's frame check (1 or 3 channels, at least 2x2, finite)."""
    x = _as_tensor(x, name)
    if x.ndim < 3 or x.shape[-3] not in (1, 3):
        raise ValueError(f"{name} must be frames (..., C, H, W) with 1 or 3 channels, got shape "
                         f"{tuple(x.shape)}")
    _check_image(x, name, min_size=2)
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} has NaN or infinite pixels; the optical flow needs finite ones")
    return x


def image_gradient(i: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Fast twin of :func:`sharpvid.reference.flow.image_gradient` (central differences, edge
    repeated)."""
    i = _as_tensor(i, "i")
    _check_image(i, "i")
    shape = i.shape
    p = F.pad(i.reshape(-1, 1, *shape[-2:]), (1, 1, 1, 1), mode="replicate")
    p = p.reshape(*shape[:-2], shape[-2] + 2, shape[-1] + 2)
    return ((p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) / 2, (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) / 2)


def _window_sum(x: torch.Tensor, radius: int, dim: int) -> torch.Tensor:
    """Sums over ``[i - r, i + r]`` along ``dim`` (-1 or -2), zeros outside: the sums of 2, 4,
    ... neighbours by doubling up to the power of two P >= 2r + 1, less the P - 2r - 1 terms
    past the window (r = 7: four additions and one subtraction; 0.33 ms along one axis of five
    240x320 planes on one core, against 0.66 for a cumulative sum, which also loses float32's
    small sums beside large ones, and ~4 for ``avg_pool2d``)."""
    n, k = x.shape[dim], 2 * radius + 1
    top = 1 << (k - 1).bit_length()  # P, the power of two >= k
    pad = (radius, radius + top - k) if dim == -1 else (0, 0, radius, radius + top - k)
    p = F.pad(x, pad)
    s, length = p, 1
    while length < top:  # s[i]: the sum of `length` terms from i (padded)
        s = s.narrow(dim, 0, s.shape[dim] - length) + s.narrow(dim, length, s.shape[dim] - length)
        length *= 2
    total = s.narrow(dim, 0, n)
    for j in range(k, top):  # less the terms past the window
        total = total - p.narrow(dim, j, n)
    return total


def _in_frame_count(n: int, radius: int, like: torch.Tensor) -> torch.Tensor:
    """How many of ``[i - r, i + r]`` lie in ``[0, n)``, for each i."""
    i = torch.arange(n, device=like.device)
    return ((i + radius).clamp(max=n - 1) - (i - radius).clamp(min=0) + 1).to(like.dtype)


def window_mean(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.flow.window_mean` (the mean over the (2r+1)² window
    inside the frame).

    Differences: the window sums are built by doubling (:func:`_window_sum`), another order of
    additions than the oracle's shifted copies, along y then x.
    """
    x = _as_tensor(x, "x")
    radius = _check_positive_int(radius, "radius")
    _check_image(x, "x")
    h, w = x.shape[-2:]
    total = _window_sum(_window_sum(x, radius, -2), radius, -1)
    return total / (_in_frame_count(h, radius, x)[:, None] * _in_frame_count(w, radius, x))


def _warp(frame: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """:func:`sharpvid.fast.pyramid.warp` of frames ``(..., C, H, W)`` by ``(..., 2, H, W)`` as one
    ``F.grid_sample`` (bilinear, corner-aligned, border clamped): the same positions up to the
    rounding of normalised coordinates, a few ulp of a pixel; a pixel whose flow is exactly zero
    keeps its value exactly, as with the oracle's sampler (1.5 ms for a grey 240x320 frame on one
    core against 4 for the four gathers of :func:`sharpvid.fast.pyramid.warp`)."""
    h, w = frame.shape[-2:]
    c = frame.shape[-3]
    xs = torch.arange(w, dtype=v.dtype, device=v.device)
    ys = torch.arange(h, dtype=v.dtype, device=v.device)[:, None]
    # normalised to [-1, 1] over the pixel centres (align_corners=True); a side of 1 pixel: 0
    gx = (xs + v[..., 0, :, :]) * (2 / max(w - 1, 1)) - 1
    gy = (ys + v[..., 1, :, :]) * (2 / max(h - 1, 1)) - 1
    grid = torch.stack([gx, gy], dim=-1).reshape(-1, h, w, 2)
    out = F.grid_sample(frame.reshape(-1, c, h, w), grid, mode="bilinear", padding_mode="border",
                        align_corners=True).reshape(frame.shape)
    still = ((v[..., 0, :, :] == 0) & (v[..., 1, :, :] == 0)).unsqueeze(-3)  # no move: itself
    return torch.where(still, frame, out)


def lucas_kanade_step(i0: torch.Tensor, i1: torch.Tensor, v: torch.Tensor, *,
                      radius: int = RADIUS, lam: float = LAM) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.flow.lucas_kanade_step`: one dense ILK iteration,
    :math:`(A + \\lambda I) v_{k+1} = b + \\lambda v_k`.

    Differences: the five window means (A's three entries, b's two) are one call; the warp is
    one ``grid_sample`` (:func:`_warp`), equal to the oracle's up to float rounding (a pixel
    whose flow is exactly zero reads itself exactly, so identical frames give exactly zero).
    """
    i0, i1 = _as_tensor(i0, "i0"), _as_tensor(i1, "i1", like=i0)
    v = _as_tensor(v, "v", like=i0)
    radius = _check_positive_int(radius, "radius")
    _check_nonnegative_number(lam, "lam")
    if i0.shape != i1.shape or v.shape != i0.shape[:-2] + (2,) + i0.shape[-2:]:
        raise ValueError(f"i0 {tuple(i0.shape)}, i1 {tuple(i1.shape)} and v {tuple(v.shape)} "
                         f"must be (..., H, W), (..., H, W) and (..., 2, H, W)")
    v_x, v_y = v[..., 0, :, :], v[..., 1, :, :]
    i1w = _warp(i1.unsqueeze(-3), v)[..., 0, :, :]             # I_1(x + v_k)
    gx, gy = image_gradient(i1w)
    e = i0 - i1w + gx * v_x + gy * v_y
    means = window_mean(torch.stack([gx * gx, gx * gy, gy * gy, gx * e, gy * e], dim=-3), radius)
    a_xx, a_xy, a_yy, b_x, b_y = means.unbind(-3)
    a_xx, a_yy = a_xx + lam, a_yy + lam                          # A + \lambda I
    b_x, b_y = b_x + lam * v_x, b_y + lam * v_y                  # b + \lambda v_k
    det = a_xx * a_yy - a_xy * a_xy
    return torch.stack([(a_yy * b_x - a_xy * b_y) / det, (a_xx * b_y - a_xy * b_x) / det], dim=-3)


def upsample_flow(v: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.flow.upsample_flow`: 2 u(v), an odd last row or
    column repeated."""
    v = _as_tensor(v, "v")
    up = 2.0 * upsample(v, 2, "bilinear")
    h, w = shape
    if not (0 <= h - up.shape[-2] <= 1 and 0 <= w - up.shape[-1] <= 1):
        raise ValueError(f"shape {tuple(shape)} is not twice the flow's {tuple(v.shape[-2:])} "
                         f"(plus at most 1)")
    if (h, w) == up.shape[-2:]:
        return up
    lead = up.shape[:-2]
    up = F.pad(up.reshape(-1, 1, *up.shape[-2:]), (0, w - up.shape[-1], 0, h - up.shape[-2]),
               mode="replicate")
    return up.reshape(*lead, h, w)


def downsample_flow(v: torch.Tensor, factor: int) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.flow.downsample_flow`: :math:`d_f(v) / f`."""
    v = _as_tensor(v, "v")
    factor = _check_positive_int(factor, "factor")
    if v.ndim < 3 or v.shape[-3] != 2:
        raise ValueError(f"v must be a flow (..., 2, H, W), got shape {tuple(v.shape)}")
    return downsample(v, factor) / factor


#: pixels per pass of :func:`optical_flow` over a batch: 24 pairs of 240x320 frames take 30 ms a
#: pair in one pass and 8-9 ms in passes of 2 (the planes of one pass stay in the CPU's cache)
CHUNK_PIXELS = 2 * 240 * 320


def optical_flow(i0: torch.Tensor, i1: torch.Tensor, *, levels: int = LEVELS,
                 iterations: int = ITERATIONS, radius: int = RADIUS, lam: float = LAM,
                 min_size: int = MIN_SIZE) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.flow.optical_flow`: the flow ``(..., 2, H, W)``
    from ``i0`` to ``i1`` (:math:`I_1(x + v(x)) \\approx I_0(x)`), batched over the leading
    axes, a few frames per pass (:data:`CHUNK_PIXELS`; each frame's numbers do not depend on
    which others share its pass)."""
    i0 = _check_frames(i0, "i0")
    i1 = _check_frames(_as_tensor(i1, "i1", like=i0), "i1")
    if i0.shape != i1.shape:
        raise ValueError(f"i0 and i1 must have the same shape, got {tuple(i0.shape)} and "
                         f"{tuple(i1.shape)}")
    levels = _check_positive_int(levels, "levels")
    iterations = _check_positive_int(iterations, "iterations")
    min_size = _check_positive_int(min_size, "min_size")
    _check_nonnegative_number(lam, "lam")
    if lam == 0:
        raise ValueError("lam must be > 0: a window with no texture has no flow without it")
    g0, g1 = rgb_to_luma(i0)[..., 0, :, :], rgb_to_luma(i1)[..., 0, :, :]
    lead, (h, w) = g0.shape[:-2], g0.shape[-2:]
    g0, g1 = g0.reshape(-1, h, w), g1.reshape(-1, h, w)
    count = _pyramid_levels(h, w, levels, min_size)
    step = max(1, CHUNK_PIXELS // (h * w))  # frames per pass: a few 240x320 ones stay in cache
    passes = range(0, max(len(g0), 1), step)  # an empty batch: one empty pass, an empty flow
    v = torch.cat([_coarse_to_fine(g0[i : i + step], g1[i : i + step], count, iterations,
                                   radius, lam) for i in passes])
    return v.reshape(*lead, 2, h, w)


def _coarse_to_fine(g0: torch.Tensor, g1: torch.Tensor, count: int, iterations: int,
                    radius: int, lam: float) -> torch.Tensor:
    """The oracle's pyramid loop on grey frames ``(N, H, W)``: the flow ``(N, 2, H, W)``."""
    p0, p1 = [g0], [g1]
    for _ in range(1, count):  # halving the previous level: the oracle's d_{2^L} of the frame
        p0.append(downsample(p0[-1], 2))
        p1.append(downsample(p1[-1], 2))
    v = g0.new_zeros(*p0[-1].shape[:-2], 2, *p0[-1].shape[-2:])
    for level in reversed(range(count)):
        if v.shape[-2:] != p0[level].shape[-2:]:
            v = upsample_flow(v, tuple(p0[level].shape[-2:]))
        for _ in range(iterations):
            v = lucas_kanade_step(p0[level], p1[level], v, radius=radius, lam=lam)
    return v


def flow_extrapolate(frames: torch.Tensor, n: int = 1, **flow_options) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.flow.flow_extrapolate`: n frames ``(..., n, C, H,
    W)`` extrapolated at constant velocity from the last two of ``frames`` ``(..., T, C, H,
    W)``, recursively.

    Differences: the frame is moved by one ``grid_sample`` (the oracle's positions up to float
    rounding; a pixel whose flow is exactly zero is copied exactly)."""
    frames = _as_tensor(frames, "frames")
    n = _check_positive_int(n, "n")
    if frames.ndim < 4 or frames.shape[-4] < 2:
        raise ValueError(f"frames must be (..., T, C, H, W) with T >= 2 (two frames give the "
                         f"motion), got shape {tuple(frames.shape)}")
    prev, last = frames[..., -2, :, :, :], frames[..., -1, :, :, :]
    out = []
    for _ in range(n):
        v = optical_flow(last, prev, **flow_options)
        prev, last = last, _warp(last, v)
        out.append(last)
    return torch.stack(out, dim=-4)
