"""Every numbered tutorial runs to the end in its small mode (``SHARPVID_TUTORIAL_SMALL=1``), as
a reader would run it (``python tutorials/NN_name.py``), and saves the figures it announces."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted((ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


def test_the_seven_tutorials_exist():
    assert [p.name[:2] for p in TUTORIALS] == ["01", "02", "03", "04", "05", "06", "07"], TUTORIALS


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(path, tmp_path):
    env = {**os.environ, "SHARPVID_TUTORIAL_SMALL": "1", "SHARPVID_TUTORIAL_OUT": str(tmp_path),
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    proc = subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    announced = re.findall(r"^figure: (.+)$", proc.stdout, flags=re.M)
    assert announced, "a tutorial saves at least one figure"
    for name in announced:
        figure = Path(name) if Path(name).is_absolute() else tmp_path / name
        assert figure.is_file() and figure.stat().st_size > 0, figure


@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_is_a_percent_script(path):
    """jupytext's py:percent format: cells marked ``# %%``, prose in ``# %% [markdown]`` cells,
    opening with a markdown cell that names its references."""
    text = path.read_text()
    assert text.startswith("# %% [markdown]"), path
    head = text.split("# %%", 2)[1]
    assert "Reference" in head or "reference" in head, f"{path}: open with the references"
    assert text.count("# %%") >= 4, path
    assert f'output_dir("{path.stem}")' in text, f"{path}: figures go to output_dir(its stem)"
    code = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "__file__" not in code, f"{path}: a notebook (make notebooks) has no __file__"
