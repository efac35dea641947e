"""The ``sharpvid`` subcommands, one module each, registered in :mod:`sharpvid.fast.cli`."""

import os
import sys
from pathlib import Path


class CommandError(Exception):
    """An error the user can fix (bad input file, bad value): printed as one line, exit 2."""


def print_error(message: str, stream=None) -> None:
    """The one-line error every command prints: ``sharpvid: error: MESSAGE``.  One write of the
    whole line (``print`` writes the newline separately): the ranks of a distributed run share
    stderr, and two ranks' lines must not interleave."""
    stream = stream or sys.stderr
    stream.write(f"sharpvid: error: {message}\n")
    stream.flush()


def check_writable(out: Path) -> None:
    """``out`` is, or can become, a writable folder; checked before any work, creating nothing."""
    if out.exists() and not out.is_dir():
        raise CommandError(f"{out}: exists and is not a folder; give another --out")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(f"{out}: cannot be created ({existing} is not a folder)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"{out}: cannot write ({existing} is not writable)")


def add_fast_math_flag(parser) -> None:
    """``--fast-math auto|on|off`` of ``evaluate`` and ``predict`` (default: the run's own
    ``fast_math``; :func:`sharpvid.fast.devices.resolve_fast_math` says what each does on a
    device)."""
    # sharpvid.fast.devices.FAST_MATH_SETTINGS, spelt out: the parser must not import torch (tested)
    parser.add_argument("--fast-math", choices=("auto", "on", "off"), default=None,
                        help="the networks' speed switch: bf16 autocast + channels_last where the "
                             "device has native bf16, float32 elsewhere (auto); on = the same, "
                             "with a notice where bf16 is not native; off = float32 (default: "
                             "the run's own fast_math)")
