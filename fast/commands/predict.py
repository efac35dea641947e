"""``sharpvid predict``: the next frames of a video, predicted by a trained generator.

    sharpvid predict runs/tiny frames/ --frames 3 --out pred/
    sharpvid predict runs/paper/checkpoints/step-00050000.pt clip.avi --start 100 --out pred/
    sharpvid predict runs/paper clip.mp4 --frames 8 --start -20 --device cuda --out pred/

CHECKPOINT is a checkpoint file or a run folder (its newest checkpoint); INPUT is anything
``sharpvid prepare`` reads that holds exactly one video: a folder of frames, a video file, or
``synthetic:videos=1``.  The model sees m consecutive frames (m = the run's ``m``, 4 in the
paper): the video's last m by default, or frames S .. S+m-1 with ``--start S`` (negative S counts
from the end: ``--start -m`` is the default).  It predicts ``--frames n`` frames, frame k + 1 from
the window that ends with the prediction k (the authors' recursion,
:meth:`sharpvid.fast.networks.MultiScaleGenerator.predict`), at the video's full frame size (padded
inside the network to a multiple of the coarsest scale, then cropped back).

Writes ``DIR/pred_1.png .. DIR/pred_n.png`` (8-bit, grey for a grey model, RGB otherwise) and
``DIR/inputs_and_predictions.gif`` (the m inputs, then the n predictions with a red border),
and prints their paths on stdout, one a line.

Channels: a grey video given to a colour model is converted by repeating its channel (a
colour model has seen grey frames as R = G = B); a colour video given to a grey model is an
error (which grey the model was trained on is not known here).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from sharpvid.fast.commands import CommandError, add_fast_math_flag

EXAMPLES = __doc__.split("\n\n")[1]

#: The animation written next to the predicted frames.
GIF_NAME = "inputs_and_predictions.gif"


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "predict",
        help="predict the next frames of a video with a trained generator",
        description="Predict the frames that follow m consecutive frames of a video (a frame "
                    "folder or a video file) with a trained generator; write them as PNGs and "
                    "an inputs-then-predictions GIF.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", type=Path, metavar="CHECKPOINT",
                   help="a checkpoint file, or a run folder (its newest checkpoint)")
    p.add_argument("input", metavar="INPUT",
                   help="a folder of frames, a video file, or any one-video source spec")
    p.add_argument("--frames", type=int, default=1, metavar="N",
                   help="frames to predict (default 1); frame k+1 is predicted from the window "
                        "ending with prediction k")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--start", type=int, default=None, metavar="S",
                   help="first input frame (default: the last m frames); negative counts from "
                        "the end")
    p.add_argument("--device", default="auto",
                   help="auto (CUDA if present, the default), cpu, cuda or cuda:K")
    add_fast_math_flag(p)
    p.add_argument("--gif-duration", type=int, default=250, metavar="MS",
                   help="display time of each GIF frame in milliseconds (default 250)")
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


def run(args: argparse.Namespace) -> int:
    import torch

    from sharpvid.fast import figures
    from sharpvid.fast.checkpoint import CheckpointError, load_generator
    from sharpvid.fast.devices import DeviceError, resolve_device
    from sharpvid.fast.imageio import ImageError
    from sharpvid.fast.video.clips import to_model

    if args.frames < 1:
        raise CommandError(f"--frames must be an integer >= 1, got {args.frames}")
    if args.gif_duration < 10:
        raise CommandError(f"--gif-duration must be >= 10 ms (GIF counts hundredths of a "
                           f"second), got {args.gif_duration}")
    try:
        device = resolve_device(args.device)
    except DeviceError as exc:
        raise CommandError(str(exc)) from None
    try:
        generator, _, state = load_generator(args.checkpoint, device, args.fast_math)
    except CheckpointError as exc:
        raise CommandError(str(exc)) from None
    m, channels = generator.config.in_frames, generator.config.channels
    video = _open_video(args.input)
    if video.channels != channels and not (video.channels == 1 and channels == 3):
        raise CommandError(f"{args.input}: has {video.channels}-channel frames, but the model "
                           f"was trained on {channels}-channel frames")
    first, frames = _read_window(video, args.input, m, args.start)
    _check_out(args.out)

    print(f"predict: {state['path']} (step {state['step']}, m={m}) on {device}; "
          f"{generator.fast_math.summary}; input frames "
          f"{first}..{first + m - 1} of {video.num_frames} ({video.width}x{video.height}x"
          f"{video.channels}) -> {args.frames} frame(s)", file=sys.stderr)
    if video.channels == 1 and channels == 3:
        print("predict: grey input, repeated to RGB for this colour model", file=sys.stderr)
    try:
        predictions = predict_video(generator, frames, args.frames, 0, device)
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
