"""``sharpvid prepare`` on every kind of source, resume after a kill, reading the shards back,
and every bad input's one-line error."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sharpvid.fast.video.shards as shards
from sharpvid.fast import cli
from sharpvid.fast.video.clips import ClipConfig, ClipLoader
from sharpvid.fast.video.shards import PrepareConfig, ShardClips, prepare
from sharpvid.fast.video.sources import DataError
from videodata import mini_ucf101, moving_square, needs_av, needs_samples, write_frames, write_video

SYNTH = "synthetic:videos=5,frames=12,height=32,width=32"


def run_cli(*args) -> tuple[int, str, str]:
    """``sharpvid prepare ARGS`` in this process (a subprocess would import torch again)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["prepare", *map(str, args)])
    return status, out.getvalue(), err.getvalue()


def files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_synthetic_train_clips_and_index(tmp_path, capsys):
    out = tmp_path / "synth"
    assert cli.main(["prepare", SYNTH, "--out", str(out), "--clips", "50", "--size", "16",
                     "--shard-clips", "20"]) == 0
    assert "prepared 50 train clip(s) from 3 unit(s)" in capsys.readouterr().out
    clips = ShardClips(out)
    assert len(clips) == 50 and clips.shape == (5, 3, 16, 16)
    index = json.loads((out / "prepare.json").read_text())
    assert index["config"]["clip"]["size"] == 16 and index["config"]["sources"] == [SYNTH]
    records = clips.records()
    assert len(records) == 50 and {r["video"] for r in records} == {f"synthetic-{i:04d}" for i in range(5)}
    # each record says where its clip came from
    from sharpvid.fast.video.sources import open_source

    r, clip = records[7], clips.take([7])[0]
    video = open_source(SYNTH)[int(r["video"][-4:])].read()
    np.testing.assert_array_equal(
        clip, video[r["frame"] : r["frame"] + 5, r["row"] : r["row"] + 16, r["col"] : r["col"] + 16]
        .transpose(0, 3, 1, 2))
    assert np.mean([r["moved"] for r in records]) > 0.8


