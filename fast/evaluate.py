"""Evaluation of a frame predictor on full-frame test clips: the protocol of Mathieu, Couprie &
LeCun 2016 ("Deep multi-scale video prediction beyond mean square error", ICLR 2016,
arXiv:1511.05440, Sec. 4) as the authors' ``test-frame-prediction-on-ucf-rec_gdl.lua``
ran it, in both conventions of :mod:`sharpvid.fast.metrics`.

- :class:`TestClips`     the fixed test clip of every video of a prepared ``--split test`` folder
  or of a source spec (:func:`sharpvid.fast.video.clips.test_clip`: the same frames either way);
  a clip needs m + n frames, so a folder for m = 4 inputs and the default n = 2 predictions is
  prepared with ``--frames 6`` (``sharpvid prepare samples --frame-range 0.8:1 --split test
  --frames 6 --out data/samples-test6``; prepare's default, 5, is the training clips' m + 1);
- :func:`baseline_predict` the frames each baseline of :data:`BASELINES` predicts (evaluation,
  training's validation and ``sharpvid predict`` all predict the baselines with it);
- :func:`frame_metrics`  every score of predicted frames against the real ones (whole frame and
  moving area, seed / authors / TF scales), computed by :mod:`sharpvid.fast.metrics`, or the
  columns asked for only (``sharpvid predict --all``'s CSV);
- :func:`evaluate`       a generator (and the two baselines, copy-last-frame and optical-flow
  extrapolation, and optionally the generator followed by blind deblurring) over the clips:
  per-video values, means and counts;
- :func:`write_metrics`, :func:`save_pictures`, :func:`format_table`: what ``sharpvid evaluate``
  writes, for the training loop's validation pass and the demo too;
- :func:`evaluate_checkpoint`: all of ``sharpvid evaluate`` (load, evaluate, write) in-process.

Protocol: m input frames (the generator's), n frames predicted (2 in the authors' evaluation), the
later ones recursively from the earlier predictions
(:meth:`sharpvid.fast.networks.MultiScaleGenerator.predict`), on the full frame (the generator is
fully convolutional; sizes not divisible by ``2^(N-1)`` are padded, then cropped back).  Pixels are
in [-1, 1].

Convention
----------
Every column name says its convention (:mod:`sharpvid.reference.metrics` explains them):

- ``*_seed``: the formulas as written (PSNR and sharpness on a data range of 2, identical frames
  give +inf; SSIM over ``valid`` windows);
- ``*_authors``: the authors' Lua evaluation (MSE rescaled by 128², capped at 88.13 dB; SSIM with
  ``full`` zero-padded convolution);
- ``psnr_tf``, ``sharp_tf``: the TF reimplementation's scale, max = 1 on [-1, 1] data (seed
  formula with ``data_range=1``, about 6 dB lower), whole frame; the seed slides' own figures
  were measured on it;
- ``*_moving``: over the moving area only.  The authors took it from an optical-flow image between
  the previous real frame and the target (``pred_4_flow.png`` for frame 1, ``target_1_flow.png``
  for frame 2); here :func:`sharpvid.fast.metrics.moving_mask` of the same two frames (the last
  input for frame 1, the real frame j-1 for frame j > 1).  The authors set static pixels to -1 in
  both frames and still averaged over all pixels; here the mean is over the moving pixels.  A frame
  with no moving pixel gets NaN, skipped in the means (``counts`` says how many videos counted).
  The authors also dropped a clip whose masked PSNR was 50 dB or more; that exclusion is not
  applied.
- ``moving_fraction``: the share of pixels in the moving area (the same for every method).

Methods: ``model``; the baselines (:data:`BASELINES`), on the same frames: ``copy_last``, every
predicted frame = the last input frame (the simplest), and ``flow_extrap``, every predicted frame
extrapolated at constant velocity along the classical optical flow from the last input frame to
the one before it (:func:`sharpvid.fast.flow.flow_extrapolate`: coarse-to-fine iterative
Lucas–Kanade, backward bilinear warp; later frames recursively, as the model's), the stronger one
wherever things move (the paper compares with an optical-flow baseline too, its Table 1; a
generator on the flow path, ``--net.output=flow``, the demo's, starts as exactly this baseline);
``model+deblur``, the prediction clipped to [-1, 1], deblurred by :mod:`sharpvid.fast.deblur`
(``natural``: Xu et al. 2013; ``text``: Pan et al. 2014) on [0, 1] data, and clipped again.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch

from sharpvid.fast import metrics
from sharpvid.fast.imageio import strict_json, table_number
from sharpvid.fast.video.sources import DataError

FORMAT = "sharpvid-evaluate/1"
DEBLUR_METHODS = ("natural", "text")
#: Every score column, in the order of the CSV and JSON files.
COLUMNS: tuple[str, ...] = (
    "psnr_seed", "psnr_authors", "psnr_seed_moving", "psnr_authors_moving",
    "ssim_seed", "ssim_authors", "ssim_seed_moving", "ssim_authors_moving",
    "sharp_seed", "sharp_authors", "sharp_seed_moving", "sharp_authors_moving",
    "psnr_tf", "sharp_tf", "moving_fraction",
)
#: The columns of the summary table (:func:`format_table`).
KEY_COLUMNS: tuple[str, ...] = (
    "psnr_seed", "psnr_authors", "psnr_seed_moving", "psnr_authors_moving", "ssim_seed",
    "ssim_authors_moving", "sharp_seed", "sharp_authors", "psnr_tf", "sharp_tf",
)
#: What each part of a column name means (written into ``metrics.json``).
CONVENTIONS: dict[str, str] = {
    "seed": "the formulas as written: PSNR and sharpness on a data range of 2 ([-1, 1]), "
            "identical frames give inf; SSIM over valid 11x11 windows",
    "authors": "the authors' Lua evaluation: errors rescaled by 128^2 to 0-255, capped at "
               "88.13 dB; SSIM with full (zero-padded) convolution",
    "tf": "the TF reimplementation's scale: max 1 on [-1, 1] data (seed formula, data_range=1, "
          "6 dB lower), whole frame",
    "moving": "over the moving area only: pixels whose |target - previous real frame| exceeds "
              "mask_threshold in some channel; NaN (null) where there is none, skipped in means",
    "moving_fraction": "the share of pixels in the moving area",
    "copy_last": "baseline: every predicted frame is the last input frame",
    "flow_extrap": "baseline: every predicted frame extrapolated at constant velocity along the "
                   "optical flow from the last input frame to the one before it (coarse-to-fine "
                   "iterative Lucas-Kanade, backward bilinear warp), later frames recursively",
    "model+deblur": "the prediction clipped to [-1, 1], blind-deblurred, clipped again",
}
#: The baselines every evaluation scores beside the model, weakest first (no learning in either).
BASELINES: tuple[str, ...] = ("copy_last", "flow_extrap")
#: SSIM's 11x11 window over ``valid`` positions (the seed convention) needs frames this large.
MIN_SIZE = 11


class EvaluateError(ValueError):
    """An evaluation that cannot run on this data (the user can fix it): one line."""


# ------------------------------------------------------------------ the test clips
@dataclass
class TestClip:
    """One video's fixed test clip."""

    __test__ = False  # not a pytest class

    name: str            # the video's name
    source: str          # where it comes from
    start: int           # its first frame in the video
    frames: np.ndarray   # uint8 (T, C, H, W), T >= m + n


