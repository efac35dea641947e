"""Videos on disk: folders of frames (Pillow) and video files (PyAV, the ``video`` extra).

Both give the same :class:`~sharpvid.fast.video.base.Video` interface: a name, a frame count, a
frame shape, and ``read(start, stop)`` returning uint8 ``(T, H, W, C)``.  Opening a video checks it
(readable, one frame size, enough frames) so a bad file fails before any work starts with a
one-line :class:`~sharpvid.fast.video.base.DataError` that names it.

Video files are decoded with FFmpeg's threads (``thread_type="AUTO"``) and a frame range is
reached by seeking to the key frame before it (``container.seek``) and decoding forward from
there, never from the start of the file, when the container has timestamps.  Frame ``i`` is the
frame whose presentation time is ``start_time + i / fps``.  A file whose decoding stops early
(truncated, corrupt) gives the frames that could be read and records what went wrong in
``Video.problems``.

A *sparse* (variable-frame-rate) file is different: its frames do not sit at every ``1 / fps``
step (an AVI whose header counts 444 frames, only 68 of them with data, at timestamps 0, 11,
17, 24, ... in units of 1 / fps; an MP4 or MKV written with timestamps that skip).  Opening a
file checks its timestamps against the ``1 / fps`` grid, from the container's index when that
lists every frame (AVI, MP4), else by demuxing the packets once (no pixels decoded).  A sparse
file's frames are its packets with data, frame ``i`` is the ``i``-th of them in presentation
order (:func:`_packet_times`), and a read seeks to the key frame before its first frame.
"""

from __future__ import annotations

import bisect
import itertools
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from sharpvid.fast.imageio import IMAGE_SUFFIXES, atomic_write
from sharpvid.fast.video.base import DataError, Video

VIDEO_SUFFIXES = (".avi", ".mp4", ".mkv", ".mov", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv", ".flv")
VIDEO_EXTRA = "pip install 'sharpvid[video]'"


def natural_key(path: Path | str):
    """Sort key that orders ``frame2.png`` before ``frame10.png``."""
    name = path.name if isinstance(path, Path) else str(path)
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def image_files(folder: Path) -> list[Path]:
    """The image files of ``folder``, in natural sort order."""
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
                  key=natural_key)


def video_files(folder: Path) -> list[Path]:
    """The video files below ``folder`` (recursively), in natural sort order of their paths."""
    found = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES]
    return sorted(found, key=lambda p: [natural_key(part) for part in p.relative_to(folder).parts])


# ------------------------------------------------------------------ folders of frames
class FrameFolderVideo(Video):
    """One video stored as a folder of PNG/JPEG frames, in natural sort order.

    Every frame must have the first frame's size (checked from the file headers when opened);
    grey and colour frames are all converted to the first frame's mode.
    """

    def __init__(self, folder: str | Path, name: str | None = None):
        folder = Path(folder)
        if not folder.is_dir():
            raise DataError(f"{folder}: no such folder")
        self.frames = image_files(folder)
        if not self.frames:
            raise DataError(f"{folder}: folder has no image files ({', '.join(IMAGE_SUFFIXES)})")
        sizes = {}
        for path in self.frames:  # headers only: cheap, and catches unreadable files up front
            try:
                with Image.open(path) as img:
                    sizes[path] = (img.size, img.mode)
            except (UnidentifiedImageError, OSError) as exc:
                raise DataError(f"{path}: cannot read as an image ({exc})") from None
        (w, h), mode = sizes[self.frames[0]]
        for path, ((wi, hi), _) in sizes.items():
            if (wi, hi) != (w, h):
                raise DataError(
                    f"{path}: frame is {wi}x{hi} but {self.frames[0].name} is {w}x{h}; the frames "
                    f"of one video must share a size (resize them, or split the folder)"
                )
        self._mode = "L" if mode in ("L", "1", "I;16", "I", "F") else "RGB"
        super().__init__(name or folder.name, str(folder), len(self.frames), h, w,
                         1 if self._mode == "L" else 3)

    def _read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start, self.height, self.width, self.channels), np.uint8)
        for t, path in enumerate(self.frames[start:stop]):
            try:
                with Image.open(path) as img:
                    arr = np.asarray(img.convert(self._mode))
            except (UnidentifiedImageError, OSError, ValueError) as exc:
                raise DataError(f"{path}: cannot read as an image ({exc})") from None
            out[t] = arr[..., None] if arr.ndim == 2 else arr
        return out


# ------------------------------------------------------------------ video files (PyAV)
def _av():
    try:
        import av
    except ImportError:
        return None
    return av


def require_av(path=None):
    """The ``av`` module, or a one-line error saying how to install it."""
    av = _av()
    if av is None:
        what = f"{path}: reading video files" if path else "reading video files"
        raise DataError(f"{what} needs PyAV (the 'video' extra): {VIDEO_EXTRA}")
    return av


def _av_errors(av):
    return (av.error.FFmpegError, OSError, ValueError, EOFError) if hasattr(av, "error") else (OSError,)


