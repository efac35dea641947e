"""``sharpvid evaluate``: score a trained generator on full-frame test clips (Mathieu et al. 2016,
Sec. 4: PSNR, SSIM and sharpness, whole frame and moving area, two frames predicted).

    sharpvid evaluate runs/demo --out runs/demo/eval                # the run's held-out frames
    sharpvid evaluate runs/tiny --data synthetic:videos=8,height=64,width=64 --out eval/tiny
    sharpvid evaluate runs/paper --data data/ucf-test --out eval/ucf --device cuda --deblur natural
    sharpvid evaluate runs/tiny --data samples --frame-range 0.8:1 --out eval/samples --frames 3
    sharpvid evaluate runs/tiny/checkpoints/step-00000200.pt --data data/samples-test --out eval/s

CHECKPOINT is a checkpoint file or a run folder (its newest checkpoint).  Without ``--data`` the
run's own held-out data is scored (its ``val_data`` and ``val_frame_range``).  SOURCE is a folder
prepared with ``sharpvid prepare --split test``, or any source spec (``synthetic[:opts]``,
``samples[:names]``, ``ucf101:ROOT``, a video file, a frame folder, a folder of videos), of which
each video gives its fixed test clip (:func:`sharpvid.fast.video.clips.test_clip`).  The generator
and both baselines, copy-last-frame and flow extrapolation (and with ``--deblur`` the generator
followed by blind deblurring), are scored by :mod:`sharpvid.fast.evaluate`: a table on stdout, ``DIR/metrics.json`` and
``DIR/metrics.csv`` (every video, frame, method and column), and pictures of the first videos in
``DIR/pictures``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sharpvid.fast.commands import CommandError, add_fast_math_flag, check_writable

EXAMPLES = __doc__.split("\n\n")[1]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a generator on full-frame test clips (PSNR, SSIM, sharpness; both conventions)",
        description="Predict the next frames of every test clip with a trained generator and "
                    "score them (PSNR, SSIM, sharpness difference; whole frame and moving area; "
                    "the seed slides', the authors' and the TF reimplementation's conventions) "
                    "against two baselines: copying the last frame and optical-flow "
                    "extrapolation.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint file or a run folder")
    p.add_argument("--data", default=None, metavar="SOURCE",
                   help="a folder prepared with --split test, or a source spec: synthetic[:opts] "
                        "| samples[:names] | ucf101:ROOT | video file | frame folder | folder of "
                        "videos (default: the run's held-out data, val_data and val_frame_range)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--frames", type=int, default=2, metavar="N",
                   help="frames to predict, the later ones from the earlier predictions (default "
                        "2, the authors')")
    p.add_argument("--frame-range", default=None, metavar="LO:HI",
                   help="source spec: frames LO:HI of each video (0:200, or fractions 0.8:1)")
    p.add_argument("--every", type=int, default=None, metavar="K",
                   help="every K-th video (default 1; 10 for a UCF101 test split, the authors')")
    p.add_argument("--videos", type=int, default=None, metavar="N", help="the first N videos only")
    p.add_argument("--batch", type=int, default=8, metavar="B",
                   help="clips of one frame size predicted together (default 8)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda or cuda:K")
    add_fast_math_flag(p)
    p.add_argument("--deblur", choices=("natural", "text"), default=None,
                   help="also score the prediction after blind deblurring: natural (Xu 2013) or "
                        "text (Pan 2014)")
    p.add_argument("--kernel-size", type=int, default=9, metavar="K",
                   help="deblurring kernel size, odd, >= 3 (default 9)")
    p.add_argument("--pictures", type=int, default=4, metavar="N",
                   help="videos that get a picture grid and a GIF (default 4)")
    p.add_argument("--mask-threshold", type=float, default=0.05, metavar="X",
                   help="moving area: pixels whose |frame difference| exceeds X in [-1, 1] units "
                        "(default 0.05)")
    p.set_defaults(func=run)


def _check_args(args: argparse.Namespace) -> None:
    for key, lo in (("frames", 1), ("batch", 1), ("pictures", 0)):
        value = getattr(args, key)
        if value < lo:
            raise CommandError(f"--{key} must be >= {lo}, got {value}")
    for key in ("every", "videos"):
        value = getattr(args, key)
        if value is not None and value < 1:
            raise CommandError(f"--{key} must be >= 1, got {value}")
    if args.kernel_size < 3 or args.kernel_size % 2 == 0:
        raise CommandError(f"--kernel-size must be an odd integer >= 3, got {args.kernel_size}")
    if not args.mask_threshold >= 0:
        raise CommandError(f"--mask-threshold must be >= 0, got {args.mask_threshold}")


def run(args: argparse.Namespace) -> int:
    from sharpvid.fast import evaluate as ev
    from sharpvid.fast.checkpoint import CheckpointError
    from sharpvid.fast.devices import DeviceError
    from sharpvid.fast.imageio import ImageError
    from sharpvid.fast.video.sources import DataError, parse_frame_range

    _check_args(args)
    try:
        if args.frame_range:
            parse_frame_range(args.frame_range)  # a bad range fails before the checkpoint loads
    except DataError as exc:
        raise CommandError(str(exc)) from None
    check_writable(args.out)
    try:
        result, meta = ev.evaluate_checkpoint(
            args.checkpoint, args.data, args.out, frames=args.frames,
            frame_range=args.frame_range, every=args.every, videos=args.videos,
            batch=args.batch, device=args.device, deblur=args.deblur,
            kernel_size=args.kernel_size, pictures=args.pictures,
            mask_threshold=args.mask_threshold, progress=True, fast_math=args.fast_math)
    except (CheckpointError, DataError, DeviceError, ev.EvaluateError, ImageError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        where = exc.filename or args.out
        raise CommandError(f"{where}: cannot write ({exc.strerror or exc})") from None
    for message in result["skipped"]:
        print(f"sharpvid: warning: {message}", file=sys.stderr)
    source = meta["evaluation"]["source"]
    print(f"evaluated {len(result['videos'])} video(s) of {source} with {meta['checkpoint']} "
          f"(step {meta['step']}): m = {result['m']} inputs, n = {result['n']} predicted; "
          f"{meta['evaluation']['fast_math']}")
    print(ev.format_table(result))
    print(f"wrote {args.out / 'metrics.json'}, {args.out / 'metrics.csv'}"
          + (f" and {len(result['samples'])} picture(s) in {args.out / 'pictures'}"
             if result["samples"] else ""))
    return 0