class TestClips:
    """The test clips of ``data``: a folder prepared by ``sharpvid prepare --split test`` (one
    full-frame clip per video; its first m + n frames are used) or a source spec, of which every
    video gives :func:`sharpvid.fast.video.clips.test_clip` with m + n frames (centred in its
    longest shot, so the same frames as a prepared folder of ``--frames m+n``).

    ``frame_range`` (``(lo, hi)`` of :func:`sharpvid.fast.video.sources.parse_frame_range`) and
    ``every`` apply to a source spec, in ``prepare``'s order (frames cut first, then every k-th
    video); ``every`` also to a prepared folder's clips; ``videos`` keeps the first N.  A UCF101
    spec without ``split=`` is its test split, with the authors' every 10th video unless ``every``
    is given.  Videos are checked from their metadata when opened; a video whose longest shot turns
    out too short once decoded is left out, and :attr:`skipped` says so.  Clips are read lazily.
    """

    __test__ = False

    def __init__(self, data: str, m: int, n: int, *, frame_range: tuple | None = None,
                 every: int | None = None, videos: int | None = None):
        self.data, self.m, self.n, self.length = str(data), m, n, m + n
        self.skipped: list[str] = []
        folder = Path(data)
        if folder.is_dir() and (folder / "prepare.json").exists():
            self._open_prepared(folder, frame_range, every or 1, videos)
        else:
            self._open_source(str(data), frame_range, every, videos)

    def _open_prepared(self, folder: Path, frame_range, every: int, videos) -> None:
        from sharpvid.fast.video.shards import ShardClips

        if frame_range is not None:
            raise EvaluateError(f"{folder}: --frame-range applies to a source spec; a prepared "
                                f"folder holds the frames it was prepared with")
        shards = ShardClips(folder)
        config = shards.config
        if config.get("split") != "test":
            raise EvaluateError(f"{folder}: holds training patches (prepared with --split "
                                f"{config.get('split')}), not full frames; prepare the test "
                                f"clips with sharpvid prepare SOURCE --split test --out DIR")
        clip = config["clip"]
        have = clip["m"] + clip["n"]
        if have < self.length:
            raise EvaluateError(
                f"{folder}: its clips have {have} frames, fewer than the {self.length} (m + n = "
                f"{self.m} + {self.n}) needed; prepare it with --frames {self.length}, or "
                f"predict fewer --frames")
        self.kind, self.name, self.shards = "prepared", str(folder), shards
        self.indices = list(range(len(shards)))[::every][:videos]

    def _open_source(self, spec: str, frame_range, every, videos) -> None:
        from sharpvid.fast.video.sources import open_source
        from sharpvid.fast.video.ucf101 import AUTHORS_TEST_STRIDE

        if spec.startswith("ucf101:"):
            if "split=" not in spec:
                spec = f"{spec},split=test"
            if every is None and "split=test" in spec:
                every = AUTHORS_TEST_STRIDE
        source = open_source(spec)
        if frame_range is not None:
            source = source.frame_range(*frame_range)
        source = source.every(every or 1)
        chosen = source.videos[:videos]
        usable = [v for v in chosen if v.num_frames >= self.length]
        if not usable:
            longest = max(v.num_frames for v in chosen)
            raise EvaluateError(
                f"{source.name}: no usable clip: a test clip needs {self.length} frames (m + n = "
                f"{self.m} + {self.n}), the longest video has {longest}")
        for v in chosen:
            if v.num_frames < self.length:
                self.skipped.append(f"{v.source}: {v.num_frames} frames, fewer than the "
                                    f"{self.length} (m + n) a test clip needs; left out")
        self.kind, self.name, self.videos = "source", source.name, usable

    def __len__(self) -> int:
        return len(self.indices) if self.kind == "prepared" else len(self.videos)

    def __iter__(self) -> Iterator[TestClip]:
        if self.kind == "prepared":
            records = self.shards.records()
            for i in self.indices:
                r = records[i]
                frames = np.asarray(self.shards.take([i])[0][: self.length])
                yield TestClip(r["video"], r["source"], int(r["frame"]), frames)
            return
        from sharpvid.fast.video.clips import ClipConfig, test_clip

        cfg = ClipConfig(m=self.m, n=self.n, size=None)
        for video in self.videos:
            try:
                start, frames = test_clip(video, cfg)
            except DataError as exc:  # its shots are known only once decoded
                self.skipped.append(f"{video.source}: {exc}; left out")
                continue
            yield TestClip(video.name, video.source, start, frames)

    def describe(self) -> dict:
        return {"data": self.data, "kind": self.kind, "name": self.name, "videos": len(self)}


