"""Fast twin of :mod:`sharpvid.reference.deblur.color`: BT.601 luma for kernel estimation.

Differences from the oracle: NumPy or CuPy, float32 unless the input is float64, and a batch
``(B, C, H, W)`` gives ``(B, H, W)``.  Weights (exact BT.601) are the oracle's.
"""

from __future__ import annotations

from sharpvid.fast.deblur._common import _as_float
from sharpvid.reference.deblur.color import LUMA_BT601


def rgb_to_luma(y):
    """Fast twin of :func:`sharpvid.reference.deblur.color.rgb_to_luma`.

    Differences: ``(B, 1, H, W)`` and ``(B, 3, H, W)`` give ``(B, H, W)``; the channel axis is
    the third from last (as in the oracle's ``(C, H, W)``); a weighted sum, not ``tensordot``.
    """
    y = _as_float(y, "y")
    if y.ndim == 2:
        return y
    if y.shape[-3] == 1:
        return y[..., 0, :, :]
    # elementwise, not the oracle's tensordot (BLAS), so a pixel's value never depends on how
    # many pixels the batch holds
    r, g, b = (float(w) for w in LUMA_BT601)
    return r * y[..., 0, :, :] + g * y[..., 1, :, :] + b * y[..., 2, :, :]
