"""Checkpoints: a run's whole state, written atomically, read back safely.

A run folder holds::

    RUN/config.json                 the resolved TrainConfig
    RUN/checkpoints/step-00001000.pt
    RUN/metrics.jsonl               every logged value, one JSON object per line
    RUN/samples/                    picture grids and GIFs

A checkpoint is one ``torch.save`` of a dict of tensors and plain values (``FORMAT``, ``step``,
``config``, ``generator``, ``critics``, ``optimizers``, ``guard``, ``rng``, ``loader``), written to a
temporary file in the same folder, flushed to disk, then renamed over its name, so a crash, a
full disk or Ctrl-C during a save leaves the previous checkpoints as they were.  The newest
``keep`` are kept.  Reading uses ``torch.load(weights_only=True)`` only: a checkpoint cannot run
code.  Every failure is a one-line :class:`CheckpointError` naming the file.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from sharpvid.fast.imageio import process_umask

FORMAT = "sharpvid-checkpoint/1"
_NAME = re.compile(r"^step-(\d+)\.pt$")


class CheckpointError(Exception):
    """A checkpoint that cannot be written or used; the message names the file."""


class RunFolderBusy(CheckpointError):
    """Another process holds the run folder's lock (:class:`RunLock`)."""


LOCK_NAME = ".sharpvid.lock"


#: The run folders this process holds, by resolved path: [open lock file, holders].  One
#: process is one writer: a second Trainer on the same folder in the same process (a notebook,
#: a test, a tutorial building a new trainer for a resumed run) shares the lock.
_HELD: dict[Path, list] = {}


class RunLock:
    """One writer per run folder: an advisory ``flock`` on ``RUN/.sharpvid.lock``, held for the
    life of a run (``sharpvid train``, each variant of ``sharpvid ablate``, ``sharpvid
    pretrain-blur-detector``), with the holder's PID written in the file for the message.

    The operating system drops the lock when its process ends, however it ends, so a lock file
    left by a killed process is not a lock: the next run takes it.  The writer is a process:
    holders in one process share the lock (:data:`_HELD`), the last release drops it.  Where
    ``fcntl`` does not exist (Windows) nothing is locked.
    """

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._key: Path | None = None

    def acquire(self) -> "RunLock":
        """Take the lock, or raise :class:`RunFolderBusy` naming the holder's PID."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            return self
        if self._key is not None:
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        key = self.run_dir.resolve()
        if key in _HELD:  # this process holds it already
            _HELD[key][1] += 1
            self._key = key
            return self
        f = open(self.run_dir / LOCK_NAME, "a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            pid = f.read().strip() or "unknown"
            f.close()
            raise RunFolderBusy(f"{self.run_dir}: another sharpvid process (PID {pid}) is "
                                f"writing this run folder; wait for it to end or stop it, or "
                                f"give another folder") from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        _HELD[key] = [f, 1]
        self._key = key
        return self

    def __del__(self):  # a holder dropped without release() (a trainer never closed)
        try:
            self.release()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass

    def release(self) -> None:
        """Let go (the last holder in this process closes the file, which drops the lock);
        idempotent."""
        key, self._key = self._key, None
        held = _HELD.get(key) if key is not None else None
        if held is not None:
            held[1] -= 1
            if held[1] == 0:
                held[0].close()
                del _HELD[key]


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step-{step:08d}.pt"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of the run's checkpoints, oldest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def save_checkpoint(run_dir: Path, step: int, state: dict, keep: int = 3) -> Path:
    """Write ``state`` as the checkpoint of ``step`` atomically, then keep the newest ``keep``."""
    path = checkpoint_path(run_dir, step)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise CheckpointError(f"{path.parent}: cannot write a checkpoint "
                              f"({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, "step": int(step), **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~process_umask())  # mkstemp's 0600 would hide it from other users
        os.replace(tmp, path)
        _fsync_dir(path.parent)  # the rename itself reaches the disk
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(f"{path}: cannot write ({exc.strerror or exc}); the previous "
                                  f"checkpoints are kept") from None
        raise
    for _, old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform opens folders
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def resolve(path: str | Path) -> Path:
    """A checkpoint file, or a run folder (its newest checkpoint)."""
    path = Path(path)
    if path.is_dir():
        latest = latest_checkpoint(path)
        if latest is None:
            raise CheckpointError(f"{path}: no checkpoint in {checkpoint_dir(path)}")
        return latest
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file or run folder")
    return path


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """A checkpoint's dict (``torch.load(weights_only=True)``), or a one-line CheckpointError."""
    path = resolve(path)
    try:
        with warnings.catch_warnings():  # a foreign pickle's protocol: the error says enough
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, not a torch file, unpickling refused ...
        text = str(exc).strip()
        if "Unsupported global" in text:
            # torch's message advises weights_only=False: never tell a user to unpickle a file
            # of unknown origin; a sharpvid checkpoint holds tensors and plain values only
            raise CheckpointError(f"{path}: not a sharpvid checkpoint (it holds Python objects "
                                  f"a checkpoint never contains; it was not unpickled)") from None
        if "Weights only load failed" in text:  # junk bytes: keep torch's reason, not its advice
            detail = text.partition("WeightsUnpickler error:")[2].strip().splitlines()
            reason = f"not a torch file: {detail[0] if detail else 'unreadable'}"
        else:
            reason = text.splitlines()[0] if text else type(exc).__name__
            if isinstance(exc, (KeyError, EOFError)) or len(reason) < 8:  # torch's bare "101"
                reason = f"not a torch file, or a truncated one: {type(exc).__name__} {reason}"
        raise CheckpointError(f"{path}: not a readable checkpoint ({reason[:200]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a sharpvid checkpoint (expected format {FORMAT})")
    for key in ("step", "config"):
        if key not in state:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    state["path"] = str(path)
    return state