class VideoFile(Video):
    """One video file decoded with PyAV (FFmpeg bundled in its wheels); RGB frames.

    The frame count is the container's when it states one and the timestamps are regular, else
    the packets with data, counted by demuxing once (no pixel conversion): a sparse file's
    frames are its decodable ones, in presentation order (``_times`` holds their timestamps).
    ``problems`` lists what went wrong while reading (a truncated file, say): the frames before
    the failure are still returned.
    """

    def __init__(self, path: str | Path, name: str | None = None):
        path = Path(path)
        av = require_av(path)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        self.path = path
        self._errors = _av_errors(av)
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    raise DataError(f"{path}: has no video stream")
                stream = container.streams.video[0]
                w, h = stream.codec_context.width, stream.codec_context.height
                rate = stream.average_rate or stream.guessed_rate
                self._rate = Fraction(rate) if rate else None
                self._time_base = Fraction(stream.time_base) if stream.time_base else None
                self._t0 = _first_pts(container, stream)
                # a sparse stream's frame timestamps, in presentation order, and seek targets
                self._times = self._seek_to = None
                count = stream.frames if stream.frames and stream.frames > 0 else 0
                step = self._rate * self._time_base if self._rate and self._time_base else None
                if not (step and _index_is_regular(stream, step, count)):
                    packets, times, seek_to = _packet_times(container, stream)
                    if step and times and not _on_grid(times, step):
                        self._times, self._seek_to, count = times, seek_to, len(times)
                    elif not count:
                        count = packets
        except DataError:
            raise
        except self._errors as exc:
            raise DataError(f"{path}: cannot open as a video ({_first_line(exc)})") from None
        if not w or not h or not count:
            raise DataError(f"{path}: no decodable video frames")
        super().__init__(name or path.stem, str(path), int(count), int(h), int(w), 3)

    def _index(self, frame) -> int:
        """The frame number of a decoded frame, from its timestamp: (pts - t0) · time_base · fps,
        or for a sparse stream its place among the frames' timestamps."""
        if self._times is not None:
            return bisect.bisect_left(self._times, frame.pts)
        return int(round(float((frame.pts - self._t0) * self._time_base * self._rate)))

    def _decode(self, start: int, stop: int, seek: bool) -> tuple[list[np.ndarray], int]:
        """``(frames, end)``: frames ``start:stop``, and 1 + the last frame number decoded (the
        true end of a file that stops before ``stop``).  A seek after which nothing decodes
        (past the end of a truncated file) raises :class:`_SeekMissed`: from the start, the
        decoding sees where the file ends."""
        av = _av()
        frames: list[np.ndarray] = []
        with av.open(str(self.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            use_pts = self._rate is not None and self._time_base is not None
            if seek:
                if self._times is not None:
                    target = self._seek_to[start]
                else:
                    target = self._t0 + int(start / (self._rate * self._time_base))
                container.seek(target, stream=stream, backward=True, any_frame=False)
            counter = end = 0
            try:
                for frame in container.decode(stream):
                    if use_pts and frame.pts is not None:
                        i = self._index(frame)
                    elif seek:  # no timestamp after a seek: the position is unknown
                        raise _SeekMissed
                    else:
                        i = counter
                    counter += 1
                    end = max(end, i + 1)
                    if seek and not frames and i > start:
                        raise _SeekMissed
                    if i < start:
                        continue
                    if i >= stop:
                        break
                    arr = frame.to_ndarray(format="rgb24")
                    if arr.shape != (self.height, self.width, 3):
                        raise DataError(
                            f"{self.path}: frame {i} is {arr.shape[1]}x{arr.shape[0]} but the "
                            f"video is {self.width}x{self.height}; frames of mixed sizes"
                        )
                    frames.append(arr)
            except self._errors as exc:
                self.problems.append(
                    f"{self.path}: decoding stopped at frame {start + len(frames)} of "
                    f"{self.num_frames} ({_first_line(exc)}); using the frames read"
                )
            else:
                if seek and not counter:  # nothing after the seek: past the end, or lost
                    raise _SeekMissed
        return frames, end

    def _read(self, start: int, stop: int) -> np.ndarray:
        seekable = start > 0 and self._rate is not None and self._time_base is not None
        try:
            frames, end = self._decode(start, stop, seek=seekable)
        except _SeekMissed:  # the container could not land before `start`: decode from 0
            frames, end = self._decode(start, stop, seek=False)
        except self._errors as exc:
            raise DataError(f"{self.path}: cannot decode ({_first_line(exc)})") from None
        if len(frames) < stop - start:  # a short file: what could be read
            true_end = start + len(frames) if frames else min(end, start)
            if not self.problems:
                said = "its packets say" if self._times is not None else "its header says"
                self.problems.append(
                    f"{self.path}: ends at frame {true_end} although {said} "
                    f"{self.num_frames} frames (truncated?); using the frames read")
            self.num_frames = true_end
        if not frames:
            return np.empty((0, self.height, self.width, 3), np.uint8)
        return np.stack(frames)


def _first_pts(container, stream) -> int:
    """The timestamp of the first frame in presentation order: frame 0.  Not the stream's
    ``start_time``, which an AVI with B-frames gives as 0 while its first frame is at 1."""
    first = None
    for frame in container.decode(stream):
        first = frame.pts
        break
    container.seek(0)
    if first is None:
        return stream.start_time or 0
    return first


def _on_grid(times: list[int], step: Fraction) -> bool:
    """Whether sorted timestamps are consecutive frames: (t - t_0) · time_base · fps = 0, 1, ...

    ``step`` is time_base · fps.  Rounded to the nearest frame, as :meth:`VideoFile._index` does.
    """
    step = float(step)
    return all(round((t - times[0]) * step) == k for k, t in enumerate(times))


def _index_is_regular(stream, step: Fraction, count: int) -> bool:
    """Whether the container's index, read when the file was opened, lists ``count`` frames with
    data on the regular grid: then no demuxing is needed.  AVI and MP4 index every frame (by
    decoding timestamp, which is as regular as the presentation one); MKV indexes key frames
    only, and PyAV before 14 has no ``index_entries``: both fall through to demuxing."""
    entries = getattr(stream, "index_entries", None)
    if not count or entries is None:
        return False
    times = sorted(entry.timestamp for entry in entries if entry.size)
    return len(times) == count and _on_grid(times, step)


def _packet_times(container, stream) -> tuple[int, list[int] | None, list[int] | None]:
    """``(packets, times, seek_to)``: the count of packets with data; the presentation
    timestamps of those the decoder outputs (not flagged discard), in presentation order; and
    ``seek_to[k]``, the timestamp to seek to for reading from frame ``k`` on: the earliest
    decoding timestamp of frames ``k, k+1, ...`` (with B-frames, a later frame is decoded before
    frame ``k``, and a container's index counts decoding time).  Both None when a packet has no
    timestamp.  Demuxing only: no pixels are decoded.

    Convention: a packet without a presentation timestamp counts by its decoding timestamp
    (AVI stores only those; without B-frames they are the same), and the reverse.
    """
    packets, stamps, timed = 0, [], True
    for packet in container.demux(stream):
        if not packet.size:
            continue  # the demuxer's final flush packet; an AVI's empty "drop frame" chunk
        packets += 1
        if getattr(packet, "is_discard", False):
            continue
        pts = packet.pts if packet.pts is not None else packet.dts
        if pts is None:
            timed = False
            continue
        stamps.append((pts, packet.dts if packet.dts is not None else pts))
    if not timed or not stamps:
        return packets, None, None
    stamps.sort()
    times = [pts for pts, _ in stamps]
    seek_to = list(itertools.accumulate(reversed([dts for _, dts in stamps]), min))[::-1]
    return packets, times, seek_to


class _SeekMissed(Exception):
    """The seek landed after the wanted frame (no usable key frame index)."""


def _first_line(exc: BaseException) -> str:
    return (str(exc).split("\n")[0] or type(exc).__name__).strip()


def write_video(path: str | Path, frames: np.ndarray, fps: int = 25, *, codec: str | None = None,
                quality: int | None = None, gop: int | None = None, b_frames: int = 0) -> None:
    """Write uint8 ``(T, H, W, C)`` frames (C = 1 or 3) as a video file, atomically.

    ``codec`` defaults by suffix: MPEG-4 Part 2 for ``.avi`` (UCF101's own codec family is
    Xvid), H.264 for ``.mp4``/``.mkv``, FFV1 (lossless) for anything else PyAV can mux.  Odd
    sizes are fine for MPEG-4/FFV1; H.264 with yuv420p needs even sides.  ``gop`` (frames between
    key frames) and ``b_frames`` (bidirectional frames) are there for tests of seeking.
    """
    av = require_av(path)
    path = Path(path)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] not in (1, 3) or frames.dtype != np.uint8:
        raise DataError(f"{path}: frames must be uint8 (T, H, W, 1 or 3), got {frames.dtype} "
                        f"{frames.shape}")
    if frames.shape[-1] == 1:
        frames = np.repeat(frames, 3, axis=-1)
    suffix = path.suffix.lower()
    codec = codec or {".avi": "mpeg4", ".mp4": "libx264", ".mkv": "libx264"}.get(suffix, "ffv1")

    def write(tmp):
        with av.open(tmp, mode="w", format=_FORMATS.get(suffix)) as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p" if codec != "ffv1" else "bgr0"  # FFV1 in RGB: lossless
            if quality is not None and codec == "mpeg4":
                stream.codec_context.qscale = quality
            if gop is not None:
                stream.codec_context.gop_size = gop
            if b_frames:
                stream.codec_context.max_b_frames = b_frames
            for arr in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(arr, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)

    try:
        atomic_write(path, write)
    except _av_errors(av) as exc:
        raise DataError(f"{path}: cannot write the video ({_first_line(exc)})") from None


_FORMATS = {".avi": "avi", ".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm"}
