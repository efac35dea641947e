"""Training and test clips from any video source, and the loader that feeds them to training.

A training clip is m + n consecutive frames of one shot (never across a scene cut,
:func:`sharpvid.fast.data.scene_cuts`), cropped to a random ``size x size`` patch that moves enough
(:func:`sharpvid.reference.data.has_enough_motion`, with the TF reimplementation's retry policy), or
the full frame when ``size`` is None.  Clips travel as uint8 ``(B, T, C, H, W)`` and become float in
[-1, 1] (the authors' ``x * 2 / 255 - 1``) on the training device (:func:`to_model`).

Randomness is counter-based: clip ``i`` of rank ``r``'s stream is drawn from
``np.random.default_rng([seed, r, i])`` alone.  So a stream is the same with any number of loader
workers, its whole state is one integer (the next batch), and a resumed run sees exactly the clips
an uninterrupted one would have seen.

Convention
----------
- Video choice: uniform over the source's videos (the authors pick a random class, then a random
  video; the TF reimplementation picks a random prepared clip file), then the clip search of
  :func:`sharpvid.reference.data.sample_patch_clip` within the video: the same candidate draws from
  the same generator, so on a one-shot video held in memory both give the same crop.  With several
  shots, a shot is drawn first, in proportion to its number of possible clip starts.
- Motion threshold: the TF value, 100 for 5 frames of 32x32x3 (its ``MOVEMENT_THRESHOLD``), is
  scaled to other clip shapes by the number of frame-difference values:
  ``100 * (T-1) * C * H * W / (4 * 3 * 32 * 32)``, unless given.
- Lazily read sources (video files) are sampled through a window of consecutive frames read
  with a seek (``window`` frames, 32 by default); sources held in memory are sampled over the
  whole video.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Iterator

import numpy as np
import torch

from sharpvid.fast.data import _cuts_from_differences
from sharpvid.fast.video.sources import DataError, Source, Video
from sharpvid.reference.data import _draw_candidates

#: The TF reimplementation's motion threshold and the clip shape it was set for.
TF_MOTION_THRESHOLD = 100.0
_TF_DIFFERENCE_VALUES = 4 * 3 * 32 * 32


@dataclass(frozen=True)
class ClipConfig:
    """What a clip is.  Paper values: m = 4 inputs predict n = 1 frame on 32x32 patches."""

    m: int = 4                        # input frames (paper: 4)
    n: int = 1                        # predicted frames (paper: 1 for training)
    size: int | None = 32             # square patch side; None = the full frame (evaluation)
    threshold: float | None = None    # motion threshold in [-1, 1] units; None = TF's 100 scaled
    max_tries: int = 100              # crops tried before giving up (TF: 100)
    keep_anyway: float = 0.05         # probability of keeping the first crop anyway (TF: 0.05)
    cut_threshold: float = 0.2        # scene cut: mean |frame difference| in [-1, 1] units
    cut_ratio: float = 3.0            # scene cut: times the neighbours' median
    window: int = 32                  # frames read per clip from a lazily decoded video

    def __post_init__(self):
        for key in ("m", "n", "max_tries", "window"):
            value = getattr(self, key)
            if isinstance(value, bool) or int(value) != value or value < 1:
                raise DataError(f"{key}={value!r} must be an integer >= 1")
        if self.size is not None and (int(self.size) != self.size or self.size < 1):
            raise DataError(f"size={self.size!r} must be an integer >= 1 (or None for full frames)")
        if not 0.0 <= self.keep_anyway <= 1.0:
            raise DataError(f"keep_anyway={self.keep_anyway!r} must be in [0, 1]")

    @property
    def length(self) -> int:
        """m + n frames per clip."""
        return self.m + self.n

    def motion_threshold(self, channels: int, height: int, width: int) -> float:
        """The threshold for clips of ``channels`` x ``height`` x ``width`` (see Convention)."""
        if self.threshold is not None:
            return float(self.threshold)
        values = (self.length - 1) * channels * height * width
        return TF_MOTION_THRESHOLD * values / _TF_DIFFERENCE_VALUES

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------ shots
def frame_differences_u8(frames: np.ndarray, chunk: int = 16) -> np.ndarray:
    """:func:`sharpvid.fast.data.frame_differences` of uint8 ``(T, H, W, C)`` frames, in [-1, 1]
    units, summed exactly in integers, in chunks of frames so a long video never becomes one big
    array.

    NumPy, not torch: this runs in loader and ``prepare`` worker processes, where a forked child
    must not enter torch's OpenMP pool (it can hang), and NumPy's integer sums are faster here.
    """
    t = frames.shape[0]
    d = np.empty(max(t - 1, 0), np.float64)
    for lo in range(0, t - 1, chunk):
        hi = min(lo + chunk, t - 1)
        block = frames[lo : hi + 1].astype(np.int16)
        d[lo:hi] = np.abs(block[1:] - block[:-1]).sum(axis=(1, 2, 3), dtype=np.int64)
    return d * (2.0 / 255.0) / float(np.prod(frames.shape[1:]))


def shots(frames: np.ndarray, cfg: ClipConfig = ClipConfig()) -> list[tuple[int, int]]:
    """The ``(start, stop)`` frame ranges between scene cuts of uint8 ``(T, H, W, C)`` frames."""
    t = frames.shape[0]
    if t < 2:
        return [(0, t)]
    d = torch.from_numpy(frame_differences_u8(frames))
    cuts = _cuts_from_differences(d, cfg.cut_threshold, cfg.cut_ratio, 5).numpy()
    bounds = [0, *np.flatnonzero(cuts).tolist(), t]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:])]


# ------------------------------------------------------------------ one clip
@dataclass
class ClipSample:
    """One clip and where it came from (what the prepared index records)."""

    clip: np.ndarray        # uint8 (T, C, S, S)
    video: int              # index of the video in its source
    frame: int              # first frame, in the video
    row: int                # top of the crop
    col: int                # left of the crop
    motion: float           # Σ_t ‖F_{t+1} − F_t‖² in [-1, 1] units
    moved: bool             # motion > threshold (False: kept anyway, or no try moved)


def _motion_u8(crops: np.ndarray) -> np.ndarray:
    """Σ_t ‖F_{t+1} − F_t‖² in [-1, 1] units of uint8 crops ``(K, T, H, W, C)``, exactly in
    integers then scaled: ((a - b) * 2/255)² summed."""
    c = crops.astype(np.int32)
    sq = np.square(c[:, 1:] - c[:, :-1]).sum(axis=(1, 2, 3, 4), dtype=np.int64)
    return sq * (4.0 / 255.0**2)


def sample_clip(frames: np.ndarray, rng, cfg: ClipConfig = ClipConfig(),
                shot_ranges: list[tuple[int, int]] | None = None) -> ClipSample:
    """A random clip of uint8 ``(T, H, W, C)`` frames that moves enough, within one shot.

    The crop search is :func:`sharpvid.reference.data.sample_patch_clip`'s (same draws, same order,
    same acceptance), run on uint8 with the motion summed exactly in integers and tested in chunks
    of 1, 4, 16, ... candidates.  ``shot_ranges`` defaults to :func:`shots` of ``frames``.
    """
    rng = np.random.default_rng(rng)
    t, h, w, c = frames.shape
    length = cfg.length
    shot_ranges = shots(frames, cfg) if shot_ranges is None else shot_ranges
    usable = [(a, b) for a, b in shot_ranges if b - a >= length]
    if not usable:
        raise DataError(f"no shot of {length} frames (m + n) without a scene cut; shots: "
                        f"{[b - a for a, b in shot_ranges]} frames")
    if len(usable) > 1:  # a shot, in proportion to its clip starts
        starts = np.array([b - a - length + 1 for a, b in usable], dtype=np.float64)
        a, b = usable[int(rng.choice(len(usable), p=starts / starts.sum()))]
    else:
        a, b = usable[0]
    size_h, size_w = (h, w) if cfg.size is None else (cfg.size, cfg.size)
    threshold = cfg.motion_threshold(c, size_h, size_w)
    shot = frames[a:b]
    if cfg.size is None:  # full frames: only the start frame is random
        keep_first = rng.random() < cfg.keep_anyway
        crops = [(slice(s, s + length), slice(None), slice(None))
                 for s in rng.integers(0, b - a - length + 1, size=cfg.max_tries).tolist()]
    else:
        try:
            keep_first, candidates = _draw_candidates(
                (b - a, c, h, w), cfg.size, length, cfg.max_tries, cfg.keep_anyway, rng)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        # the oracle indexes (T, C, H, W); these frames are (T, H, W, C)
        crops = [(f, r, col) for f, _, r, col in candidates]
    chosen, motion = len(crops) - 1, None
    lo, chunk = 0, 1
    while lo < len(crops):
        hi = min(lo + chunk, len(crops))
        scores = _motion_u8(np.stack([shot[crop] for crop in crops[lo:hi]]))
        if keep_first and lo == 0:
            chosen, motion = 0, float(scores[0])
            break
        moved = np.flatnonzero(scores > threshold)
        if moved.size:
            chosen, motion = lo + int(moved[0]), float(scores[moved[0]])
            break
        if hi == len(crops):
            motion = float(scores[-1])
        lo, chunk = hi, 4 * chunk
    f, r, col = crops[chosen]
    clip = np.ascontiguousarray(shot[crops[chosen]].transpose(0, 3, 1, 2))  # (T, C, S, S)
    return ClipSample(clip, -1, a + f.start, r.start or 0, col.start or 0, motion,
                      motion > threshold)


def read_window(video: Video, cfg: ClipConfig, rng) -> tuple[int, np.ndarray]:
    """A random window of ``cfg.window`` consecutive frames (at least m + n, at most the video)
    read with a seek: ``(first frame, uint8 frames)``.  How a clip is drawn from a video that is
    not held in memory; the start is the generator's next draw."""
    span = min(max(cfg.window, cfg.length), video.num_frames)
    offset = int(rng.integers(video.num_frames - span + 1))
    return offset, video.read(offset, offset + span)


