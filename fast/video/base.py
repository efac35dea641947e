"""The base types every video source builds on: :class:`DataError`, :class:`Video` (and the
in-memory, sliced and synthetic videos) and :class:`Source`.  A leaf of :mod:`sharpvid.fast.video`:
the file readers (:mod:`sharpvid.fast.video.files`), UCF101 (:mod:`sharpvid.fast.video.ucf101`) and
the spec parser (:mod:`sharpvid.fast.video.sources`, which re-exports these names) import it, never
the other way."""

from __future__ import annotations

import numpy as np


class DataError(Exception):
    """Data the user can fix (a missing file, an unreadable video): one line naming it."""


class Video:
    """One video: ``name``, ``source`` (where it comes from), ``num_frames`` and the frame shape
    ``(height, width, channels)``; frames decoded on demand by :meth:`read`.

    ``problems`` collects what went wrong while reading without stopping it (a truncated file:
    the frames before the failure are still used); sources report them.
    """

    def __init__(self, name: str, source: str, num_frames: int, height: int, width: int,
                 channels: int):
        self.name, self.source = name, source
        self.num_frames, self.height, self.width, self.channels = num_frames, height, width, channels
        self.problems: list[str] = []

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(T, H, W, C)``."""
        return (self.num_frames, self.height, self.width, self.channels)

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``start`` to ``stop`` (exclusive) as uint8 ``(T, H, W, C)``.

        Fewer frames come back only when the file turns out shorter than it said (then
        ``num_frames`` is corrected and ``problems`` says why).
        """
        stop = self.num_frames if stop is None else min(stop, self.num_frames)
        if not 0 <= start <= stop:
            raise ValueError(f"{self.source}: frame range {start}:{stop} outside 0:{self.num_frames}")
        return self._read(start, stop)

    def _read(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        t, h, w, c = self.shape
        return f"{type(self).__name__}({self.name!r}, {t} frames of {w}x{h}x{c})"


class ArrayVideo(Video):
    """A video held in memory (the synthetic world, tests)."""

    def __init__(self, frames: np.ndarray, name: str = "video", source: str = "memory"):
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.dtype != np.uint8 or frames.shape[-1] not in (1, 3):
            raise DataError(f"{source}: frames must be uint8 (T, H, W, 1 or 3), got "
                            f"{frames.dtype} {frames.shape}")
        self.frames = frames
        super().__init__(name, source, *frames.shape)

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self.frames[start:stop]


class SlicedVideo(Video):
    """Frames ``start:stop`` of another video (held-apart frames for training and testing)."""

    def __init__(self, video: Video, start: int, stop: int):
        self.video, self.offset = video, start
        super().__init__(video.name, f"{video.source}[{start}:{stop}]", stop - start,
                         video.height, video.width, video.channels)
        self.problems = video.problems

    def _read(self, start: int, stop: int) -> np.ndarray:
        return self.video.read(self.offset + start, self.offset + stop)


class SyntheticVideo(Video):
    """One video of the synthetic world, generated on demand from its seed (and cached)."""

    def __init__(self, seed: int, frames: int, height: int, width: int, channels: int,
                 name: str):
        self.seed = seed
        self._frames: np.ndarray | None = None
        super().__init__(name, f"{name} (synthetic, seed {seed})", frames, height, width, channels)

    def _read(self, start: int, stop: int) -> np.ndarray:
        if self._frames is None:
            from sharpvid.fast.video.synthetic import synthetic_video

            self._frames = synthetic_video(self.seed, self.num_frames, self.height, self.width,
                                           channels=self.channels)
        return self._frames[start:stop]


class Source:
    """A named, ordered list of videos."""

    def __init__(self, name: str, videos: list[Video]):
        if not videos:
            raise DataError(f"{name}: no videos")
        self.name, self.videos = name, list(videos)

    def __len__(self) -> int:
        return len(self.videos)

    def __iter__(self):
        return iter(self.videos)

    def __getitem__(self, i):
        return self.videos[i]

    def every(self, k: int, offset: int = 0) -> "Source":
        """Every k-th video from ``offset`` (the evaluation protocol's subsampling)."""
        return Source(f"{self.name}[{offset}::{k}]", self.videos[offset::k])

    def frame_range(self, lo: float, hi: float) -> "Source":
        """The same videos cut to frames ``lo:hi``: frame indices (ints) or fractions of each
        video (floats, as ``parse_frame_range`` gives for ``"0.8:1"``)."""
        videos = []
        for v in self.videos:
            a, b = _resolve_range(lo, hi, v.num_frames)
            videos.append(SlicedVideo(v, a, b))
        return Source(f"{self.name}[frames {lo}:{hi}]", videos)

    def __repr__(self) -> str:
        return f"Source({self.name!r}, {len(self.videos)} videos)"


def _resolve_range(lo: float, hi: float, total: int) -> tuple[int, int]:
    if isinstance(lo, float) or isinstance(hi, float):
        if not 0.0 <= lo < hi <= 1.0:
            raise DataError(f"frame range {lo}:{hi}: fractions must satisfy 0 <= lo < hi <= 1")
        return int(round(lo * total)), int(round(hi * total))
    if not 0 <= lo < hi:
        raise DataError(f"frame range {lo}:{hi}: need 0 <= lo < hi")
    return min(lo, total), min(hi, total)
