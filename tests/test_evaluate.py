"""``sharpvid.fast.evaluate`` and ``sharpvid evaluate``: hand-made cases with known scores, the
copy-last baseline against :mod:`sharpvid.fast.metrics` called directly, the flow-extrapolation
baseline against :func:`sharpvid.fast.flow.flow_extrapolate` called directly, NaN-skipped moving-area
means, the recursion, padding, prepared folder = source spec, the files written, and every bad
input's one-line error."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from sharpvid.fast import cli, metrics
from sharpvid.fast.evaluate import (COLUMNS, EvaluateError, TestClip, TestClips, evaluate,
                                    frame_metrics, metrics_csv, metrics_json)
from sharpvid.fast.video.clips import to_model
from runs import make_run
from videodata import mini_ucf101, moving_square, needs_av, write_frames, write_video

SYNTH = "synthetic:videos=3,frames=12,height=40,width=48"
AUTHORS_CAP = 10 * math.log10(255.0**2 / 1e-4)  # 88.13 dB


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run folder with an untrained tiny generator (m = 4) and the generator itself."""
    run_dir, g, cfg = make_run(tmp_path_factory.mktemp("eval") / "run")
    return run_dir, g, cfg


def clip_of(video: np.ndarray, name: str = "v") -> TestClip:
    """A TestClip of uint8 (T, H, W, C) frames."""
    return TestClip(name, f"{name} (test)", 0, np.ascontiguousarray(video.transpose(0, 3, 1, 2)))


def shifting(frames=6, height=24, width=32, shift=2, seed=0) -> np.ndarray:
    """A texture rolled ``shift`` pixels right each frame (wrapping): frame t+1 = roll(frame t)."""
    base = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return np.stack([np.roll(base, shift * t, axis=1) for t in range(frames)])


class Roller:
    """A "generator" that predicts frame t+1 = roll(frame t), recursively: exact on ``shifting``."""

    def __init__(self, shift=2, m=4):
        self.shift, self.config = shift, SimpleNamespace(in_frames=m, channels=3)

    def predict(self, x, n, *, pad=False):
        last, out = x[:, -1], []
        for _ in range(n):
            last = torch.roll(last, self.shift, dims=-1)
            out.append(last)
        return torch.stack(out, dim=1)


def main(*args) -> int:
    return cli.main([str(a) for a in args])


# ------------------------------------------------------------------ hand-made cases
def test_exact_prediction_scores_the_ideal_values():
    result = evaluate(Roller(), [clip_of(shifting())], 2)
    model = result["videos"][0]["values"]["model"]
    for j in range(2):
        for name in ("psnr_seed", "sharp_seed", "psnr_tf", "sharp_tf", "psnr_seed_moving",
                     "sharp_seed_moving"):
            assert model[name][j] == math.inf, name
        for name in ("psnr_authors", "sharp_authors", "psnr_authors_moving",
                     "sharp_authors_moving"):
            assert model[name][j] == pytest.approx(AUTHORS_CAP, abs=1e-3), name
        for name in ("ssim_seed", "ssim_authors", "ssim_seed_moving", "ssim_authors_moving"):
            assert model[name][j] == pytest.approx(1.0, abs=1e-5), name
        assert 0.5 < model["moving_fraction"][j] <= 1.0  # a random texture moves almost everywhere
    assert result["means"]["model"]["psnr_seed"] == [math.inf, math.inf]
    # the copy-last baseline is not exact on a moving video
    assert max(result["videos"][0]["values"]["copy_last"]["psnr_seed"]) < 20


def test_copy_last_on_a_static_video_is_perfect_and_has_no_moving_area(run):
    _, g, _ = run
    static = np.repeat(moving_square(1, 24, 32), 6, axis=0)
    result = evaluate(g, [clip_of(static)], 2)
    copy = result["videos"][0]["values"]["copy_last"]
    assert copy["psnr_seed"] == [math.inf] * 2 and copy["sharp_seed"] == [math.inf] * 2
    assert copy["psnr_authors"] == pytest.approx([AUTHORS_CAP] * 2, abs=1e-3)
    assert copy["ssim_seed"] == pytest.approx([1.0] * 2) and copy["moving_fraction"] == [0.0] * 2
    # no motion, so flow extrapolation copies too, exactly
    assert result["videos"][0]["values"]["flow_extrap"]["psnr_seed"] == [math.inf] * 2
    for method in ("model", "copy_last", "flow_extrap"):
        for name in COLUMNS:
            if name.endswith("_moving"):
                assert all(math.isnan(v) for v in result["videos"][0]["values"][method][name])
                assert result["counts"][method][name] == [0, 0]
                assert all(math.isnan(v) for v in result["means"][method][name])
            else:
                assert result["counts"][method][name] == [1, 1]


