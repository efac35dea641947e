"""``sharpvid predict``: the next frames of a video, predicted by a trained generator or by a
baseline; with ``--all``, every window of the video, scored and shown side by side.

    sharpvid predict runs/demo clip.mp4 --all --out pred/
    sharpvid predict --method flow_extrap clip.mp4 --all --out pred/
    sharpvid predict --method copy_last frames/ --frames 3 --out pred/
    sharpvid predict runs/tiny frames/ --frames 3 --out pred/
    sharpvid predict runs/paper/checkpoints/step-00050000.pt clip.avi --start 100 --out pred/
    sharpvid predict runs/paper clip.mp4 --frames 8 --start -20 --device cuda --out pred/

CHECKPOINT is a checkpoint file or a run folder (its newest checkpoint); ``--method copy_last``
or ``--method flow_extrap`` replaces it with a baseline that needs no training (copy-last-frame;
optical-flow extrapolation, :func:`sharpvid.fast.flow.flow_extrapolate`).  INPUT is anything
``sharpvid prepare`` reads that holds exactly one video: a folder of frames, a video file, or
``synthetic:videos=1``.  The predictor sees m consecutive frames (m = the run's ``m``, 4 in the
paper; ``--m`` for a baseline, default 4) and predicts ``--frames n``, frame k + 1 from the window
that ends with the prediction k (the authors' recursion,
:meth:`sharpvid.fast.networks.MultiScaleGenerator.predict`), at the video's full frame size (the
generator pads it inside the network to a multiple of its coarsest scale, then crops back).

Without ``--all``: the window is the video's last m frames, or frames S .. S+m-1 with ``--start
S`` (negative S counts from the end: ``--start -m`` is the default).  Writes ``DIR/pred_1.png ..
DIR/pred_n.png`` (8-bit, grey for grey frames, RGB otherwise) and
``DIR/inputs_and_predictions.gif`` (the m inputs, then the n predictions with a red border),
and prints their paths on stdout, one a line.

With ``--all``: every window, from frame ``--start`` (default 0) to the last whose n frames the
video holds, ``--windows`` at most, ``--batch`` of them per call (:mod:`sharpvid.fast.sidebyside`).
Writes ``DIR/side_by_side.mp4`` (H.264, PyAV: one frame per predicted frame, the last input |
the prediction | the truth | the error as a heat map on a fixed scale) and ``DIR/metrics.csv`` (one
row per window x frame ahead x method: PSNR, SSIM and sharpness, seed convention, whole frame and
moving area, for the predictor and each baseline), each to a temporary file renamed into place at
the end; a progress line on stderr; the means per method on stdout.

Channels: a grey video given to a colour model is converted by repeating its channel (a
colour model has seen grey frames as R = G = B); a colour video given to a grey model is an
error (which grey the model was trained on is not known here).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from sharpvid.fast.commands import CommandError, add_fast_math_flag

EXAMPLES = __doc__.split("\n\n")[1]

#: The animation written next to the predicted frames.
GIF_NAME = "inputs_and_predictions.gif"
#: The baselines ``--method`` names (:data:`sharpvid.fast.evaluate.BASELINES`, spelt out: the
#: parser must not import torch).
METHODS = ("copy_last", "flow_extrap")
#: A baseline's window when ``--m`` is not given: the paper's m.
DEFAULT_M = 4
#: ``--batch`` and ``--fps`` of ``--all`` when not given.
DEFAULT_BATCH = 8
DEFAULT_FPS = 10.0
#: SSIM's 11x11 window over valid positions needs frames this large (``--all`` scores them).
MIN_SIZE = 11


class _IntermixedParser(argparse.ArgumentParser):
    """Reads every option first, then CHECKPOINT and INPUT, so that options may stand between
    them (``predict RUN --all VIDEO``).  With an optional first positional, argparse alone gives
    a lone ``RUN`` before an option to INPUT and rejects ``VIDEO`` after it as unrecognised."""

    _inner = False

    def parse_known_args(self, args=None, namespace=None):
        if self._inner:  # parse_known_intermixed_args calls back here, once per pass
            return super().parse_known_args(args, namespace)
        self._inner = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._inner = False


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict the next frames of a video with a trained generator or a baseline",
        description="Predict the frames that follow m consecutive frames of a video (a frame "
                    "folder or a video file) with a trained generator (CHECKPOINT) or a baseline "
                    "(--method, no checkpoint); write them as PNGs and an inputs-then-predictions "
                    "GIF. With --all, predict every window of the video and write a side-by-side "
                    "MP4 (last input | prediction | truth | |error|) and a CSV of PSNR, SSIM and "
                    "sharpness for the predictor and each baseline.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.__class__ = _IntermixedParser  # the subparsers action builds the parser; its class is ours
    p.add_argument("checkpoint", type=Path, nargs="?", default=None, metavar="CHECKPOINT",
                   help="a checkpoint file, or a run folder (its newest checkpoint); left out "
                        "with --method")
    p.add_argument("input", metavar="INPUT",
                   help="a folder of frames, a video file, or any one-video source spec")
    p.add_argument("--method", default=None, metavar="BASELINE",
                   help="predict with a baseline instead of a trained model, and give no "
                        "CHECKPOINT: copy_last (every predicted frame is the last input frame) or "
                        "flow_extrap (the last frame moved on along the optical flow)")
    p.add_argument("--all", action="store_true",
                   help="predict every window of the video and write DIR/side_by_side.mp4 and "
                        "DIR/metrics.csv (needs PyAV, the 'video' extra)")
    p.add_argument("--frames", type=int, default=1, metavar="N",
                   help="frames to predict from each window (default 1); frame k+1 is predicted "
                        "from the window ending with prediction k")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--start", type=int, default=None, metavar="S",
                   help="first input frame (default: the last m frames; with --all the first "
                        "window's, default 0); negative counts from the end")
    p.add_argument("--m", type=int, default=None, metavar="M",
                   help=f"input frames of a --method window (default {DEFAULT_M}, the paper's m; "
                        f">= 2); a model takes its run's m")
    p.add_argument("--windows", type=int, default=None, metavar="K",
                   help="--all: at most K windows (default: every window from --start)")
    p.add_argument("--batch", type=int, default=None, metavar="B",
                   help=f"--all: windows predicted together (default {DEFAULT_BATCH}; fewer for "
                        f"large frames)")
    p.add_argument("--fps", type=float, default=None, metavar="F",
                   help=f"--all: frames per second of the MP4 (default {DEFAULT_FPS:g})")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA if present, the default), cpu, cuda or cuda:K")
    add_fast_math_flag(p)
    p.add_argument("--gif-duration", type=int, default=250, metavar="MS",
                   help="without --all: display time of each GIF frame in milliseconds "
                        "(default 250)")
    p.set_defaults(func=run)


# ---------------------------------------------------------------------------------------------
# The library functions (the command is a thin shell around them)
# ---------------------------------------------------------------------------------------------


def window_start(num_frames: int, m: int, start: int | None = None) -> int:
    """The first frame of the m-frame input window of a ``num_frames``-frame video.

    Parameters
    ----------
    num_frames : int
        Frames in the video.
    m : int
        Input frames the model takes.
    start : int or None
        None: the last m frames; ``S >= 0``: frames S .. S+m-1; ``S < 0``: counted from the end
        (``-m`` is the last window).

    Raises
    ------
    ValueError
        Fewer than m frames, or ``start`` out of range; the message says what the range is.

    Examples
    --------
    >>> window_start(10, 4), window_start(10, 4, 2), window_start(10, 4, -5)
    (6, 2, 5)
    """
    if num_frames < m:
        raise ValueError(f"has {num_frames} frame(s), but the model needs {m} input frames")
    if start is None:
        return num_frames - m
    first = start + num_frames if start < 0 else start
    if not 0 <= first <= num_frames - m:
        raise ValueError(f"--start {start} is out of range: with {num_frames} frames and {m} "
                         f"input frames it must be in 0 .. {num_frames - m} (or -{num_frames} "
                         f".. -{m} from the end)")
    return first


def predict_video(generator, frames: np.ndarray, n: int, start: int | None = None,
                  device="cpu"):
    """Predict the n frames that follow the m-frame window of a video.

    Parameters
    ----------
    generator : sharpvid.fast.networks.MultiScaleGenerator
        The trained generator (m = ``generator.config.in_frames`` input frames); it is run in
        eval mode under ``torch.inference_mode()`` and left in the mode it was in.
    frames : np.ndarray
        uint8 ``(T, H, W, C)``, as :meth:`sharpvid.fast.video.sources.Video.read` returns; C = 1 is
        repeated to 3 channels for a colour model.
    n : int
        Frames to predict, recursively
        (:meth:`~sharpvid.fast.networks.MultiScaleGenerator.predict`).
    start : int or None
        The window's first frame, as :func:`window_start` (None: the last m frames).
    device : str or torch.device
        Where to compute; the generator must already be there.

    Returns
    -------
    torch.Tensor
        float32 ``(n, C, H, W)`` in the model's [-1, 1] (before any 8-bit rounding), on the CPU.

    Raises
    ------
    ValueError
        n < 1, too few frames, ``start`` out of range, or channels the model cannot take.
    """
    import torch

    from sharpvid.fast.video.clips import to_model

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (T, H, W, C), got {frames.dtype} {frames.shape}")
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"--frames must be an integer >= 1, got {n}")
    m, channels = generator.config.in_frames, generator.config.channels
    first = window_start(len(frames), m, start)
    window = frames[first : first + m]  # (m, H, W, C)
    c = window.shape[-1]
    if c != channels:
        if c == 1 and channels == 3:
            window = np.repeat(window, 3, axis=-1)
        else:
            raise ValueError(f"has {c}-channel frames, but the model was trained on "
                             f"{channels}-channel frames")
    clip = np.ascontiguousarray(window.transpose(0, 3, 1, 2))  # (m, C, H, W)
    x = to_model(clip[None], device)  # (1, m, C, H, W) in [-1, 1]
    was_training = generator.training
    generator.eval()
    try:
        with torch.inference_mode():
            y = generator.predict(x, int(n), pad=True)[0]  # (n, C, H, W)
    finally:
        generator.train(was_training)
    return y.float().cpu()


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def _check_out(out: Path) -> None:
    """Make ``out`` and check that a file can be created in it, before any work."""
    import tempfile

    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise CommandError(f"{out}: cannot write the output folder "
                           f"({exc.strerror or exc})") from None


def _open_video(spec: str):
    from sharpvid.fast.video.sources import DataError, open_source

    try:
        source = open_source(spec)
    except DataError as exc:
        raise CommandError(str(exc)) from None
    if len(source) != 1:
        raise CommandError(f"{spec}: holds {len(source)} videos; predict takes one (a video file "
                           f"or a folder of frames)")
    return source[0]


def _problems(video) -> str:
    """The video's recorded problems, '; '-joined, each without the path it starts with (the
    message that quotes them names the input once)."""
    prefix = f"{video.source}: "
    return "; ".join(p[len(prefix):] if p.startswith(prefix) else p for p in video.problems)


def _read_window(video, spec: str, m: int, start: int | None) -> tuple[int, np.ndarray]:
    """``(first, frames)``: the m frames of the window, read alone (a long video is not
    decoded whole).  A video file that turns out shorter than its header said is read again
    with its true length; what went wrong is then a warning on stderr, one line a problem, or
    part of the one-line error when the window still cannot be read."""
    from sharpvid.fast.video.sources import DataError

    for _ in range(2):
        try:
            first = window_start(video.num_frames, m, start)
        except ValueError as exc:
            why = f" ({_problems(video)})" if video.problems else ""
            raise CommandError(f"{spec}: {exc}{why}") from None
        try:
            frames = video.read(first, first + m)
        except DataError as exc:
            raise CommandError(str(exc)) from None
        except ValueError as exc:  # a range the (corrected) video no longer has
            raise CommandError(f"{spec}: {exc}") from None
        if len(frames) == m:
            for problem in video.problems:
                print(f"sharpvid: warning: {problem}", file=sys.stderr)
            return first, frames
    raise CommandError(f"{spec}: {_problems(video) or 'frames missing'}")


def _check_args(args: argparse.Namespace) -> None:
    """Every value and combination of the options, before anything is loaded or read."""
    if args.frames < 1:
        raise CommandError(f"--frames must be an integer >= 1, got {args.frames}")
    if args.gif_duration < 10:
        raise CommandError(f"--gif-duration must be >= 10 ms (GIF counts hundredths of a "
                           f"second), got {args.gif_duration}")
    if args.method is not None and args.method not in METHODS:
        raise CommandError(f"--method must be {' or '.join(METHODS)} (a baseline; a trained "
                           f"model is given as CHECKPOINT), got {args.method!r}")
    if args.method is not None and args.checkpoint is not None:
        raise CommandError(f"--method {args.method} predicts without a model: give INPUT alone, "
                           f"not CHECKPOINT {args.checkpoint} as well")
    if args.method is None and args.checkpoint is None:
        raise CommandError(f"no CHECKPOINT: give a run folder or checkpoint file before "
                           f"{args.input}, or --method {'|'.join(METHODS)} to predict without "
                           f"a model")
    if args.m is not None and args.m < 2:
        raise CommandError(f"--m must be >= 2 (flow extrapolation takes the motion from the "
                           f"last two frames), got {args.m}")
    for key in ("windows", "batch", "fps"):
        value = getattr(args, key)
        if value is None:
            continue
        if not args.all:
            raise CommandError(f"--{key} applies to --all (every window of the video)")
        if not value > 0:
            raise CommandError(f"--{key} must be > 0, got {value}")


def _predictor_line(generator, state, method: str | None, m: int, device) -> str:
    """What predicts, on which device (and, for a model, its precision plan)."""
    if generator is None:
        return f"{method} (a baseline, no model; m={m}) on {device}"
    return (f"{state['path']} (step {state['step']}, m={m}) on {device}; "
            f"{generator.fast_math.summary}")


def run(args: argparse.Namespace) -> int:
    from sharpvid.fast.checkpoint import CheckpointError, load_generator
    from sharpvid.fast.devices import DeviceError, resolve_device

    _check_args(args)
    try:
        device = resolve_device(args.device)
    except DeviceError as exc:
        raise CommandError(str(exc)) from None
    generator = state = None
    if args.method is None:
        try:
            generator, _, state = load_generator(args.checkpoint, device, args.fast_math)
        except CheckpointError as exc:
            raise CommandError(str(exc)) from None
        m, channels = generator.config.in_frames, generator.config.channels
        if args.m is not None and args.m != m:
            raise CommandError(f"--m {args.m}: the model of {state['path']} takes its run's "
                               f"m = {m} input frames (--m is for --method)")
    else:
        m = DEFAULT_M if args.m is None else args.m
    video = _open_video(args.input)
    if generator is not None:
        if video.channels != channels and not (video.channels == 1 and channels == 3):
            raise CommandError(f"{args.input}: has {video.channels}-channel frames, but the "
                               f"model was trained on {channels}-channel frames")
    else:
        channels = video.channels
    if args.all:
        return _run_all(args, video, generator, state, m, channels, device)
    return _run_window(args, video, generator, state, m, channels, device)


def _run_window(args, video, generator, state, m: int, channels: int, device) -> int:
    """The n frames after one window: PNGs and a GIF."""
    import torch

    from sharpvid.fast import figures
    from sharpvid.fast.imageio import ImageError
    from sharpvid.fast.video.clips import to_model

    first, frames = _read_window(video, args.input, m, args.start)
    _check_out(args.out)

    print(f"predict: {_predictor_line(generator, state, args.method, m, device)}; input "
          f"frames {first}..{first + m - 1} of {video.num_frames} ({video.width}x{video.height}x"
          f"{video.channels}) -> {args.frames} frame(s)", file=sys.stderr)
    if generator is not None and video.channels == 1 and channels == 3:
        print("predict: grey input, repeated to RGB for this colour model", file=sys.stderr)
    try:
        if generator is not None:
            predictions = predict_video(generator, frames, args.frames, 0, device)
        else:
            from sharpvid.fast.evaluate import baseline_predict

            x = to_model(np.ascontiguousarray(frames.transpose(0, 3, 1, 2))[None], device)
            with torch.inference_mode():
                predictions = baseline_predict(args.method, x, args.frames)[0].float().cpu()
    except ValueError as exc:
        raise CommandError(f"{args.input}: {exc}") from None

    written = []
    try:
        for k, frame in enumerate(predictions, start=1):
            image = figures.to_uint8(frame)
            path = args.out / f"pred_{k}.png"
            figures.save_png(path, image[..., 0] if channels == 1 else image)
            written.append(path)
        inputs = to_model(torch.from_numpy(np.ascontiguousarray(frames.transpose(0, 3, 1, 2))))
        path = args.out / GIF_NAME
        figures.save_gif(path, figures.gif_frames(inputs, predictions, mark=True),
                         duration_ms=args.gif_duration)
        written.append(path)
    except ImageError as exc:
        raise CommandError(str(exc)) from None
    for path in written:
        print(os.fspath(path))
    return 0


def _run_all(args, video, generator, state, m: int, channels: int, device) -> int:
    """Every window: the side-by-side MP4, the CSV and the summary."""
    from sharpvid.fast import sidebyside as sbs
    from sharpvid.fast.imageio import Progress, atomic_write
    from sharpvid.fast.video.sources import DataError

    n = args.frames
    try:
        sbs.require_video_writer(args.out / sbs.MP4_NAME)
        starts = sbs.window_starts(video.num_frames, m, n, args.start, args.windows)
    except DataError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        raise CommandError(f"{args.input}: {exc}") from None
    if min(video.height, video.width) < MIN_SIZE:
        raise CommandError(f"{args.input}: frames of {video.width}x{video.height} are smaller "
                           f"than the {MIN_SIZE}x{MIN_SIZE} that SSIM's window needs")
    _check_out(args.out)

    what = _predictor_line(generator, state, args.method, m, device)
    print(f"predict --all: {what}; {len(starts)} window(s) from frame {starts[0]} of "
          f"{video.num_frames} ({video.width}x{video.height}x{video.channels}), {m} + {n} "
          f"frames each -> {len(starts) * n} predicted frame(s), scored with "
          f"{', '.join(['model'] * (generator is not None) + list(METHODS))}", file=sys.stderr)
    if generator is not None:
        factor = 2 ** (generator.config.n_scales - 1)
        if video.height % factor or video.width % factor:
            print(f"predict: {video.width}x{video.height} is not a multiple of {factor} (the "
                  f"model's coarsest scale): each window is padded to "
                  f"{-(-video.width // factor) * factor}x{-(-video.height // factor) * factor} "
                  f"inside the network (last row and column repeated) and cropped back",
                  file=sys.stderr)
        if video.channels == 1 and channels == 3:
            print("predict: grey input, repeated to RGB for this colour model", file=sys.stderr)
        predictor = sbs.model_predictor(generator)
    else:
        predictor = sbs.baseline_predictor(args.method)
    height, width = sbs.frame_layout(video.height, video.width)
    progress = Progress(len(starts) * n, "predict", unit="frames", every=1.0)
    mp4, csv_path = args.out / sbs.MP4_NAME, args.out / sbs.CSV_NAME
    began = time.monotonic()
    try:
        with sbs.Mp4Writer(mp4, width, height, args.fps or DEFAULT_FPS) as writer:
            result = sbs.predict_all(video, predictor, m, n, starts,
                                     batch=int(args.batch or DEFAULT_BATCH), device=device,
                                     channels=channels, writer=writer, progress=progress)
            if not result["starts"]:
                raise CommandError(f"{args.input}: {_problems(video) or 'frames missing'}")
        atomic_write(csv_path, lambda tmp: Path(tmp).write_text(sbs.metrics_csv(result)))
    except DataError as exc:
        raise CommandError(str(exc)) from None
    except ValueError as exc:
        raise CommandError(f"{args.input}: {exc}") from None
    except OSError as exc:
        raise CommandError(f"{exc.filename or args.out}: cannot write "
                           f"({exc.strerror or exc})") from None
    elapsed = time.monotonic() - began
    if progress.tty and progress.done < progress.total:  # a file shorter than its header said
        print(file=sys.stderr)  # end the progress line the last window left open
    for problem in video.problems:
        print(f"sharpvid: warning: {problem}", file=sys.stderr)
    done = len(result["starts"]) * n
    print(f"predict --all: {done} frame(s) predicted, scored and drawn in {elapsed:.1f} s "
          f"({done / max(elapsed, 1e-9):.2f} frames/s)", file=sys.stderr)
    print(f"predicted {len(result['starts'])} window(s) of {args.input} with {result['predictor']}"
          f": m = {m} inputs, n = {n} predicted; means over the windows:")
    print(sbs.summary_table(result))
    print(f"wrote {mp4}, {csv_path}")
    return 0
