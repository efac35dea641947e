"""benchmarks/demo_quality.py: a trained run against copy-last and flow extrapolation on every
held-out window, the still-pixel colour cast and the critic's curve (the README's demo figures)."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from sharpvid.fast.config import load_config
from sharpvid.fast.training.loop import Trainer

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "demo_quality.py"


class _CopyLast:
    """A "generator" that predicts the last input frame: an untrained copy or warp path."""

    config = SimpleNamespace(in_frames=4, channels=3)

    def predict(self, x, n, *, pad=False):
        return x[:, -1:].expand(-1, n, -1, -1, -1)
DATA = "synthetic:videos=2,frames=12,height=32,width=32"


def _script():
    spec = importlib.util.spec_from_file_location("demo_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table_row(out: str, title: str, frame: int) -> list[str]:
    block = out[out.index(title):]  # the first table whose title starts so
    row = next(line for line in block.splitlines() if line.startswith(f"| {frame} |"))
    return [cell.strip() for cell in row.strip("|").split("|")][1:]


def test_an_untrained_warp_run_scores_as_copy_last_and_a_trained_one_has_a_curve(tmp_path):
    run = tmp_path / "run"
    cfg = load_config("tiny", [f"data={DATA}", f"val_data={DATA}", "val_frame_range=",
                               "steps=20", "log_every=1", "sample_every=0", "val_every=0",
                               "checkpoint_every=20", "net.output=warp"])
    trainer = Trainer(cfg, run, progress=False)
    trainer.fit()
    trainer.close()
    script = _script()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert script.main([str(run / "checkpoints" / "step-00000000.pt"), "--stride", "3"]) == 0
    text = out.getvalue()
    # step 0 is copy-last exactly: every difference from copy-last is 0 on both tables
    for title in ("fixed test clips (sharpvid evaluate's), 2 clips, model - copy_last",
                  "every window, 6 clips, model - copy_last"):  # 2 videos x windows at 0, 3, 6
        for frame in (1, 2):
            psnr_whole, _, ssim, sharp_whole, _ = _table_row(text, title, frame)
            assert psnr_whole in ("+0.00", "-0.00") and ssim in ("+0.000", "-0.000"), text
            assert sharp_whole in ("+0.00", "-0.00"), text
    # and its difference from flow_extrap is copy-last's: evaluate's own scores, by hand
    from sharpvid.fast.evaluate import TestClips, evaluate

    result = evaluate(_CopyLast(), TestClips(DATA, 4, 2), 2)
    gap = np.mean([v["values"]["copy_last"]["psnr_seed"][0]
                   - v["values"]["flow_extrap"]["psnr_seed"][0] for v in result["videos"]])
    psnr_whole = _table_row(text, "fixed test clips (sharpvid evaluate's), 2 clips, model - "
                            "flow_extrap", 1)[0]
    assert psnr_whole == f"{gap:+.2f}" and abs(gap) > 0.01, (psnr_whole, gap)
    # its cast over the still pixels is copy-last's own (the footage's drift), channel by channel
    line = next(x for x in text.splitlines() if x.startswith("still-pixel cast over every window"))
    model, rest = line.split(": ", 1)[1].split(" levels of 255 (R / G / B); copy-last ")
    copy, flow = rest.split("; flow_extrap ")
    assert model.split(" / ") == copy.split(" / ") and len(copy.split(" / ")) == 3, line
    assert len(flow.split(" / ")) == 3, line
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert script.main([str(run), "--stride", "3"]) == 0
    text = out.getvalue()
    assert "step 20" in text and "output=warp" in text and "still-pixel cast" in text
    losses = [json.loads(line)["d/loss"] for line in (run / "metrics.jsonl").read_text().splitlines()
              if json.loads(line)["kind"] == "train"]
    curve = script.critic_curve(run)
    assert [(lo, hi) for lo, hi, _ in curve] == [(2 * p + 1, 2 * p + 2) for p in range(10)]
    assert curve[0][2] == sum(losses[:2]) / 2
    assert "| d/loss | " in text


def test_a_missing_or_junk_checkpoint_is_one_line(tmp_path, capsys):
    script = _script()
    junk = tmp_path / "junk.pt"
    junk.write_text("junk")
    for path, message in ((tmp_path / "nope", "no such checkpoint file or run folder"),
                          (junk, "not a readable checkpoint")):
        assert script.main([str(path)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
