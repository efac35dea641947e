"""Every window of a video predicted, scored and shown side by side: the library behind
``sharpvid predict --all`` (:mod:`sharpvid.fast.commands.predict` is its command line).

A *window* is m consecutive real frames from frame s; a predictor gives the n frames after it,
the later ones recursively from the earlier predictions (the authors' recursion, which
:meth:`sharpvid.fast.networks.MultiScaleGenerator.predict` and
:func:`sharpvid.fast.flow.flow_extrapolate` both run).  :func:`predict_all` predicts every window
``s = 0, 1, ..., T - m - n`` of a video, ``batch`` windows per call, and for each predicted frame

- scores it against the real frame, for the model (when there is one) and each baseline of
  :data:`sharpvid.fast.evaluate.BASELINES` on the same windows (:func:`score_frames`: the seed
  convention's columns of :func:`sharpvid.fast.evaluate.frame_metrics`, whole frame and moving
  area);
- draws one video frame of four panels (:func:`side_by_side`): the last input frame | the
  prediction | the truth | the error as a heat map (:func:`error_heatmap`), written to an H.264
  MP4 as the windows go (:class:`Mp4Writer`: a temporary file, renamed into place at the end).

Convention
----------
- The CSV (:func:`metrics_csv`): one row per window x frame ahead x method; ``start`` is the
  window's first frame, ``ahead`` k = 1 .. n, ``frame`` the predicted frame's index in the video
  (``start + m + k - 1``); scores as Python's ``repr`` writes them (``inf`` for identical
  frames, ``nan`` for a moving-area score of a frame with no moving pixel).
- The heat map: ``|clip(prediction, -1, 1) - truth|`` averaged over the channels, on a fixed
  scale, never normalised per frame: :data:`ERROR_SCALE` = 0.5 in [-1, 1] units (64 of 255
  levels) or more is white.  The colour map (:func:`heat_colours`) is three ramps in turn,
  black -> red (at 21 levels) -> yellow (43) -> white (64), close to matplotlib's ``hot``.
- Panels are the video's size, ``SEP`` = 2 white pixels apart, under a ``HEADER`` = 16 pixel
  strip of labels (Pillow's default font, cut at the panel's edge); H.264 in yuv420p needs even
  sides, so a frame of odd size gets one white row or column at the bottom or right
  (:func:`frame_layout`).
- The windows' 8-bit frames become [-1, 1] as everywhere (``x * 2 / 255 - 1``); the panels go
  back by :func:`sharpvid.fast.figures.to_bytes`.
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from sharpvid.fast import metrics
from sharpvid.fast.evaluate import BASELINES, baseline_predict, frame_metrics
from sharpvid.fast.figures import to_bytes
from sharpvid.fast.imageio import process_umask, table_number
from sharpvid.fast.video.base import DataError

#: The score columns of the CSV: the seed convention of :func:`sharpvid.fast.evaluate.frame_metrics`
#: (whole frame and moving area) and the moving area's share of the pixels.
SCORE_COLUMNS: tuple[str, ...] = ("psnr_seed", "psnr_seed_moving", "ssim_seed", "sharp_seed",
                                  "sharp_seed_moving", "moving_fraction")
#: The absolute error, in [-1, 1] units, that the heat map shows as white (64 of 255 levels).
ERROR_SCALE = 0.5
#: White pixels between two panels; height of the label strip above them.
SEP = 2
HEADER = 16
#: What the four panels show, left to right.
PANELS = ("input", "prediction", "truth", "|error|")
#: The files ``sharpvid predict --all`` writes in its output folder.
MP4_NAME = "side_by_side.mp4"
CSV_NAME = "metrics.csv"


# ---------------------------------------------------------------------------------------------
# Predictors and scores
# ---------------------------------------------------------------------------------------------


def score_frames(pred, target, prev, *, mask_threshold: float = 0.05) -> dict[str, torch.Tensor]:
    """The :data:`SCORE_COLUMNS` of predicted frames: :func:`sharpvid.fast.evaluate.frame_metrics`
    of those columns only, without the ones the CSV leaves out (the authors' and TF scales, SSIM
    over the moving area), which cost as much again.

    Parameters
    ----------
    pred, target : tensor ``(..., C, H, W)`` in [-1, 1]
        Predicted and real frames, H, W >= 11 (SSIM's window).
    prev : tensor ``(..., C, H, W)``
        The real frame before each target: the moving area is
        :func:`sharpvid.fast.metrics.moving_mask` ``(prev, target, mask_threshold)``.

    Returns
    -------
    dict
        column -> tensor ``(...)``.
    """
    return frame_metrics(pred, target, prev, mask_threshold=mask_threshold, columns=SCORE_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------------


def heat_colours(t) -> np.ndarray:
    """The heat map's colour map: t in [0, 1] (clipped) -> uint8 RGB ``(..., 3)``, black -> red
    -> yellow -> white, each channel a ramp over one third of the range (red first).

    Examples
    --------
    >>> heat_colours([0.0, 1 / 3, 2 / 3, 1.0, 7.0]).tolist()
    [[0, 0, 0], [255, 0, 0], [255, 255, 0], [255, 255, 255], [255, 255, 255]]
    """
    t = np.clip(np.nan_to_num(np.asarray(t, dtype=np.float64)), 0.0, 1.0)
    rgb = np.clip(3.0 * t[..., None] - np.arange(3.0), 0.0, 1.0)
    return np.round(rgb * 255.0).astype(np.uint8)


def error_heatmap(pred, truth, *, scale: float = ERROR_SCALE) -> np.ndarray:
    """``|clip(pred, -1, 1) - truth|`` averaged over the channels, as a heat map on a fixed
    scale (module Convention): ``scale`` in [-1, 1] units (default 0.5, 64 of 255 levels) and
    more is white.

    Parameters
    ----------
    pred, truth : torch.Tensor or np.ndarray
        ``(..., C, H, W)`` in [-1, 1].

    Returns
    -------
    np.ndarray
        uint8 ``(..., H, W, 3)``.

    Examples
    --------
    >>> error_heatmap(np.full((1, 1, 2), 0.25), np.zeros((1, 1, 2)))[0].tolist()  # 32 levels
    [[255, 128, 0], [255, 128, 0]]
    """
    if hasattr(pred, "detach"):
        err = (pred.detach().clamp(-1.0, 1.0) - truth).abs().mean(dim=-3).float().cpu().numpy()
    else:
        err = np.abs(np.clip(np.asarray(pred, np.float64), -1.0, 1.0) - truth).mean(axis=-3)
    return heat_colours(err / scale)


def rgb_bytes(x) -> np.ndarray:
    """Model frames ``(..., C, H, W)`` in [-1, 1] -> uint8 RGB ``(..., H, W, 3)`` (grey
    repeated), by :func:`sharpvid.fast.figures.to_bytes`."""
    u8 = np.moveaxis(to_bytes(x), -3, -1)
    return np.repeat(u8, 3, axis=-1) if u8.shape[-1] == 1 else u8


def frame_layout(height: int, width: int) -> tuple[int, int]:
    """``(H, W)`` of the side-by-side frame for panels of ``height x width``: the label strip and
    four panels ``SEP`` apart, each side rounded up to an even number (yuv420p).

    Examples
    --------
    >>> frame_layout(240, 320), frame_layout(31, 47)
    ((256, 1286), (48, 194))
    """
    h, w = HEADER + height, 4 * width + 3 * SEP
    return h + h % 2, w + w % 2


@functools.lru_cache(maxsize=1)
def _font():
    """Pillow's own font at 11 px; its bitmap font where Pillow cannot scale it."""
    try:
        return ImageFont.load_default(size=11)
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


def side_by_side(panels: Sequence[np.ndarray], labels: Sequence[str]) -> np.ndarray:
    """One frame of the MP4: four uint8 ``(H, W, 3)`` panels (:data:`PANELS`) left to right,
    each under its label, on white (layout: :func:`frame_layout`).

    Examples
    --------
    >>> black = np.zeros((20, 30, 3), np.uint8)
    >>> frame = side_by_side([black] * 4, ["a", "b", "c", "d"])
    >>> frame.shape, frame[HEADER, 0].tolist(), frame[HEADER, 30].tolist()
    ((36, 126, 3), [0, 0, 0], [255, 255, 255])
    """
    if len(panels) != len(PANELS) or len(labels) != len(PANELS):
        raise ValueError(f"need {len(PANELS)} panels and labels, got {len(panels)} and "
                         f"{len(labels)}")
    height, width = panels[0].shape[:2]
    frame = np.full((*frame_layout(height, width), 3), 255, np.uint8)
    font = _font()
    for i, (panel, label) in enumerate(zip(panels, labels)):
        left = i * (width + SEP)
        frame[HEADER : HEADER + height, left : left + width] = panel
        cell = Image.new("RGB", (width, HEADER - 2), (255, 255, 255))
        ImageDraw.Draw(cell).text((2, 1), label, fill=(0, 0, 0), font=font)
        frame[1 : HEADER - 1, left : left + width] = np.asarray(cell)
    return frame


# ---------------------------------------------------------------------------------------------
# The MP4
# ---------------------------------------------------------------------------------------------


def require_video_writer(path: str | os.PathLike):
    """The ``av`` module, or a one-line :class:`~sharpvid.fast.video.base.DataError` naming
    ``path`` and the ``video`` extra that installs it."""
    from sharpvid.fast.video.files import VIDEO_EXTRA

    try:
        import av
    except ImportError:
        raise DataError(f"{path}: writing the MP4 needs PyAV (the 'video' extra): "
                        f"{VIDEO_EXTRA}") from None
    return av


class Mp4Writer:
    """An H.264 MP4 (yuv420p) written frame by frame with PyAV into a temporary file beside
    ``path``, renamed over ``path`` when :meth:`close` has finished; :meth:`abort` deletes it.
    As a context manager it closes on success and aborts on any exception (Ctrl-C included),
    so a file already at ``path`` is never replaced by a half-written one.

    Raises :class:`sharpvid.fast.video.base.DataError` (one line naming the file) when PyAV is
    missing (the ``video`` extra), the sides are odd, or FFmpeg cannot write.
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: float = 10.0, *,
                 crf: int = 18, preset: str = "veryfast"):
        self.path = Path(path)
        av = require_video_writer(self.path)
        if width % 2 or height % 2:
            raise DataError(f"{self.path}: H.264 in yuv420p needs even sides, got "
                            f"{width}x{height}")
        self._av, self.frames = av, 0
        self._errors = (av.error.FFmpegError, OSError, ValueError)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp",
                                         dir=self.path.parent)
        os.close(fd)
        try:
            self._container = av.open(self._tmp, mode="w", format="mp4")
            rate = Fraction(fps).limit_denominator(1001)
            self._stream = self._container.add_stream(
                "libx264", rate=rate, options={"crf": str(crf), "preset": preset})
            self._stream.width, self._stream.height = width, height
            self._stream.pix_fmt = "yuv420p"
        except self._errors as exc:
            self.abort()
            raise self._error(exc) from None

    def _error(self, exc: BaseException) -> DataError:
        first = (str(exc).split("\n")[0] or type(exc).__name__).strip()
        return DataError(f"{self.path}: cannot write the video ({first})")

    def write(self, frame: np.ndarray) -> None:
        """Append one uint8 ``(H, W, 3)`` frame."""
        try:
            video_frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(frame),
                                                           format="rgb24")
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        except self._errors as exc:
            raise self._error(exc) from None
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder, close the file and rename it over ``path``."""
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            os.chmod(self._tmp, 0o666 & ~process_umask())
            os.replace(self._tmp, self.path)
        except self._errors as exc:
            self.abort()
            raise self._error(exc) from None

    def abort(self) -> None:
        """Close and delete the temporary file; ``path`` is left as it was."""
        container = getattr(self, "_container", None)
        if container is not None:
            try:
                container.close()
            except Exception:  # noqa: BLE001 - the file is deleted next; its state does not matter
                pass
        Path(self._tmp).unlink(missing_ok=True)

    def __enter__(self) -> "Mp4Writer":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


# ---------------------------------------------------------------------------------------------
# Every window
# ---------------------------------------------------------------------------------------------


@dataclass
class Predictor:
    """What draws the prediction panel: ``name`` (``model`` or a baseline's) and ``predict``,
    ``(B, m, C, H, W)`` in [-1, 1] and n -> ``(B, n, C, H, W)``."""

    name: str
    predict: Callable[[torch.Tensor, int], torch.Tensor]


def model_predictor(generator) -> Predictor:
    """The generator as a :class:`Predictor` (any frame size: ``predict(..., pad=True)``)."""
    return Predictor("model", lambda x, n: generator.predict(x, n, pad=True).to(x.dtype))


def baseline_predictor(method: str) -> Predictor:
    """A baseline of :data:`sharpvid.fast.evaluate.BASELINES` as a :class:`Predictor`."""
    if method not in BASELINES:
        raise ValueError(f"method must be one of {', '.join(BASELINES)}, got {method!r}")
    return Predictor(method, functools.partial(baseline_predict, method))


def window_starts(num_frames: int, m: int, n: int, start: int | None = None,
                  windows: int | None = None) -> range:
    """The first frames of the windows :func:`predict_all` predicts: every s with
    ``s + m + n <= num_frames``, from ``start`` (default 0; negative counts from the end,
    ``-(m + n)`` being the last window), at most ``windows`` of them.

    Raises
    ------
    ValueError
        Fewer than m + n frames, or ``start`` out of range; the message says the range.

    Examples
    --------
    >>> window_starts(8, 4, 1), window_starts(8, 4, 2, -7), window_starts(8, 4, 1, 1, 2)
    (range(0, 4), range(1, 3), range(1, 3))
    """
    length = m + n
    if num_frames < length:
        raise ValueError(f"has {num_frames} frame(s), fewer than the m + n = {m} + {n} = "
                         f"{length} of one window ({m} inputs, {n} to predict and score)")
    last = num_frames - length
    first = 0 if start is None else (start + num_frames if start < 0 else start)
    if not 0 <= first <= last:
        raise ValueError(f"--start {start} is out of range: with {num_frames} frames and windows "
                         f"of {length} it must be in 0 .. {last} (or -{num_frames} .. -{length} "
                         f"from the end)")
    stop = last + 1 if windows is None else min(last + 1, first + windows)
    return range(first, stop)


class FrameReader:
    """The frames of a video in order, each decoded once: :meth:`take` ``(a, b)`` gives frames
    ``a .. b-1`` (a never decreasing), keeping only what a later call can still ask for."""

    def __init__(self, video):
        self.video, self.start = video, 0
        self.frames = np.empty((0, video.height, video.width, video.channels), np.uint8)

    def take(self, a: int, b: int) -> np.ndarray:
        """uint8 ``(T, H, W, C)``, T = b - a, or fewer where the file turns out to end sooner."""
        end = self.start + len(self.frames)
        if a >= end:
            self.start, self.frames = a, self._read(a, b)
        else:
            self.frames = self.frames[a - self.start :]
            self.start = a
            if b > end:
                self.frames = np.concatenate([self.frames, self._read(end, b)])
        return self.frames[: b - a]

    def _read(self, a: int, b: int) -> np.ndarray:
        if a >= self.video.num_frames:  # past the end (of a file shorter than its header said)
            return self.frames[:0]
        return self.video.read(a, b)


def _to_numpy(scores: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    return {c: v.double().cpu().numpy() for c, v in scores.items()}


@torch.inference_mode()
def predict_all(video, predictor: Predictor, m: int, n: int, starts: range, *, batch: int = 8,
                device="cpu", channels: int | None = None, writer=None, progress=None,
                mask_threshold: float = 0.05) -> dict:
    """Predict and score every window of ``video`` whose first frame is in ``starts``.

    Parameters
    ----------
    video : sharpvid.fast.video.base.Video
        Read in order, each frame decoded once (:class:`FrameReader`).
    predictor : Predictor
        Draws the prediction panel; scored as ``predictor.name`` beside every baseline of
        :data:`~sharpvid.fast.evaluate.BASELINES` (a baseline predictor is computed once).
    m, n : int
        Input frames of a window (>= 2: the flow takes the last two), frames predicted from it.
    starts : range
        The windows' first frames (:func:`window_starts`).
    batch : int
        Windows predicted together (one call of each predictor).
    device : str or torch.device
        Where the windows go (the generator must be there already).
    channels : int or None
        3 repeats a grey video's channel for a colour model; None keeps the video's.
    writer : Mp4Writer or None
        Receives one :func:`side_by_side` frame per predicted frame, window by window.
    progress : sharpvid.fast.imageio.Progress or None
        Stepped by the predicted frames of each batch.

    Returns
    -------
    dict
        ``methods`` (the predictor's name first, then the other baselines), ``predictor``,
        ``m``, ``n``, ``starts`` (the windows predicted: fewer than asked where the file turned
        out shorter than its header said), ``scores[method][column]`` float64 ``(windows, n)``,
        ``mask_threshold``.
    """
    methods = [predictor.name, *(b for b in BASELINES if b != predictor.name)]
    reader = FrameReader(video)
    done: list[int] = []
    parts: dict[str, dict[str, list[np.ndarray]]] = {meth: {c: [] for c in SCORE_COLUMNS}
                                                     for meth in methods}
    length = m + n
    for b0 in range(0, len(starts), batch):
        chunk = list(starts[b0 : b0 + batch])
        frames = reader.take(chunk[0], chunk[-1] + length)  # (T, H, W, C)
        chunk = [s for s in chunk if s - chunk[0] + length <= len(frames)]
        if not chunk:  # the file ended before its header said
            break
        clips = np.stack([frames[s - chunk[0] : s - chunk[0] + length] for s in chunk])
        clips = np.ascontiguousarray(clips.transpose(0, 1, 4, 2, 3))  # (B, m + n, C, H, W)
        if channels == 3 and clips.shape[2] == 1:
            clips = np.repeat(clips, 3, axis=2)
        x = torch.from_numpy(clips).to(device).float().mul_(2.0 / 255.0).sub_(1.0)
        inputs, targets = x[:, :m], x[:, m:]
        prev = torch.cat([inputs[:, -1:], targets[:, :-1]], dim=1)  # the real frame before each
        preds = {predictor.name: predictor.predict(inputs, n)}
        for meth in methods[1:]:
            preds[meth] = baseline_predict(meth, inputs, n)
        for meth in methods:
            for c, v in _to_numpy(score_frames(preds[meth], targets, prev,
                                               mask_threshold=mask_threshold)).items():
                parts[meth][c].append(v)  # (B, n)
        done += chunk
        if writer is not None:
            _write_frames(writer, predictor.name, chunk, m, inputs[:, -1], preds[predictor.name],
                          targets)
        if progress is not None:
            progress.step(f"window {chunk[-1]}", n=len(chunk) * n)
    scores = {meth: {c: (np.concatenate(v) if v else np.empty((0, n))) for c, v in cols.items()}
              for meth, cols in parts.items()}
    return {"methods": methods, "predictor": predictor.name, "m": m, "n": n,
            "starts": done, "scores": scores, "mask_threshold": mask_threshold}


def _write_frames(writer, name: str, chunk: list[int], m: int, last: torch.Tensor,
                  pred: torch.Tensor, targets: torch.Tensor) -> None:
    """The side-by-side frames of one batch, window by window, frame ahead by frame ahead."""
    last_u8, pred_u8, truth_u8 = rgb_bytes(last), rgb_bytes(pred), rgb_bytes(targets)
    heat = error_heatmap(pred, targets)  # (B, n, H, W, 3)
    for b, s in enumerate(chunk):
        for k in range(pred.shape[1]):
            labels = (f"input {s + m - 1}", f"{name} +{k + 1}", f"truth {s + m + k}",
                      f"|error|, white = {round(ERROR_SCALE * 127.5)}")
            writer.write(side_by_side([last_u8[b], pred_u8[b, k], truth_u8[b, k], heat[b, k]],
                                      labels))


# ---------------------------------------------------------------------------------------------
# The CSV and the summary
# ---------------------------------------------------------------------------------------------


def metrics_csv(result: dict) -> str:
    """The CSV text: ``start, frame, ahead, method`` and the :data:`SCORE_COLUMNS`, one row per
    window x frame ahead x method (module Convention)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["start", "frame", "ahead", "method", *SCORE_COLUMNS])
    m, n = result["m"], result["n"]
    for i, s in enumerate(result["starts"]):
        for k in range(n):
            for meth in result["methods"]:
                values = result["scores"][meth]
                writer.writerow([s, s + m + k, k + 1, meth,
                                 *(repr(float(values[c][i, k])) for c in SCORE_COLUMNS)])
    return buf.getvalue()


def _mean(values: np.ndarray) -> tuple[float, int]:
    """The mean of the non-NaN values and how many there were (NaN and 0 when none)."""
    kept = values[~np.isnan(values)]
    return (float(kept.mean()) if len(kept) else math.nan), len(kept)


def means(result: dict) -> dict[str, dict[str, list[float]]]:
    """``means[method][column]``: n floats, the mean over windows of each frame ahead, NaN
    skipped (a frame without moving pixels), NaN when none is left."""
    return {meth: {c: [_mean(v[:, k])[0] for k in range(result["n"])] for c, v in cols.items()}
            for meth, cols in result["scores"].items()}


def summary_table(result: dict) -> str:
    """Means per method and frame ahead (:func:`means`; ``windows``, and ``moving``: the
    windows with moving pixels), then the predictor minus each other method."""
    avg = means(result)
    head = ["method", "ahead", *SCORE_COLUMNS, "windows", "moving"]
    rows = []
    for meth in result["methods"]:
        for k in range(result["n"]):
            moving = _mean(result["scores"][meth]["psnr_seed_moving"][:, k])[1]
            rows.append([meth, str(k + 1), *(table_number(avg[meth][c][k]) for c in SCORE_COLUMNS),
                         str(len(result["starts"])), str(moving)])
    first = result["predictor"]
    for other in result["methods"][1:]:
        for k in range(result["n"]):
            diffs = [avg[first][c][k] - avg[other][c][k] for c in SCORE_COLUMNS[:-1]]
            rows.append([f"{first} - {other}", str(k + 1),
                         *(("+" if d > 0 else "") + table_number(d) for d in diffs), "", "", ""])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(r, widths))).rstrip()
             for r in [head, *rows]]
    lines.append(f"seed convention (PSNR and sharpness on a data range of 2, SSIM over valid "
                 f"windows); _moving: where |frame difference| > {result['mask_threshold']:g}, "
                 f"over the 'moving' windows")
    return "\n".join(lines)
