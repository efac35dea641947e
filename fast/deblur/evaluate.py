"""Fast twin of :mod:`sharpvid.reference.deblur.evaluate`: kernel similarity, shift-tolerant SSD,
PSNR.

Differences from the oracle: NumPy or CuPy, and batched: kernels ``(B, kh, kw)`` and grey images
``(B, H, W)`` give B scores (a float64 array) where the oracle takes one ``(kh, kw)`` /
``(H, W)`` and returns a float; :func:`psnr` scores each image of a ``(B, C, H, W)`` batch.
Unbatched input gives the oracle's float.  Kernel similarity correlates with real FFTs
(zero-padded to the full size, so no wrap) instead of ``scipy.signal.correlate``.
"""

from __future__ import annotations

import numpy as np

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import _as_float, _fft
from sharpvid.reference._checks import _check_ndim, _check_same_shape


def _scores(values, batched: bool):
    return values if batched else float(values[0])


def kernel_similarity(k_est, k_true):
    """Fast twin of :func:`sharpvid.reference.deblur.evaluate.kernel_similarity`.

    Differences: ``(B, kh, kw)`` estimates (against one ``(kh', kw')`` truth or B of them) give B
    similarities; the full cross-correlation is computed with zero-padded real FFTs.
    """
    a = _as_float(k_est, "k_est").astype(np.float64)
    b = _as_float(k_true, "k_true", like=a)
    _check_ndim(a, "k_est", (2, 3))
    _check_ndim(b, "k_true", (2, 3))
    xp = array_module(a)
    batched = a.ndim == 3 or b.ndim == 3
    a3, b3 = (a if a.ndim == 3 else a[None]), (b if b.ndim == 3 else b[None])
    shape = (a3.shape[-2] + b3.shape[-2] - 1, a3.shape[-1] + b3.shape[-1] - 1)
    fft = _fft(xp)
    # correlate(a, b, 'full') = convolve(a, b flipped)
    xc = fft.irfft2(fft.rfft2(a3, s=shape) * fft.rfft2(b3[..., ::-1, ::-1], s=shape), s=shape)
    norms = xp.sqrt((a3 * a3).sum(axis=(-2, -1))) * xp.sqrt((b3 * b3).sum(axis=(-2, -1)))
    return _scores(xp.round(xc.max(axis=(-2, -1)) / norms, 12), batched)


def _linear_take(a, pos, axis: int):
    """``a`` linearly interpolated at fractional indices ``pos`` along ``axis`` (inside only)."""
    xp = array_module(a)
    n = a.shape[axis]
    lo = xp.clip(xp.floor(pos).astype(np.int64), 0, n - 1)
    hi = xp.minimum(lo + 1, n - 1)
    frac = pos - lo
    frac = frac.reshape(frac.shape + (1,) * (a.ndim - 1 - axis % a.ndim))
    return xp.take(a, lo, axis=axis) * (1 - frac) + xp.take(a, hi, axis=axis) * frac


def ssd_upto_shift(x_hat, x, *, border: int = 15, max_shift: float = 5.0, step: float = 0.25):
    """Fast twin of :func:`sharpvid.reference.deblur.evaluate.ssd_upto_shift`.

    Differences: ``(B, H, W)`` images give B SSDs (the shift search runs for the batch at once).
    """
    a = _as_float(x_hat, "x_hat").astype(np.float64)
    b = _as_float(x, "x", like=a)
    _check_ndim(a, "x_hat", (2, 3))
    _check_same_shape(a, b, ("x_hat", "x"))
    if border < max_shift:
        raise ValueError(f"border must be >= max_shift, got border={border}, max_shift={max_shift}")
    H, W = b.shape[-2:]
    if H <= 2 * border or W <= 2 * border:
        raise ValueError(f"border {border} leaves nothing of a {H}x{W} image")
    xp = array_module(a)
    batched = a.ndim == 3
    a3, b3 = (a, b) if batched else (a[None], b[None])
    target = b3[:, border : H - border, border : W - border]  # (B, h, w)
    h, w = target.shape[-2:]
    shifts = xp.arange(-max_shift, max_shift + 1e-9, step)  # (S,)
    rows = _linear_take(a3, border + shifts[:, None] + xp.arange(h), axis=1)  # (B, S, h, W)
    best = xp.full(a3.shape[0], np.inf)
    for s in _host_shifts(max_shift, step):  # then each column shift
        shifted = _linear_take(rows, border + s + xp.arange(w), axis=3)  # (B, S, h, w)
        ssd = ((shifted - target[:, None]) ** 2).sum(axis=(2, 3))  # (B, S)
        best = xp.minimum(best, ssd.min(axis=1))
    return _scores(best, batched)


def _host_shifts(max_shift: float, step: float) -> list[float]:
    return [float(s) for s in np.arange(-max_shift, max_shift + 1e-9, step)]


def error_ratio(x_est, x_true_kernel, x, **shift_kwargs):
    """Fast twin of :func:`sharpvid.reference.deblur.evaluate.error_ratio` (B ratios for ``(B, H,
    W)``)."""
    num = ssd_upto_shift(x_est, x, **shift_kwargs)
    den = ssd_upto_shift(x_true_kernel, x, **shift_kwargs)
    if np.ndim(den) == 0:  # one image: a float, as the oracle
        den, num = float(den), float(num)
        return (1.0 if num == 0 else float("inf")) if den == 0 else num / den
    # the oracle's rule for an exact true-kernel result: 1 if both are exact, else inf
    xp = array_module(den)
    exact = den == 0
    ratio = num / xp.where(exact, 1.0, den)
    return xp.where(exact, xp.where(num == 0, 1.0, xp.inf), ratio)


def psnr(x_hat, x, *, data_range: float = 1.0):
    """Fast twin of :func:`sharpvid.reference.deblur.evaluate.psnr`.

    Differences: a ``(B, C, H, W)`` batch gives B PSNRs (each over its image); fewer dimensions
    give the oracle's single float.
    """
    a = _as_float(x_hat, "x_hat").astype(np.float64)
    b = _as_float(x, "x", like=a)
    _check_same_shape(a, b, ("x_hat", "x"))
    xp = array_module(a)
    batched = a.ndim == 4
    a2 = a.reshape(a.shape[0] if batched else 1, -1)
    mse = ((a2 - b.reshape(a2.shape)) ** 2).mean(axis=1)
    with np.errstate(divide="ignore"):
        out = xp.where(mse > 0, 10 * xp.log10(data_range**2 / xp.where(mse > 0, mse, 1.0)), np.inf)
    return _scores(out, batched)


def psnr_upto_shift(
    x_hat, x, *, border: int = 15, max_shift: float = 5.0, step: float = 0.25,
    data_range: float = 1.0,
):
    """Fast twin of :func:`sharpvid.reference.deblur.evaluate.psnr_upto_shift` (B PSNRs for ``(B, H,
    W)``)."""
    H, W = np.shape(x)[-2:] if array_module(x) is np else x.shape[-2:]
    n = (H - 2 * border) * (W - 2 * border)
    ssd = ssd_upto_shift(x_hat, x, border=border, max_shift=max_shift, step=step)
    xp = array_module(ssd) if not isinstance(ssd, float) else np
    mse = xp.asarray(ssd) / n
    with np.errstate(divide="ignore"):
        out = xp.where(mse > 0, 10 * xp.log10(data_range**2 / xp.where(mse > 0, mse, 1.0)), np.inf)
    return float(out) if isinstance(ssd, float) else out