def load_state(module: torch.nn.Module, state: dict, what: str, where: str | Path) -> None:
    """``module.load_state_dict(state)``, with the mismatched tensors named on one line."""
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    extra = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if missing or extra or wrong:
        parts = ([f"shape {', '.join(wrong[:3])}{' ...' if len(wrong) > 3 else ''}"] if wrong
                 else []) + ([f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}"]
                             if missing else []) + (
            [f"unexpected {', '.join(extra[:3])}{' ...' if len(extra) > 3 else ''}"] if extra else [])
        raise CheckpointError(f"{where}: {what} weights are for another network config "
                              f"({'; '.join(parts)})")
    module.load_state_dict(state)


def load_generator(path: str | Path, device="cpu", fast_math: str | None = None):
    """The trained generator of a checkpoint (or run folder) and its run's config.

    Returns ``(generator, config, state)``: a :class:`sharpvid.fast.networks.MultiScaleGenerator` in
    eval mode on ``device``, the :class:`sharpvid.fast.config.TrainConfig`, and the checkpoint's
    dict. ``fast_math`` (auto | on | off; default the run's own setting) is resolved for ``device``
    (:func:`sharpvid.fast.devices.resolve_fast_math`); the plan is ``generator.fast_math``, and its
    notice (on asked for where bf16 is not native) goes to stderr here, once for ``evaluate``
    and ``predict`` alike.  The weights load as saved (float32) whatever the plan.
    """
    from sharpvid.fast.config import ConfigError, config_from_dict
    from sharpvid.fast.devices import resolve_fast_math
    from sharpvid.fast.networks import MultiScaleGenerator

    state = load_checkpoint(path)
    where = state["path"]
    if "generator" not in state:
        raise CheckpointError(f"{where}: holds no generator (a {state.get('kind', 'partial')} "
                              f"checkpoint); give a training run's checkpoint")
    try:
        cfg = config_from_dict(state["config"], where)
    except ConfigError as exc:
        raise CheckpointError(str(exc)) from None
    plan = resolve_fast_math(cfg.fast_math if fast_math is None else fast_math, device)
    if plan.notice:
        print(f"sharpvid: notice: {plan.notice}", file=sys.stderr)
    g = MultiScaleGenerator(cfg.generator_config(), fast_math=plan)
    load_state(g, state["generator"], "generator", where)
    return g.to(device).eval(), cfg, state


# ---------------------------------------------------------------------------------------------
# Random number generators: every one a run can touch, as tensors and plain values
# ---------------------------------------------------------------------------------------------


def rng_state() -> dict:
    """torch (CPU and every CUDA device), NumPy's global and Python's ``random`` states."""
    import random

    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    import random

    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["gauss"]))
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
