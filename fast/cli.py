"""The ``sharpvid`` command line.  Each subcommand lives in its own module and registers itself
here with an ``add_parser(subparsers)`` function that sets ``func`` on its parser; ``main`` turns
the expected failures (bad files, bad values) into one-line errors and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from fast import __version__
from fast.commands import CommandError, print_error

#: Modules that provide ``add_parser(subparsers)``; added as the commands are built.
_COMMANDS: tuple[str, ...] = (
    "fast.commands.prepare",
    "fast.commands.train",
    "fast.commands.pretrain_blur",
    "fast.commands.evaluate",
    "fast.commands.ablate",
    "fast.commands.predict",
    "fast.commands.deblur",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sharpvid",
        description=(
            "Predict the next frames of a video and keep them sharp: adversarial multi-scale "
            "video prediction (Mathieu, Couprie & LeCun, ICLR 2016) with L0 deblurring."
        ),
    )
    parser.add_argument("--version", action="version", version=f"sharpvid {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    for name in _COMMANDS:
        module = __import__(name, fromlist=["add_parser"])
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not getattr(args, "accepts_overrides", False) or not all(
                "=" in e and (e.startswith("--") or not e.startswith("-")) for e in extra):
            parser.parse_args(argv)  # argparse's own error for what no command takes
        args.overrides = extra  # --key=value or key=value config overrides (sharpvid train)
    if not hasattr(args, "func"):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print_error(str(exc))
        return 2
    except KeyboardInterrupt:
        print("sharpvid: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