def test_resume_after_a_kill_is_byte_identical(tmp_path, monkeypatch):
    cfg = PrepareConfig(sources=(SYNTH,), clips=60, clip=ClipConfig(size=16), shard_clips=10)
    prepare(cfg, tmp_path / "whole", progress=False)
    real, calls = shards._run_unit, []

    def killed_on_the_fourth(*args):
        calls.append(args[3])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(*args)

    monkeypatch.setattr(shards, "_run_unit", killed_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        prepare(cfg, tmp_path / "resumed", progress=False)
    monkeypatch.setattr(shards, "_run_unit", real)
    done = json.loads((tmp_path / "resumed" / "prepare.json").read_text())["done"]
    assert sorted(done) == ["0", "1", "2"]
    with pytest.raises(DataError, match="unfinished"):
        ShardClips(tmp_path / "resumed")
    # a hard kill can also leave a temporary file, or a unit written but not yet indexed
    (tmp_path / "resumed" / ".clips-00003.npy.x1y2.tmp").write_bytes(b"half")
    real(shards.open_prepared_source(cfg), cfg, tmp_path / "resumed", 3,
         shards.plan_units(cfg, [12] * 5)[3])
    prepare(cfg, tmp_path / "resumed", progress=False)
    whole, resumed = files(tmp_path / "whole"), files(tmp_path / "resumed")
    resumed.pop(".clips-00003.npy.x1y2.tmp")
    assert whole == resumed


def test_workers_do_not_change_the_result(tmp_path):
    cfg = PrepareConfig(sources=(SYNTH,), clips=40, clip=ClipConfig(size=16), shard_clips=10)
    prepare(cfg, tmp_path / "one", progress=False)
    prepare(cfg, tmp_path / "two", workers=2, progress=False)
    assert files(tmp_path / "one") == files(tmp_path / "two")


def test_shards_feed_the_loader_deterministically(tmp_path):
    cfg = PrepareConfig(sources=(SYNTH,), clips=30, clip=ClipConfig(size=16), shard_clips=8)
    prepare(cfg, tmp_path / "p", progress=False)
    clips = ShardClips(tmp_path / "p")
    # one epoch visits every clip once; batch 7 of 4 straddles epochs 0 and 1
    epoch = np.concatenate([clips.batch(k, 5, seed=3) for k in range(6)])
    everything = clips.take(np.arange(30))
    assert sorted(map(bytes, epoch)) == sorted(map(bytes, everything))
    assert clips.batch(7, 4, seed=3).shape == (4, 5, 3, 16, 16)
    a = list(ClipLoader(clips, 4, seed=3, batches=5, workers=2))
    b = list(ClipLoader(ShardClips(tmp_path / "p"), 4, seed=3, batches=5))
    assert all((x == y).all() for x, y in zip(a, b, strict=True))
    assert a[0].min() >= -1 and a[0].max() <= 1


def test_frame_folder_and_test_split(tmp_path):
    write_frames(tmp_path / "frames" / "a", moving_square(14))
    write_frames(tmp_path / "frames" / "b", moving_square(9, seed=2, cut_at=3))
    status, out, err = run_cli(tmp_path / "frames", "--out", tmp_path / "train", "--clips", 12,
                               "--size", 24)
    assert status == 0, err
    assert len(ShardClips(tmp_path / "train")) == 12
    status, out, err = run_cli(tmp_path / "frames", "--out", tmp_path / "test", "--split", "test")
    assert status == 0, err
    test = ShardClips(tmp_path / "test")
    assert len(test) == 2 and test.shape == (5, 3, 40, 48)
    records = test.records()
    # a: 14 frames, one shot: centred; b: a cut at 3, the shot 3:9 holds the clip, centred
    assert [r["frame"] for r in records] == [(14 - 5) // 2, 3 + (6 - 5) // 2]
    np.testing.assert_array_equal(test.take([0])[0], moving_square(14)[4:9].transpose(0, 3, 1, 2))


@needs_av
def test_video_file_with_held_apart_frames(tmp_path):
    path = write_video(tmp_path / "clip.avi", moving_square(30, 48, 64))
    assert run_cli(path, "--out", tmp_path / "train", "--clips", 10, "--frame-range", "0:0.7")[0] == 0
    assert run_cli(path, "--out", tmp_path / "test", "--split", "test",
                   "--frame-range", "0.7:1")[0] == 0
    assert max(r["frame"] for r in ShardClips(tmp_path / "train").records()) <= 21 - 5
    assert ShardClips(tmp_path / "test").records()[0]["frame"] == 2  # of frames 21:30


@needs_av
def test_mini_ucf101_train_and_authors_test(tmp_path):
    root, _ = mini_ucf101(tmp_path, groups=3)
    assert run_cli(f"ucf101:{root}", "--out", tmp_path / "train", "--clips", 8, "--size", 16)[0] == 0
    train = ShardClips(tmp_path / "train")
    assert {r["video"].split("/")[0] for r in train.records()} == {"ApplyEyeMakeup", "HandstandPushups"}
    assert all("_g01_" not in r["video"] for r in train.records())  # group 1 is the test split
    status, out, err = run_cli(f"ucf101:{root}", "--out", tmp_path / "test", "--split", "test")
    assert status == 0, err
    index = json.loads((tmp_path / "test" / "prepare.json").read_text())
    assert index["config"]["every"] == 10  # the authors' protocol: videos 0, 10, ... of the list
    assert [r["video"] for r in ShardClips(tmp_path / "test").records()] == [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01"]


@needs_samples
def test_sample_footage(tmp_path):
    status, out, err = run_cli("samples:carphone_pristine,bikes", "--out", tmp_path / "s",
                               "--clips", 40, "--workers", 2)
    assert status == 0, err
    records = ShardClips(tmp_path / "s").records()
    cuts = (30, 76, 137, 187, 242)
    for r in records:
        if r["video"] == "bikes":  # no clip spans one of bikes' scene cuts
            assert not any(r["frame"] < c < r["frame"] + 5 for c in cuts)
    assert "ETA" in err and "clips/s" in err


# ------------------------------------------------------------------ bad input
def one_line_error(status, out, err) -> str:
    assert status == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sharpvid: error: "), err
    return lines[0]


def test_another_configuration_is_refused(tmp_path):
    out = tmp_path / "p"
    assert run_cli(SYNTH, "--out", out, "--clips", 10, "--size", 16)[0] == 0
    before = files(out)
    line = one_line_error(*run_cli(SYNTH, "--out", out, "--clips", 10, "--size", 24))
    assert "holds clips prepared with another configuration (clip.size 16 there, 24 now)" in line
    assert files(out) == before
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / "clips-00000.npy").write_bytes(b"x")
    line = one_line_error(*run_cli(SYNTH, "--out", tmp_path / "stray"))
    assert "holds clip files but no prepare.json" in line


def test_no_motion_says_the_threshold_and_the_best_found(tmp_path):
    write_frames(tmp_path / "still", np.repeat(moving_square(1), 8, axis=0))
    line = one_line_error(*run_cli(tmp_path / "still", "--out", tmp_path / "o", "--size", 16))
    assert "no crop passes the motion filter (threshold 25, best motion found 0 in 400 tries)" in line
    assert "lower --threshold" in line


@pytest.mark.parametrize("args, message", [
    (["--clips", "0"], "--clips must be >= 1, got 0"),
    (["--frames", "1"], "--frames must be >= 2, got 1"),
    (["--every", "0"], "--every must be >= 1, got 0"),
    (["--seed", "-1"], "--seed must be >= 0, got -1"),
    (["--frame-range", "half"], "frame range 'half': expected LO:HI"),
    (["--frames", "20"], "synthetic-0000 (synthetic, seed 0): 12 frames, fewer than the 20 (m + n)"),
    (["--size", "40"], "frames of 32x32 are smaller than the 40x40 crop"),
])
def test_bad_values(tmp_path, args, message):
    assert message in one_line_error(*run_cli(SYNTH, "--out", tmp_path / "o", *args))


def test_bad_sources(tmp_path):
    assert "nowhere: no such file or folder" in one_line_error(
        *run_cli(tmp_path / "nowhere", "--out", tmp_path / "o"))
    (tmp_path / "empty").mkdir()
    assert "empty: folder is empty" in one_line_error(*run_cli(tmp_path / "empty", "--out", tmp_path / "o"))
    assert not (tmp_path / "o").exists()  # nothing written before the checks pass


def test_help_has_an_example():
    proc = subprocess.run([sys.executable, "-m", "sharpvid.fast.cli", "prepare", "--help"],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "sharpvid prepare synthetic --out" in proc.stdout


@needs_av
def test_authors_protocol_on_a_longer_test_list(tmp_path):
    root, _ = mini_ucf101(tmp_path, groups=7, frames=6, size=(16, 16), test_groups=6)  # 12 test
    assert run_cli(f"ucf101:{root}", "--out", tmp_path / "test", "--split", "test")[0] == 0
    videos = [r["video"] for r in ShardClips(tmp_path / "test").records()]
    # list order: ApplyEyeMakeup g01..g06, then HandstandPushups g01..g06; every 10th: 0 and 10
    assert videos == ["ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01",
                      "HandstandPushups/v_HandstandPushups_g05_c01"]  # named as the list spells it


def test_resume_refuses_a_changed_source_and_redoes_missing_units(tmp_path):
    write_frames(tmp_path / "v" / "a", moving_square(12))
    write_frames(tmp_path / "v" / "b", moving_square(12, seed=1))
    args = (tmp_path / "v", "--out", tmp_path / "p", "--clips", 20, "--size", 16, "--shard-clips", 5)
    assert run_cli(*args)[0] == 0
    before = files(tmp_path / "p")
    (tmp_path / "p" / "clips-00001.npy").unlink()  # listed, but lost
    assert run_cli(*args)[0] == 0
    assert files(tmp_path / "p") == before
    write_frames(tmp_path / "v" / "c", moving_square(12, seed=2))
    line = one_line_error(*run_cli(*args))
    assert "the source has changed since these clips were prepared (2 videos there, 3 now)" in line
    assert files(tmp_path / "p") == before


def test_a_video_without_a_long_enough_shot_is_left_out_with_a_warning(tmp_path):
    write_frames(tmp_path / "v" / "a", moving_square(12))
    write_frames(tmp_path / "v" / "b", moving_square(8, seed=1, cut_at=4))  # shots of 4 and 4
    status, out, err = run_cli(tmp_path / "v", "--out", tmp_path / "p", "--clips", 10, "--size", 16)
    assert status == 0, err
    assert "warning:" in err and "no shot of 5 frames" in err and "5 clip(s) are left out" in err
    assert len(ShardClips(tmp_path / "p")) == 5


def test_damaged_index_and_unwritable_output_are_one_line_errors(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "prepare.json").write_text('{"format": "sharpvid-clips/1"}')
    assert "not a sharpvid prepare index" in one_line_error(*run_cli(SYNTH, "--out", tmp_path / "p"))
    (tmp_path / "file").write_text("x")
    line = one_line_error(*run_cli(SYNTH, "--out", tmp_path / "file" / "sub", "--size", 16))
    assert "cannot write" in line


def test_prepared_files_are_readable_by_others(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        assert run_cli(SYNTH, "--out", tmp_path / "p", "--clips", 5, "--size", 16)[0] == 0
    finally:
        os.umask(old)
    for path in (tmp_path / "p").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path