def test_copy_last_equals_fast_metrics_called_directly(run):
    _, g, _ = run
    clips = list(TestClips(SYNTH, 4, 2))
    result = evaluate(g, clips, 2, batch=2, mask_threshold=0.1)
    for clip, video in zip(clips, result["videos"]):
        x = to_model(clip.frames, "cpu")  # (6, C, H, W)
        for j in range(2):
            target, prev, pred = x[4 + j], x[3 + j], x[3]
            mask = metrics.moving_mask(prev, target, 0.1)
            expected = {
                "psnr_seed": metrics.psnr(pred, target),
                "psnr_authors_moving": metrics.psnr(pred, target, mask=mask, convention="authors"),
                "ssim_seed": metrics.ssim(pred, target),
                "ssim_authors_moving": metrics.ssim(pred, target, mask=mask, convention="authors"),
                "sharp_authors": metrics.sharpness_difference(pred, target, convention="authors"),
                "sharp_seed_moving": metrics.sharpness_difference(pred, target, mask=mask),
                "psnr_tf": metrics.psnr(pred, target, data_range=1),
                "sharp_tf": metrics.sharpness_difference(pred, target, data_range=1),
                "moving_fraction": mask.float().mean(),
            }
            for name, value in expected.items():
                assert video["values"]["copy_last"][name][j] == pytest.approx(float(value),
                                                                              rel=1e-5), name
            # frame_metrics gives every column and is what evaluate used
            direct = frame_metrics(pred, target, prev, mask_threshold=0.1)
            assert list(direct) == list(COLUMNS)
            for name in COLUMNS:
                assert video["values"]["copy_last"][name][j] == pytest.approx(
                    float(direct[name]), rel=1e-5, nan_ok=True)


def test_flow_extrap_is_the_flow_twin_called_directly_and_follows_a_moving_texture(run):
    """The flow_extrap row scores :func:`sharpvid.fast.flow.flow_extrapolate` of the m inputs
    (frame 2 recursively from frame 1's extrapolation); on a smooth texture that moves 1.5
    pixels a frame it is far closer to the truth than copying the last frame."""
    from sharpvid.fast.flow import flow_extrapolate

    _, g, _ = run
    y, x = np.mgrid[0:40, 0:48].astype(np.float64)
    frames = np.stack([np.stack([np.sin((x - 1.5 * t) / 3 + c) * np.cos(y / 4) for c in range(3)],
                                axis=-1) for t in range(6)])  # (6, 40, 48, 3) in [-1, 1]
    video = np.round((frames + 1) * 127.5).astype(np.uint8)
    result = evaluate(g, [clip_of(video)], 2, keep=1)
    s, values = result["samples"][0], result["videos"][0]["values"]
    expected = flow_extrapolate(s["inputs"], 2)
    torch.testing.assert_close(s["flow_extrap"], expected)
    for j in range(2):
        assert values["flow_extrap"]["psnr_seed"][j] == pytest.approx(
            float(metrics.psnr(expected[j], s["targets"][j])), rel=1e-5)
        assert values["flow_extrap"]["psnr_seed"][j] > values["copy_last"]["psnr_seed"][j] + 10


def test_moving_means_skip_videos_without_moving_pixels(run):
    _, g, _ = run
    static = clip_of(np.repeat(moving_square(1, 24, 32, seed=1), 6, axis=0), "static")
    moving = clip_of(moving_square(6, 24, 32, seed=2), "moving")
    result = evaluate(g, [static, moving, static], 2)
    for method in ("model", "copy_last", "flow_extrap"):
        values = [v["values"][method] for v in result["videos"]]
        assert result["counts"][method]["psnr_seed_moving"] == [1, 1]
        assert result["counts"][method]["ssim_seed"] == [3, 3]
        assert result["means"][method]["psnr_seed_moving"] == pytest.approx(
            values[1]["psnr_seed_moving"])
        assert result["means"][method]["ssim_seed"] == pytest.approx(
            np.mean([v["ssim_seed"] for v in values], axis=0).tolist())


