"""The non-finite guard: skip what a non-finite value would reach, restore when it persists.

A step's D update and G update are checked apart (D's runs first): a non-finite value skips the
update it belongs to and names the bad term; after ``nan_patience`` bad steps in a row the run
goes back to its last checkpoint with the learning rates multiplied by ``nan_lr_factor``, at
most ``nan_max_restores`` times without a good checkpoint in between.
"""

from __future__ import annotations

import math

from sharpvid.fast.config import TrainConfig
from sharpvid.fast.training.errors import TrainError


def nonfinite(values: dict[str, float]) -> list[str]:
    """The names of the values that are NaN or infinite."""
    return [k for k, v in values.items() if not math.isfinite(v)]


def skipped(bad: list[str], critics: bool = True) -> str:
    """Which update a step's non-finite values skipped: a non-finite critic value skips the
    critics' update while G's, computed from finite values against the unchanged critics,
    lands, and the other way round."""
    if not critics:
        return "update skipped"
    g_bad = any(name.startswith("g/") for name in bad)
    d_bad = any(not name.startswith("g/") for name in bad)
    if g_bad and d_bad:
        return "no update landed"
    return "G's update skipped (the critics' landed)" if g_bad else \
        "the critics' update skipped (G's landed)"


class Guard:
    """The guard's state: the learning-rate scale, the bad steps in a row and the restores
    since the last good checkpoint.  Saved with a checkpoint (``lr_scale``, ``bad_steps``)."""

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        self.lr_scale = 1.0
        self.bad_steps = 0
        self.restores = 0

    def record(self, bad: list[str]) -> None:
        """A step ended, with these non-finite values."""
        self.bad_steps = self.bad_steps + 1 if bad else 0

    @property
    def must_restore(self) -> bool:
        return self.bad_steps >= self.cfg.nan_patience

    def saved(self) -> None:
        """A checkpoint was written: a new good state to go back to, unless the step was bad (a
        save after a bad step is not one, or ``nan_max_restores`` could never be reached)."""
        if not self.bad_steps:
            self.restores = 0

    def restoring(self, step: int) -> None:
        """Count a restore; past ``nan_max_restores`` the run stops with the one-line error."""
        self.restores += 1
        if self.restores > self.cfg.nan_max_restores:
            raise TrainError(f"non-finite losses at step {step} after {self.restores - 1} "
                             f"restores with smaller learning rates; see metrics.jsonl for the "
                             f"terms, and lower the learning rates or check the data")

    def state_dict(self) -> dict:
        return {"lr_scale": self.lr_scale, "bad_steps": self.bad_steps}

    def load_state_dict(self, state: dict, *, lr_factor: float | None = None) -> None:
        """A checkpoint's guard; ``lr_factor`` (the guard's own restore): the scale becomes the
        smaller of the saved one and the current one, times ``lr_factor``, so it keeps falling
        when the same checkpoint is restored again.  The count of bad steps starts over."""
        saved = float(state["lr_scale"])
        self.lr_scale = saved if lr_factor is None else min(saved, self.lr_scale) * lr_factor
        self.bad_steps = 0
