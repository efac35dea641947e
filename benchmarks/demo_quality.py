"""What a trained demo run is worth against the two baselines, copy-last-frame and optical-flow
extrapolation (``flow_extrap``), measured three ways, plus its critic's curve: the figures of the
README's "What the demo reaches".

    python benchmarks/demo_quality.py runs/demo            # after `make demo`
    python benchmarks/demo_quality.py runs/ablate-demo/gdl-seed1 --stride 4

1. **The fixed test clips** (the protocol ``sharpvid evaluate`` runs: one clip of 4 + 2 frames
   per video, centred in its longest shot), model - copy-last and model - flow_extrap per frame:
   PSNR on the whole frame and on the moving area, SSIM, sharpness on the whole frame and on the
   moving area.  Three videos, so one number per video.
2. **Every window** of the same held-out frames (4 + 2 frames, starting every ``--stride``
   frames), the same differences averaged over all windows: many more clips than 1., so a
   steadier figure (neighbouring windows share frames: they are not independent).
3. **Colour cast**: the per-channel mean of (prediction - target) over the still pixels (where
   the target differs from the last input by at most the moving-area threshold in every
   channel), frame 1, in levels of 255, per video and over all windows.  The issue's bound is
   1 level.  Copy-last's and flow_extrap's means over the same pixels are printed beside it: a
   still pixel may change by up to the threshold (3 levels), so a drift of the footage itself
   shows there.

The critic's curve: ``d/loss`` from the run's ``metrics.jsonl`` averaged over each tenth of the
steps, against 8 ln 2 = 5.55 (four scales, real and fake, at chance: ``-ln 0.5`` each).

The scores are the seed convention of :func:`sharpvid.fast.evaluate.frame_metrics`; the data is
the run's own held-out data and range (``val_data``, ``val_frame_range``), never trained on.
Nothing here is a timed test; record the output in benchmarks/RESULTS.md and the README.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch

from sharpvid.fast.checkpoint import CheckpointError, load_generator
from sharpvid.fast.evaluate import BASELINES, predict_and_score
from sharpvid.fast.video.clips import ClipConfig, test_clip, to_model
from sharpvid.fast.video.sources import open_source, parse_frame_range

COLUMNS = ("psnr_seed", "psnr_seed_moving", "ssim_seed", "sharp_seed", "sharp_seed_moving")
HEAD = ("PSNR whole", "PSNR moving", "SSIM", "sharpness whole", "sharpness moving")
METHODS = ("model", *BASELINES)  # the rows of the still-pixel error


def score_windows(g, frames: np.ndarray, starts, m: int, n: int, threshold: float, batch: int):
    """Model - baseline per baseline and column ``(windows, n)`` (``diffs[baseline][column]``),
    and frame 1's summed error over the still pixels per channel, ``(3, 3)`` (rows: the model,
    copy-last, flow_extrap), with their count."""
    diffs = {b: {c: [] for c in COLUMNS} for b in BASELINES}
    err_sum, still_count = np.zeros((len(METHODS), 3)), np.zeros(3)
    for i in range(0, len(starts), batch):
        clips = np.stack([frames[s: s + m + n] for s in starts[i: i + batch]])
        x = to_model(clips, "cpu")
        with torch.no_grad():
            preds, scores = predict_and_score(g, x, m, n, mask_threshold=threshold)
        for b in BASELINES:
            for c in COLUMNS:
                diffs[b][c].append((scores["model"][c] - scores[b][c]).double().numpy())
        target, last = x[:, m], x[:, m - 1]
        still = ((target - last).abs().amax(1, keepdim=True) <= threshold).expand_as(target)
        for row, method in enumerate(METHODS):
            err = (preds[method][:, 0] - target) * 127.5  # levels of 255 ([-1, 1] spans 255)
            for ch in range(err.shape[1]):
                err_sum[row, ch] += float(err[:, ch][still[:, ch]].sum())
        still_count += still.sum((0, 2, 3)).numpy()
    return ({b: {c: np.concatenate(v) for c, v in by_column.items()}
             for b, by_column in diffs.items()}, err_sum, still_count)


def critic_curve(run: Path, parts: int = 10) -> list[tuple[int, int, float]]:
    """``(first step, last step, mean d/loss)`` over each of ``parts`` equal spans of steps."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
            if line.strip()]
    losses = [(r["step"], r["d/loss"]) for r in rows if r.get("kind") == "train" and "d/loss" in r]
    if not losses:
        return []
    last = max(s for s, _ in losses)
    out = []
    for p in range(parts):
        lo, hi = p * last // parts + 1, (p + 1) * last // parts
        span = [v for s, v in losses if lo <= s <= hi]
        if span:
            out.append((lo, hi, float(np.mean(span))))
    return out