def fixed_clip_start(shot_ranges: list[tuple[int, int]], length: int) -> int:
    """The fixed start of a video's test clip: centred in its longest shot (the first of equal
    ones), from the video's :func:`shots`."""
    a, b = max(shot_ranges, key=lambda r: (r[1] - r[0], -r[0]))
    if b - a < length:
        raise DataError(f"longest shot has {b - a} frames, fewer than the {length} a test clip needs")
    return a + (b - a - length) // 2


def test_clip(video: Video, cfg: ClipConfig = ClipConfig()) -> tuple[int, np.ndarray]:
    """A video's fixed full-frame test clip of m + n frames: ``(start, uint8 (T, C, H, W))``,
    centred in its longest shot (:func:`fixed_clip_start`), the same every time it is asked for.
    What ``sharpvid prepare --split test`` stores, and what an evaluation of an unprepared source
    reads."""
    frames = video.read()
    start = fixed_clip_start(shots(frames, cfg), cfg.length)
    return start, np.ascontiguousarray(frames[start : start + cfg.length].transpose(0, 3, 1, 2))


test_clip.__test__ = False  # a library function, not a pytest test


def check_motion(source: Source, cfg: ClipConfig, seed: int = 0, videos: int = 4,
                 tries: int = 4) -> None:
    """Some crop of the first few videos passes the motion filter, or a one-line error saying
    the threshold and the best motion found (with ``keep_anyway`` off, from ``tries`` clip
    searches of each video's first ``cfg.window`` frames)."""
    strict = ClipConfig(**{**cfg.to_dict(), "keep_anyway": 0.0})
    best, threshold = 0.0, None
    for v in range(min(videos, len(source))):
        video = source[v]
        frames = video.read(0, min(max(strict.window, strict.length), video.num_frames))
        for t in range(tries):
            # a key no clip uses (clips use [seed, v, j] with j < 2**31, or [seed, rank, i])
            s = sample_clip(frames, np.random.default_rng([seed, v, 2**31 + t, 7]), strict)
            if s.moved:
                return
            best = max(best, s.motion)
            threshold = strict.motion_threshold(video.channels, *s.clip.shape[-2:])
    raise DataError(
        f"{source.name}: no crop passes the motion filter (threshold {threshold:.4g}, best motion "
        f"found {best:.4g} in {min(videos, len(source)) * tries * cfg.max_tries} tries); "
        f"lower --threshold"
    )


