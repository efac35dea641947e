"""The product's main job end to end, on every kind of data: ``sharpvid train`` ->
``sharpvid evaluate`` -> ``sharpvid predict`` on the synthetic world, a frame folder, a video
file and the miniature UCF101 (trained from a prepared folder, evaluated on the test split)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from sharpvid.fast import cli
from videodata import mini_ucf101, moving_square, needs_av, write_frames, write_video

FAST = ["--steps=2", "--batch=2", "--log_every=1", "--sample_every=2", "--val_every=0",
        "--checkpoint_every=2", "--quiet"]


def sharpvid(*args) -> str:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([*map(str, args)])
    assert status == 0, err.getvalue()
    return out.getvalue()


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
    return metrics


def test_synthetic_world(tmp_path):
    frames = write_frames(tmp_path / "one", moving_square(8, 32, 40))
    metrics = _chain(tmp_path, "synthetic:videos=3,frames=12,height=32,width=32",
                     "synthetic:videos=2,frames=8,height=32,width=40,seed=5", str(frames))
    assert len(metrics["videos"]) == 2


def test_frame_folder(tmp_path):
    folder = write_frames(tmp_path / "frames", moving_square(12, 40, 48))
    metrics = _chain(tmp_path, str(folder), str(folder), str(folder))
    assert len(metrics["videos"]) == 1


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
