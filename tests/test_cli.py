"""The ``sharpvid`` console script."""

import subprocess
import sys

from sharpvid import __version__
from sharpvid.fast import cli


def test_version_and_help(capsys):
    try:
        cli.main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert __version__ in capsys.readouterr().out
    assert cli.main([]) == 0
    assert "sharpvid" in capsys.readouterr().out


def test_console_script_runs():
    out = subprocess.run(
        [sys.executable, "-m", "sharpvid.fast.cli", "--help"], capture_output=True, text=True, check=True
    )
    assert "Mathieu" in out.stdout


def test_unknown_command_is_a_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "sharpvid.fast.cli", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
