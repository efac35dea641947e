"""Scores for blind deblurring: kernel similarity and Levin's shift-tolerant SSD / error ratio.

- Levin, Weiss, Durand & Freeman, "Understanding and evaluating blind deconvolution algorithms",
  CVPR 2009, doi:10.1109/CVPR.2009.5206815 (``comp_upto_shift.m``): the SSD between a deblurred
  image and the truth, minimised over sub-pixel shifts, and the error ratio

  .. math:: r = \\frac{\\min_s \\mathrm{SSD}(\\hat x_{k_{est}}, x)}{\\min_s \\mathrm{SSD}(\\hat x_{k_{true}}, x)},

  both deconvolved with the same non-blind method.
- Hu & Yang, "Good regions to deblur", ECCV 2012: kernel similarity, the maximum over shifts of
  the normalised cross-correlation :math:`\\max_\\tau \\frac{\\sum k_1(p) k_2(p + \\tau)}
  {\\|k_1\\| \\|k_2\\|}`.

Convention
----------
Levin's defaults are a 15-pixel border crop and shifts in [-5, 5] with step 0.25 (bilinear
``interp2``); they are parameters here so tests can use cheaper grids.  The shifted image is
sampled from a crop ``max_shift`` pixels larger than the compared region, so ``border >=
max_shift`` is required and no sample falls outside the image.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from sharpvid.reference._checks import _as_float, _check_ndim, _check_same_shape


def kernel_similarity(k_est: np.ndarray, k_true: np.ndarray) -> float:
    """Hu & Yang 2012: the maximum normalised cross-correlation of two kernels over all shifts.

    Parameters
    ----------
    k_est, k_true : ndarray, shape ``(kh, kw)``
        Kernels; the sizes may differ.

    Returns
    -------
    float
        In [0, 1] for non-negative kernels; 1 iff one is a shifted copy of the other.

    Examples
    --------
    >>> k = np.zeros((5, 5)); k[2, 1:4] = 1 / 3
    >>> kernel_similarity(np.roll(k, 1, axis=0), k)
    1.0
    """
    a, b = _as_float(k_est, "k_est"), _as_float(k_true, "k_true")
    _check_ndim(a, "k_est", (2,))
    _check_ndim(b, "k_true", (2,))
    xc = scipy.signal.correlate(a, b, mode="full", method="direct")
    return float(np.round(xc.max() / (np.linalg.norm(a) * np.linalg.norm(b)), 12))


def _linear_take(a: np.ndarray, pos: np.ndarray, axis: int) -> np.ndarray:
    """``a`` linearly interpolated at fractional indices ``pos`` along ``axis`` (inside only)."""
    n = a.shape[axis]
    lo = np.clip(np.floor(pos).astype(int), 0, n - 1)
    hi = np.minimum(lo + 1, n - 1)
    frac = pos - lo
    frac = frac.reshape(frac.shape + (1,) * (a.ndim - 1 - axis % a.ndim))
    return np.take(a, lo, axis=axis) * (1 - frac) + np.take(a, hi, axis=axis) * frac


def ssd_upto_shift(
    x_hat: np.ndarray,
    x: np.ndarray,
    *,
    border: int = 15,
    max_shift: float = 5.0,
    step: float = 0.25,
) -> float:
    """Levin et al. 2009 ``comp_upto_shift``: the SSD minimised over sub-pixel translations.

    Parameters
    ----------
    x_hat : ndarray, shape ``(H, W)``
        Estimate (e.g. a deblurred image).
    x : ndarray, shape ``(H, W)``
        Ground truth.
    border : int
        Pixels cropped on each side of ``x`` before comparing (15).
    max_shift : float
        Shifts of ``x_hat`` are searched in ``[-max_shift, max_shift]`` on both axes (5).
    step : float
        Grid step of the search (0.25).

    Returns
    -------
    float
        :math:`\\min_{s} \\sum_p (\\hat x(p + s) - x(p))^2` over the cropped region.

    Examples
    --------
    >>> rng = np.random.default_rng(0); x = rng.random((40, 40))
    >>> ssd_upto_shift(np.roll(x, 2, axis=1), x, border=6, max_shift=3, step=1.0)
    0.0
    """
    a, b = _as_float(x_hat, "x_hat"), _as_float(x, "x")
    _check_ndim(a, "x_hat", (2,))
    _check_same_shape(a, b, ("x_hat", "x"))
    if border < max_shift:
        raise ValueError(f"border must be >= max_shift, got border={border}, max_shift={max_shift}")
    H, W = b.shape
    if H <= 2 * border or W <= 2 * border:
        raise ValueError(f"border {border} leaves nothing of a {H}x{W} image")
    target = b[border : H - border, border : W - border]  # (h, w)
    h, w = target.shape
    shifts = np.arange(-max_shift, max_shift + 1e-9, step)  # (S,)
    # every row shift at once: rows border + s + i of x_hat
    rows = _linear_take(a, border + shifts[:, None] + np.arange(h), axis=0)  # (S, h, W)
    best = np.inf
    for s in shifts:  # then each column shift: columns border + s + j
        shifted = _linear_take(rows, border + s + np.arange(w), axis=2)  # (S, h, w)
        ssd = np.sum((shifted - target) ** 2, axis=(1, 2))  # (S,)
        best = min(best, float(ssd.min()))
    return best


def error_ratio(
    x_est: np.ndarray, x_true_kernel: np.ndarray, x: np.ndarray, **shift_kwargs
) -> float:
    """Levin et al. 2009: SSD with the estimated kernel over SSD with the true kernel.

    Parameters
    ----------
    x_est : ndarray, shape ``(H, W)``
        Deconvolved with the estimated kernel.
    x_true_kernel : ndarray, shape ``(H, W)``
        Deconvolved with the true kernel (same non-blind method).
    x : ndarray, shape ``(H, W)``
        Sharp ground truth.
    **shift_kwargs
        ``border``, ``max_shift``, ``step`` of :func:`ssd_upto_shift`.

    Returns
    -------
    float
        1 is as good as the true kernel; <= 2 or <= 3 counts as a success.

    Examples
    --------
    >>> x = np.zeros((40, 40)); x[10:30, 10:30] = 1.0
    >>> error_ratio(x + 0.02, x + 0.01, x, border=6, max_shift=1, step=1.0)
    4.0
    """
    num = ssd_upto_shift(x_est, x, **shift_kwargs)
    den = ssd_upto_shift(x_true_kernel, x, **shift_kwargs)
    if den == 0:  # the true kernel restores x exactly: any error at all is infinitely worse
        return 1.0 if num == 0 else float("inf")
    return num / den


def psnr(x_hat: np.ndarray, x: np.ndarray, *, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio :math:`10 \\log_{10}(R^2 / \\mathrm{MSE})` in dB.

    Examples
    --------
    >>> round(psnr(np.full((4, 4), 0.1), np.zeros((4, 4))), 6)
    20.0
    """
    a, b = _as_float(x_hat, "x_hat"), _as_float(x, "x")
    _check_same_shape(a, b, ("x_hat", "x"))
    mse = np.mean((a - b) ** 2)
    return float(10 * np.log10(data_range**2 / mse)) if mse > 0 else float("inf")


def psnr_upto_shift(
    x_hat: np.ndarray,
    x: np.ndarray,
    *,
    border: int = 15,
    max_shift: float = 5.0,
    step: float = 0.25,
    data_range: float = 1.0,
) -> float:
    """PSNR of the best-aligned crop, from :func:`ssd_upto_shift` (same parameters).

    Examples
    --------
    >>> x = np.zeros((40, 40)); x[10:30, 10:30] = 1.0
    >>> round(psnr_upto_shift(np.roll(x, 1, axis=0) + 0.1, x, border=4, max_shift=2), 6)
    20.0
    """
    H, W = np.shape(x)[-2:]
    n = (H - 2 * border) * (W - 2 * border)
    mse = ssd_upto_shift(x_hat, x, border=border, max_shift=max_shift, step=step) / n
    return float(10 * np.log10(data_range**2 / mse)) if mse > 0 else float("inf")
