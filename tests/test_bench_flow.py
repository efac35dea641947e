"""benchmarks/bench_flow.py: the project's optical flow against OpenCV's DIS.  Its parts on tiny
synthetic inputs (no sample clips): the synthetic motions' true flow, the EPE of a known shift, a
clip's extrapolation scores, the tables and JSON of a small run, and the one-line message when
OpenCV (a benchmark extra) is missing."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sharpvid.fast.pyramid import warp

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_flow.py"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _script():
    spec = importlib.util.spec_from_file_location("bench_flow", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def cv2_threads():
    """OpenCV's thread count, put back after a test that sets it through the benchmark."""
    cv2 = pytest.importorskip("cv2")
    threads = cv2.getNumThreads()
    yield cv2
    cv2.setNumThreads(threads)


@pytest.mark.parametrize("motion", [dict(dx=1.0), dict(dx=1.3, dy=0.7), dict(degrees=3.0)])
def test_the_synthetic_true_flow_is_where_each_pixel_came_from(motion):
    """Warping i1 by the true flow gives i0 back (exactly for a whole pixel; within a third of a
    level of the uint8 texture otherwise: bilinear interpolation and rounding), and the opposite
    motion's flow does not (measured 4.8 to 12 levels)."""
    script = _script()
    i0, i1, true = script.motion_case(48, 64, **motion)
    _, _, opposite = script.motion_case(48, 64, **{k: -v for k, v in motion.items()})

    def error(v):
        back = warp(torch.tensor(i1, dtype=torch.float64)[None], torch.tensor(v))[0].numpy()
        return np.abs(back - i0)[8:-8, 8:-8].mean()

    assert error(true) < (1e-9 if motion == dict(dx=1.0) else 0.5)
    assert error(opposite) > 4


def test_the_epe_of_a_one_pixel_shift_is_small():
    """ours recovers a 1-pixel shift of a small uint8 texture (measured 0.0002 pixels)."""
    script = _script()
    table = script.epe_table(["ours"], (40, 48), 8, {"1 px": dict(dx=1.0)})
    assert table["1 px"]["ours"] < 0.05
    _, _, true = script.motion_case(40, 48, dx=1.0)
    assert script.epe(true, true, 8) == 0.0
    assert script.epe(true + np.array([0.3, 0.4])[:, None, None], true, 8) == pytest.approx(0.5)


def test_a_moving_texture_is_extrapolated_far_better_than_copied(cv2_threads):
    """A colour texture moving 1 pixel a frame: every flow's frame 1 beats copy-last by far, on
    the whole frame and on the moving area; the float warp of DIS's flow is scored too."""
    script = _script()
    frames = np.stack([np.stack([script.to_uint8(script.texture(48, 64, dx=t, seed=c))
                                 for c in range(3)]) for t in range(5)])  # (5, 3, 48, 64)
    scores = script.score_clip(frames, ["ours", "dis"])
    assert set(scores) == {"copy_last", "ours", "dis", "dis_float"}
    for name in ("ours", "dis", "dis_float"):
        for k in (0, 1):  # whole, moving
            assert scores[name][k] > scores["copy_last"][k] + 10, (name, scores)
    assert script.window_starts(10, 4, 2) == [0, 2, 4]


def test_a_small_run_prints_epe_and_speed_tables_and_writes_json(tmp_path, cv2_threads):
    script = _script()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = script.main(["--no-quality", "--methods", "ours,dis", "--epe-size", "40x48",
                          "--epe-border", "8", "--sizes", "32x48", "--min-time", "0",
                          "--threads", "1", "--json", str(tmp_path / "f.json")])
    assert rc == 0
    text = out.getvalue()
    assert "## End-point error" in text and "| rotation 3° |" in text
    assert "## Speed" in text and "| 32x48 | 1 |" in text
    result = json.loads((tmp_path / "f.json").read_text())
    assert set(result["epe"]["table"]) == set(script.MOTIONS)
    row = result["speed"]["rows"][0]
    assert row["ratio_flow"] == pytest.approx(row["ours_flow"] / row["dis_flow"])


def test_without_opencv_it_says_how_to_install_it_in_one_line(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "cv2", None)  # `import cv2` raises ImportError
    script = _script()
    assert script.main(["--no-quality", "--no-speed"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "pip install 'sharpvid[bench]'" in lines[0], captured.err
    with pytest.raises(script.MissingExtra, match=r"OpenCV .*pip install 'sharpvid\[bench\]'"):
        script.require("cv2")
