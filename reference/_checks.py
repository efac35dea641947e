"""Input validation and the dtype policy shared by the oracle and its fast twins.

Every public entry point calls one of these so a bad input fails at the boundary with a one-line
message that names the value, never deep inside NumPy or torch.  ``fast`` imports these same
checks (they only look at ``.shape``/``.ndim``), so both twins raise the same errors.
"""

from __future__ import annotations

import numpy as np


def _as_float(x, name: str = "x") -> np.ndarray:
    """The oracle's dtype policy: any real array-like -> float64 ndarray (NaN/inf pass through)."""
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real-valued array, got {type(x).__name__}") from exc
    return a


def _check_ndim(x, name: str, allowed: tuple[int, ...]) -> None:
    """Raise ValueError unless ``x.ndim`` is one of ``allowed``."""
    if x.ndim not in allowed:
        dims = " or ".join(str(d) for d in allowed)
        raise ValueError(f"{name} must have {dims} dimensions, got shape {tuple(x.shape)}")


def _check_same_shape(a, b, names: tuple[str, str] = ("y_hat", "y")) -> None:
    """Raise ValueError unless ``a`` and ``b`` have the same shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same shape, "
            f"got {tuple(a.shape)} and {tuple(b.shape)}"
        )


def _check_image(x, name: str = "x", min_size: int = 1) -> None:
    """An image-like array ``(..., H, W)`` with H, W >= ``min_size``."""
    if x.ndim < 2:
        raise ValueError(f"{name} must be an image (..., H, W), got shape {tuple(x.shape)}")
    h, w = x.shape[-2], x.shape[-1]
    if h < min_size or w < min_size:
        raise ValueError(f"{name} must be at least {min_size}x{min_size} pixels, got {h}x{w}")


def _check_positive_int(value, name: str) -> int:
    """Return ``value`` as int, raising ValueError unless it is an integer >= 1."""
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _check_nonnegative_number(value, name: str, unit: str = "") -> None:
    """Raise ValueError unless ``value`` is a finite real number >= 0 (not a bool); ``unit`` is
    named in the message, e.g. ``"pixels"``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not (
        np.isfinite(value) and value >= 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0{f' ({unit})' if unit else ''}, "
                         f"got {value!r}")


def _check_odd_size(value, name: str) -> int:
    """Return ``value`` as int, raising ValueError unless it is an odd integer >= 1."""
    value = _check_positive_int(value, name)
    if value % 2 == 0:
        raise ValueError(f"{name} must be odd, got {value}")
    return value


def _check_divisible(x, factor: int, name: str = "x") -> None:
    """Raise ValueError unless H and W of ``x`` are divisible by ``factor``."""
    h, w = x.shape[-2], x.shape[-1]
    if h % factor or w % factor:
        raise ValueError(f"{name} of size {h}x{w} is not divisible by the factor {factor}")