# ------------------------------------------------------------------ the baselines
def baseline_predict(method: str, inputs: torch.Tensor, n: int) -> torch.Tensor:
    """The n frames a baseline predicts after each window.

    Parameters
    ----------
    method : str
        ``copy_last`` (every predicted frame is the last input frame) or ``flow_extrap``
        (:func:`sharpvid.fast.flow.flow_extrapolate`: the last frame moved on along the optical
        flow from it to the frame before, recursively).
    inputs : torch.Tensor
        ``(..., m, C, H, W)`` in [-1, 1]; ``flow_extrap`` needs m >= 2.
    n : int
        Frames to predict.

    Returns
    -------
    torch.Tensor
        ``(..., n, C, H, W)``, the dtype and device of ``inputs`` (``copy_last``: a view).

    Examples
    --------
    >>> x = torch.arange(2.0).reshape(1, 2, 1, 1, 1).expand(1, 2, 1, 3, 3) / 2
    >>> baseline_predict("copy_last", x, 2)[0, :, 0, 0, 0].tolist()
    [0.5, 0.5]
    """
    if method == "copy_last":
        return inputs[..., -1:, :, :, :].expand(*inputs.shape[:-4], n, *inputs.shape[-3:])
    if method == "flow_extrap":
        from sharpvid.fast.flow import flow_extrapolate

        return flow_extrapolate(inputs, n)
    raise ValueError(f"method must be one of {', '.join(BASELINES)}, got {method!r}")


