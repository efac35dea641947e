"""Fast twin of :mod:`reference.data`: the motion test and motion-filtered patch clips.

Differences from the oracle: torch tensors on any device; :func:`sample_patch_clip` stacks
candidate crops (views) in growing chunks (1, 4, 16, ... crops) and tests each chunk's motion in
one reduction instead of crop by crop.  It draws the candidates from a NumPy generator in the oracle's order, so with the same
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

    Differences: candidate crops are tested in growing chunks (one stacked copy and one
    reduction per chunk), on the video's device; the returned clip is a view of ``video``.
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
    starts = rng.integers(0, t_total - length + 1, size=max_tries).tolist()
    rows = rng.integers(0, h - size + 1, size=max_tries).tolist()
    cols = rng.integers(0, w - size + 1, size=max_tries).tolist()

    def crop(k):  # a view, no copy
        return video[starts[k] : starts[k] + length, :, rows[k] : rows[k] + size, cols[k] : cols[k] + size]

    if keep_first:
        return crop(0)
    # candidates in growing chunks (1, 4, 16, ...): usually the first crop moves; a chunk is
    # one stacked copy and one motion reduction however many crops it holds
    lo, chunk = 0, 1
    while lo < max_tries:
        hi = min(lo + chunk, max_tries)
        moved = has_enough_motion(torch.stack([crop(k) for k in range(lo, hi)]), threshold)
        if bool(moved.any()):
            return crop(lo + int(torch.argmax(moved.to(torch.int8))))
        lo, chunk = hi, 4 * chunk
    return crop(max_tries - 1)  # none moved: the last try, as the oracle's loop
