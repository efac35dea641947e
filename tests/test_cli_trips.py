"""What a newcomer trips on, each tried as a new user would: ``--key value`` overrides, short list
values, a file that is not a checkpoint, and a second writer in a run folder."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sharpvid.fast.checkpoint import LOCK_NAME, RunFolderBusy, RunLock
from test_train import DATA, run_cli

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TRAIN = ("train", "tiny", f"--data={DATA}", "--sample_every=0", "--val_every=0", "--quiet")


def test_key_space_value_is_an_override_like_key_equals_value(tmp_path):
    status, out, err = run_cli(*TRAIN, "--steps", "1", "--out", tmp_path / "run",
                               "--fast-math", "off")
    assert status == 0, err
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (cfg["steps"], cfg["fast_math"]) == (1, "off")
    # --resume RUN --steps 2: the value is not taken for the CONFIG positional
    status, out, err = run_cli("train", "--resume", tmp_path / "run", "--steps", "2", "--quiet")
    assert status == 0, err
    assert "from step 1 to 2" in out


def test_a_short_list_value_is_a_one_line_error(tmp_path):
    status, out, err = run_cli(*TRAIN, "--steps=1", "--real_label_range=[0.7]", "--out",
                               tmp_path / "run")
    assert status == 2
    assert err == "sharpvid: error: real_label_range must be a list of 2 values, " \
                  "got [0.7]\n"


class _Payload:
    """Not something a checkpoint holds: unpickling it would run code of the file's choosing."""


def test_a_pickle_that_is_not_a_checkpoint_is_named_so_and_never_advised_to_unpickle(tmp_path):
    import torch

    garbage = tmp_path / "garbage.pt"
    torch.save({"weights": _Payload()}, garbage)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_Payload))
    text = tmp_path / "text.pt"
    text.write_text("hello")
    for path, expected in ((garbage, "not a sharpvid checkpoint (it holds Python objects"),
                           (raw, "not a readable checkpoint (not a torch file: "),
                           (text, "not a readable checkpoint (not a torch file")):
        status, out, err = run_cli("evaluate", path, "--data", DATA, "--out", tmp_path / "e")
        assert status == 2 and err.count("\n") == 1, err
        assert err.startswith(f"sharpvid: error: {path}: {expected}")
        assert "weights_only" not in err and "torch.load" not in err and "Warning" not in err


def _holder(run: Path) -> subprocess.Popen:
    """Another process that takes the run folder's lock and keeps it until killed."""
    proc = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from sharpvid.fast.checkpoint import RunLock; lock = RunLock(sys.argv[2]).acquire();"
        "print('held', flush=True); time.sleep(120)"), str(Path(__file__).parents[1]), str(run)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _free_within(run: Path, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            RunLock(run).acquire().release()
            return
        except RunFolderBusy:
            assert time.monotonic() < deadline
            time.sleep(0.05)


def test_run_lock_is_one_writer_process_and_a_dead_holder_holds_nothing(tmp_path):
    run = tmp_path / "run"
    first = RunLock(run).acquire()
    assert (run / LOCK_NAME).read_text() == f"{os.getpid()}\n"
    second = RunLock(run).acquire()  # the same process: shared, not refused
    first.release()
    probe = subprocess.run([sys.executable, "-c", (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from sharpvid.fast.checkpoint import RunLock, RunFolderBusy\n"
        "try:\n    RunLock(sys.argv[2]).acquire()\nexcept RunFolderBusy as e:\n    print(e)"),
        str(Path(__file__).parents[1]), str(run)], capture_output=True, text=True)
    assert f"another sharpvid process (PID {os.getpid()}) is writing this run folder" in \
        probe.stdout  # still held by `second`
    second.release()
    # a process killed while holding the lock leaves the file, not the lock
    holder = _holder(run)
    try:
        with pytest.raises(RunFolderBusy, match=rf"^{run}: another sharpvid process \(PID "
                                                rf"{holder.pid}\) is writing this run folder"):
            RunLock(run).acquire()
    finally:
        holder.kill()
        holder.wait()
    assert (run / LOCK_NAME).read_text().strip() == str(holder.pid)  # the file stays ...
    _free_within(run)  # ... but the OS dropped the lock with its process


def test_a_second_train_in_a_busy_run_folder_is_one_line_naming_the_holder(tmp_path):
    run = tmp_path / "run"
    status, _, err = run_cli(*TRAIN, "--steps=1", "--out", run)
    assert status == 0, err
    holder = _holder(run)  # as a first `sharpvid train --resume` still training would
    try:
        status, out, err = run_cli("train", "--resume", run, "--steps=2", "--quiet")
    finally:
        holder.kill()
        holder.wait()
    assert status == 2
    assert err == (f"sharpvid: error: {run}: another sharpvid process (PID {holder.pid}) is "
                   f"writing this run folder; wait for it to end or stop it, or give another "
                   f"folder\n")
    # nothing of the first run was touched: its checkpoint and config are as they were
    assert json.loads((run / "config.json").read_text())["steps"] == 1
    _free_within(run)
    status, out, err = run_cli("train", "--resume", run, "--steps=2", "--quiet")
    assert status == 0, err


@pytest.mark.parametrize("spelling", [["--vgg19_weights", "w.pth"], ["--vgg19-weights", "w.pth"],
                                      ["--vgg19-weights=w.pth"], ["--vgg19_weights=w.pth"]])
def test_every_key_takes_hyphens_or_underscores(tmp_path, spelling):
    status, out, err = run_cli(*TRAIN, "--steps", "1", *spelling, "--out", tmp_path / "run")
    assert status == 0, err
    assert json.loads((tmp_path / "run" / "config.json").read_text())["vgg19_weights"] == "w.pth"