# ------------------------------------------------------------------ the scores
def frame_metrics(pred, target, prev, *, mask_threshold: float = 0.05,
                  columns: Sequence[str] = COLUMNS) -> dict[str, torch.Tensor]:
    """The scores named by ``columns`` (every one of :data:`COLUMNS` by default) for predicted
    frames against the real ones; only those are computed.

    Parameters
    ----------
    pred, target : tensor ``(..., C, H, W)`` in [-1, 1]
        Predicted and real frames, H, W >= 11.
    prev : tensor ``(..., C, H, W)``
        The real frame before each target (the last input frame for the first prediction): the
        moving area is :func:`sharpvid.fast.metrics.moving_mask` ``(prev, target, mask_threshold)``.
    columns : sequence of str
        Names of :data:`COLUMNS`: ``{psnr,ssim,sharp}_{seed,authors}[_moving]`` (the metric, its
        convention, over the moving area or the whole frame), ``psnr_tf`` and ``sharp_tf`` (the
        TF reimplementation's scale: max 1 on [-1, 1] data, whole frame), ``moving_fraction``.

    Returns
    -------
    dict
        column name -> tensor ``(...)``, in the order of ``columns``, one value per frame (NaN for
        a ``*_moving`` score of a frame with no moving pixel, or whose moving pixels all lie where
        SSIM's window is not).
    """
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown score column {unknown[0]!r}; columns are {', '.join(COLUMNS)}")
    fns = {"psnr": metrics.psnr, "ssim": metrics.ssim, "sharp": metrics.sharpness_difference}
    mask = metrics.moving_mask(prev, target, mask_threshold)  # (..., H, W)
    out: dict[str, torch.Tensor] = {}
    for column in columns:
        name, convention, *moving = column.split("_")
        if column == "moving_fraction":
            out[column] = mask.to(target.dtype).mean(dim=(-2, -1))
        elif convention == "tf":
            out[column] = fns[name](pred, target, data_range=1.0)
        else:
            out[column] = fns[name](pred, target, convention=convention,
                                    **({"mask": mask} if moving else {}))
    return out


def deblur_frames(frames: torch.Tensor, method: str = "natural",
                  kernel_size: int = 9) -> torch.Tensor:
    """Blind L0 deblurring of frames ``(..., C, H, W)`` in [-1, 1] (:mod:`sharpvid.fast.deblur`):
    clipped to [-1, 1], mapped to [0, 1] (the data the deblurring's parameters are set for),
    deblurred as one batch (CuPy for CUDA tensors when installed, else NumPy), mapped back and
    clipped again."""
    from sharpvid.fast import deblur
    from sharpvid.fast._xp import cupy_available, from_torch, to_numpy

    if method not in DEBLUR_METHODS:
        raise EvaluateError(f"deblur method must be one of {DEBLUR_METHODS}, got {method!r}")
    fn = deblur.deblur_natural_l0 if method == "natural" else deblur.deblur_text_l0
    shape = frames.shape
    x = ((frames.clamp(-1.0, 1.0) + 1.0) / 2.0).reshape(-1, *shape[-3:]).float().contiguous()
    array = from_torch(x) if x.is_cuda and cupy_available() else x.cpu().numpy()
    try:
        latent, _ = fn(array, kernel_size)
    except ValueError as exc:  # a kernel too large for these frames
        raise EvaluateError(f"deblurring ({method}, kernel size {kernel_size}): {exc}") from None
    if x.is_cuda and cupy_available():
        out = torch.from_dlpack(latent)
    else:
        out = torch.from_numpy(np.ascontiguousarray(to_numpy(latent)))
    out = out.to(device=frames.device, dtype=frames.dtype).reshape(shape)
    return (out * 2.0 - 1.0).clamp(-1.0, 1.0)