# ------------------------------------------------------------------ prediction
def test_second_frame_is_predicted_from_the_first_prediction(run):
    _, g, _ = run
    clip = clip_of(moving_square(6, 24, 32))
    result = evaluate(g, [clip], 2, keep=1)
    s = result["samples"][0]
    x = to_model(clip.frames, "cpu")
    assert torch.equal(s["inputs"], x[:4]) and torch.equal(s["targets"], x[4:])
    with torch.inference_mode():
        first = g.predict(x[None, :4], 1, pad=True)[0, 0]
        second = g.predict(torch.cat([x[1:4], first[None]])[None], 1, pad=True)[0, 0]
    torch.testing.assert_close(s["model"][0], first, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(s["model"][1], second, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(s["copy_last"], x[3:4].expand(2, -1, -1, -1))


def test_sizes_not_divisible_by_the_scales_and_mixed_sizes_in_one_run(run):
    _, g, _ = run
    odd = clip_of(moving_square(7, 30, 38, seed=3), "odd")       # not divisible by 2^(4-1)
    even = clip_of(moving_square(7, 24, 32, seed=4), "even")
    together = evaluate(g, [odd, even, odd], 3, batch=4, keep=3)
    assert [tuple(s["model"].shape) for s in together["samples"]] == [
        (3, 3, 30, 38), (3, 3, 24, 32), (3, 3, 30, 38)]
    assert all(math.isfinite(v) for v in together["videos"][0]["values"]["model"]["psnr_seed"])
    # batched by size, the results come back in clip order and equal one clip at a time
    for clip, video in zip([odd, even, odd], together["videos"]):
        alone = evaluate(g, [clip], 3, batch=1)["videos"][0]
        assert video["name"] == alone["name"]
        for method in ("model", "copy_last", "flow_extrap"):
            for name in COLUMNS:
                np.testing.assert_allclose(video["values"][method][name],
                                           alone["values"][method][name], rtol=1e-4)


def test_prepared_test_folder_and_the_same_spec_give_the_same_numbers(run, tmp_path):
    run_dir, _, _ = run
    spec = "synthetic:videos=3,frames=20,height=24,width=32"
    assert main("prepare", spec, "--split", "test", "--frames", 6, "--frame-range", "0.5:1",
                "--out", tmp_path / "test") == 0
    assert main("evaluate", run_dir, "--data", tmp_path / "test", "--out", tmp_path / "a",
                "--device", "cpu", "--pictures", 0) == 0
    assert main("evaluate", run_dir, "--data", spec, "--frame-range", "0.5:1", "--out",
                tmp_path / "b", "--device", "cpu", "--pictures", 0) == 0
    a, b = ((tmp_path / d / "metrics.csv").read_text() for d in "ab")
    assert a == b and len(a.splitlines()) == 1 + 3 * 2 * 3  # videos x frames x methods
    # a prepared folder with longer clips gives its first m + n frames
    clips = TestClips(tmp_path / "test", 4, 1)
    assert [c.frames.shape[0] for c in clips] == [5, 5, 5]


def test_deblur_adds_model_plus_deblur_rows(run, tmp_path, capsys):
    run_dir, _, _ = run
    out = tmp_path / "out"
    assert main("evaluate", run_dir, "--data", "synthetic:videos=1,frames=8,height=24,width=32",
                "--out", out, "--device", "cpu", "--frames", 1, "--deblur", "natural",
                "--kernel-size", 3) == 0
    table = capsys.readouterr().out
    assert "model+deblur" in table
    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    assert [r["method"] for r in rows] == ["model", "copy_last", "flow_extrap", "model+deblur"]
    assert math.isfinite(float(rows[2]["psnr_seed"]))
    assert json.loads((out / "metrics.json").read_text())["deblur"] == {
        "method": "natural", "kernel_size": 3}
    from PIL import Image

    with Image.open(out / "pictures" / "synthetic-0000.png") as grid:  # 4 columns
        assert grid.width >= 4 * 32


def test_frame_folders_short_videos_left_out_with_a_warning(run, tmp_path, capsys):
    run_dir, _, _ = run
    write_frames(tmp_path / "data" / "a-short", moving_square(4, 24, 32))
    for k in range(3):
        write_frames(tmp_path / "data" / f"clip{k}", moving_square(8, 24, 32, seed=k))
    out = tmp_path / "out"
    assert main("evaluate", run_dir, "--data", tmp_path / "data", "--out", out, "--device",
                "cpu", "--videos", 3, "--frames", 1) == 0
    err = capsys.readouterr().err
    assert "sharpvid: warning:" in err and "4 frames, fewer than the 5" in err
    doc = _strict((out / "metrics.json").read_text())
    assert [v["name"] for v in doc["videos"]] == ["clip0", "clip1"]  # the first 3, less "a-short"


@needs_av
def test_folder_of_videos_names_pictures_safely(run, tmp_path, capsys):
    run_dir, _, _ = run
    (tmp_path / "videos" / "a b").mkdir(parents=True)
    write_video(tmp_path / "videos" / "a b" / "c.mp4", moving_square(8, 24, 32))
    out = tmp_path / "out"
    assert main("evaluate", run_dir, "--data", tmp_path / "videos", "--out", out, "--device",
                "cpu") == 0
    assert sorted(p.name for p in (out / "pictures").iterdir()) == ["a_b_c.gif", "a_b_c.png"]


@needs_av
def test_ucf101_spec_is_the_test_split_every_10th_video(run, tmp_path, capsys):
    run_dir, _, _ = run
    data, _ = mini_ucf101(tmp_path, groups=2, frames=8)
    for every, expected in ((None, 1), (1, 2)):
        out = tmp_path / f"out{every}"
        args = ["--every", every] if every else []
        assert main("evaluate", run_dir, "--data", f"ucf101:{data}", "--out", out, "--device",
                    "cpu", "--pictures", 0, *args) == 0
        doc = _strict((out / "metrics.json").read_text())
        assert len(doc["videos"]) == expected
        assert doc["videos"][0]["name"] == "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01"


# ------------------------------------------------------------------ the command's files
def _strict(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_command_writes_table_json_csv_and_pictures(run, tmp_path, capsys):
    run_dir, _, _ = run
    out = tmp_path / "out"
    assert main("evaluate", run_dir, "--data", SYNTH, "--out", out, "--device", "cpu",
                "--pictures", 2, "--batch", 2) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[0].startswith("evaluated 3 video(s)") and "(step 1)" in lines[0]
    assert lines[1].split()[:4] == ["method", "frame", "psnr_seed", "psnr_authors"]
    assert [line.split()[:2] for line in lines[2:8]] == [
        ["model", "1"], ["model", "2"], ["copy_last", "1"], ["copy_last", "2"],
        ["flow_extrap", "1"], ["flow_extrap", "2"]]
    # then the model's gain over each baseline, column by column
    assert [line.split()[:4] for line in lines[8:12]] == [
        ["model", "-", "copy_last", "1"], ["model", "-", "copy_last", "2"],
        ["model", "-", "flow_extrap", "1"], ["model", "-", "flow_extrap", "2"]]
    psnr = {row.split()[0] + row.split()[1]: float(row.split()[2]) for row in lines[2:8]}
    for line, baseline, frame in ((8, "copy_last", 1), (11, "flow_extrap", 2)):
        gain = float(lines[line].split()[4])
        assert gain == pytest.approx(psnr[f"model{frame}"] - psnr[f"{baseline}{frame}"], abs=0.011)
    assert "authors:" in lines[12] and "seed:" in lines[12]
    assert "evaluate 3/3" in captured.err

    doc = _strict((out / "metrics.json").read_text())
    assert doc["format"] == "sharpvid-evaluate/1" and doc["step"] == 1
    assert doc["checkpoint"].endswith("step-00000001.pt")
    assert doc["evaluation"]["frames"] == 2 and doc["evaluation"]["data"] == SYNTH
    assert doc["m"] == 4 and doc["n"] == 2 and doc["columns"] == list(COLUMNS)
    assert len(doc["videos"]) == 3 and doc["videos"][0]["name"] == "synthetic-0000"
    assert set(doc["means"]) == set(doc["counts"]) == {"model", "copy_last", "flow_extrap"}
    assert doc["counts"]["copy_last"]["psnr_seed"] == [3, 3]

    rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
    assert len(rows) == 3 * 2 * 3 and list(rows[0])[5:] == list(COLUMNS)
    first = doc["videos"][0]["values"]["copy_last"]["psnr_authors"][1]
    row = next(r for r in rows if r["video"] == "synthetic-0000" and r["frame"] == "2"
               and r["method"] == "copy_last")
    assert float(row["psnr_authors"]) == pytest.approx(first)
    assert np.mean([float(r["ssim_seed"]) for r in rows if r["method"] == "model"
                    and r["frame"] == "1"]) == pytest.approx(doc["means"]["model"]["ssim_seed"][0])

    pictures = sorted(p.name for p in (out / "pictures").iterdir())
    assert pictures == ["synthetic-0000.gif", "synthetic-0000.png", "synthetic-0001.gif",
                        "synthetic-0001.png"]
    from PIL import Image

    with Image.open(out / "pictures" / "synthetic-0000.gif") as gif:
        assert gif.n_frames == 4 + 2
    with Image.open(out / "pictures" / "synthetic-0000.png") as grid:
        assert grid.height > 2 * 40 and grid.width >= 3 * 48  # 2 rows, 3 columns


def test_json_and_csv_write_inf_and_nan_readably():
    result = evaluate(Roller(), [clip_of(shifting()), clip_of(np.repeat(shifting(1), 6, 0), "s")],
                      1)
    doc = _strict(metrics_json(result))
    assert doc["videos"][0]["values"]["model"]["psnr_seed"] == ["inf"]
    assert doc["videos"][1]["values"]["copy_last"]["psnr_seed_moving"] == [None]
    rows = list(csv.DictReader(io.StringIO(metrics_csv(result))))
    assert float(rows[0]["psnr_seed"]) == math.inf
    assert math.isnan(float(rows[3]["psnr_seed_moving"]))


# ------------------------------------------------------------------ bad input
def _fails(capsys, *args, match: str, out: Path | None = None):
    assert main("evaluate", *args) == 2
    captured = capsys.readouterr()
    err = [line for line in captured.err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("sharpvid: error: "), captured.err
    assert match in err[0], err[0]
    if out is not None:
        assert not out.exists() or not any(out.iterdir())


def test_bad_checkpoints(tmp_path, capsys):
    out = tmp_path / "out"
    _fails(capsys, tmp_path / "nothing.pt", "--data", SYNTH, "--out", out,
           match="no such checkpoint", out=out)
    (tmp_path / "empty-run").mkdir()
    _fails(capsys, tmp_path / "empty-run", "--data", SYNTH, "--out", out,
           match="no checkpoint", out=out)
    (tmp_path / "corrupt.pt").write_bytes(b"PK\x03\x04 not really a checkpoint")
    _fails(capsys, tmp_path / "corrupt.pt", "--data", SYNTH, "--out", out,
           match="not a readable checkpoint", out=out)


def test_bad_data(run, tmp_path, capsys):
    run_dir, _, _ = run
    out = tmp_path / "out"
    _fails(capsys, run_dir, "--data", "synthetic:videos=2,frames=5,height=24,width=32",
           "--out", out, match="needs 6 frames (m + n = 4 + 2)", out=out)
    _fails(capsys, run_dir, "--data", "synthetic:videos=2,frames=6,height=24,width=32",
           "--out", out, "--frames", 3, match="needs 7 frames", out=out)
    _fails(capsys, run_dir, "--data", tmp_path / "nowhere", "--out", out,
           match="no such file or folder", out=out)
    write_frames(tmp_path / "tiny", moving_square(8, 10, 12, side=3))
    _fails(capsys, run_dir, "--data", tmp_path / "tiny", "--out", out,
           match="smaller than the 11x11", out=out)
    spec = "synthetic:videos=2,frames=8,height=24,width=32"
    assert main("prepare", spec, "--out", tmp_path / "train", "--clips", 4, "--size", 16) == 0
    capsys.readouterr()
    _fails(capsys, run_dir, "--data", tmp_path / "train", "--out", out,
           match="--split test", out=out)
    assert main("prepare", spec, "--split", "test", "--out", tmp_path / "test5") == 0
    capsys.readouterr()
    _fails(capsys, run_dir, "--data", tmp_path / "test5", "--out", out,
           match="clips have 5 frames, fewer than the 6", out=out)
    _fails(capsys, run_dir, "--data", tmp_path / "test5", "--out", out, "--frames", 1,
           "--frame-range", "0:4", match="--frame-range applies to a source spec", out=out)
    _fails(capsys, run_dir, "--data", SYNTH, "--frame-range", "a:b", "--out", out,
           match="frame range 'a:b'", out=out)


def test_bad_options(run, tmp_path, capsys):
    run_dir, _, _ = run
    out = tmp_path / "out"
    common = (run_dir, "--data", SYNTH, "--out", out)
    _fails(capsys, *common, "--frames", 0, match="--frames must be >= 1", out=out)
    _fails(capsys, *common, "--batch", 0, match="--batch must be >= 1", out=out)
    for k in (4, 1):
        _fails(capsys, *common, "--deblur", "natural", "--kernel-size", k,
               match="--kernel-size must be an odd integer >= 3", out=out)
    _fails(capsys, *common, "--mask-threshold", -1, match="--mask-threshold", out=out)
    _fails(capsys, run_dir, "--data", "synthetic:videos=1,frames=8,height=24,width=32",
           "--out", out, "--frames", 1, "--deblur", "text", "--kernel-size", 31,
           match="kernel_size 31 is larger than the 24x32 image", out=out)
    if not torch.cuda.is_available():
        _fails(capsys, *common, "--device", "cuda", match="no CUDA device", out=out)


def test_out_not_writable(run, tmp_path, capsys, monkeypatch):
    run_dir, _, _ = run
    (tmp_path / "file").write_text("x")
    _fails(capsys, run_dir, "--data", SYNTH, "--out", tmp_path / "file",
           match="exists and is not a folder")
    _fails(capsys, run_dir, "--data", SYNTH, "--out", tmp_path / "file" / "out",
           match="is not a folder")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if os.geteuid() == 0:  # root (CI) writes anywhere: access(2) answers as for a user
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: (
            Path(path) != locked and real_access(path, mode, **kw)))
    _fails(capsys, run_dir, "--data", SYNTH, "--out", locked / "out", match="not writable")
    assert not (locked / "out").exists()
    locked.chmod(0o700)
    assert (tmp_path / "file").read_text() == "x"


def test_library_errors(run):
    _, g, _ = run
    with pytest.raises(EvaluateError, match="n \\(frames to predict\\) must be >= 1"):
        evaluate(g, [clip_of(shifting())], 0)
    with pytest.raises(EvaluateError, match="1 channel\\(s\\), the generator takes 3"):
        evaluate(g, [clip_of(moving_square(6, 24, 32, channels=1))], 1)
    with pytest.raises(EvaluateError, match="no usable clip"):
        evaluate(g, [], 1)


def test_without_data_the_runs_held_out_frames_are_scored_and_training_frames_are_refused(
        tmp_path, capsys):
    spec = "synthetic:videos=2,frames=20,height=24,width=32"
    run_dir, _, _ = make_run(tmp_path / "run", [f"data={spec}", "frame_range=0:0.6",
                                                f"val_data={spec}", "val_frame_range=0.6:1"])
    assert main("evaluate", run_dir, "--out", tmp_path / "a", "--device", "cpu",
                "--pictures", 0) == 0
    table = capsys.readouterr().out
    assert "model - copy_last" in table
    meta = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert meta["evaluation"]["data"] == spec and meta["evaluation"]["frame_range"] == "0.6:1"
    # the held-out source named without its range gets the run's held-out range
    assert main("evaluate", run_dir, "--data", spec, "--out", tmp_path / "b", "--device", "cpu",
                "--pictures", 0) == 0
    assert (tmp_path / "a" / "metrics.csv").read_text() == (tmp_path / "b" / "metrics.csv").read_text()
    # the training source without a range would score training frames: one line, exit 2
    run2, _, _ = make_run(tmp_path / "run2", [f"data={spec}", "frame_range=0:0.6"])
    capsys.readouterr()
    assert main("evaluate", run2, "--data", spec, "--out", tmp_path / "c") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scores the frames the run trained on" in err
    assert main("evaluate", run2, "--out", tmp_path / "c") == 2
    assert "names no held-out data" in capsys.readouterr().err
