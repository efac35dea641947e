"""Measure inference speed: the generator's and flow_extrap's frames/s, and evaluate's clips/s.

Full-frame prediction by the generator and ``evaluate``'s clips/s on a prepared test folder, each
in float32 and in fast math; the flow_extrap baseline beside them, against OpenCV's DIS.

    python benchmarks/bench_infer.py                                  # demo and paper, both sizes
    python benchmarks/bench_infer.py --configs demo --sizes 240x320 --min-time 0.5
    python benchmarks/bench_infer.py --configs paper --sizes 576x768 --force-bf16
    python benchmarks/bench_infer.py --batch 4 --json /tmp/bench_infer.json
    python benchmarks/bench_infer.py --eval-videos 2 --eval-size 64x64   # a small evaluate part
    python benchmarks/bench_infer.py --no-eval                        # prediction rows only
    python benchmarks/bench_infer.py --configs demo --sizes 240x320 --no-eval --threads 2

**Prediction** (one table).  For every generator config (``--configs``: demo, paper; built from
``sharpvid.fast.config.load_config(name).generator_config()`` as
:class:`sharpvid.fast.networks.MultiScaleGenerator` in eval mode, untrained: the speed does not
depend on the weights) and frame size (``--sizes``: 240x320, UCF101's, and 576x768), one call is
``with torch.no_grad(): g.predict(x, 1, pad=True)`` on ``x`` of shape ``(B, m, 3, H, W)``
(``B = --batch``, ``m = cfg.m`` = 4, uniform values in [-1, 1]): B predicted frames.  The call is
timed as in ``bench_train.py``: ``--warmup`` calls first, then calls until ``--min-time`` seconds
have passed (at least ``--min-calls``), with ``torch.cuda.synchronize()`` before starting and
stopping the clock on CUDA.  frames/s = B x calls/s; ms/frame = 1000 / frames/s; "x f32" is a
row's frames/s over the float32 row of the same device, config and size.  GFLOP/frame is G's
analytic count (each conv's 2 C_in C_out k k H_k W_k at scale k of the padded frame, as
``bench_train.py`` counts; equal to :mod:`torch.utils.flop_counter`'s for ``predict``): demo
24 at 240x320 and 139 at 576x768, paper 1,399 and 8,057, so on a 2-core CPU at some tens of
GFLOP/s a paper frame takes about a minute at 240x320 and minutes at 576x768 (with the default
warm-up call, each paper row runs two or more calls; ``--warmup 0`` or ``--configs demo`` for a
quick look).

Precisions, one row each: ``float32`` (``resolve_fast_math("off")``: float32 NCHW, the
oracle-checked numbers) and fast math (``resolve_fast_math("auto")``: bf16 autocast +
channels_last where the device has native bf16; on a CPU without it, the same float32 path,
measured anyway so that the ratio is printed, and the output says so).  ``--force-bf16`` makes
the fast rows bf16 autocast + channels_last whatever the device (emulated where not native).

**The flow_extrap baseline** (a second table, ``--no-flow`` skips it).  At every size, one call is
``with torch.no_grad(): sharpvid.fast.flow.flow_extrapolate(x, 1)`` on ``x`` of the same shape
``(B, m, 3, H, W)`` (m = 4, the demo's; float32, uniform values in [-1, 1]: the flow's cost does
not depend on the content), timed by the same ``timed_rate`` on every device: B predicted frames.
Its yardstick, measured in the same run on the CPU (same ``torch.get_num_threads()`` given to
``cv2.setNumThreads``): OpenCV's DIS optical flow, preset MEDIUM, for each clip from the last
frame to the one before it (``cv2.cvtColor`` RGB -> grey on the uint8 frames, then ``calc``),
and ``cv2.remap`` of the last frame (bilinear, border replicated): the baseline as the issue
measured it.  "x DIS" is a row's frames/s over DIS's at the same size (CPU DIS for a CUDA row
too).  OpenCV is a benchmark extra (``pip install 'sharpvid[bench]'``); without it the table has
the flow_extrap rows only and says so.  ``benchmarks/bench_flow.py`` compares the two flows'
quality as well.

**Evaluate** (a third table).  In a temporary folder: test clips prepared by the project's own
command (``sharpvid prepare synthetic:videos=V,frames=12,height=H,width=W --split test
--frames m+1``, ``--eval-videos``, ``--eval-size``), a run folder holding the step-0 checkpoint
of an untrained demo generator (a :class:`sharpvid.fast.training.loop.Trainer` with ``steps = 0``:
``fit`` writes the config and the step-0 checkpoint, the format ``sharpvid evaluate`` reads), then
:func:`sharpvid.fast.evaluate.evaluate_checkpoint` with ``frames=1, pictures=0`` timed like a
prediction call (``fast_math`` "off", then "auto").  clips/s = the clips it scored
(``len(result["videos"])``) x calls/s.  A call is the whole command's work: loading the
checkpoint, reading the clips, predicting, scoring model and copy-last with every metric, and
writing ``metrics.csv`` / ``metrics.json``.  ``--force-bf16`` does not apply to this table:
``evaluate_checkpoint`` takes auto | on | off, and "on" on a CPU without native bf16 is float32.

Devices (``--device``): the CPU rows always; with ``auto`` (or ``cuda``) on a machine with CUDA,
the CUDA rows as well.  Defaults are sized for a small CPU, where one paper frame takes a minute
or more: ``--min-time`` 2 s and ``--min-calls`` 1.

Nothing here is a timed test: the tables are figures to read (and to record in
``benchmarks/RESULTS.md`` with their header), not pass/fail checks.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import cpu_model  # noqa: E402
from bench_train import num, synchronizer, timed_rate  # noqa: E402

from sharpvid.fast import cli  # noqa: E402
from sharpvid.fast.config import ConfigError, load_config  # noqa: E402
from sharpvid.fast.devices import (DeviceError, FastMath, native_bf16,  # noqa: E402
                                   resolve_device, resolve_fast_math)
from sharpvid.fast.evaluate import evaluate_checkpoint  # noqa: E402
from sharpvid.fast.flow import flow_extrapolate  # noqa: E402
from sharpvid.fast.networks import MultiScaleGenerator  # noqa: E402
from sharpvid.fast.training.loop import Trainer  # noqa: E402

CONFIGS = ("demo", "paper")
SIZES = "240x320,576x768"      # UCF101's frames, and a larger frame
EVAL_FRAMES = 12               # frames of each synthetic test video (a clip needs m + 1)
CKPT_DATA = "synthetic:videos=1,frames=8,height=64,width=64"  # the untrained run's training data
FORCED = FastMath(channels_last=True, bf16=True,
                  summary="bf16 autocast + channels_last (forced; emulated where not native)")


# ---------------------------------------------------------------------------------------------
# Options
# ---------------------------------------------------------------------------------------------


def parse_size(text: str) -> tuple[int, int]:
    """``"240x320"`` -> ``(240, 320)`` (height x width)."""
    h, sep, w = text.strip().lower().partition("x")
    if not sep or not h.isdigit() or not w.isdigit() or int(h) < 1 or int(w) < 1:
        raise ValueError(f"frame size must be HxW, e.g. 240x320, got {text!r}")
    return int(h), int(w)


# ---------------------------------------------------------------------------------------------
# Prediction frames/s
# ---------------------------------------------------------------------------------------------


def generator_gflop(g: MultiScaleGenerator, size: tuple[int, int]) -> float:
    """G's forward GFLOP per predicted frame at ``size``: every conv's 2 C_in C_out k_h k_w H_k
    W_k (2 per multiply-add), scale k at the padded frame's side / 2^(N-1-k); biases,
    activations, pyramids and upsampling not counted (as ``bench_train.py`` counts)."""
    n = g.config.n_scales
    factor = 2 ** (n - 1)
    h, w = (-(-side // factor) * factor for side in size)  # pad=True: up to a multiple
    total = 0
    for k, scale in enumerate(g.scales):
        h_k, w_k = h // 2 ** (n - 1 - k), w // 2 ** (n - 1 - k)
        for conv in scale.convs:
            c_out, c_in, k_h, k_w = conv.weight.shape
            total += 2 * c_in * c_out * k_h * k_w * h_k * w_k
    return total / 1e9


def precision_plans(device: torch.device, force_bf16: bool) -> list[tuple[str, FastMath]]:
    """``[("float32", plan), ("fast", plan)]`` on ``device``: ``fast_math`` off, then auto (or
    the forced bf16 plan)."""
    fast = FORCED if force_bf16 else resolve_fast_math("auto", device)
    return [("float32", resolve_fast_math("off", device)), ("fast", fast)]


def predict_rate(name: str, size: tuple[int, int], plan: FastMath, device: torch.device,
                 args) -> tuple[float, int, float]:
    """Calls/s of ``g.predict(x, 1, pad=True)`` for config ``name``'s generator at ``size``
    under ``plan``, the calls timed, and G's GFLOP per frame."""
    cfg = load_config(name)
    g = MultiScaleGenerator(cfg.generator_config(), fast_math=plan).to(device).eval()
    h, w = size
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(args.batch, cfg.m, 3, h, w, generator=gen) * 2 - 1).to(device)

    def call():
        with torch.no_grad():
            g.predict(x, 1, pad=True)

    try:
        rate, calls = timed_rate(call, synchronizer(device), warmup=args.warmup,
                                 min_time=args.min_time, min_calls=args.min_calls)
        return rate, calls, generator_gflop(g, size)
    finally:
        del g, x
        release(device)


