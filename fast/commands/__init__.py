"""The ``sharpvid`` subcommands, one module each, registered in :mod:`fast.cli`."""


class CommandError(Exception):
    """An error the user can fix (bad input file, bad value): printed as one line, exit 2."""
