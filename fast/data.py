"""Fast twin of :mod:`sharpvid.reference.data`: the motion test and motion-filtered patch clips.

Differences from the oracle: torch tensors on any device; :func:`sample_patch_clip` stacks
candidate crops (views) in growing chunks (1, 4, 16, ... crops) and tests each chunk's motion in
one reduction instead of crop by crop.  It draws the candidates from a NumPy generator in the oracle's order, so with the same
seed both twins return the same clip.
"""

from __future__ import annotations

import torch

from sharpvid.fast._tensors import _as_tensor
from sharpvid.reference._checks import _check_ndim, _check_positive_int
from sharpvid.reference.data import _draw_candidates


def has_enough_motion(clip, threshold: float = 100.0) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.data.has_enough_motion`: Σ_t ‖F_{t+1} − F_t‖² >
    threshold.

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
    """Fast twin of :func:`sharpvid.reference.data.sample_patch_clip`: a random crop that moves
    enough.

    Differences: candidate crops are tested in growing chunks (one stacked copy and one
    reduction per chunk), on the video's device; the returned clip is a view of ``video``.
    """
    video = _as_tensor(video, "video")
    keep_first, crops = _draw_candidates(
        tuple(video.shape), size, length, max_tries, keep_anyway, rng
    )
    if keep_first:
        return video[crops[0]]
    # candidates in growing chunks (1, 4, 16, ...): usually the first crop moves; a chunk is
    # one stacked copy (of views) and one motion reduction however many crops it holds
    lo, chunk = 0, 1
    while lo < len(crops):
        hi = min(lo + chunk, len(crops))
        moved = has_enough_motion(torch.stack([video[c] for c in crops[lo:hi]]), threshold)
        if bool(moved.any()):
            return video[crops[lo + int(torch.argmax(moved.to(torch.int8)))]]
        lo, chunk = hi, 4 * chunk
    return video[crops[-1]]  # none moved: the last try, as the oracle's loop


def frame_differences(video) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.data.frame_differences`: d_t = mean |F_t −
    F_{t−1}|."""
    video = _as_tensor(video, "video")
    _check_ndim(video, "video", (4, 5))
    if video.shape[-4] < 2:
        raise ValueError(f"video needs at least 2 frames, got shape {tuple(video.shape)}")
    return video.diff(dim=-4).abs().mean(dim=(-3, -2, -1))


def scene_cuts(video, threshold: float = 0.2, ratio: float = 3.0, window: int = 5) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.data.scene_cuts`: frames that start a new shot.

    Differences: the neighbours' lower median of every frame in one ``nanmedian`` over a
    NaN-padded sliding window instead of a loop over frames.
    """
    video = _as_tensor(video, "video")
    window = _check_positive_int(window, "window")
    return _cuts_from_differences(frame_differences(video), threshold, ratio, window)


def _cuts_from_differences(d: torch.Tensor, threshold: float, ratio: float, window: int):
    """:func:`scene_cuts` from the differences ``d`` (..., T-1) (a long video's are computed in
    chunks of frames by :mod:`sharpvid.fast.video.clips`)."""
    nan = torch.full(d.shape[:-1] + (window,), float("nan"), dtype=d.dtype, device=d.device)
    windows = torch.cat([nan, d, nan], dim=-1).unfold(-1, 2 * window + 1, 1)  # (..., T-1, 2w+1)
    windows = windows.clone()
    windows[..., window] = float("nan")  # the difference itself is not its own neighbour
    local = windows.nanmedian(dim=-1).values.nan_to_num(0.0)  # no neighbour: absolute test only
    moved = (d > threshold) & (d > ratio * local)
    first = torch.zeros(d.shape[:-1] + (1,), dtype=torch.bool, device=d.device)
    return torch.cat([first, moved], dim=-1)
