"""``sharpvid prepare``: decode video once into memory-mappable training and test clips.

    sharpvid prepare synthetic --out data/synth --clips 20000
    sharpvid prepare samples --frame-range 0:0.8 --out data/samples-train --clips 5000
    sharpvid prepare samples --frame-range 0.8:1 --split test --frames 6 --out data/samples-test
    sharpvid prepare ucf101:/data/UCF-101 --out data/ucf-train --clips 500000 --workers 8
    sharpvid prepare ucf101:/data/UCF-101 --split test --frames 6 --out data/ucf-test  # authors' 379

SOURCE is ``synthetic[:options]``, ``samples[:names]``, ``ucf101:ROOT[,splits=DIR,fold=K]``, a
video file, a folder of frames, a folder of frame folders or a folder of video files (see
:mod:`sharpvid.fast.video.sources`).  The output folder is described in
:mod:`sharpvid.fast.video.shards`: running the same command again after an interruption finishes the
job; another configuration into the same folder is refused.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sharpvid.fast.commands import CommandError

EXAMPLES = __doc__.split("\n\n")[1]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "prepare",
        help="decode video once into motion-filtered training clips or fixed test clips",
        description="Decode video once and write uint8 clip shards (memory-mapped on read) plus a "
                    "JSON index that training and evaluation read.  Resumable: run the same "
                    "command again to finish an interrupted run.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("sources", nargs="+", metavar="SOURCE",
                   help="synthetic[:opts] | samples[:names] | ucf101:ROOT[,splits=DIR,fold=K] | "
                        "video file | frame folder | folder of videos or frame folders")
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    p.add_argument("--split", choices=("train", "test"), default="train",
                   help="train: random motion-filtered patch clips (default); test: one "
                        "full-frame clip per video at a fixed offset")
    p.add_argument("--clips", type=int, default=10_000, metavar="N",
                   help="train: number of clips (default 10000)")
    p.add_argument("--size", type=int, default=32, metavar="S",
                   help="train: side of the square crop (default 32, the paper's)")
    p.add_argument("--frames", type=int, default=5, metavar="T",
                   help="frames per clip, m + n (default 5: 4 inputs, 1 target)")
    p.add_argument("--threshold", type=float, default=None, metavar="X",
                   help="motion threshold: sum over frame pairs of squared differences in [-1, 1] "
                        "units (default: the TF value 100, scaled to the clip's shape)")
    p.add_argument("--every", type=int, default=None, metavar="K",
                   help="every K-th video (default 1; 10 for a UCF101 test split: the authors' "
                        "protocol)")
    p.add_argument("--frame-range", default=None, metavar="LO:HI",
                   help="use frames LO:HI of each video: indices (0:200) or fractions (0:0.8), to "
                        "hold frames apart for testing")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--shard-clips", type=int, default=4096, metavar="N",
                   help="train: clips per shard file (default 4096)")
    p.add_argument("--workers", type=int, default=1, metavar="W",
                   help="processes decoding in parallel (the result does not depend on it)")
    p.set_defaults(func=run)


def _source_specs(sources: list[str], split: str) -> list[str]:
    """UCF101 specs get the split of the run unless they name one."""
    specs = []
    for spec in sources:
        if spec.startswith("ucf101:") and "split=" not in spec:
            spec = f"{spec},split={split}"
        specs.append(spec)
    return specs


def build_config(args: argparse.Namespace):
    from sharpvid.fast.video.clips import ClipConfig
    from sharpvid.fast.video.shards import PrepareConfig
    from sharpvid.fast.video.sources import DataError, parse_frame_range

    for key, lo in (("clips", 1), ("size", 1), ("frames", 2), ("shard_clips", 1), ("workers", 1)):
        value = getattr(args, key)
        if value < lo:
            raise CommandError(f"--{key.replace('_', '-')} must be >= {lo}, got {value}")
    if args.seed < 0:
        raise CommandError(f"--seed must be >= 0, got {args.seed}")
    if args.every is not None and args.every < 1:
        raise CommandError(f"--every must be >= 1, got {args.every}")
    specs = _source_specs(args.sources, args.split)
    every = args.every
    if every is None:
        from sharpvid.fast.video.ucf101 import AUTHORS_TEST_STRIDE

        ucf_test = args.split == "test" and all(s.startswith("ucf101:") for s in specs)
        every = AUTHORS_TEST_STRIDE if ucf_test else 1
    try:
        frame_range = parse_frame_range(args.frame_range) if args.frame_range else None
        clip = ClipConfig(m=args.frames - 1, n=1, size=args.size if args.split == "train" else None,
                          threshold=args.threshold)
    except DataError as exc:
        raise CommandError(str(exc)) from None
    return PrepareConfig(
        sources=tuple(specs), split=args.split, clips=args.clips if args.split == "train" else 0,
        clip=clip, seed=args.seed, every=every, frame_range=frame_range,
        shard_clips=args.shard_clips,
    )


def run(args: argparse.Namespace) -> int:
    from sharpvid.fast.video.shards import prepare
    from sharpvid.fast.video.sources import DataError

    cfg = build_config(args)
    try:
        index = prepare(cfg, args.out, workers=args.workers)
    except DataError as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:  # --out not writable, disk full, ...: what was written stays valid
        where = exc.filename or args.out
        raise CommandError(f"{where}: cannot write ({exc.strerror or exc})") from None
    clips = sum(e["clips"] for e in index["done"].values())
    problems = len({p.split(": ")[0] for e in index["done"].values() for p in e["problems"]})
    print(f"prepared {clips} {cfg.split} clip(s) from {len(index['done'])} unit(s) into {args.out}"
          + (f"; {problems} video(s) read only in part (see warnings)" if problems else ""))
    return 0
