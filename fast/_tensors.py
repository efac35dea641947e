"""The fast path's dtype/device policy, shared by every twin.

Twins take torch tensors (NumPy arrays are accepted and converted) and keep their floating dtype
and device: float32 in, float32 out, on the same device.  Integer or boolean input becomes float32.
Shape checks are the oracle's own (:mod:`sharpvid.reference._checks`), so both twins raise the same
errors.
"""

from __future__ import annotations

import numpy as np
import torch


def _as_tensor(x, name: str = "x", *, like: torch.Tensor | None = None) -> torch.Tensor:
    """Any real array-like -> floating tensor (dtype/device of ``like`` for non-tensors)."""
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a real-valued array, got {type(x).__name__}") from exc
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real-valued array, got dtype {arr.dtype}")
        t = torch.as_tensor(arr)
        if like is not None:
            t = t.to(device=like.device, dtype=like.dtype if like.is_floating_point() else None)
    if t.is_complex():
        raise TypeError(f"{name} must be real-valued, got dtype {t.dtype}")
    if not t.is_floating_point():
        t = t.to(torch.float32)
    return t


def _frames_2d(x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, ...]]:
    """``(..., H, W)`` -> ``(N, 1, H, W)`` for torch's 2-D ops, and the shape to restore."""
    shape = tuple(x.shape)
    return x.reshape((-1, 1) + shape[-2:]), shape
