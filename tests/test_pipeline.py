"""The product's main job end to end, on every kind of data: ``sharpvid train`` ->
``sharpvid evaluate`` -> ``sharpvid predict`` on the synthetic world, a frame folder, a video
file and the miniature UCF101 (trained from a prepared folder, evaluated on the test split)."""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sharpvid.fast import cli
from sharpvid.reference.metrics import psnr, ssim
from videodata import mini_ucf101, moving_square, needs_av, write_frames, write_video

FAST = ["--steps=2", "--batch=2", "--log_every=1", "--sample_every=2", "--val_every=0",
        "--checkpoint_every=2", "--quiet"]


def sharpvid(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([*map(str, args)])
    assert status == 0, err.getvalue()
    return out.getvalue()


def _check_values(metrics: dict) -> None:
    """The scores are numbers that mean what their columns say: the TF scale is the seed's
    PSNR 20 log10(2) dB lower, SSIM within [-1, 1], and the barely trained copy path (2 steps
    from copy-last-frame) within 1 dB of copy-last."""
    for v in metrics["videos"]:
        for method in ("model", "copy_last"):
            values = v["values"][method]
            for seed, tf in zip(values["psnr_seed"], values["psnr_tf"]):
                assert tf == pytest.approx(seed - 20 * math.log10(2), abs=1e-3)
            assert all(-1 <= x <= 1 for x in values["ssim_seed"] + values["ssim_authors"])
        for model, copy in zip(v["values"]["model"]["psnr_seed"], v["values"]["copy_last"]["psnr_seed"]):
            assert math.isfinite(model) and abs(model - copy) < 1.0


def _check_predictions(pred: Path, frames: np.ndarray) -> None:
    """``predict``'s frames continue the video: the copy path after 2 steps is within 2 grey
    levels of the last frame on average, and nearer to it than to the frame before."""
    for k in (1, 2):
        p = np.asarray(Image.open(pred / f"pred_{k}.png")).astype(float)
        assert p.shape == frames.shape[1:]
        last, before = np.abs(p - frames[-1]).mean(), np.abs(p - frames[-2]).mean()
        assert last < 2.0 and last < before


def _chain(tmp_path: Path, train_data: str, eval_data: str, video: str) -> dict:
    run = tmp_path / "run"
    sharpvid("train", "tiny", "--out", run, f"--data={train_data}", *FAST)
    assert (run / "checkpoints" / "step-00000002.pt").is_file()
    assert (run / "samples" / "step-00000002.png").is_file()
    table = sharpvid("evaluate", run, "--data", eval_data, "--frames", "2", "--out",
                     tmp_path / "eval")
    assert "copy_last" in table and "model" in table
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    sharpvid("predict", run, video, "--frames", "2", "--out", tmp_path / "pred")
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == [
        "inputs_and_predictions.gif", "pred_1.png", "pred_2.png"]
    _check_values(metrics)
    return metrics


def test_synthetic_world(tmp_path):
    video = moving_square(8, 32, 40)
    frames = write_frames(tmp_path / "one", video)
    metrics = _chain(tmp_path, "synthetic:videos=3,frames=12,height=32,width=32",
                     "synthetic:videos=2,frames=8,height=32,width=40,seed=5", str(frames))
    assert len(metrics["videos"]) == 2
    _check_predictions(tmp_path / "pred", video)


def test_frame_folder(tmp_path):
    video = moving_square(12, 40, 48)
    folder = write_frames(tmp_path / "frames", video)
    metrics = _chain(tmp_path, str(folder), str(folder), str(folder))
    assert len(metrics["videos"]) == 1
    _check_predictions(tmp_path / "pred", video)
    # copy-last's scores, recomputed by the oracle from the frames: the clip's inputs are frames
    # start .. start + m - 1, its targets the n after them
    v, m = metrics["videos"][0], metrics["m"]
    x = video.astype(float).transpose(0, 3, 1, 2) / 127.5 - 1
    last = x[v["start"] + m - 1]
    for j, target in enumerate(x[v["start"] + m : v["start"] + m + metrics["n"]]):
        assert v["values"]["copy_last"]["psnr_seed"][j] == pytest.approx(psnr(last, target), rel=1e-5)
        assert v["values"]["copy_last"]["ssim_seed"][j] == pytest.approx(ssim(last, target), abs=1e-5)


@needs_av
def test_video_file(tmp_path):
    path = write_video(tmp_path / "clip.mp4", moving_square(12, 40, 48))
    _chain(tmp_path, str(path), str(path), str(path))


@needs_av
def test_miniature_ucf101(tmp_path):
    data, lists = mini_ucf101(tmp_path / "ucf", groups=3, frames=10, size=(32, 40))
    prepared = tmp_path / "ucf-train"
    sharpvid("prepare", f"ucf101:{data},splits={lists}", "--out", prepared, "--clips", "12",
             "--size", "32", "--threshold", "0")
    video = next((data / "ApplyEyeMakeup").iterdir())
    metrics = _chain(tmp_path, str(prepared), f"ucf101:{data},splits={lists},split=test",
                     str(video))
    assert len(metrics["videos"]) >= 1
