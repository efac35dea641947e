"""Input checks of the fast drivers: the oracle's checker, extended to a batch axis.

Shape and kernel-size checks are delegated to
:func:`sharpvid.reference.deblur._validate._check_blurred` on a zero-stride stand-in of one image's
``(H, W)`` (no copy of the data), so both twins raise the same one-line ValueErrors; the finiteness
check runs on the real data with the oracle's message.
"""

from __future__ import annotations

import numpy as np

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import _as_float
from sharpvid.reference._checks import _check_ndim
from sharpvid.reference.deblur._validate import _check_blurred as _check_blurred_ref


def _check_blurred(y, kernel_size):
    """Validate a fast driver's ``y`` ((H, W), (C, H, W) or (B, C, H, W)) and ``kernel_size``;
    return ``y`` as a float32/float64 array of its module and the size as int."""
    y = _as_float(y, "y")
    _check_ndim(y, "y", (2, 3, 4))
    if y.ndim == 3 and y.shape[0] not in (1, 3):
        raise ValueError(f"y must be (H, W) or (C, H, W) with C in (1, 3), got shape {y.shape}")
    if y.ndim == 4 and y.shape[1] not in (1, 3):
        raise ValueError(f"y must be (B, C, H, W) with C in (1, 3), got shape {y.shape}")
    xp = array_module(y)
    bad = int(xp.count_nonzero(~xp.isfinite(y)))
    if bad:
        raise ValueError(f"y contains {bad} NaN or inf values")
    _, kernel_size = _check_blurred_ref(np.broadcast_to(np.float64(0.0), y.shape[-2:]), kernel_size)
    return y, kernel_size


def _as_bchw(y):
    """``(H, W)`` / ``(C, H, W)`` / ``(B, C, H, W)`` -> ``(B, C, H, W)`` and whether it was batched."""
    if y.ndim == 4:
        return y, True
    return (y[None, None] if y.ndim == 2 else y[None]), False
