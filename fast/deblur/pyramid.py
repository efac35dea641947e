"""Fast twin of :mod:`sharpvid.reference.deblur.pyramid`: the coarse-to-fine schedule, images and
kernels.

Differences from the oracle: NumPy or CuPy (one code path), float32 unless the data are float64,
batched (images ``(B, ..., H, W)``, kernels ``(B, kh, kw)``).  Linear resampling is applied as
small matrices built once on the host: the bilinear sampling of ``downsample_image`` as two
matmuls (the oracle's ``einsum``), and the cubic-spline kernel zoom of ``resize_kernel`` as
``Z_r k Z_cᵀ`` with ``Z`` the oracle's ``scipy.ndimage.zoom`` applied to unit vectors (the zoom is
separable), so no ``ndimage.zoom`` runs per kernel and nothing couples the batch.
:func:`fix_kernel_size` makes its per-image crop/pad choices with one gather per step.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.ndimage

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import _as_float, _float_dtype
from sharpvid.reference.deblur.pyramid import _gaussian_prefilter, _linear_sampling_matrix
from sharpvid.reference.deblur.pyramid import init_kernel as _init_kernel_ref
from sharpvid.reference.deblur.pyramid import scale_schedule as _scale_schedule_ref


def scale_schedule(
    kernel_size: int, *, ratio: float = math.sqrt(0.5), coarsest_size: int = 5
) -> list[tuple[float, int]]:
    """Fast twin of :func:`sharpvid.reference.deblur.pyramid.scale_schedule` (host arithmetic: the
    oracle's own function)."""
    return _scale_schedule_ref(kernel_size, ratio=ratio, coarsest_size=coarsest_size)


@functools.lru_cache(maxsize=64)
def _sampling_matrix(n: int, factor: float) -> np.ndarray:
    """``(n_out, n)`` bilinear sampling at ``0, 1/factor, ...`` (the oracle's positions)."""
    pos = np.arange(math.floor((n - 1) * factor + 1e-9) + 1) / factor
    return _linear_sampling_matrix(n, pos)


def downsample_image(y, factor: float):
    """Fast twin of :func:`sharpvid.reference.deblur.pyramid.downsample_image`.

    Differences: batched, NumPy or CuPy, float32 unless ``y`` is float64; the bilinear sampling
    is two matmuls with host-built matrices (the same weights as the oracle's ``einsum``).
    """
    y = _as_float(y, "y")
    if factor == 1:
        return y
    xp = array_module(y)
    sf = _gaussian_prefilter(factor)
    taps = sf.size
    H, W = y.shape[-2:]
    # separable 'valid' convolution, term by term as the oracle (the filter is symmetric)
    rows = sum(float(sf[t]) * y[..., t : H - taps + 1 + t, :] for t in range(taps))
    img = sum(float(sf[t]) * rows[..., :, t : W - taps + 1 + t] for t in range(taps))
    h, w = img.shape[-2:]
    mr = xp.asarray(_sampling_matrix(h, factor), dtype=y.dtype)
    mc = xp.asarray(_sampling_matrix(w, factor), dtype=y.dtype)
    return xp.matmul(xp.matmul(mr, img), mc.T)


def init_kernel(size: int, *, like=None):
    """Fast twin of :func:`sharpvid.reference.deblur.pyramid.init_kernel`.

    Differences: ``like``: an array whose module and float dtype to use (default NumPy float32).
    """
    k = _init_kernel_ref(size)
    if like is None:
        return k.astype(np.float32)
    return array_module(like).asarray(k, dtype=_float_dtype(like.dtype))


def _window(f, axis: int, start, length: int):
    """Per-image window ``f[b, ..., start[b] : start[b] + length, ...]`` along ``axis`` (1 or 2)."""
    xp = array_module(f)
    idx = start[:, None] + xp.arange(length)[None, :]  # (N, length)
    idx = idx[:, :, None] if axis == 1 else idx[:, None, :]
    return xp.ascontiguousarray(xp.take_along_axis(f, idx, axis=axis))


def _edge_start(f, axis: int):
    """1 where the first edge row/column is lighter than the last (``s[0] < s[-1]``), else 0."""
    # (N, n) sums of each row (axis 1) or column (axis 2), in float64 as the oracle's, so a
    # float32 kernel makes the oracle's choice for its values
    s = f.astype(np.float64).sum(axis=3 - axis)
    return (s[:, 0] < s[:, -1]).astype(np.int64)


def _zero_border(f, axis: int):
    xp = array_module(f)
    pad = [(0, 0)] * 3
    pad[axis] = (1, 1)
    return xp.pad(f, pad)


def fix_kernel_size(k, shape: tuple[int, int]):
    """Fast twin of :func:`sharpvid.reference.deblur.pyramid.fix_kernel_size`.

    Differences: ``(B, kh, kw)`` kernels; each step drops (or pads) the edge row/column chosen per
    image, as a window gather: dropping keeps rows ``start .. start + k1 - 2`` with start = 1 if
    the first row is lighter, padding takes the window of ``[0; f; 0]`` starting at the same flag.
    """
    f = _as_float(k, "k")
    f, lead = (f[None], ()) if f.ndim == 2 else (f.reshape((-1,) + f.shape[-2:]), f.shape[:-2])
    nk1, nk2 = int(shape[0]), int(shape[1])
    while f.shape[1:] != (nk1, nk2):
        k1, k2 = f.shape[1:]
        if k1 > nk1:  # drop the lighter edge row
            f = _window(f, 1, _edge_start(f, 1), k1 - 1)
        if k1 < nk1:  # pad a zero row on the heavier side
            f = _window(_zero_border(f, 1), 1, _edge_start(f, 1), k1 + 1)
        if k2 > nk2:
            f = _window(f, 2, _edge_start(f, 2), k2 - 1)
        if k2 < nk2:
            f = _window(_zero_border(f, 2), 2, _edge_start(f, 2), k2 + 1)
    return f.reshape(lead + (nk1, nk2))


@functools.lru_cache(maxsize=64)
def _zoom_matrix(n: int, factor: float) -> np.ndarray:
    """``(round(n * factor), n)`` matrix of the oracle's 1-D cubic-spline zoom."""
    eye = np.eye(n)
    cols = [
        scipy.ndimage.zoom(e, factor, order=3, mode="grid-constant", grid_mode=True) for e in eye
    ]
    return np.stack(cols, axis=1)


def resize_kernel(k, factor: float, shape: tuple[int, int]):
    """Fast twin of :func:`sharpvid.reference.deblur.pyramid.resize_kernel`.

    Differences: batched; the zoom is ``Z_r k Z_cᵀ`` with host-built 1-D zoom matrices (equal to
    the oracle's 2-D ``ndimage.zoom`` to rounding, as the spline zoom is separable).
    """
    k = _as_float(k, "k")
    xp = array_module(k)
    kh, kw = k.shape[-2:]
    zr = xp.asarray(_zoom_matrix(kh, float(factor)), dtype=k.dtype)
    zc = xp.asarray(_zoom_matrix(kw, float(factor)), dtype=k.dtype)
    k = xp.maximum(xp.matmul(xp.matmul(zr, k), zc.T), 0.0)
    k = fix_kernel_size(k, shape)
    kmax = k.max(axis=(-2, -1), keepdims=True)
    total = k.reshape(k.shape[:-2] + (-1,)).sum(axis=-1)[..., None, None]
    return xp.where(kmax > 0, k / xp.where(kmax > 0, total, 1.0), k)