# ------------------------------------------------------------------ a source's clips
def check_videos(source: Source, cfg: ClipConfig, *, full_frame: bool = False) -> None:
    """Every video has the m + n frames a clip needs and is at least as big as the crop; else
    a one-line error naming the first that is not."""
    for video in source:
        if video.num_frames < cfg.length:
            raise DataError(f"{video.source}: {video.num_frames} frames, fewer than the "
                            f"{cfg.length} (m + n) a clip needs; remove it or use fewer frames")
        if not full_frame and cfg.size is not None and min(video.height, video.width) < cfg.size:
            raise DataError(f"{video.source}: frames of {video.width}x{video.height} are smaller "
                            f"than the {cfg.size}x{cfg.size} crop; use a smaller size")



class ClipSampler:
    """Clips drawn from a source's videos, each from its own counter-based generator.

    ``in_memory=True`` decodes every video once up front (the synthetic world, small data);
    otherwise each clip reads a window of ``cfg.window`` frames with a seek.  Videos shorter
    than m + n frames, or smaller than the crop, are an error (:func:`check_videos`).
    """

    def __init__(self, source: Source, cfg: ClipConfig = ClipConfig(), *, in_memory: bool = True):
        self.source, self.cfg, self.in_memory = source, cfg, in_memory
        check_videos(source, cfg)
        if cfg.size is None and len({(v.height, v.width, v.channels) for v in source}) > 1:
            raise DataError(f"{source.name}: full-frame clips need one frame size, but the videos "
                            f"have several; give a crop size")
        check_motion(source, cfg)
        self._cache: dict[int, tuple[np.ndarray, list]] = {}
        if in_memory:
            for k in range(len(source)):
                self._frames(k)

    def _frames(self, k: int) -> tuple[np.ndarray, list]:
        if k not in self._cache:
            frames = self.source[k].read()
            self._cache[k] = (frames, shots(frames, self.cfg))
        return self._cache[k]

    def draw(self, rng) -> ClipSample:
        """One clip from ``rng`` (a seed, or a generator): a video, then a clip of it."""
        rng = np.random.default_rng(rng)
        k = int(rng.integers(len(self.source)))
        video = self.source[k]
        if self.in_memory:
            (frames, ranges), offset = self._frames(k), 0
        else:
            (offset, frames), ranges = read_window(video, self.cfg, rng), None
        try:
            sample = sample_clip(frames, rng, self.cfg, ranges)
        except DataError as exc:
            raise DataError(f"{video.source}: {exc}") from None
        sample.video, sample.frame = k, sample.frame + offset
        return sample

    def clip(self, seed: int, rank: int, i: int) -> np.ndarray:
        """Clip ``i`` of rank ``rank``'s stream: uint8 ``(T, C, S, S)``."""
        return self.draw(np.random.default_rng([seed, rank, i])).clip

    def batch(self, k: int, batch_size: int, seed: int = 0, rank: int = 0) -> np.ndarray:
        """Batch ``k`` of the stream: clips ``k*B ... k*B + B - 1``, uint8 ``(B, T, C, S, S)``."""
        return np.stack([self.clip(seed, rank, k * batch_size + j) for j in range(batch_size)])