def release(device: torch.device) -> None:
    """Free what the last measurement held (CUDA's cache too)."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def predict_rows(devices, names, sizes, args) -> list[dict]:
    """One row per device, config, size and precision, with the speed-up over float32."""
    rows = []
    for device in devices:
        for name in names:
            for size in sizes:
                base = None
                for precision, plan in precision_plans(device, args.force_bf16):
                    rate, calls, gflop = predict_rate(name, size, plan, device, args)
                    fps = rate * args.batch
                    base = fps if base is None else base
                    rows.append({"device": str(device), "config": name,
                                 "size": f"{size[0]}x{size[1]}", "batch": args.batch,
                                 "precision": precision, "plan": plan.summary,
                                 "calls_timed": calls, "frames_per_s": fps,
                                 "ms_per_frame": 1000.0 / fps, "gflop_per_frame": gflop,
                                 "gflop_per_s": gflop * fps, "speedup": fps / base})
                    print(f"measured {device} {name} {size[0]}x{size[1]} {precision}: "
                          f"{num(fps)} frames/s", file=sys.stderr, flush=True)
    return rows


def print_predict_table(rows: list[dict]) -> None:
    """The prediction rows as a Markdown table."""
    columns = ["device", "config", "frame size", "batch", "precision", "frames/s", "ms/frame",
               "GFLOP/frame", "GFLOP/s", "x f32"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for r in rows:
        cells = [r["device"], r["config"], r["size"], r["batch"], r["plan"],
                 num(r["frames_per_s"]), num(r["ms_per_frame"]), num(r["gflop_per_frame"]),
                 num(r["gflop_per_s"]), f"{r['speedup']:.2f}"]
        print("| " + " | ".join(map(str, cells)) + " |")


# ---------------------------------------------------------------------------------------------
# The flow_extrap baseline, against OpenCV's DIS MEDIUM
# ---------------------------------------------------------------------------------------------


def dis_predictor():
    """``predict(clips)``: uint8 ``(B, T, 3, H, W)`` -> each clip's next frame by OpenCV DIS
    MEDIUM (the flow from the last frame to the one before it) and ``cv2.remap``; or None and
    a note when OpenCV is not installed."""
    try:
        import cv2
    except ImportError:
        return None, ("OpenCV is not installed, so the DIS MEDIUM yardstick is skipped; it is "
                      "a benchmark extra: pip install 'sharpvid[bench]'")
    cv2.setNumThreads(torch.get_num_threads())
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)

    def predict(clips):
        h, w = clips.shape[-2:]
        x, y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        out = []
        for clip in clips:
            prev, last = (np.ascontiguousarray(f.transpose(1, 2, 0)) for f in clip[-2:])
            v = dis.calc(cv2.cvtColor(last, cv2.COLOR_RGB2GRAY),
                         cv2.cvtColor(prev, cv2.COLOR_RGB2GRAY), None)
            out.append(cv2.remap(last, x + v[..., 0], y + v[..., 1], cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE))
        return out

    return predict, f"OpenCV {cv2.__version__}, {cv2.getNumThreads()} thread(s)"


def flow_rows(devices, sizes, args) -> tuple[list[dict], str]:
    """flow_extrap's frames/s per device and size, and OpenCV DIS MEDIUM's on the CPU, with the
    ratio to DIS; and the line that says which OpenCV (or why none)."""
    m = load_config("demo").m
    dis, note = dis_predictor()
    rows, dis_fps = [], {}
    for size in sizes:
        h, w = size
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(args.batch, m, 3, h, w, generator=gen) * 2 - 1
        if dis is not None:
            clips = ((x + 1) * 127.5).round().to(torch.uint8).numpy()
            rate, calls = timed_rate(lambda: dis(clips), lambda: None, warmup=args.warmup,
                                     min_time=args.min_time, min_calls=args.min_calls)
            dis_fps[size] = rate * args.batch
            rows.append({"device": "cpu", "method": "OpenCV DIS MEDIUM + remap",
                         "size": f"{h}x{w}", "batch": args.batch, "precision": "uint8",
                         "calls_timed": calls, "frames_per_s": dis_fps[size]})
        for device in devices:
            xd = x.to(device)

            def call():
                with torch.no_grad():
                    flow_extrapolate(xd, 1)

            rate, calls = timed_rate(call, synchronizer(device), warmup=args.warmup,
                                     min_time=args.min_time, min_calls=args.min_calls)
            rows.append({"device": str(device), "method": "flow_extrap", "size": f"{h}x{w}",
                         "batch": args.batch, "precision": "float32", "calls_timed": calls,
                         "frames_per_s": rate * args.batch})
            del xd
            release(device)
        for r in rows:
            if r["size"] == f"{h}x{w}":
                r["ms_per_frame"] = 1000.0 / r["frames_per_s"]
                r["x_dis"] = r["frames_per_s"] / dis_fps[size] if size in dis_fps else None
                print(f"measured {r['device']} {r['method']} {h}x{w}: "
                      f"{num(r['frames_per_s'])} frames/s", file=sys.stderr, flush=True)
    return rows, note


def print_flow_table(rows: list[dict]) -> None:
    """The baseline rows as a Markdown table."""
    columns = ["device", "method", "frame size", "batch", "precision", "frames/s", "ms/frame",
               "x DIS"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for r in rows:
        cells = [r["device"], r["method"], r["size"], r["batch"], r["precision"],
                 num(r["frames_per_s"]), num(r["ms_per_frame"]),
                 "—" if r["x_dis"] is None else num(r["x_dis"])]
        print("| " + " | ".join(map(str, cells)) + " |")


# ---------------------------------------------------------------------------------------------
# evaluate clips/s
# ---------------------------------------------------------------------------------------------


def prepare_test_folder(out: Path, videos: int, size: tuple[int, int], frames: int) -> str:
    """``sharpvid prepare synthetic:... --split test --frames FRAMES --out OUT`` in-process
    (its report line goes to stderr); returns the source spec."""
    h, w = size
    spec = f"synthetic:videos={videos},frames={EVAL_FRAMES},height={h},width={w}"
    with contextlib.redirect_stdout(sys.stderr):
        rc = cli.main(["prepare", spec, "--split", "test", "--frames", str(frames),
                       "--out", str(out)])
    if rc != 0:
        raise RuntimeError(f"sharpvid prepare {spec} exited with {rc}")
    return spec


def untrained_run(run_dir: Path) -> Path:
    """A run folder with the step-0 checkpoint of an untrained demo generator, written by the
    trainer's own path (``Trainer.fit`` with ``steps = 0``)."""
    cfg = load_config("demo", {"data": CKPT_DATA, "frame_range": "", "val_data": "",
                               "val_frame_range": "", "steps": 0, "device": "cpu",
                               "sample_every": 0, "val_every": 0, "tensorboard": False})
    trainer = Trainer(cfg, run_dir, progress=False)
    try:
        trainer.fit()
    finally:
        trainer.close()
    return run_dir


