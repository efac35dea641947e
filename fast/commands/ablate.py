"""``sharpvid ablate``: train and evaluate variants of one config that differ only in their loss
terms and critics, and compare them (tables, pictures, ``report.html``).

    sharpvid ablate demo --steps 600 --out runs/ablate-demo     # a quick look: 5 variants, 1 seed
    sharpvid ablate tiny --variants l2,gdl,adv_gdl --steps 100 --out runs/ablate-tiny
    sharpvid ablate demo --seeds 3 --out runs/ablate-demo       # means with 95 % intervals
    sharpvid ablate demo --variants adv_gdl_perc --steps 600 --out runs/ablate-demo \\
        --vgg19_weights vgg19-dcbb9e9d.pth                      # one more row, the rest reused
    sharpvid ablate paper --variants l2,gdl,adv_gdl,two_d --steps 100000 --data=data/ucf-train \\
        --val_data=data/ucf-test --eval-data data/ucf-test --every 10 --out runs/ablate-paper
    sharpvid ablate --list-variants

CONFIG is a shipped config (tiny, demo, paper, tf) or a .toml/.json file; ``--key=value``
overrides it for every variant (``sharpvid train --list-keys``).  Each variant sets the loss
weights and switches it is about (``--list-variants``; :mod:`sharpvid.fast.ablate` says how) and
trains in ``OUT/runs/VARIANT`` (with ``--seeds K``, the further seeds in
``OUT/runs/VARIANT-seedS``), then is evaluated as ``sharpvid evaluate`` does on the config's
validation data (``val_data``, ``val_frame_range``) or ``--eval-data``, into
``OUT/runs/VARIANT/eval``.  Every table cell is a mean with the half-width of its 95 % interval over
seeds and videos; a value is bold only where its interval lies above the next best's, and each
variant's difference from ``gdl`` (paired by seed and video) has its own table.
``OUT`` receives ``ablation.md``, ``ablation.csv``, ``ablation.json``, ``report.html``, the
picture grids, ``gifs/`` and ``plots/`` (the ``plots`` extra).  Rerunning the command reuses every
variant already trained and evaluated with the same settings, and resumes one stopped by Ctrl-C.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from sharpvid.fast.commands import CommandError, check_writable

EXAMPLES = __doc__.split("\n\n")[1]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "ablate",
        help="train and evaluate loss/critic variants of a config; tables and an HTML report",
        description="Train each variant (the same config, data, seed and steps; only the loss "
                    "terms and critics differ), evaluate each on held-out frames against "
                    "copy-last-frame, and write a Markdown/CSV table, picture grids, GIFs, loss "
                    "curves and report.html.  Unknown --key=value arguments override the config "
                    "for every variant.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("config", nargs="?", default=None, metavar="CONFIG",
                   help="tiny | demo | paper | tf, or a .toml/.json file")
    p.add_argument("--variants", default=None, metavar="V1,V2,...",
                   help="the variants, in table order (default: "
                        "l2,gdl,adv_gdl,two_d,stabilised; --list-variants lists all)")
    p.add_argument("--steps", type=int, default=None, metavar="N",
                   help="training steps of every variant (default: the config's)")
    p.add_argument("--seeds", type=int, default=1, metavar="K",
                   help="train each variant with K seeds (seed ... seed+K-1): every cell is a mean "
                        "with its 95 %% interval over seeds and videos (default 1)")
    p.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="output folder (default runs/ablate-CONFIG)")
    p.add_argument("--force", action="store_true",
                   help="train again a variant whose folder holds a run of another config")
    p.add_argument("--eval-data", default=None, metavar="SOURCE",
                   help="evaluation data (default: the config's val_data): a folder prepared "
                        "with --split test or a source spec, as sharpvid evaluate --data")
    p.add_argument("--frame-range", default=None, metavar="LO:HI",
                   help="frames LO:HI of each evaluation video (default: the config's "
                        "val_frame_range when evaluating on val_data)")
    p.add_argument("--frames", type=int, default=2, metavar="N",
                   help="frames predicted in the evaluation (default 2, the authors')")
    p.add_argument("--every", type=int, default=None, metavar="K",
                   help="evaluate every K-th video (10 for a UCF101 test split, the authors')")
    p.add_argument("--videos", type=int, default=None, metavar="N",
                   help="evaluate the first N videos only")
    p.add_argument("--batch", type=int, default=8, metavar="B",
                   help="clips of one frame size predicted together in the evaluation (default 8)")
    p.add_argument("--deblur", choices=("natural", "text", "none"), default="natural",
                   help="also score (and show) each variant after blind deblurring: natural "
                        "(Xu 2013, the default), text (Pan 2014) or none")
    p.add_argument("--kernel-size", type=int, default=9, metavar="K",
                   help="deblurring kernel size, odd, >= 3 (default 9)")
    p.add_argument("--pictures", type=int, default=3, metavar="N",
                   help="test clips shown as grids and GIFs (default 3)")
    p.add_argument("--crop", type=int, default=256, metavar="PX",
                   help="pictures: the PX x PX window where the frame moves most, at full "
                        "resolution (default 256; 0 = the whole frame)")
    p.add_argument("--mask-threshold", type=float, default=0.05, metavar="X",
                   help="moving area: |frame difference| > X in [-1, 1] units (default 0.05)")
    p.add_argument("--vgg19_weights", default=None, metavar="FILE",
                   help="torchvision's VGG19 checkpoint, for adv_gdl_perc")
    p.add_argument("--init_d2", default=None, metavar="CHECKPOINT",
                   help="initialise the blur detector of the two_d variants from a "
                        "sharpvid pretrain-blur-detector checkpoint")
    p.add_argument("--list-variants", action="store_true",
                   help="print the variants and what each sets, and exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=run, accepts_overrides=True, parser=p)  # parser: for its defaults


def _list_variants() -> None:
    from sharpvid.fast.ablate import DEFAULT_VARIANTS, DEFAULT_WEIGHTS, PAPER_SWITCHES, VARIANTS

    for v in VARIANTS.values():
        terms = ", ".join(v.terms) or "ℓp only"
        sets = "".join(f", {k}={x}" for k, x in v.switches.items())
        mark = "*" if v.name in DEFAULT_VARIANTS else " "
        print(f"{mark} {v.name:<13} {v.adds}\n                ({terms}{sets})")
    print("* run by default.  A term a variant uses takes the config's weight when non-zero, "
          f"else {', '.join(f'{k}={x:g}' for k, x in DEFAULT_WEIGHTS.items())}; the others get "
          f"0.  Switches a variant does not name take the paper's values: "
          + ", ".join(f"{k}={x!r}" for k, x in PAPER_SWITCHES.items()) + ".")


def _check_args(args: argparse.Namespace) -> None:
    for key, lo in (("steps", 1), ("frames", 1), ("batch", 1), ("pictures", 1), ("crop", 0),
                    ("every", 1), ("videos", 1), ("seeds", 1)):
        value = getattr(args, key)
        if value is not None and value < lo:
            raise CommandError(f"--{key} must be >= {lo}, got {value}")
    if args.kernel_size < 3 or args.kernel_size % 2 == 0:
        raise CommandError(f"--kernel-size must be an odd integer >= 3, got {args.kernel_size}")
    if not args.mask_threshold >= 0:
        raise CommandError(f"--mask-threshold must be >= 0, got {args.mask_threshold}")


def _command(args: argparse.Namespace, names: list[str], steps: int, out: Path) -> str:
    """The command line that reruns this ablation (for the tables and the report)."""
    parts = ["sharpvid", "ablate", args.config, "--variants", ",".join(names), "--steps",
             str(steps), *getattr(args, "overrides", [])]
    for key in ("seeds", "eval_data", "frame_range", "frames", "every", "videos", "batch",
                "deblur", "kernel_size", "pictures", "crop", "mask_threshold", "vgg19_weights",
                "init_d2"):
        value = getattr(args, key)
        if value != args.parser.get_default(key):
            parts += [f"--{key.replace('_', '-')}", str(value)]
    parts += ["--out", str(out)]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    from sharpvid.fast import ablate
    from sharpvid.fast.checkpoint import CheckpointError
    from sharpvid.fast.config import ConfigError, load_config
    from sharpvid.fast.devices import DeviceError
    from sharpvid.fast.evaluate import EvaluateError, held_out_data
    from sharpvid.fast.imageio import ImageError
    from sharpvid.fast.perceptual import PerceptualError
    from sharpvid.fast.training.errors import TrainError
    from sharpvid.fast.video.sources import DataError, parse_frame_range

    if args.list_variants:
        _list_variants()
        return 0
    if args.config is None:
        raise CommandError("give a CONFIG (tiny, demo, paper, tf or a file), or --list-variants")
    _check_args(args)
    overrides = list(getattr(args, "overrides", []))
    for key, value in (("steps", args.steps), ("vgg19_weights", args.vgg19_weights),
                       ("init_d2", args.init_d2)):
        if value is not None:
            overrides.append(f"{key}={value}")
    out = args.out or Path("runs") / f"ablate-{Path(args.config).stem}"
    try:
        names = ablate.parse_variants(args.variants or ",".join(ablate.DEFAULT_VARIANTS))
        base = load_config(args.config, overrides)
        if args.eval_data is None and not base.val_data:
            raise CommandError(f"{args.config} has no val_data: give the evaluation data "
                               f"with --eval-data SOURCE")
        # as sharpvid evaluate resolves it: the config's held-out data and range by default
        data, frame_range = held_out_data(base, args.eval_data, args.frame_range)
        if frame_range:
            parse_frame_range(frame_range)
    except (ablate.AblationError, ConfigError, DataError, EvaluateError) as exc:
        raise CommandError(str(exc)) from None
    check_writable(out)
    evaluation = {"data": data, "frame_range": frame_range, "frames": args.frames,
                  "every": args.every, "videos": args.videos, "batch": args.batch,
                  "deblur": None if args.deblur == "none" else args.deblur,
                  "kernel_size": args.kernel_size, "pictures": args.pictures,
                  "mask_threshold": args.mask_threshold}
    command = _command(args, names, base.steps, out)
    try:
        summary = ablate.run_ablation(args.config, names, out, overrides=overrides,
                                      evaluation=evaluation, command=command, force=args.force,
                                      progress=not args.quiet, crop=args.crop,
                                      seeds=args.seeds)
    except ablate.Interrupted as exc:
        print(f"sharpvid: {exc}; rerun the same command to continue (finished variants are "
              f"reused)", file=sys.stderr)
        return 130
    except (ablate.AblationError, ConfigError, DataError, CheckpointError, DeviceError,
            EvaluateError, TrainError, ImageError, PerceptualError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        where = exc.filename or out
        raise CommandError(f"{where}: cannot write ({exc.strerror or exc})") from None
    for j in range(1, summary["n"] + 1):
        print(f"\nframe {j}:")
        print(ablate.markdown_table(summary["rows"], j))
    print(f"\nwrote {out / 'ablation.md'}, {out / 'ablation.csv'}, {out / 'ablation.json'} "
          f"and {out / 'report.html'} ({summary['seconds'] / 60:.1f} min)")
    return 0