# ------------------------------------------------------------------ the loader
def to_model(batch: torch.Tensor | np.ndarray, device="cpu", dtype=torch.float32) -> torch.Tensor:
    """uint8 clips -> ``dtype`` in [-1, 1] on ``device`` (the authors' ``x * 2 / 255 - 1``),
    converted on the device so only bytes cross the bus."""
    batch = torch.as_tensor(batch)
    batch = batch.to(device, non_blocking=batch.is_pinned())
    return batch.to(dtype).mul_(2.0 / 255.0).sub_(1.0)


class _BatchStream(torch.utils.data.IterableDataset):
    """Batches ``start, start+1, ...`` of ``make_batch``; worker w of W makes every W-th, and the
    DataLoader's round-robin over workers puts them back in order."""

    def __init__(self, make_batch: Callable[[int], np.ndarray], start: int, stop: int | None):
        self.make_batch, self.start, self.stop = make_batch, start, stop

    def __iter__(self) -> Iterator[torch.Tensor]:
        info = torch.utils.data.get_worker_info()
        k = self.start + (info.id if info else 0)
        step = info.num_workers if info else 1
        while self.stop is None or k < self.stop:
            yield torch.from_numpy(self.make_batch(k))
            k += step


class StreamUnion:
    """The streams of ``world`` ranks as one: batch ``k`` of size ``world * b`` is batch ``k``
    of size ``b`` of rank 0, then of rank 1, ...  A single process reading it sees exactly the
    global batch a ``world``-process run (each rank its own stream) trains on."""

    def __init__(self, clips, world: int):
        self.clips, self.world = clips, int(world)

    def batch(self, k: int, batch_size: int, seed: int = 0, rank: int = 0) -> np.ndarray:
        if rank != 0 or batch_size % self.world:
            raise DataError(f"a union of {self.world} streams reads batches of a multiple of "
                            f"{self.world} clips, as rank 0; got {batch_size} as rank {rank}")
        b = batch_size // self.world
        return np.concatenate([self.clips.batch(k, b, seed, r) for r in range(self.world)])


