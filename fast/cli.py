"""The ``sharpvid`` command line.  Each subcommand lives in its own module and registers itself
here with an ``add_parser(subparsers)`` function that sets ``func`` on its parser; ``main`` turns
the expected failures (bad files, bad values) into one-line errors and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from sharpvid import __version__
from sharpvid.fast.commands import CommandError, print_error

#: Modules that provide ``add_parser(subparsers)``; added as the commands are built.
_COMMANDS: tuple[str, ...] = (
    "sharpvid.fast.commands.prepare",
    "sharpvid.fast.commands.train",
    "sharpvid.fast.commands.pretrain_blur",
    "sharpvid.fast.commands.evaluate",
    "sharpvid.fast.commands.ablate",
    "sharpvid.fast.commands.predict",
    "sharpvid.fast.commands.deblur",
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


def _join_spaced_overrides(parser: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """``--steps 100`` -> ``--steps=100`` for every config key (``--key value``, the spelling
    every other option takes) of a command that takes overrides, so the value is not read as
    the CONFIG positional or left out; options the command itself has are left to argparse.
    A key may be spelt with hyphens (``--init-d2``): :func:`sharpvid.fast.config.parse_overrides`
    reads it as ``init_d2``, the one form ``--help`` and ``--list-keys`` show."""
    from sharpvid.fast.config import field_types

    command = next((a for a in argv if not a.startswith("-")), None)
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    child = sub.choices.get(command) if sub is not None and command else None
    if child is None or not child.get_default("accepts_overrides"):
        return argv
    own = {s for action in child._actions for s in action.option_strings}
    keys = set(field_types())
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        key = arg[2:].replace("-", "_")
        if (arg.startswith("--") and "=" not in arg and arg not in own
                and (key in keys or key.startswith("net.")) and i + 1 < len(argv)
                and not argv[i + 1].startswith("--")):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = _join_spaced_overrides(parser, list(sys.argv[1:] if argv is None else argv))
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