def _check_clip(clip: TestClip, length: int, channels: int | None) -> None:
    t, c, h, w = clip.frames.shape
    if t < length:
        raise EvaluateError(f"{clip.source}: {t} frames, fewer than the {length} (m + n) needed")
    if min(h, w) < MIN_SIZE:
        raise EvaluateError(f"{clip.source}: frames of {w}x{h} are smaller than the "
                            f"{MIN_SIZE}x{MIN_SIZE} SSIM needs")
    if channels is not None and c != channels:
        raise EvaluateError(f"{clip.source}: frames have {c} channel(s), the generator takes "
                            f"{channels}")


@torch.inference_mode()
def predict_and_score(generator, x: torch.Tensor, m: int, n: int, *, deblur: str | None = None,
                      kernel_size: int = 9, mask_threshold: float = 0.05,
                      baselines: bool = True):
    """Clips ``x`` ``(B, m + n, C, H, W)`` in [-1, 1]: the n frames predicted by the generator,
    by copy-last-frame, by optical-flow extrapolation (and with ``deblur``, the generator's
    deblurred), and every score of :data:`COLUMNS` for each (:func:`frame_metrics`).  Returns
    ``(preds, scores)``: method -> ``(B, n, C, H, W)``, and method -> column -> ``(B, n)``.
    Evaluation and training's validation both score this way; ``baselines=False`` leaves the
    baselines out (validation scores them once a run: the clips do not change)."""
    inputs, targets = x[:, :m], x[:, m:]
    preds = {"model": generator.predict(inputs, n, pad=True).to(x.dtype)}
    if baselines:
        preds.update({b: baseline_predict(b, inputs, n) for b in BASELINES})
    if deblur is not None:
        preds["model+deblur"] = deblur_frames(preds["model"], deblur, kernel_size)
    prev = torch.cat([inputs[:, -1:], targets[:, :-1]], dim=1)  # the real frame before each target
    scores = {method: frame_metrics(p, targets, prev, mask_threshold=mask_threshold)
              for method, p in preds.items()}
    return preds, scores


def _evaluate_batch(generator, frames: np.ndarray, m: int, n: int, device, deblur: str | None,
                    kernel_size: int, mask_threshold: float):
    """One batch of same-size clips uint8 ``(B, T, C, H, W)``: predictions and scores."""
    from sharpvid.fast.video.clips import to_model

    x = to_model(frames[:, : m + n], device)            # (B, m + n, C, H, W) in [-1, 1]
    preds, scores = predict_and_score(generator, x, m, n, deblur=deblur, kernel_size=kernel_size,
                                      mask_threshold=mask_threshold)
    return x, preds, {method: {c: v.double().cpu().numpy() for c, v in by_column.items()}
                      for method, by_column in scores.items()}  # (B, n) each