class ClipLoader:
    """Batches of clips as float tensors in [-1, 1] on ``device``, ``(B, m+n, C, S, S)``.

    ``clips`` is a :class:`ClipSampler` or :class:`sharpvid.fast.video.shards.ShardClips` (anything
    with ``batch(k, batch_size, seed, rank)``).  ``workers`` processes prepare uint8 batches ahead
    (``prefetch`` each), pinned when the device is CUDA; the conversion to float runs on the
    device.  ``state_dict()`` is the next batch number: a checkpoint saves it and
    ``load_state_dict`` resumes the stream exactly.  Iterating is endless unless ``batches``
    is given.
    """

    def __init__(self, clips, batch_size: int, *, seed: int = 0, rank: int = 0, device="cpu",
                 workers: int = 0, prefetch: int = 2, pin_memory: bool | None = None,
                 batches: int | None = None):
        if int(batch_size) != batch_size or batch_size < 1:
            raise DataError(f"batch_size={batch_size!r} must be an integer >= 1")
        self.clips, self.batch_size, self.seed, self.rank = clips, int(batch_size), seed, rank
        self.device = torch.device(device)
        self.workers, self.prefetch, self.batches = workers, prefetch, batches
        self.pin_memory = self.device.type == "cuda" if pin_memory is None else pin_memory
        self.next_batch = 0

    def _make(self, k: int) -> np.ndarray:
        return self.clips.batch(k, self.batch_size, self.seed, self.rank)

    def state_dict(self) -> dict:
        return {"seed": self.seed, "rank": self.rank, "batch_size": self.batch_size,
                "next_batch": self.next_batch}

    def load_state_dict(self, state: dict) -> None:
        for key in ("seed", "rank", "batch_size"):
            if state[key] != getattr(self, key):
                raise DataError(f"loader state has {key}={state[key]!r}, this loader "
                                f"{getattr(self, key)!r}: the stream would differ")
        self.next_batch = int(state["next_batch"])

    def __iter__(self) -> Iterator[torch.Tensor]:
        stream = _BatchStream(self._make, self.next_batch, self.batches)
        loader = torch.utils.data.DataLoader(
            stream, batch_size=None, num_workers=self.workers, pin_memory=self.pin_memory,
            prefetch_factor=self.prefetch if self.workers else None,
            persistent_workers=False,
        )
        for batch in loader:
            self.next_batch += 1
            yield to_model(batch, self.device)
