"""Input checks shared by the two blind-deblurring drivers (and, by import, their fast twins).

A bad input fails at the boundary with a one-line ValueError that names the value.  Values
outside [0, 1] are accepted (only NaN and inf are rejected).
"""

from __future__ import annotations

import numpy as np

from sharpvid.reference._checks import _as_float, _check_ndim, _check_odd_size
from sharpvid.reference.deblur.pyramid import _gaussian_prefilter, scale_schedule


def _scaled_size(n: int, factor: float) -> int:
    """Side length after :func:`sharpvid.reference.deblur.pyramid.downsample_image` by
    ``factor``."""
    if factor == 1:
        return n
    valid = n - _gaussian_prefilter(factor).size + 1
    return int(np.floor((valid - 1) * factor + 1e-9)) + 1 if valid >= 1 else 0


def _check_blurred(y, kernel_size) -> tuple[np.ndarray, int]:
    """Validate a driver's ``y`` and ``kernel_size``; return ``y`` as float64 and the size as int.

    Raises a one-line ValueError naming the value for: wrong ndim or channel count, NaN/inf,
    ``kernel_size`` not an odd integer >= 3, larger than the image, or too large for the image at
    some pyramid scale.
    """
    y = _as_float(y, "y")
    _check_ndim(y, "y", (2, 3))
    if y.ndim == 3 and y.shape[0] not in (1, 3):
        raise ValueError(f"y must be (H, W) or (C, H, W) with C in (1, 3), got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError(f"y contains {np.count_nonzero(~np.isfinite(y))} NaN or inf values")
    kernel_size = _check_odd_size(kernel_size, "kernel_size")
    if kernel_size < 3:
        raise ValueError(f"kernel_size must be at least 3, got {kernel_size}")
    H, W = y.shape[-2:]
    if kernel_size > min(H, W):
        raise ValueError(f"kernel_size {kernel_size} is larger than the {H}x{W} image")
    for factor, ks in scale_schedule(kernel_size):
        h, w = _scaled_size(H, factor), _scaled_size(W, factor)
        if min(h, w) - 1 < ks:
            raise ValueError(
                f"kernel_size {kernel_size} is too large for the {H}x{W} image: at scale "
                f"{factor:.3g} the image is {h}x{w}, too small for its {ks}x{ks} kernel"
            )
    return y, kernel_size
