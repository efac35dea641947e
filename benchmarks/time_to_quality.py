"""Time to quality: wall-clock minutes of ``sharpvid train demo`` on this machine until the
validation on held-out frames first beats copy-last-frame on the moving area by 1 dB, and where
it stands on the whole frame then; float32 against fast math.

    python benchmarks/time_to_quality.py                       # demo, 10 minutes per precision
    python benchmarks/time_to_quality.py --minutes 5 --val-every 50
    python benchmarks/time_to_quality.py --precisions float32,fast --force-bf16

For each precision (``float32``: ``fast_math=off``; ``fast``: ``fast_math=auto`` as
:func:`sharpvid.fast.devices.resolve_fast_math` resolves it here; skipped as a duplicate where that
is float32, unless ``--force-bf16`` runs emulated bf16), the ``--config`` (demo) is trained exactly
as ``sharpvid train`` builds it (its data, schedules and step count; nothing is written but the
run folder in a temporary directory) by :meth:`sharpvid.fast.training.loop.Trainer.step`, and every
``--val-every`` steps :meth:`~sharpvid.fast.training.loop.Trainer.validate` scores the run's
held-out clips (``val_data`` / ``val_frame_range``: the sample clips' last 20 %, never trained on)
for G and for copy-last-frame.  The clock counts training steps only (validation time is printed
beside it: ``sharpvid train`` validates every ``val_every`` = 300 steps, far less often).  It stops
at the config's ``steps``, or after ``--minutes`` of training.

Scores: the trainer's validation, i.e. the seed convention of
:func:`sharpvid.fast.evaluate.frame_metrics` (PSNR in dB; the moving area is where the target
differs from the frame before it), means over the held-out clips and their predicted frames.  "gain"
= model - copy-last.  The target is the issue's: +1 dB on the moving area; the whole-frame gain is
printed beside it.

Nothing here is a timed test; record the output in benchmarks/RESULTS.md and the README.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_model  # noqa: E402
from bench_train import row_plan, use_plan  # noqa: E402

from sharpvid.fast.config import load_config  # noqa: E402
from sharpvid.fast.devices import native_bf16, resolve_device  # noqa: E402
from sharpvid.fast.training.loop import Trainer  # noqa: E402


def gains(values: dict) -> dict:
    """Model minus copy-last of the validation's PSNRs (dB) and sharpness."""
    out = {}
    for key in ("psnr_seed_moving", "psnr_seed", "ssim_seed", "sharp_seed"):
        out[key] = values[key] - values[key + "_copy_last"]
    return out


def run(config: str, precision: str, args, device, tmp: Path) -> dict:
    """Train ``config`` in ``precision`` until its steps or the time budget, validating every
    ``args.val_every`` steps; the points and the first one that reaches the target."""
    plan = row_plan(precision, device, args.force_bf16)
    cfg = load_config(config, {"fast_math": "off", "val_every": 0, "sample_every": 0,
                               "tensorboard": False, "device": str(device)})
    trainer = Trainer(cfg, tmp / f"{config}-{precision}", progress=False)
    use_plan(trainer, plan)
    points, reached, train_s, val_s = [], None, 0.0, 0.0
    budget = args.minutes * 60
    while trainer.step_no < cfg.steps and train_s < budget:
        t0 = time.perf_counter()
        trainer.step()
        train_s += time.perf_counter() - t0
        if trainer.step_no % args.val_every and trainer.step_no < cfg.steps \
                and train_s < budget:
            continue
        t0 = time.perf_counter()
        values = trainer.validate()
        val_s += time.perf_counter() - t0
        point = {"step": trainer.step_no, "train_minutes": train_s / 60, **gains(values),
                 "psnr_moving": values["psnr_seed_moving"],
                 "psnr_moving_copy_last": values["psnr_seed_moving_copy_last"]}
        points.append(point)
        print(f"{precision}: step {point['step']}, {point['train_minutes']:.2f} min: moving "
              f"{point['psnr_seed_moving']:+.2f} dB, whole {point['psnr_seed']:+.2f} dB",
              file=sys.stderr, flush=True)
        if reached is None and point["psnr_seed_moving"] >= args.target:
            reached = point
            if not args.keep_going:
                break
    trainer.close()
    return {"precision": precision, "plan": plan.summary, "steps_per_s":
            trainer.step_no / train_s if train_s else float("nan"), "validation_minutes":
            val_s / 60, "points": points, "reached": reached}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="demo", help="a shipped config or a TOML (demo)")
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="training minutes per precision at most (10: the demo's budget)")
    parser.add_argument("--val-every", type=int, default=100, help="steps between validations")
    parser.add_argument("--target", type=float, default=1.0,
                        help="moving-area gain over copy-last, dB (1.0)")
    parser.add_argument("--precisions", default="float32,fast", help="float32,fast")
    parser.add_argument("--force-bf16", action="store_true",
                        help="run the fast precision in bf16 even where it is emulated")
    parser.add_argument("--keep-going", action="store_true",
                        help="train on after the target is reached (to the steps or budget)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (torch's)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    native, evidence = native_bf16(device)
    t_run = time.perf_counter()
    print(f"# sharpvid time-to-quality benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"# command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"# machine: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"device {device}; {torch.get_num_threads()} CPU threads; native bf16: "
          f"{'yes' if native else 'no'} ({evidence})")
    print(f"# {args.config}: validation every {args.val_every} steps on the run's held-out "
          f"clips (seed convention), target moving-area gain >= {args.target:+g} dB over "
          f"copy-last; at most {args.minutes:g} training minutes per precision")
    results = []
    with tempfile.TemporaryDirectory(prefix="time_to_quality-") as tmp:
        for precision in [p.strip() for p in args.precisions.split(",") if p.strip()]:
            if row_plan(precision, device, args.force_bf16) is None:
                print(f"# {precision}: skipped: fast math is float32 here ({evidence}); the "
                      f"float32 run is its figure (--force-bf16 runs emulated bf16)")
                continue
            results.append(run(args.config, precision, args, device, Path(tmp)))
    for result in results:
        print()
        print(f"## {result['precision']}: {result['plan']}; {result['steps_per_s']:.2f} "
              f"training steps/s; validation took {result['validation_minutes']:.1f} min "
              f"besides")
        print("| step | training minutes | moving PSNR gain (dB) | whole PSNR gain (dB) | "
              "SSIM gain | sharpness gain (dB) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for p in result["points"]:
            print(f"| {p['step']} | {p['train_minutes']:.2f} | {p['psnr_seed_moving']:+.2f} | "
                  f"{p['psnr_seed']:+.2f} | {p['ssim_seed']:+.4f} | {p['sharp_seed']:+.2f} |")
        hit = result["reached"]
        if hit:
            print(f"{result['precision']}: +{args.target:g} dB on the moving area after "
                  f"{hit['train_minutes']:.2f} training minutes (step {hit['step']}); whole "
                  f"frame then {hit['psnr_seed']:+.2f} dB")
        elif result["points"]:
            best = max(result["points"], key=lambda p: p["psnr_seed_moving"])
            last = result["points"][-1]
            print(f"{result['precision']}: target not reached in {last['train_minutes']:.2f} "
                  f"training minutes ({last['step']} steps); best moving gain "
                  f"{best['psnr_seed_moving']:+.2f} dB at step {best['step']} (whole "
                  f"{best['psnr_seed']:+.2f} dB)")
    print(f"# total {time.perf_counter() - t_run:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M"),
                                         "command": sys.argv, "machine": cpu_model(),
                                         "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
