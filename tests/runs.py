"""Runs and checkpoints for the tests, made without training: a tiny generator with seeded
random weights saved in the real checkpoint format (:mod:`sharpvid.fast.checkpoint`)."""

from __future__ import annotations

from pathlib import Path

import torch

from sharpvid.fast.checkpoint import save_checkpoint
from sharpvid.fast.config import load_config, save_config
from sharpvid.fast.networks import MultiScaleGenerator


def make_run(run_dir: Path, overrides: list[str] | None = None, *, seed: int = 0, step: int = 1):
    """``run_dir`` with ``config.json`` and one checkpoint of an untrained tiny generator;
    returns ``(run_dir, generator, config)``."""
    cfg = load_config("tiny", overrides or [])
    torch.manual_seed(seed)
    g = MultiScaleGenerator(cfg.generator_config())
    run_dir = Path(run_dir)
    save_config(cfg, run_dir / "config.json")
    save_checkpoint(run_dir, step, {"config": cfg.to_dict(), "generator": g.state_dict()})
    return run_dir, g.eval(), cfg
