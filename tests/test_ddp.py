"""Multi-process training through ``torchrun`` + DistributedDataParallel on the gloo backend
(CPU): two ranks, each with its own data stream, stay in sync and train exactly what one process
trains on the same global batch (the union of the two streams)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fast.checkpoint import load_checkpoint
from fast.config import load_config
from fast.train import Trainer, training_clips
from fast.video.clips import StreamUnion

DATA = "synthetic:videos=3,frames=12,height=32,width=32"
COMMON = [f"--data={DATA}", "--steps=3", "--log_every=1", "--sample_every=0", "--val_every=0",
          "--checkpoint_every=3"]


def _lines(run: Path) -> list[dict]:
    drop = ("time", "steps_per_s", "samples_per_s")
    return [{k: v for k, v in d.items() if k not in drop}
            for d in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if d["kind"] == "train"]


@pytest.mark.parametrize("n", [1, 2])
def test_two_gloo_ranks_match_one_process_on_the_global_batch(tmp_path, n):
    run = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "fast.cli", "train", "tiny", "--out", str(run), "--quiet",
         # bare key=value: torchrun's own parser would take --n=... for --nnodes
         "batch=2", f"n={n}", *(c[2:] for c in COMMON)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True)  # a hung rank is killed with its launcher, not left behind
    try:
        _, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode == 0, err[-3000:]

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
    of waiting in the next collective."""
    run = tmp_path / "ddp"
    run.mkdir()
    (run / "checkpoints").write_text("a file where the checkpoint folder should be")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
         "-m", "fast.cli", "train", "tiny", "--out", str(run), "--quiet", "batch=2",
         *(c[2:] for c in COMMON)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        start_new_session=True)
    try:
        _, err = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    assert proc.returncode != 0
    errors = [line for line in err.splitlines()
              if line.startswith("sharpvid: error:") and "cannot write a checkpoint" in line]
    assert len(errors) == 2, err[-3000:]  # one line from each rank