def evaluate(generator, clips: Iterable[TestClip], n: int = 2, *, m: int | None = None,
             device="cpu", batch: int = 8, deblur: str | None = None, kernel_size: int = 9,
             mask_threshold: float = 0.05, keep: int = 0, progress=False) -> dict:
    """Score ``generator`` and the baselines (:data:`BASELINES`: copy-last-frame and optical-flow
    extrapolation; and, with ``deblur``, the generator followed by blind deblurring) on every
    clip's n predicted frames.

    Parameters
    ----------
    generator : MultiScaleGenerator (or anything with ``predict(x, n, pad=True)``) on ``device``
    clips : TestClips, or any iterable of TestClip (uint8 frames, at least m + n of them)
    n : frames predicted, the later ones recursively from the earlier predictions
    m : input frames (default ``generator.config.in_frames``)
    device : where the clips go; ``batch``: clips of one frame size predicted together
    deblur : None, ``"natural"`` (Xu et al. 2013) or ``"text"`` (Pan et al. 2014); ``kernel_size``
    mask_threshold : of :func:`sharpvid.fast.metrics.moving_mask`, in [-1, 1] units
    keep : the first ``keep`` videos also keep their frames (``result["samples"]``)
    progress : True (or a :class:`sharpvid.fast.imageio.Progress`) for a progress bar on stderr

    Returns
    -------
    dict with
        ``m``, ``n``, ``methods`` (``["model", "copy_last", "flow_extrap"(, "model+deblur")]``),
        ``columns``
        (:data:`COLUMNS`), ``mask_threshold``, ``deblur`` (None or ``{"method", "kernel_size"}``);
        ``videos``: one dict a video, in clip order: ``name``, ``source``, ``start``, ``height``,
        ``width``, ``values[method][column]`` a list of n floats (frame j at j - 1);
        ``means[method][column]``: n floats, the mean over videos, NaN skipped (NaN if none);
        ``counts[method][column]``: n ints, the videos that counted;
        ``samples``: for the first ``keep`` videos, ``name``, ``inputs`` (m, C, H, W),
        ``targets`` and each method's predictions (n, C, H, W), float CPU tensors in [-1, 1];
        ``skipped``: why videos were left out (from :class:`TestClips`).
    """
    from sharpvid.fast.imageio import Progress

    if n < 1:
        raise EvaluateError(f"n (frames to predict) must be >= 1, got {n}")
    if batch < 1:
        raise EvaluateError(f"batch must be >= 1, got {batch}")
    if deblur is not None and deblur not in DEBLUR_METHODS:
        raise EvaluateError(f"deblur must be one of {DEBLUR_METHODS}, got {deblur!r}")
    config = getattr(generator, "config", None)
    m = m if m is not None else config.in_frames
    channels = getattr(config, "channels", None)
    device = torch.device(device)
    methods = ["model", *BASELINES] + (["model+deblur"] if deblur else [])
    if progress is True:
        progress = Progress(len(clips) if hasattr(clips, "__len__") else 0, "evaluate",
                            unit="videos")
    videos: list[dict] = []
    samples: dict[int, dict] = {}
    pending: dict[tuple, list[tuple[int, TestClip]]] = {}

    def flush(key):
        group = pending.pop(key)
        frames = np.stack([c.frames[: m + n] for _, c in group])
        x, preds, scores = _evaluate_batch(generator, frames, m, n, device, deblur, kernel_size,
                                           mask_threshold)
        for b, (i, clip) in enumerate(group):
            videos[i]["values"] = {meth: {c: scores[meth][c][b].tolist() for c in COLUMNS}
                                   for meth in methods}
            if i < keep:
                samples[i] = {"name": clip.name, "inputs": x[b, :m].float().cpu(),
                              "targets": x[b, m:].float().cpu(),
                              **{meth: preds[meth][b].float().cpu() for meth in methods}}
        if progress:
            progress.step(group[-1][1].name, n=len(group))

    for i, clip in enumerate(clips):
        _check_clip(clip, m + n, channels)
        _, _, h, w = clip.frames.shape
        videos.append(dict(name=clip.name, source=clip.source, start=clip.start, height=h,
                           width=w))
        key = clip.frames.shape[1:]
        pending.setdefault(key, []).append((i, clip))
        if len(pending[key]) >= batch:
            flush(key)
    for key in list(pending):
        flush(key)
    if not videos:
        raise EvaluateError("no usable clip: "
                            + ("; ".join(getattr(clips, "skipped", [])[:3]) or "no videos"))
    means, counts = summarise(videos, methods, n)
    return dict(m=m, n=n, methods=methods, columns=list(COLUMNS), mask_threshold=mask_threshold,
                deblur=None if deblur is None else dict(method=deblur, kernel_size=kernel_size),
                videos=videos, means=means, counts=counts,
                samples=[samples[i] for i in sorted(samples)],
                skipped=list(getattr(clips, "skipped", [])))


def held_out_data(cfg, data: str | None, frame_range: str | None) -> tuple[str, str | None]:
    """The data and frame range to score a run on: as given, else the run's own held-out data
    (``val_data``, ``val_frame_range``).  Given the run's held-out source without a range, the
    run's held-out range; given the run's training source without a range, where the run held
    frames apart for validation, an error (it would score frames the model trained on)."""
    if data is None:
        if not cfg.val_data:
            raise EvaluateError("the run names no held-out data (val_data is empty); give --data "
                                "SOURCE (and --frame-range LO:HI)")
        return cfg.val_data, frame_range or cfg.val_frame_range or None
    if frame_range is None and data == cfg.val_data and cfg.val_frame_range:
        return data, cfg.val_frame_range
    if frame_range is None and data == cfg.data and cfg.frame_range:
        raise EvaluateError(f"{data} with no --frame-range scores the frames the run trained on "
                            f"(its frame_range {cfg.frame_range}); give --frame-range "
                            f"{cfg.val_frame_range or 'LO:HI'} for the held-out frames, or "
                            f"--frame-range 0:1 to score every frame")
    return data, frame_range


