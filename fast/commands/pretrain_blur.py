"""``sharpvid pretrain-blur-detector``: pretrain the blur detector D2 alone (the idea of
the seed slides this project was founded on).

    sharpvid pretrain-blur-detector tiny --out runs/d2-tiny                # synthetic world, CPU
    sharpvid pretrain-blur-detector paper --data cifar10:data/cifar-10-batches-py --out runs/d2
    sharpvid pretrain-blur-detector paper --data a.avi --d_optimizer=adam --d_lr=1e-4 --out runs/d2v
    sharpvid train paper --blur_detector=true --init_d2 runs/d2 --out runs/paper-d2

D2 learns to call 32x32 images sharp and the same images blurred (the config's blurs, as
training with blur_detector applies them: Gaussian of variance blur_variance, median or bilateral,
all blur_size wide, one chosen per image) blurry, with
the config's D optimiser; its network is the config's discriminator, unconditional.  CONFIG is a
shipped config (tiny, demo, paper, tf) or a .toml/.json file, with ``--key=value`` overrides as
for ``sharpvid train`` (its ``patch`` must be 32).  ``--data`` is ``cifar10:DIR`` (the CIFAR-10
python batches; the seed used its first 10,000 images, held out: ``test_batch``) or any video
source (random 32x32 crops of random frames; held out: other videos).  ``--out`` receives
``checkpoints/step-N.pt`` (D2's weights for ``sharpvid train --init_d2``) and ``metrics.json``
(held-out accuracy per blur).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sharpvid.fast.commands import CommandError

EXAMPLES = __doc__.split("\n\n")[1]


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "pretrain-blur-detector",
        help="pretrain the blur detector D2 alone (sharp vs blurred 32x32 images)",
        description="Train the blur detector D2 (the seed slides' idea) (the config's multi-scale discriminator, "
                    "unconditional) to call sharp 32x32 images sharp and blurred ones blurry, "
                    "then measure it on held-out images.  Unknown --key=value arguments are "
                    "config overrides.",
        epilog="examples:\n" + EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("config", metavar="CONFIG",
                   help="tiny | demo | paper | tf, or a .toml/.json file (D2's network, blur and "
                        "D optimiser)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output folder: checkpoints/ and metrics.json")
    p.add_argument("--data", default="synthetic", metavar="DATA",
                   help="cifar10:DIR, or a source: synthetic[:opts] | video file | frame folder "
                        "| ... (default synthetic)")
    p.add_argument("--images", type=int, default=10_000, metavar="N",
                   help="training images (default 10000, the seed slides')")
    p.add_argument("--held-out", type=int, default=1000, metavar="N",
                   help="held-out images for the accuracy (default 1000)")
    p.add_argument("--steps", type=int, default=2000, metavar="S",
                   help="D2 updates (default 2000)")
    p.add_argument("--batch", type=int, default=None, metavar="M",
                   help="sharp images per step, each also blurred (default: the config's batch)")
    p.add_argument("--device", default=None,
                   help="auto | cpu | cuda | cuda:K (default: the config's device)")
    p.add_argument("--seed", type=int, default=None,
                   help="weights, image draws and blurs (default: the config's seed)")
    p.add_argument("--force", action="store_true",
                   help="overwrite an --out that holds another run")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=run, accepts_overrides=True)


def _holds_run(out: Path) -> bool:
    from sharpvid.fast.checkpoint import list_checkpoints

    return (out / "config.json").exists() or (out / "metrics.json").exists() \
        or bool(list_checkpoints(out))


def _clear(out: Path) -> None:
    import shutil

    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    (out / "metrics.json").unlink(missing_ok=True)


def run(args: argparse.Namespace) -> int:
    import sys

    import torch

    from sharpvid.fast.blur_detector import (checkpoint_state, load_images, pretrain_blur_detector,
                                             print_table)
    from sharpvid.fast.checkpoint import CheckpointError, RunLock, save_checkpoint
    from sharpvid.fast.config import ConfigError, load_config, with_overrides
    from sharpvid.fast.devices import DeviceError, resolve_device
    from sharpvid.fast.imageio import atomic_write
    from sharpvid.fast.video.sources import DataError

    for key, lo in (("images", 1), ("held_out", 1), ("steps", 0), ("batch", 1), ("seed", 0)):
        value = getattr(args, key)
        if value is not None and value < lo:
            raise CommandError(f"--{key.replace('_', '-')} must be >= {lo}, got {value}")
    out = args.out
    try:
        cfg = load_config(args.config, list(getattr(args, "overrides", [])))
        given = {k: getattr(args, k) for k in ("batch", "device", "seed")
                 if getattr(args, k) is not None}
        cfg = with_overrides(cfg, given) if given else cfg
        if cfg.patch != 32:
            raise CommandError(f"the blur detector is pretrained on 32x32 images: the config's "
                               f"patch must be 32, got {cfg.patch} (--patch=32)")
        if _holds_run(out) and not args.force:
            raise CommandError(f"{out} holds another run; use --force to overwrite it, or "
                               f"another --out")
        device = resolve_device(cfg.device)
        train, test, held_from = load_images(args.data, args.images, args.held_out,
                                             seed=cfg.seed)
        lock = RunLock(out).acquire()  # one writer per folder (made now: bad input makes none)
        if not args.quiet:
            print(f"pretraining D2 ({cfg.network}, unconditional) on {len(train)} images of "
                  f"{args.data} on {device}: {args.steps} steps of {cfg.batch} sharp + "
                  f"{cfg.batch} blurred; held out: {len(test)} ({held_from})",
                  file=sys.stderr, flush=True)
        threads = torch.get_num_threads()
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        try:
            d2, metrics = pretrain_blur_detector(cfg, train, test, steps=args.steps,
                                                 batch=cfg.batch, device=device, seed=cfg.seed,
                                                 progress=not args.quiet)
        finally:
            torch.set_num_threads(threads)
        pretrain = {"data": args.data, "images": int(len(train)), "held_out_from": held_from,
                    **metrics}
        if _holds_run(out):
            _clear(out)  # --force: the new run is trained; the old one goes now
        path = save_checkpoint(out, args.steps, checkpoint_state(cfg, d2, pretrain), keep=1)
        text = json.dumps({**pretrain, "checkpoint": str(path), "config": cfg.to_dict()},
                          indent=2) + "\n"
        atomic_write(out / "metrics.json", lambda tmp: Path(tmp).write_text(text))
        lock.release()
    except (ConfigError, DataError, CheckpointError, DeviceError) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        where = exc.filename or out
        raise CommandError(f"{where}: cannot write ({exc.strerror or exc})") from None
    print_table(metrics["accuracy"], metrics["held_out"], metrics["overall_by_scale"])
    print(f"D2 saved in {path}; train with it: sharpvid train {args.config} "
          f"--blur_detector=true --init_d2 {out}")
    return 0
