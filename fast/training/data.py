"""The run's clips: training clips (a prepared folder or a source sampled on the fly), the
held-out validation clips, and a clip's split into inputs and targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from sharpvid.fast.config import TrainConfig
from sharpvid.fast.video.clips import ClipConfig, ClipSampler, test_clip
from sharpvid.fast.video.sources import DataError, open_source, parse_frame_range

#: a source whose frames take fewer bytes than this is decoded once and sampled in memory
IN_MEMORY_BYTES = 1 << 30


def _is_prepared(spec: str) -> bool:
    return Path(spec, "prepare.json").is_file()


def _open(spec: str, frame_range: str):
    source = open_source(spec)
    return source.frame_range(*parse_frame_range(frame_range)) if frame_range else source


def training_clips(cfg: TrainConfig):
    """The training clips of ``cfg.data``: a prepared folder (:class:`ShardClips`) or a source
    sampled on the fly (:class:`ClipSampler`, in memory when it is small)."""
    clip_cfg = ClipConfig(m=cfg.m, n=cfg.n, size=cfg.patch, keep_anyway=cfg.keep_static)
    if _is_prepared(cfg.data):
        from sharpvid.fast.video.shards import ShardClips

        clips = ShardClips(cfg.data)
        t, c, h, w = clips.shape or (0, 0, 0, 0)
        if clips.shape is None or (h, w) != (cfg.patch, cfg.patch) or t < clip_cfg.length:
            raise DataError(f"{cfg.data}: prepared clips of shape {clips.shape} (T, C, H, W) "
                            f"cannot train m={cfg.m}, n={cfg.n} on {cfg.patch}x{cfg.patch} patches; "
                            f"prepare with --frames {clip_cfg.length} --size {cfg.patch}")
        return clips if t == clip_cfg.length else _Truncated(clips, clip_cfg.length)
    source = _open(cfg.data, cfg.frame_range)
    size = sum(v.num_frames * v.height * v.width * v.channels for v in source)
    return ClipSampler(source, clip_cfg, in_memory=size <= IN_MEMORY_BYTES)


def with_still_clips(clips, share: float):
    """``clips`` with each clip of a batch replaced, with probability ``share``, by a still
    clip (:class:`StillClips`); ``clips`` itself when ``share`` is 0."""
    return StillClips(clips, share) if share > 0 else clips


class StillClips:
    """Training clips, a share of them still: each clip of batch ``k`` becomes, with
    probability ``share``, one of its frames (drawn uniformly) repeated over all m + n frames:
    a camera and a scene that do not move, whose next frame is the last input.

    Why: clips are kept for their motion (the motion filter), so a real next frame has almost
    always moved, and G and a conditional D learn that; these clips show both that still inputs
    are followed by the same frame.  The draws come from ``default_rng([seed, rank, k, 2])``:
    the stream is the same on resume and needs no state.  Anything with
    ``batch(k, batch_size, seed, rank)`` (a sampler, prepared shards) can be wrapped.
    """

    def __init__(self, clips, share: float):
        if not 0 <= share <= 1:
            raise DataError(f"still_clips={share!r} must be in [0, 1]")
        self.clips, self.share = clips, float(share)

    def batch(self, k, batch_size, seed=0, rank=0):
        out = np.array(self.clips.batch(k, batch_size, seed, rank))  # a copy: shards are mapped
        rng = np.random.default_rng([seed, rank, k, 2])
        still = rng.random(len(out)) < self.share
        frame = rng.integers(0, out.shape[1], len(out))
        for i in np.flatnonzero(still):
            out[i] = out[i, frame[i]]
        return out


class _Truncated:
    """A prepared clip set whose clips are longer than m + n: the first m + n frames."""

    def __init__(self, clips, length: int):
        self.clips, self.length = clips, length

    def batch(self, k, batch_size, seed=0, rank=0):
        return self.clips.batch(k, batch_size, seed, rank)[:, : self.length]


def validation_clips(cfg: TrainConfig) -> list[np.ndarray]:
    """Up to ``val_clips`` held-out uint8 ``(m + n, C, H, W)`` clips of ``cfg.val_data``: the
    clips of a prepared folder in order, or each video's fixed full-frame test clip."""
    if not cfg.val_data:
        return []
    length = cfg.m + cfg.n
    clips = []
    if _is_prepared(cfg.val_data):
        from sharpvid.fast.video.shards import ShardClips

        for clip in ShardClips(cfg.val_data):
            if len(clip) < length:
                raise DataError(f"{cfg.val_data}: clips of {len(clip)} frames, fewer than the "
                                f"m + n = {length} validation needs")
            clips.append(np.asarray(clip[:length]))
            if len(clips) == cfg.val_clips:
                break
        return clips
    for video in _open(cfg.val_data, cfg.val_frame_range):
        clips.append(test_clip(video, ClipConfig(m=cfg.m, n=cfg.n, size=None))[1])
        if len(clips) == cfg.val_clips:
            break
    return clips


def split_clip(clip: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(B, m + n, C, H, W)`` -> inputs X ``(B, m, C, H, W)`` and targets Y ``(B, n, C, H, W)``."""
    return clip[:, :m], clip[:, m:]