def eval_rows(devices, args, tmp: Path) -> list[dict]:
    """clips/s of ``evaluate_checkpoint`` per device, fast_math off then auto."""
    run_dir = untrained_run(tmp / "run")
    m = load_config("demo").m
    data = tmp / "test"
    spec = prepare_test_folder(data, args.eval_videos, args.eval_size, m + 1)
    rows = []
    for device in devices:
        base = None
        for precision, setting in (("float32", "off"), ("fast", "auto")):
            found = {}

            def call():
                result, meta = evaluate_checkpoint(
                    run_dir, str(data), tmp / "eval", frames=1, pictures=0, progress=False,
                    device=str(device), batch=args.eval_batch, fast_math=setting)
                found["clips"], found["plan"] = len(result["videos"]), \
                    meta["evaluation"]["fast_math"]

            rate, calls = timed_rate(call, synchronizer(device), warmup=args.warmup,
                                     min_time=args.min_time, min_calls=args.min_calls)
            cps = rate * found["clips"]
            base = cps if base is None else base
            rows.append({"device": str(device), "source": spec, "prepared": True,
                         "size": f"{args.eval_size[0]}x{args.eval_size[1]}",
                         "clips": found["clips"], "batch": args.eval_batch,
                         "precision": precision, "fast_math": setting, "plan": found["plan"],
                         "calls_timed": calls, "clips_per_s": cps, "speedup": cps / base})
            print(f"measured evaluate {device} fast_math={setting}: {num(cps)} clips/s",
                  file=sys.stderr, flush=True)
            release(device)
    return rows