def signed(v: float, digits: int = 2) -> str:
    return "nan" if not math.isfinite(v) else f"{v:+.{digits}f}"


def channels(values) -> str:
    """``"+0.12 / -0.03 / +0.40"``: one value per channel (R / G / B)."""
    return " / ".join(f"{v:+.2f}" for v in values)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a run folder (or checkpoint) of sharpvid train")
    ap.add_argument("--stride", type=int, default=2, help="windows start every K frames (2)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--mask-threshold", type=float, default=0.05)
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        g, cfg, state = load_generator(args.run)
    except CheckpointError as exc:
        print(f"demo_quality: error: {exc}", file=sys.stderr)
        return 2
    m, n = cfg.m, 2
    source = open_source(cfg.val_data)
    if cfg.val_frame_range:
        source = source.frame_range(*parse_frame_range(cfg.val_frame_range))
    print(f"{args.run}: step {state.get('step')}, {cfg.network} output={cfg.net.get('output', 'paper')}"
          f", lam_adv={cfg.lam_adv}; held-out {source.name}; model - baseline, seed convention")
    fixed = {b: {c: [] for c in COLUMNS} for b in BASELINES}
    every = {b: {c: [] for c in COLUMNS} for b in BASELINES}
    cast_all, count_all = np.zeros((len(METHODS), 3)), np.zeros(3)
    for video in source:
        _, clip = test_clip(video, ClipConfig(m=m, n=n))
        d, _, _ = score_windows(g, clip, [0], m, n, args.mask_threshold, 1)
        for b in BASELINES:
            for c in COLUMNS:
                fixed[b][c].append(d[b][c])
        frames = video.read().transpose(0, 3, 1, 2)
        starts = list(range(0, len(frames) - (m + n) + 1, args.stride))
        d, err, count = score_windows(g, frames, starts, m, n, args.mask_threshold, args.batch)
        for b in BASELINES:
            for c in COLUMNS:
                every[b][c].append(d[b][c])
        cast_all += err
        count_all += count
        cast = err / np.maximum(count, 1)
        gains = "; ".join(
            f"- {b} {signed(float(np.nanmean(d[b]['psnr_seed'][:, 0])))} / "
            f"{signed(float(np.nanmean(d[b]['psnr_seed_moving'][:, 0])))}" for b in BASELINES)
        print(f"  {video.name}: {len(starts)} windows; frame 1 PSNR whole / moving: model {gains}"
              f" dB; still-pixel cast {channels(cast[0])} levels (R / G / B; copy-last "
              f"{channels(cast[1])}; flow_extrap {channels(cast[2])})")
    for title, table in (("fixed test clips (sharpvid evaluate's)", fixed),
                         ("every window", every)):
        total = sum(len(a) for a in table[BASELINES[0]][COLUMNS[0]])
        for b in BASELINES:
            print(f"\n{title}, {total} clips, model - {b}:")
            print("| frame | " + " | ".join(HEAD) + " |")
            print("| --- |" + " --- |" * len(HEAD))
            for j in range(n):
                cells = [signed(float(np.nanmean(np.concatenate(table[b][c])[:, j])),
                                3 if c == "ssim_seed" else 2) for c in COLUMNS]
                print(f"| {j + 1} | " + " | ".join(cells) + " |")
    cast = cast_all / np.maximum(count_all, 1)
    print(f"\nstill-pixel cast over every window, frame 1: {channels(cast[0])} levels of 255 "
          f"(R / G / B); copy-last {channels(cast[1])}; flow_extrap {channels(cast[2])}")
    curve = critic_curve(args.run if args.run.is_dir() else args.run.parent.parent)
    if curve:
        print(f"\ncritic d/loss by tenth of the steps (chance 8 ln 2 = {8 * math.log(2):.2f}):")
        print("| steps | " + " | ".join(f"{lo}-{hi}" for lo, hi, _ in curve) + " |")
        print("| --- |" + " --- |" * len(curve))
        print("| d/loss | " + " | ".join(f"{v:.2f}" for _, _, v in curve) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
