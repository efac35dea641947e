"""Fast twin of :mod:`reference.data`: the motion test and motion-filtered patch clips.

Differences from the oracle: torch tensors on any device; :func:`sample_patch_clip` gathers all
``max_tries`` candidate crops in one indexing operation and tests their motion at once instead of
looping.  It draws the candidates from a NumPy generator in the oracle's order, so with the same
seed both twins return the same clip.
"""

from __future__ import annotations

import numpy as np
import torch

from fast._tensors import _as_tensor
from reference._checks import _check_ndim, _check_positive_int


def has_enough_motion(clip, threshold: float = 100.0) -> torch.Tensor:
    """Fast twin of :func:`reference.data.has_enough_motion`: Σ_t ‖F_{t+1} − F_t‖² > threshold.

    Differences: returns a bool tensor (0-dim for one clip, ``(B,)`` for a batch).
    """
    clip = _as_tensor(clip, "clip")
    _check_ndim(clip, "clip", (4, 5))
    if clip.shape[-4] < 2:
        raise ValueError(
            f"clip needs at least 2 frames to measure motion, got shape {tuple(clip.shape)}"
        )
    motion = (clip.diff(dim=-4) ** 2).sum(dim=(-4, -3, -2, -1))
    return motion > threshold


def sample_patch_clip(
    video,
    size: int = 32,
    rng=None,
    threshold: float = 100.0,
    max_tries: int = 100,
    keep_anyway: float = 0.05,
    *,
    length: int = 5,
) -> torch.Tensor:
    """Fast twin of :func:`reference.data.sample_patch_clip`: a random crop that moves enough.

    Differences: every candidate crop is gathered and tested at once (``(max_tries, length, C,
    size, size)``), on the video's device.
    """
    video = _as_tensor(video, "video")
    _check_ndim(video, "video", (4,))
    size = _check_positive_int(size, "size")
    length = _check_positive_int(length, "length")
    max_tries = _check_positive_int(max_tries, "max_tries")
    t_total, c, h, w = video.shape
    if t_total < length or h < size or w < size:
        raise ValueError(
            f"video of shape {tuple(video.shape)} is too small for clips of {length} frames "
            f"of {size}x{size}"
        )
    rng = np.random.default_rng(rng)
    keep_first = rng.random() < keep_anyway
    as_index = lambda a: torch.as_tensor(a, device=video.device)  # noqa: E731
    starts = as_index(rng.integers(0, t_total - length + 1, size=max_tries))
    rows = as_index(rng.integers(0, h - size + 1, size=max_tries))
    cols = as_index(rng.integers(0, w - size + 1, size=max_tries))
    n_candidates = 1 if keep_first else max_tries
    offsets_t = torch.arange(length, device=video.device)
    offsets_s = torch.arange(size, device=video.device)
    # (tries, length, C, size, size) by broadcasting index tensors
    t_idx = (starts[:n_candidates, None] + offsets_t)[:, :, None, None, None]
    i_idx = (rows[:n_candidates, None] + offsets_s)[:, None, None, :, None]
    j_idx = (cols[:n_candidates, None] + offsets_s)[:, None, None, None, :]
    c_idx = torch.arange(c, device=video.device)[None, None, :, None, None]
    candidates = video[t_idx, c_idx, i_idx, j_idx]
    if keep_first:
        return candidates[0]
    moved = has_enough_motion(candidates, threshold)
    # the first candidate that moves; the last one if none does (as the oracle's loop)
    first = int(torch.argmax(moved.to(torch.int8))) if bool(moved.any()) else n_candidates - 1
    return candidates[first]