def print_eval_table(rows: list[dict]) -> None:
    """The evaluate rows as a Markdown table."""
    columns = ["device", "frame size", "clips", "batch", "fast_math", "precision", "clips/s",
               "s/clip", "x f32"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for r in rows:
        cells = [r["device"], r["size"], r["clips"], r["batch"], r["fast_math"], r["plan"],
                 num(r["clips_per_s"]), num(1.0 / r["clips_per_s"]), f"{r['speedup']:.2f}"]
        print("| " + " | ".join(map(str, cells)) + " |")


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def parse_args(argv=None) -> tuple[argparse.Namespace, list[torch.device]]:
    """The options, checked, and the devices to measure on (the CPU first)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default=",".join(CONFIGS),
                        help=f"comma-separated generator configs ({','.join(CONFIGS)})")
    parser.add_argument("--sizes", default=SIZES, help=f"comma-separated HxW frame sizes ({SIZES})")
    parser.add_argument("--device", default="auto",
                        help="auto | cpu | cuda (auto): the CPU rows always, CUDA's too where "
                             "auto or cuda finds it")
    parser.add_argument("--batch", type=int, default=1, help="clips per prediction call (1)")
    parser.add_argument("--force-bf16", action="store_true",
                        help="fast rows in bf16 autocast + channels_last even where bf16 is "
                             "emulated (prediction table only)")
    parser.add_argument("--min-time", type=float, default=2.0, help="seconds per measurement (2)")
    parser.add_argument("--min-calls", type=int, default=1, help="timed calls at least (1)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed calls first (1)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (default: torch's)")
    parser.add_argument("--no-eval", action="store_true", help="skip the evaluate table")
    parser.add_argument("--no-flow", action="store_true",
                        help="skip the flow_extrap baseline table (and its OpenCV yardstick)")
    parser.add_argument("--eval-videos", type=int, default=8,
                        help="synthetic test videos, one clip each (8)")
    parser.add_argument("--eval-size", default="240x320", help="their HxW frame size (240x320)")
    parser.add_argument("--eval-batch", type=int, default=8,
                        help="evaluate's clips per prediction batch (8, its default)")
    parser.add_argument("--json", type=Path, default=None, help="write the rows to this JSON file")
    args = parser.parse_args(argv)

    try:
        device = resolve_device(args.device)
        args.sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
        args.eval_size = parse_size(args.eval_size)
    except (DeviceError, ValueError) as exc:
        parser.error(str(exc))
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for name in args.configs:
        try:
            load_config(name)
        except ConfigError as exc:  # an unknown name
            parser.error(str(exc))
    for key in ("batch", "min_calls", "eval_videos", "eval_batch"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be >= 1")
    if args.warmup < 0 or args.min_time < 0:
        parser.error("--warmup and --min-time must be >= 0")
    devices = [torch.device("cpu")] + ([device] if device.type == "cuda" else [])
    return args, devices


def print_header(args, devices) -> None:
    """Date, command, machine, and what fast math is on each device."""
    cuda = [d for d in devices if d.type == "cuda"]
    gpu = "; ".join(f"{torch.cuda.get_device_name(d)} (CUDA {torch.version.cuda})" for d in cuda)
    print(f"# sharpvid inference benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"# command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"# machine: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"devices {', '.join(map(str, devices))}{' (' + gpu + ')' if gpu else ''}; "
          f"{torch.get_num_threads()} CPU threads")
    for device in devices:
        native, evidence = native_bf16(device)
        auto = resolve_fast_math("auto", device)
        line = f"# {device}: fast_math=auto is {auto.summary}"
        if not auto.bf16 and not args.force_bf16:
            line += ("; without native bf16 this is the same float32 path as fast_math=off, "
                     "measured anyway (x f32 ~ 1 is run-to-run noise; --force-bf16 measures "
                     "emulated bf16)")
        elif args.force_bf16:
            line += f"; fast rows forced: {FORCED.summary} (native bf16: " \
                    f"{'yes' if native else 'no'}, {evidence})"
        print(line)
    print(f"# timing: {args.warmup} warm-up call(s), then >= {args.min_time:g} s and "
          f">= {args.min_calls} call(s); prediction: g.predict(x, 1, pad=True), x "
          f"(B={args.batch}, m=cfg.m=4, 3, H, W) in [-1, 1], untrained weights")
    print()


def main(argv=None) -> int:
    args, devices = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    t_run = time.perf_counter()
    print_header(args, devices)

    rows = predict_rows(devices, args.configs, args.sizes, args)
    print("## Prediction (full frames)")
    print()
    print_predict_table(rows)
    print()

    flows = []
    if not args.no_flow:
        flows, note = flow_rows(devices, args.sizes, args)
        print(f"## Prediction baseline: flow_extrap (sharpvid.fast.flow.flow_extrapolate(x, 1), "
              f"x (B={args.batch}, m=4, 3, H, W)) against OpenCV DIS MEDIUM + remap ({note})")
        print()
        print_flow_table(flows)
        print()

    evals = []
    if not args.no_eval:
        with tempfile.TemporaryDirectory(prefix="bench_infer-") as tmp:
            evals = eval_rows(devices, args, Path(tmp))
        h, w = args.eval_size
        print(f"## evaluate_checkpoint: {args.eval_videos} prepared synthetic test clips of "
              f"{h}x{w}, frames=1, untrained demo generator")
        print()
        print_eval_table(evals)
        print()
        print("(a call: load the checkpoint, read the clips, predict, score model and copy-last "
              "with every metric, write metrics.csv/json; --force-bf16 does not apply here)")
    print(f"# total {time.perf_counter() - t_run:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d %H:%M"), "command": sys.argv,
            "machine": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "devices": [str(d) for d in devices], "threads": torch.get_num_threads(),
            "predict": rows, "flow_extrap": flows, "evaluate": evals}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
