"""``sharpvid train``: the paper's Algorithm 1 (adversarial multi-scale video prediction).

    sharpvid train tiny --out runs/tiny                          # a minute on a laptop CPU
    sharpvid train demo --out runs/demo                          # the sample footage, about 7 min
    sharpvid train paper --data=data/ucf-train --val_data=data/ucf-test --out runs/paper
    sharpvid train paper --lam_adv=0 --out runs/l2-gdl           # no D: the GDL baseline
    sharpvid train --resume runs/paper --steps=2000000           # continue (more steps)
    torchrun --nproc_per_node=8 -m sharpvid.fast.cli train paper data=data/ucf-train --out runs/p8

CONFIG is a shipped config (tiny, demo, paper, tf) or a .toml/.json file; ``--key=value``
(or ``key=value``: write that form under ``torchrun``, whose own parser would take ``--n=2``
for ``--nnodes``) overrides any field of :class:`sharpvid.fast.config.TrainConfig`
(``--net.FIELD=VALUE`` a network field);
``sharpvid train --list-keys`` prints them all.  The run folder receives ``config.json``,
``checkpoints/``, ``metrics.jsonl``, ``samples/`` and ``tensorboard/``.  Ctrl-C or SIGTERM
finish the step, save a checkpoint and exit 0; ``--resume`` continues exactly where it stopped.
``demo`` trains in about 7 minutes on 2 CPU cores (the 2-core AMD EPYC VM, AVX512-BF16, idle).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sharpvid.fast.commands import CommandError, print_error

EXAMPLES = __doc__.split("\n\n")[1]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "train",
        help="train the adversarial multi-scale predictor (Algorithm 1)",
        description="Train G (and D when lam_adv > 0) on video clips, writing checkpoints, "
                    "metrics.jsonl, picture grids and GIFs to --out.  Unknown --key=value "
                    "arguments are config overrides.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("config", nargs="?", default=None, metavar="CONFIG",
                   help="tiny | demo | paper | tf, or a .toml/.json file (not with --resume)")
    p.add_argument("--out", type=Path, default=None, metavar="RUN",
                   help="run folder (default runs/CONFIG)")
    p.add_argument("--resume", type=Path, default=None, metavar="RUN",
                   help="continue the run in RUN from its newest checkpoint")
    p.add_argument("--force", action="store_true",
                   help="start over in a run folder that holds another run (removes its "
                        "checkpoints, metrics and samples)")
    p.add_argument("--init_d2", default=None, metavar="CHECKPOINT",
                   help="initialise only the blur detector D2 from this checkpoint (sharpvid "
                        "pretrain-blur-detector --out DIR); needs --blur_detector=true "
                        "(the config key init_d2; --freeze_d2=true keeps it fixed)")
    p.add_argument("--vgg19_weights", default=None, metavar="FILE",
                   help="torchvision's ImageNet VGG19 checkpoint (vgg19-dcbb9e9d.pth) for the "
                        "perceptual loss (--lam_perc > 0); nothing is downloaded")
    p.add_argument("--list-keys", action="store_true", help="print every config key and exit")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run, accepts_overrides=True)


def _list_keys() -> None:
    import dataclasses

    from sharpvid.fast.config import TrainConfig, field_types

    types = field_types()
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        print(f"{f.name:<18} {getattr(types[f.name], '__name__', str(types[f.name])):<6} "
              f"{default!r}")


def run(args: argparse.Namespace) -> int:
    from sharpvid.fast.checkpoint import CheckpointError
    from sharpvid.fast.config import ConfigError, load_config, parse_overrides
    from sharpvid.fast.devices import DeviceError
    from sharpvid.fast.imageio import ImageError
    from sharpvid.fast.perceptual import PerceptualError
    from sharpvid.fast.training.errors import TrainError
    from sharpvid.fast.training.loop import Trainer, resume_config
    from sharpvid.fast.video.sources import DataError

    if args.list_keys:
        _list_keys()
        return 0
    overrides = list(getattr(args, "overrides", []))
    if args.resume is not None and args.config and "=" in args.config \
            and not Path(args.config).exists():
        # `torchrun ... train --resume RUN steps=N`: argparse hands the first bare key=value
        # to CONFIG; with --resume it is an override like the others
        overrides.insert(0, args.config)
        args.config = None
    if args.init_d2:
        overrides.append(f"init_d2={args.init_d2}")
    if args.vgg19_weights:
        overrides.append(f"vgg19_weights={args.vgg19_weights}")
    run_dir = args.resume or args.out or Path("runs")
    trainer, error, every_rank, finished = None, None, False, False
    try:
        if args.resume is not None:
            if args.config is not None:
                raise CommandError("--resume takes the run's own config; give overrides as "
                                   "--key=value, not a CONFIG")
            if args.out is not None and args.out != args.resume:
                raise CommandError("--resume RUN continues in RUN; leave out --out")
            run_dir = args.resume
            cfg = resume_config(run_dir, parse_overrides(overrides))
        else:
            if args.config is None:
                raise CommandError("give a CONFIG (tiny, demo, paper, tf or a file) or --resume RUN")
            cfg = load_config(args.config, overrides)
            run_dir = args.out or Path("runs") / Path(args.config).stem
        trainer = Trainer(cfg, run_dir, resume=args.resume is not None, force=args.force,
                          progress=not args.quiet)
        main = trainer.dist.main
        if main:
            print(f"training {cfg.network} (lam_adv={cfg.lam_adv}) on {cfg.data} on "
                  f"{trainer.device} from step {trainer.step_no} to {cfg.steps}; "
                  f"{trainer.fast_math.summary}; run folder {run_dir}", flush=True)
        status = trainer.fit()
        finished = True
    except (ConfigError, DataError, CheckpointError, DeviceError, TrainError, ImageError,
            PerceptualError) as exc:
        error, every_rank = str(exc), getattr(exc, "every_rank", False)
    except OSError as exc:
        error = f"{exc.filename or run_dir}: cannot write ({exc.strerror or exc})"
    finally:  # every way out, Ctrl-C included, leaves the process group with no thread running
        import torch.distributed as dist

        from sharpvid.fast.training.dist import shutdown_distributed

        if trainer is not None:
            trainer.close()
        said_everywhere = every_rank and dist.is_available() and dist.is_initialized()
        if not said_everywhere:
            shutdown_distributed(synchronise=finished)
    if said_everywhere:
        # Every rank raised this error at the same point: each says it before the barrier, so
        # torchrun, which stops the other ranks once one exits non-zero, cuts no one short.
        print_error(error)
        shutdown_distributed(synchronise=True)
        return 2
    if error is not None:
        raise CommandError(error)
    if not main:
        return status
    last = trainer.last
    summary = " ".join(f"{k} {v:.4g}" for k, v in last.items()
                       if isinstance(v, float) and k.split("/")[0] in ("g", "d"))
    print(f"step {trainer.step_no}: {summary}")
    data = "" if cfg.val_data else " --data SOURCE"  # without --data: the run's held-out data
    print(f"checkpoints in {run_dir / 'checkpoints'}; evaluate with: sharpvid evaluate "
          f"{run_dir}{data} --out {run_dir / 'eval'}")
    return status