def evaluate_checkpoint(checkpoint, data: str | None, out, *, frames: int = 2,
                        frame_range: str | None = None, every: int | None = None,
                        videos: int | None = None, batch: int = 8, device="auto",
                        deblur: str | None = None, kernel_size: int = 9, pictures: int = 4,
                        mask_threshold: float = 0.05, progress=True,
                        fast_math: str | None = None) -> tuple[dict, dict]:
    """What ``sharpvid evaluate CHECKPOINT --data DATA --out OUT`` does, for tools that run it
    in-process (``sharpvid ablate``): load the generator, :func:`evaluate` it on
    :class:`TestClips`, write ``OUT/pictures`` then ``OUT/metrics.csv`` and ``OUT/metrics.json``.

    Returns ``(result, meta)``: :func:`evaluate`'s result (with the first ``pictures`` videos'
    frames in ``samples``) and the ``meta`` written into ``metrics.json`` (``checkpoint``, ``step``,
    ``evaluation`` with these arguments, ``train_config``).  ``fast_math`` (auto | on | off;
    default the run's own) is the generator's speed switch on ``device``; the plan it resolved
    to is ``meta["evaluation"]["fast_math"]`` (:func:`sharpvid.fast.checkpoint.load_generator`
    prints its notice).  Raises the one-line errors of the
    parts: CheckpointError, DataError, DeviceError, EvaluateError, ImageError (OSError for a
    failed write).
    """
    from sharpvid.fast.checkpoint import load_generator
    from sharpvid.fast.devices import resolve_device
    from sharpvid.fast.video.sources import parse_frame_range

    device = resolve_device(device)
    generator, cfg, state = load_generator(checkpoint, device, fast_math)
    data, frame_range = held_out_data(cfg, data, frame_range)
    span = parse_frame_range(frame_range) if frame_range else None
    clips = TestClips(data, cfg.m, frames, frame_range=span, every=every, videos=videos)
    result = evaluate(generator, clips, frames, m=cfg.m, device=device, batch=batch,
                      deblur=deblur, kernel_size=kernel_size, mask_threshold=mask_threshold,
                      keep=pictures, progress=progress)
    meta = {
        "checkpoint": state["path"], "step": int(state["step"]),
        "evaluation": {"data": data, "source": clips.name, "kind": clips.kind,
                       "frame_range": frame_range, "every": every, "videos": videos,
                       "frames": frames, "batch": batch, "device": str(device), "deblur": deblur,
                       "kernel_size": kernel_size, "mask_threshold": mask_threshold,
                       "fast_math": generator.fast_math.summary,
                       "pictures": pictures},
        "train_config": cfg.to_dict(),
    }
    out = Path(out)
    save_pictures(result, out / "pictures")  # first: metrics.json, written last, says complete
    write_metrics(result, out, meta)
    return result, meta


def summarise(videos: list[dict], methods: list[str], n: int) -> tuple[dict, dict]:
    """Means over videos (NaN skipped) and how many videos counted, per method, column, frame."""
    means: dict = {}
    counts: dict = {}
    for meth in methods:
        means[meth], counts[meth] = {}, {}
        for c in COLUMNS:
            values = np.array([v["values"][meth][c] for v in videos], dtype=np.float64)  # (V, n)
            valid = ~np.isnan(values)
            count = valid.sum(axis=0)
            total = np.where(valid, values, 0.0).sum(axis=0)
            # scores are finite or +inf (identical frames, seed convention): the sum is too
            mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
            means[meth][c] = mean.tolist()
            counts[meth][c] = count.astype(int).tolist()
    return means, counts


# ------------------------------------------------------------------ output
def metrics_json(result: dict, meta: dict | None = None) -> str:
    """The ``metrics.json`` text: ``meta`` (the evaluation's config, checkpoint, ...), then the
    result without its samples.  Strict JSON: NaN is null, infinities are "inf"."""
    body = {"format": FORMAT, **(meta or {}), "conventions": CONVENTIONS,
            **{k: v for k, v in result.items() if k != "samples"}}
    return json.dumps(strict_json(body), indent=1, allow_nan=False) + "\n"


