"""``sharpvid pretrain-blur-detector``: CIFAR-10 batches decode right, D2 learns to tell sharp
from blurred on held-out images, its checkpoint holds D2's weights for ``train --init_d2``, video
sources work, and every bad input is one line."""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import sharpvid.fast.blur_detector
from sharpvid.fast import cli
from sharpvid.fast.blur import BLURS, bilateral_blur, blurred, gaussian_blur, median_blur
from sharpvid.fast.blur_detector import (blur_accuracy, build_blur_detector, load_images,
                                         read_cifar10, source_images)
from sharpvid.fast.checkpoint import FORMAT, load_state
from sharpvid.fast.config import config_from_dict, load_config

SYNTH = "synthetic:videos=3,frames=8,height=40,width=40"
# Adam learns the tiny D2 in a few dozen steps; one thread: fast on a busy machine
FAST = ("--d_optimizer=adam", "--d_lr=2e-3", "--threads=1", "--quiet")


def cli_main(argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(["pretrain-blur-detector", *map(str, args)])
    return status, out.getvalue(), err.getvalue()


def textures(n: int, seed: int) -> np.ndarray:
    """uint8 ``(n, 3, 32, 32)`` checkerboards (cells of 2-4 pixels, two random colours) with a
    fine grain: edges every blur softens, and grain the median and bilateral filters remove."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:32, :32]
    out = np.empty((n, 3, 32, 32), np.uint8)
    for i in range(n):
        cell = int(rng.integers(2, 5))
        board = ((yy // cell + xx // cell) % 2).astype(float)
        dark, light = rng.uniform(30, 100, 3), rng.uniform(155, 225, 3)
        image = dark[:, None, None] + (light - dark)[:, None, None] * board
        image += rng.uniform(-20, 20, (3, 32, 32))
        out[i] = np.clip(np.rint(image), 0, 255)
    return out


def write_batch(path: Path, images: np.ndarray, numpy1_names: bool = False) -> None:
    """A CIFAR-10 python batch: a pickled dict, ``b'data'`` uint8 (N, 3072) R, G, B planes."""
    table = {b"batch_label": b"test", b"labels": [0] * len(images),
             b"data": images.reshape(len(images), -1), b"filenames": [b"x.png"] * len(images)}
    blob = pickle.dumps(table, protocol=2)
    if numpy1_names:  # as the original files (Python 2, NumPy 1) name NumPy's reconstructor
        blob = blob.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    path.write_bytes(blob)


def cifar_folder(folder: Path, train: np.ndarray, test: np.ndarray | None,
                 per_batch: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(0, len(train), per_batch):
        write_batch(folder / f"data_batch_{k // per_batch + 1}", train[k : k + per_batch])
    if test is not None:
        write_batch(folder / "test_batch", test)
    return folder


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def test_read_cifar10_decodes_the_planar_layout(tmp_path):
    rows = np.zeros((5, 3072), np.uint8)
    rows[1, 0 * 1024 + 2 * 32 + 7] = 11  # red plane, row 2, column 7
    rows[1, 1 * 1024 + 2 * 32 + 7] = 22  # green
    rows[1, 2 * 1024 + 31 * 32 + 0] = 33  # blue, row 31, column 0
    rows[3, 5] = 44  # image 3 is the first of the second batch
    write_batch(tmp_path / "data_batch_1", rows[:3].reshape(3, 3, 32, 32), numpy1_names=True)
    write_batch(tmp_path / "data_batch_2", rows[3:].reshape(2, 3, 32, 32))
    images = read_cifar10(tmp_path, 4)
    assert images.dtype == np.uint8 and images.shape == (4, 3, 32, 32)
    assert images[1, :, 2, 7].tolist() == [11, 22, 0] and images[1, 2, 31, 0] == 33
    assert images[3, 0, 0, 5] == 44 and int(images.astype(int).sum()) == 11 + 22 + 33 + 44
    assert len(read_cifar10(tmp_path, 2)) == 2  # data_batch_2 not needed, not read
    # no test_batch: the held-out images are the ones after the first n
    train, test, where = load_images(f"cifar10:{tmp_path}", 3, 2)
    assert np.array_equal(test, read_cifar10(tmp_path, 5)[3:]) and "3:5" in where


def test_blurred_applies_each_images_own_blur():
    cfg = load_config("tiny", ["blur_size=3", "blur_variance=2"])
    x = torch.from_numpy(textures(4, 0)).float() / 127.5 - 1
    y = blurred(x, ["median", 0, "bilateral", "gaussian"], cfg)
    torch.testing.assert_close(y[0], median_blur(x[0], 3))
    torch.testing.assert_close(y[1], gaussian_blur(x[1], 3, 2.0))
    torch.testing.assert_close(y[2], bilateral_blur(x[2], 3))
    torch.testing.assert_close(y[3], gaussian_blur(x[3], 3, 2.0))
    with pytest.raises(ValueError, match="unknown blur 'motion'"):
        blurred(x[:1], ["motion"], cfg)


def test_source_crops_are_counter_based_and_held_out_from_other_videos():
    train, test, where = source_images(SYNTH, 12, 5, seed=3)
    assert train.shape == (12, 3, 32, 32) and test.shape == (5, 3, 32, 32)
    assert "last 1 of 3 videos" in where
    again, _, _ = source_images(SYNTH, 14, 5, seed=3)
    assert np.array_equal(again[:12], train)  # crop i depends on (seed, i) alone
    assert not np.array_equal(source_images(SYNTH, 12, 5, seed=4)[0], train)
    one = source_images("synthetic:videos=1,frames=10,height=32,width=48", 4, 4)
    assert "frames 8:10" in one[2] and one[1].shape == (4, 3, 32, 32)
    assert "frames 2:3" in source_images("synthetic:videos=1,frames=3", 1, 1)[2]


def test_docstring_examples():
    result = doctest.testmod(sharpvid.fast.blur_detector, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------------------------


def test_pretrained_detector_beats_chance_and_its_checkpoint_holds_d2(tmp_path):
    data = cifar_folder(tmp_path / "cifar", textures(96, 0), textures(64, 1), per_batch=48)
    out = tmp_path / "d2"
    status, stdout, err = run_cli("tiny", "--data", f"cifar10:{data}", "--images", 96,
                                  "--held-out", 64, "--steps", 60, "--batch", 16, "--out", out,
                                  *FAST)
    assert status == 0, err
    assert "| median | blurry |" in stdout and "--init_d2" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    acc = metrics["accuracy"]
    assert set(acc) == {"sharp", *BLURS, "overall"}
    assert acc["overall"] > 0.6 and acc["gaussian"] > 0.9, acc
    assert metrics["images"] == 96 and metrics["held_out"] == 64
    assert metrics["held_out_from"].endswith("test_batch")

    path = out / "checkpoints" / "step-00000060.pt"
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert state["format"] == FORMAT and state["step"] == 60 and state["kind"] == "blur-detector"
    assert "generator" not in state and list(state["critics"]) == ["blur"]
    assert state["pretrain"]["accuracy"] == acc and state["pretrain"]["data"] == f"cifar10:{data}"
    cfg = config_from_dict(state["config"])
    assert (cfg.d_optimizer, cfg.batch, cfg.threads) == ("adam", 16, 1)
    # the weights are D2's as `train` builds it, and give the recorded accuracies again
    d2 = build_blur_detector(cfg)
    own = d2.state_dict()
    assert {k: v.shape for k, v in state["critics"]["blur"].items()} == \
        {k: v.shape for k, v in own.items()}
    load_state(d2, state["critics"]["blur"], "blur detector", path)
    assert blur_accuracy(d2, textures(64, 1), cfg) == acc

    # the folder now holds a run: refused, then overwritten with --force
    status, _, err = run_cli("tiny", "--data", f"cifar10:{data}", "--images", 96, "--held-out",
                             64, "--steps", 2, "--out", out, *FAST)
    assert status == 2 and err.count("\n") == 1 and "holds another run" in err
    assert run_cli("tiny", "--data", f"cifar10:{data}", "--images", 96, "--held-out", 64,
                   "--steps", 2, "--out", out, "--force", *FAST)[0] == 0
    assert [p.name for p in (out / "checkpoints").iterdir()] == ["step-00000002.pt"]


def test_pretrains_on_a_video_source(tmp_path):
    out = tmp_path / "d2"
    status, stdout, err = run_cli("tiny", "--data", SYNTH, "--images", 32, "--held-out", 16,
                                  "--steps", 4, "--out", out, *FAST)
    assert status == 0, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == SYNTH and metrics["held_out"] == 16
    assert set(metrics["accuracy"]) == {"sharp", *BLURS, "overall"}
    assert (out / "checkpoints" / "step-00000004.pt").is_file()
    # the seed's step: only D2 is initialised from the pretraining, G and D1 as usual
    run = tmp_path / "run"
    status, stdout, err = cli_main(["train", "tiny", "--out", str(run), f"--data={SYNTH}",
                                    "--steps=1", "--blur_detector=true", "--freeze_d2=true",
                                    "--init_d2", str(out), "--quiet", "--threads=1"])
    assert status == 0, err
    pretrained = torch.load(out / "checkpoints" / "step-00000004.pt", weights_only=True)
    trained = torch.load(run / "checkpoints" / "step-00000001.pt", weights_only=True)
    for key, value in pretrained["critics"]["blur"].items():
        torch.testing.assert_close(trained["critics"]["blur"][key], value, rtol=0, atol=0)


def test_bad_input_is_one_line(tmp_path):
    good = cifar_folder(tmp_path / "good", textures(8, 0), textures(4, 1), per_batch=8)
    damaged = cifar_folder(tmp_path / "damaged", textures(8, 0), None, per_batch=8)
    blob = (damaged / "data_batch_1").read_bytes()
    (damaged / "data_batch_1").write_bytes(blob[: len(blob) // 2])
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "data_batch_1").write_bytes(pickle.dumps({b"data": contextlib.ExitStack}))
    cases = [
        (("--data", f"cifar10:{tmp_path / 'missing'}"), "missing: no such folder"),
        (("--data", f"cifar10:{damaged}"), "data_batch_1: not a readable CIFAR-10 batch"),
        (("--data", f"cifar10:{hostile}"), "refusing to load contextlib.ExitStack"),
        (("--data", f"cifar10:{good}", "--images", 12), "data_batch_2: no such CIFAR-10 batch"),
        (("--data", f"cifar10:{good}", "--held-out", 5), "4 images in test_batch"),
        (("--data", f"cifar10:{good}", "--patch=64"), "patch must be 32, got 64"),
        (("--data", f"cifar10:{good}", "--stpes=3"), "unknown config key 'stpes'"),
        (("--data", str(tmp_path / "nothing")), "nothing: no such file or folder"),
    ]
    for args, message in cases:
        defaults = ("--images", 8, "--held-out", 4)
        status, out, err = run_cli("tiny", *defaults, *args, "--steps", 1,
                                   "--out", tmp_path / "out", *FAST)
        assert status == 2, (args, err)
        assert err.count("\n") == 1 and message in err, (args, err)
        assert not (tmp_path / "out").exists()
    status, _, err = run_cli("nosuch", "--out", tmp_path / "out", "--quiet")
    assert status == 2 and "unknown config 'nosuch'" in err
