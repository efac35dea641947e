"""What a trained demo run is worth against copy-last-frame, measured three ways, plus its
critic's curve: the figures of the README's "What the demo reaches".

    python benchmarks/demo_quality.py runs/demo            # after `make demo`
    python benchmarks/demo_quality.py runs/ablate-demo/gdl-seed1 --stride 4

1. **The fixed test clips** (the protocol ``sharpvid evaluate`` runs: one clip of 4 + 2 frames
   per video, centred in its longest shot), model - copy-last per frame: PSNR on the whole frame
   and on the moving area, SSIM, sharpness on the whole frame and on the moving area.  Three
   videos, so one number per video.
2. **Every window** of the same held-out frames (4 + 2 frames, starting every ``--stride``
   frames), the same differences averaged over all windows: many more clips than 1., so a
   steadier figure (neighbouring windows share frames: they are not independent).
3. **Colour cast**: the per-channel mean of (prediction - target) over the still pixels (where
   the target differs from the last input by at most the moving-area threshold in every
   channel), frame 1, in levels of 255, per video and over all windows.  The issue's bound is
   1 level.  Copy-last's mean over the same pixels is printed beside it: a still pixel may change
   by up to the threshold (3 levels), so a drift of the footage itself shows there.

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
from sharpvid.fast.evaluate import predict_and_score
from sharpvid.fast.video.clips import ClipConfig, test_clip, to_model
from sharpvid.fast.video.sources import open_source, parse_frame_range

COLUMNS = ("psnr_seed", "psnr_seed_moving", "ssim_seed", "sharp_seed", "sharp_seed_moving")
HEAD = ("PSNR whole", "PSNR moving", "SSIM", "sharpness whole", "sharpness moving")


def score_windows(g, frames: np.ndarray, starts, m: int, n: int, threshold: float, batch: int):
    """Model - copy-last per column ``(windows, n)``, and frame 1's summed error over the still
    pixels per channel, ``(2, 3)`` (row 0 the model's, row 1 copy-last's), with their count."""
    diffs = {c: [] for c in COLUMNS}
    err_sum, still_count = np.zeros((2, 3)), np.zeros(3)
    for i in range(0, len(starts), batch):
        clips = np.stack([frames[s: s + m + n] for s in starts[i: i + batch]])
        x = to_model(clips, "cpu")
        with torch.no_grad():
            preds, scores = predict_and_score(g, x, m, n, mask_threshold=threshold)
        for c in COLUMNS:
            diffs[c].append((scores["model"][c] - scores["copy_last"][c]).double().numpy())
        target, last = x[:, m], x[:, m - 1]
        still = ((target - last).abs().amax(1, keepdim=True) <= threshold).expand_as(target)
        for row, method in enumerate(("model", "copy_last")):
            err = (preds[method][:, 0] - target) * 127.5  # levels of 255 ([-1, 1] spans 255)
            for ch in range(err.shape[1]):
                err_sum[row, ch] += float(err[:, ch][still[:, ch]].sum())
        still_count += still.sum((0, 2, 3)).numpy()
    return {c: np.concatenate(v) for c, v in diffs.items()}, err_sum, still_count


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
          f", lam_adv={cfg.lam_adv}; held-out {source.name}; model - copy-last, seed convention")
    fixed, every = {c: [] for c in COLUMNS}, {c: [] for c in COLUMNS}
    cast_all, count_all = np.zeros((2, 3)), np.zeros(3)
    for video in source:
        _, clip = test_clip(video, ClipConfig(m=m, n=n))
        d, _, _ = score_windows(g, clip, [0], m, n, args.mask_threshold, 1)
        for c in COLUMNS:
            fixed[c].append(d[c])
        frames = video.read().transpose(0, 3, 1, 2)
        starts = list(range(0, len(frames) - (m + n) + 1, args.stride))
        d, err, count = score_windows(g, frames, starts, m, n, args.mask_threshold, args.batch)
        for c in COLUMNS:
            every[c].append(d[c])
        cast_all += err
        count_all += count
        cast = err / np.maximum(count, 1)
        print(f"  {video.name}: {len(starts)} windows; frame 1 PSNR whole "
              f"{signed(float(np.nanmean(d['psnr_seed'][:, 0])))}, moving "
              f"{signed(float(np.nanmean(d['psnr_seed_moving'][:, 0])))} dB; still-pixel cast "
              + " / ".join(f"{v:+.2f}" for v in cast[0]) + " levels (R / G / B; copy-last "
              + " / ".join(f"{v:+.2f}" for v in cast[1]) + ")")
    for title, table in (("fixed test clips (sharpvid evaluate's)", fixed),
                         ("every window", every)):
        total = sum(len(a) for a in table[COLUMNS[0]])
        print(f"\n{title}, {total} clips:")
        print("| frame | " + " | ".join(HEAD) + " |")
        print("| --- |" + " --- |" * len(HEAD))
        for j in range(n):
            cells = [signed(float(np.nanmean(np.concatenate(table[c])[:, j])),
                            3 if c == "ssim_seed" else 2) for c in COLUMNS]
            print(f"| {j + 1} | " + " | ".join(cells) + " |")
    cast = cast_all / np.maximum(count_all, 1)
    print("\nstill-pixel cast over every window, frame 1: "
          + " / ".join(f"{v:+.2f}" for v in cast[0]) + " levels of 255 (R / G / B); copy-last "
          + " / ".join(f"{v:+.2f}" for v in cast[1]))
    curve = critic_curve(args.run if args.run.is_dir() else args.run.parent.parent)
    if curve:
        print(f"\ncritic d/loss by tenth of the steps (chance 8 ln 2 = {8 * math.log(2):.2f}):")
        print("| steps | " + " | ".join(f"{lo}-{hi}" for lo, hi, _ in curve) + " |")
        print("| --- |" + " --- |" * len(curve))
        print("| d/loss | " + " | ".join(f"{v:.2f}" for _, _, v in curve) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