def metrics_csv(result: dict) -> str:
    """The ``metrics.csv`` text: one row per video x predicted frame x method, every column
    (``inf``, ``nan`` as Python writes them)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["video", "source", "start", "frame", "method", *COLUMNS])
    for v in result["videos"]:
        for j in range(result["n"]):
            for meth in result["methods"]:
                writer.writerow([v["name"], v["source"], v["start"], j + 1, meth,
                                 *(repr(float(v["values"][meth][c][j])) for c in COLUMNS)])
    return buf.getvalue()


def write_metrics(result: dict, out: str | Path, meta: dict | None = None) -> list[Path]:
    """``out/metrics.csv`` then ``out/metrics.json`` (last: its presence says the evaluation
    is complete), each written atomically."""
    from sharpvid.fast.imageio import atomic_write

    out = Path(out)
    texts = {out / "metrics.csv": metrics_csv(result),
             out / "metrics.json": metrics_json(result, meta)}
    for path, text in texts.items():
        atomic_write(path, lambda tmp, text=text: Path(tmp).write_text(text))
    return list(texts)


def _unique_stem(name: str, taken: set[str]) -> str:
    """:func:`sharpvid.fast.imageio.safe_stem` of ``name``, made unique among ``taken`` (``-2``,
    ...)."""
    from sharpvid.fast.imageio import safe_stem

    stem = safe_stem(name, "video")
    unique, k = stem, 2
    while unique in taken:
        unique, k = f"{stem}-{k}", k + 1
    taken.add(unique)
    return unique


def save_pictures(result: dict, folder: str | Path) -> list[Path]:
    """For every sample of ``result``: ``folder/<video>.png``, a grid with one row per predicted
    frame (input m | generated | deblurred | flow extrapolation | ground truth), and
    ``folder/<video>.gif`` (the inputs, then the predictions, marked)."""
    from sharpvid.fast import figures

    folder = Path(folder)
    written: list[Path] = []
    taken: set[str] = set()
    m = result["m"]
    for s in result["samples"]:
        stem = _unique_stem(s["name"], taken)
        last = s["inputs"][-1:].expand_as(s["targets"])
        columns = {f"input {m}": last, "generated": s["model"]}
        if "model+deblur" in s:
            columns["deblurred"] = s["model+deblur"]
        if "flow_extrap" in s:
            columns["flow extrapolation"] = s["flow_extrap"]
        columns["ground truth"] = s["targets"]
        grid = figures.comparison_grid(columns, max_rows=len(s["targets"]))
        figures.save_png(folder / f"{stem}.png", grid)
        figures.save_gif(folder / f"{stem}.gif", figures.gif_frames(s["inputs"], s["model"]))
        written += [folder / f"{stem}.png", folder / f"{stem}.gif"]
    return written


def _signed(value) -> str:
    """A difference for the table: sign always shown, 2 decimals (3 under 1, as SSIM)."""
    if value is None or value != value:
        return "-"
    return f"{value:+.3f}" if abs(value) < 1 else f"{value:+.2f}"


def format_table(result: dict, columns: tuple[str, ...] = KEY_COLUMNS) -> str:
    """The summary table: one row per method x predicted frame, the mean over videos of each
    column (a ``*_moving`` mean over the videos with moving pixels, how many in ``moving``),
    then each method's difference from each baseline (``model - copy_last``, ``model -
    flow_extrap``, ...) by frame."""
    head = ["method", "frame", *columns, "videos", "moving"]
    rows = []
    for meth in result["methods"]:
        for j in range(result["n"]):
            means, counts = result["means"][meth], result["counts"][meth]
            rows.append([meth, str(j + 1), *(table_number(means[c][j]) for c in columns),
                         str(counts["psnr_seed"][j]), str(counts["psnr_seed_moving"][j])])
    baselines = [b for b in BASELINES if b in result["methods"]]
    for baseline in baselines:  # each method's gain over each baseline
        for meth in [m for m in result["methods"] if m not in BASELINES]:
            for j in range(result["n"]):
                means, base = result["means"][meth], result["means"][baseline]
                rows.append([f"{meth} - {baseline}", str(j + 1),
                             *(_signed(means[c][j] - base[c][j]) for c in columns), "", ""])
    widths = [max(len(r[k]) for r in [head, *rows]) for k in range(len(head))]
    lines = ["  ".join(cell.ljust(w) if k < 1 else cell.rjust(w)
                       for k, (cell, w) in enumerate(zip(r, widths))) for r in [head, *rows]]
    lines.append(
        "seed: the formulas as written (range 2, SSIM valid windows); authors: their Lua "
        "evaluation (x128², capped 88.13 dB, SSIM full); tf: max 1 on [-1, 1] (6 dB lower); "
        f"_moving: where |frame difference| > {result['mask_threshold']:g}, over 'moving' videos")
    return "\n".join(lines)
