"""Multi-process training through ``torchrun`` + DistributedDataParallel on the gloo backend
(CPU): two ranks, each with its own data stream, stay in sync and train exactly what one process
trains on the same global batch (the union of the two streams), and every rank leaves the process
group with no thread of it running, on success and on failure (a gloo thread still running at
interpreter exit aborted runs at random; ``benchmarks/stress_ddp_exit.py`` counts exits)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from sharpvid.fast.checkpoint import load_checkpoint
from sharpvid.fast.config import load_config
from sharpvid.fast.training.loop import Trainer
from sharpvid.fast.training.data import training_clips
from sharpvid.fast.video.clips import StreamUnion

DATA = "synthetic:videos=3,frames=12,height=32,width=32"
# fast_math off: the ranks are subprocesses, which see the real CPU (not conftest's CPU without
# native bf16), and on an AVX512-BF16 or AMX CPU auto would put them in bf16 while the
# one-process run beside them stays float32
COMMON = [f"--data={DATA}", "--steps=3", "--log_every=1", "--sample_every=0", "--val_every=0",
          "--checkpoint_every=3", "--fast_math=off"]


# Imported by every rank through PYTHONPATH: at exit (after sharpvid's own shutdown, before the
# interpreter's teardown) it writes the names of the process's threads to THREADS_DIR/rank-R.
_THREADS_AT_EXIT = """
import atexit, os

def _write_threads():
    names = []
    for tid in sorted(os.listdir("/proc/self/task")):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    with open(os.path.join(os.environ["THREADS_DIR"], "rank-" + os.environ["RANK"]), "w") as f:
        f.write("\\n".join(names))

if "RANK" in os.environ and "THREADS_DIR" in os.environ:
    atexit.register(_write_threads)
"""


def _torchrun(tmp_path: Path, run: Path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Two gloo ranks of ``sharpvid train tiny``; returns the process and each rank's threads
    at exit (``{rank: [thread names]}``)."""
    hook, threads = tmp_path / "hook", tmp_path / "threads"
    hook.mkdir()
    threads.mkdir()
    (hook / "sitecustomize.py").write_text(_THREADS_AT_EXIT)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "THREADS_DIR": str(threads),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(hook), os.environ.get("PYTHONPATH")]))}
    env.pop("WORLD_SIZE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "sharpvid.fast.cli", "train", "tiny", "--out", str(run), "--quiet", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True)  # a hung rank is killed with its launcher, not left behind
    try:
        out, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    ranks = {int(f.name.split("-")[1]): f.read_text().split("\n") for f in threads.iterdir()}
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), ranks


def _no_gloo_thread(ranks: dict, err: str) -> None:
    assert sorted(ranks) == [0, 1], err[-3000:]
    for rank, names in ranks.items():
        assert not [n for n in names if "gloo" in n], (rank, names)


def _lines(run: Path) -> list[dict]:
    drop = ("time", "steps_per_s", "samples_per_s")
    return [{k: v for k, v in d.items() if k not in drop}
            for d in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if d["kind"] == "train"]


@pytest.mark.parametrize("n", [1, 2])
def test_two_gloo_ranks_match_one_process_on_the_global_batch(tmp_path, n):
    run = tmp_path / "ddp"
    # bare key=value: torchrun's own parser would take --n=... for --nnodes
    proc, ranks = _torchrun(tmp_path, run, "batch=2", f"n={n}", *(c[2:] for c in COMMON))
    assert proc.returncode == 0, proc.stderr[-3000:]
    _no_gloo_thread(ranks, proc.stderr)

    cfg = load_config("tiny", [c[2:] for c in COMMON] + ["batch=4", f"n={n}"])
    single = Trainer(cfg, tmp_path / "single", progress=False,
                     clips=StreamUnion(training_clips(cfg), 2))
    single.fit()

    a, b = _lines(run), _lines(tmp_path / "single")
    assert [d["step"] for d in a] == [1, 2, 3]
    for da, db in zip(a, b):
        for key, value in db.items():
            if isinstance(value, float):
                assert da[key] == pytest.approx(value, rel=1e-4, abs=1e-6), (key, da, db)
    ddp = load_checkpoint(run)
    assert ddp["world"] == 2
    for key, value in single.g.state_dict().items():
        torch.testing.assert_close(ddp["generator"][key], value, rtol=1e-4, atol=1e-6)
    for key, value in single.critics[0].module.state_dict().items():
        torch.testing.assert_close(ddp["critics"]["d"][key], value, rtol=1e-4, atol=1e-6)


def test_a_failed_checkpoint_write_stops_every_rank_with_its_error(tmp_path):
    """Rank 0 writes the checkpoints; when it cannot, rank 1 gets the same one-line error instead
    of waiting in the next collective.  Both say it before either exits (torchrun stops the
    other ranks as soon as one exits non-zero: before, rank 1's line was lost one run in eight),
    and both exit with status 2, leaving no gloo thread behind."""
    run = tmp_path / "ddp"
    run.mkdir()
    (run / "checkpoints").write_text("a file where the checkpoint folder should be")
    proc, ranks = _torchrun(tmp_path, run, "batch=2", *(c[2:] for c in COMMON))
    err = proc.stderr
    assert proc.returncode != 0
    errors = [line for line in err.splitlines()
              if line.startswith("sharpvid: error:") and "cannot write a checkpoint" in line]
    assert len(errors) == 2, err[-3000:]  # one line from each rank
    assert "terminate called" not in err
    _no_gloo_thread(ranks, err)
