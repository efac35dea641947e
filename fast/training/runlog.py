"""The run folder: who may write it, what a new run clears, and its log.

A run folder holds ``config.json``, ``checkpoints/``, ``metrics.jsonl`` (every logged value, one
JSON object per line), ``samples/`` (pictures) and, when asked for, ``tensorboard/``.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from sharpvid.fast.checkpoint import list_checkpoints
from sharpvid.fast.config import TrainConfig
from sharpvid.fast.imageio import atomic_write, strict_json
from sharpvid.fast.training.errors import TrainError


class RunLog:
    """``metrics.jsonl`` (every logged value, one JSON object per line), TensorBoard when
    installed and asked for, and the progress line on stderr.  Rank 0 only."""

    def __init__(self, run_dir: Path, cfg: TrainConfig, active: bool, start_step: int):
        self.path, self.active = run_dir / "metrics.jsonl", active
        self.file = self.tb = None
        if not active:
            return
        self.file = open(self.path, "a")
        if cfg.tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.tb = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start_step + 1)
            except ImportError:
                print("sharpvid: tensorboard is not installed (pip install 'sharpvid[tensorboard]');"
                      " logging to metrics.jsonl only", file=sys.stderr)

    def write(self, record: dict) -> None:
        if not self.active:
            return
        self.file.write(json.dumps(strict_json(record), allow_nan=False) + "\n")
        self.file.flush()
        if self.tb is not None:
            for key, value in record.items():
                if key not in ("step", "kind", "time") and isinstance(value, (int, float)) \
                        and not isinstance(value, bool):
                    self.tb.add_scalar(f"{record.get('kind', 'train')}/{key}", value,
                                       record["step"])

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
        if self.tb is not None:
            self.tb.close()


def truncate_log(path: Path, step: int) -> None:
    """Keep only the lines of steps <= ``step`` (what a resumed run will log again goes)."""
    if not path.exists():
        return
    kept = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:  # a line cut short by a kill or a full disk
            print(f"sharpvid: {path}: dropping a damaged line", file=sys.stderr)
            continue
        if record.get("step", 0) <= step:
            kept.append(line)
    atomic_write(path, lambda tmp: Path(tmp).write_text("".join(k + "\n" for k in kept)))


def check_resumable(run_dir: Path) -> None:
    """A run to resume has its ``config.json``; else the one-line error."""
    if not (run_dir / "config.json").is_file():
        raise TrainError(f"{run_dir}: no run to resume (config.json missing)")


def check_run_dir(run_dir: Path, *, resume: bool, force: bool) -> bool:
    """Refuse an output folder holding another run unless resuming or forcing; whether an old
    run is there to clear (with ``force``; :func:`clear_run_dir` does it once training starts)."""
    if resume:
        check_resumable(run_dir)
        return False
    holds_run = (run_dir / "config.json").exists() or bool(list_checkpoints(run_dir))
    if holds_run and not force:
        raise TrainError(f"{run_dir} holds another run; use --resume {run_dir} to continue it, "
                         f"--force to start over, or another --out")
    return holds_run


def clear_run_dir(run_dir: Path) -> None:
    """Remove an old run's files (``--force``), once the new run has been built."""
    for name in ("checkpoints", "samples", "tensorboard"):
        shutil.rmtree(run_dir / name, ignore_errors=True)
    for name in ("metrics.jsonl", "config.json"):
        (run_dir / name).unlink(missing_ok=True)
