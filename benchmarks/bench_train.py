"""Measure training speed (Algorithm 1 steps/s) against a matmul peak measured in the same run.

    python benchmarks/bench_train.py                               # all configs, batch 8 and large
    python benchmarks/bench_train.py --configs tiny,demo --batches 8 --min-time 1
    python benchmarks/bench_train.py --device cuda --compile --compile-mode reduce-overhead

For every network config (``--configs``: tiny, demo, authors_small, paper; tf also works), λ_adv
(0.05: a D step then a G step, Algorithm 1; 0: the G step alone, the ℓ2 + GDL baseline) and
batch (``--batches``, default the paper's 8 and ``--large-batch``: 256 on CUDA, 32 on the CPU,
where one adversarial step of the paper's networks on 256 clips takes about 4 minutes), one
:class:`fast.train.Trainer` is built exactly as ``sharpvid train`` builds it (the config's
optimisers, ``fast_math`` on, optional ``torch.compile``) and :meth:`~fast.train.Trainer.step`
is timed: ``--warmup`` steps first, then steps until ``--min-time`` seconds have passed (at least
``--min-steps``), with ``torch.cuda.synchronize()`` around the timed loop on CUDA.  Data: a pool
of synthetic clips drawn once and served in turn (:class:`ClipPool`), so the only data work in a
step is the trainer's own uint8 -> float conversion; what is measured is the networks, losses and
optimisers.

Samples/s counts every clip a step consumes, as the trainer's log does: 2B with a D step (D and G
each take B new clips), B without.

FLOP count (analytic, per step; printed with the rule in the header):

- a convolution: ``2 * C_in * C_out * k * k * H_out * W_out`` FLOPs (2 per multiply-add), a
  linear layer ``2 * in * out``; biases, activations, pooling, pyramids and losses are not counted.
  The shapes come from :func:`reference.networks.generator_weight_shapes` /
  :func:`~reference.networks.discriminator_weight_shapes`; G's convs are 'same' at scale k's side
  ``patch / 2^(N-1-k)`` (:func:`reference.networks._scale_side`), D's are valid (each k x k conv
  removes k-1 pixels), the optional 2x2 pool sits before the FC layers (already in the FC shapes).
- backward = 2x forward for a network whose weights are trained (input gradients + weight
  gradients), 1x for one that is only backpropagated through (input gradients only: D in the G
  step, where its weights are frozen).  The first layer of a trained network needs no input
  gradient when its input needs none (D in the D step, G's coarsest scale), so the rule slightly
  over-counts; ``--check-flops`` prints torch's own count (:mod:`torch.utils.flop_counter`,
  which counts only what autograd runs) beside it.
- λ_adv > 0: D step = G forward on B (no grad) + D forward on 2B (real, fake) + D backward on 2B;
  G step = G forward + backward on B + D forward on B fakes + D input-gradient backward:
  ``B * (4 G + 8 D)`` with G, D the per-sample forward FLOPs.  λ_adv = 0: ``B * 3 G``.

Peak: a large square matmul in the training dtype, fp32 on the CPU (2048 x 2048), bf16 on CUDA
(8192 x 8192; ``fast_math`` runs the convolutions in bf16): the best group of 10 matmuls over
max(2 s, ``--min-time``), measured before the rows and again after them (a shared VM's rate
drifts; the ratios use the first).  "% peak" = achieved / peak, nanoGPT's MFU.

Targets (issue): on the CPU the paper config at >= 50 % of the fp32 matmul rate; on an H100 the
paper config at >= 40 % of the bf16 matmul rate at batch 256 and >= 100 steps/s at batch 8.
Other rows have no target ("-").
"""

from __future__ import annotations

import argparse
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import cpu_model  # noqa: E402

from fast.config import load_config  # noqa: E402
from fast.devices import DeviceError, resolve_device  # noqa: E402
from fast.train import Trainer  # noqa: E402
from fast.video.clips import ClipConfig, ClipSampler  # noqa: E402
from fast.video.sources import open_source  # noqa: E402
from reference.networks import (NetworkConfig, _scale_side,  # noqa: E402
                                discriminator_weight_shapes, generator_weight_shapes)

#: benchmark config name -> (shipped TOML, overrides): the TOML's optimisers and networks
CONFIGS = {
    "tiny": ("tiny", {}),
    "demo": ("demo", {}),                                    # authors_small G, a small D
    "authors_small": ("paper", {"network": "authors_small"}),  # paper's training, 8x smaller nets
    "paper": ("paper", {}),
    "tf": ("tf", {}),
}
LAM_ADV = 0.05                 # the paper's λ_adv
DATA = "synthetic:videos=4,frames=32,height=64,width=64"
PATCH = 32
CPU_TARGET = 0.50              # paper config, fraction of the fp32 matmul peak (CPU)
CUDA_TARGET = 0.40             # paper config at batch >= 256, fraction of the bf16 peak (H100)
CUDA_STEPS_TARGET = 100.0      # paper config at batch 8, steps/s (H100)
TARGET_CONFIG = "paper"


# ---------------------------------------------------------------------------------------------
# FLOP count
# ---------------------------------------------------------------------------------------------


def conv_flops(weight_shape, h_out: int, w_out: int) -> int:
    """FLOPs of one convolution's forward, one sample: 2 C_in C_out k_h k_w H_out W_out."""
    c_out, c_in, k_h, k_w = weight_shape
    return 2 * c_in * c_out * k_h * k_w * h_out * w_out


def linear_flops(weight_shape) -> int:
    """FLOPs of one linear layer's forward, one sample: 2 in out."""
    n_out, n_in = weight_shape
    return 2 * n_in * n_out


def generator_flops(net: NetworkConfig) -> int:
    """G's forward FLOPs per sample: every scale's 'same' convs at side patch / 2^(N-1-k)."""
    shapes = generator_weight_shapes(net)
    total = 0
    for k in range(net.n_scales):
        side = _scale_side(net, k)
        for i in range(len(net.g_kernels[k])):
            total += conv_flops(shapes[f"scales.{k}.convs.{i}.weight"], side, side)
    return total


def discriminator_flops(net: NetworkConfig) -> int:
    """D's forward FLOPs per sample: valid convs (side shrinks by k-1 each), then the FC layers
    (their input size already counts the optional 2x2 pool)."""
    shapes = discriminator_weight_shapes(net)
    total = 0
    for k in range(net.n_scales):
        side = _scale_side(net, k)
        for i, size in enumerate(net.d_kernels[k]):
            side -= size - 1
            total += conv_flops(shapes[f"scales.{k}.convs.{i}.weight"], side, side)
        for j in range(len(net.d_fc[k])):
            total += linear_flops(shapes[f"scales.{k}.fcs.{j}.weight"])
    return total


def step_flops(net: NetworkConfig, batch: int, adversarial: bool) -> int:
    """FLOPs of one training step (module docstring's rule): B (4 G + 8 D), or B 3 G."""
    g, d = generator_flops(net), discriminator_flops(net)
    if not adversarial:
        return batch * 3 * g                       # G forward + backward (2x)
    d_step = g + 2 * d + 2 * (2 * d)               # G fwd (no grad); D fwd + bwd on real and fake
    g_step = 3 * g + d + d                         # G fwd + bwd; D fwd + input-gradient bwd (1x)
    return batch * (d_step + g_step)


# ---------------------------------------------------------------------------------------------
# Data, device, timing
# ---------------------------------------------------------------------------------------------


class ClipPool:
    """Clips drawn once (uint8 ``(N, T, C, S, S)``) and served in turn, with the interface of
    :class:`fast.video.clips.ClipSampler` (``batch(k, batch_size, seed, rank)``)."""

    def __init__(self, clips: np.ndarray):
        self.clips = clips

    def batch(self, k: int, batch_size: int, seed: int = 0, rank: int = 0) -> np.ndarray:
        return self.clips[(k * batch_size + np.arange(batch_size)) % len(self.clips)]


def make_pool(spec: str, size: int, m: int = 4, n: int = 1) -> ClipPool:
    """``size`` training clips of ``spec`` (m + n frames, PATCH x PATCH), drawn once."""
    sampler = ClipSampler(open_source(spec), ClipConfig(m=m, n=n, size=PATCH))
    return ClipPool(sampler.batch(0, size))


def synchronizer(device: torch.device):
    """What waits for the device's queued work: ``torch.cuda.synchronize`` on CUDA, else nothing."""
    return torch.cuda.synchronize if device.type == "cuda" else (lambda: None)


def timed_rate(fn, sync, *, warmup: int, min_time: float, min_calls: int) -> tuple[float, int]:
    """Calls/s of ``fn()`` over at least ``min_time`` s and ``min_calls`` calls, after
    ``warmup`` calls; ``sync()`` (CUDA: synchronize) before starting and stopping the clock."""
    for _ in range(warmup):
        fn()
    sync()
    n, start = 0, time.perf_counter()
    while n < min_calls or time.perf_counter() - start < min_time:
        fn()
        n += 1
    sync()
    return n / (time.perf_counter() - start), n


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int, min_time: float) -> float:
    """FLOP/s of ``size x size`` matmuls in ``dtype`` (2 size^3 each): the best of timed
    groups of 10 over ``min_time`` seconds (at least 3 groups), after one warm-up group."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    sync = synchronizer(device)
    best, groups, start = 0.0, -1, time.perf_counter()
    while groups < 3 or time.perf_counter() - start < min_time:
        sync()
        t0 = time.perf_counter()
        for _ in range(10):
            torch.mm(a, b, out=out)
        sync()
        if groups >= 0:  # group -1 is the warm-up
            best = max(best, 10 * 2 * size**3 / (time.perf_counter() - t0))
        groups += 1
    return best


def train_config(name: str, batch: int, adversarial: bool, args, device: torch.device):
    """The shipped config of ``name`` for one row: its networks and optimisers, this batch and
    λ_adv, ``fast_math`` on, ``--compile`` as asked, no validation or TensorBoard."""
    toml, extra = CONFIGS[name]
    return load_config(toml, {
        **extra, "data": args.data, "frame_range": "", "val_data": "", "patch": PATCH,
        "batch": batch, "lam_adv": LAM_ADV if adversarial else 0.0, "device": str(device),
        "fast_math": True, "compile": args.compile, "compile_mode": args.compile_mode,
        "tensorboard": False,
    })


def check_flops(trainer: Trainer) -> int:
    """torch's count of one step (:class:`torch.utils.flop_counter.FlopCounterMode`)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        trainer.step()
    return counter.get_total_flops()


def num(x: float) -> str:
    """3 significant figures, no exponent: 0.0312, 5.91, 703, 3,348."""
    if x >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}" if x >= 1e-3 else f"{x:.1e}"


def target_of(name: str, batch: int, device: torch.device):
    """(label, test(steps_per_s, fraction_of_peak)) of the issue's target for this row, or None."""
    if name != TARGET_CONFIG:
        return None
    if device.type == "cpu":
        return f">= {CPU_TARGET:.0%} peak", lambda rate, frac: frac >= CPU_TARGET
    if batch >= 256:
        return f">= {CUDA_TARGET:.0%} peak (H100)", lambda rate, frac: frac >= CUDA_TARGET
    if batch == 8:
        return (f">= {CUDA_STEPS_TARGET:.0f} steps/s (H100)",
                lambda rate, frac: rate >= CUDA_STEPS_TARGET)
    return None


# ---------------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", default="tiny,demo,authors_small,paper",
                        help=f"comma-separated, of {sorted(CONFIGS)} "
                             "(tiny,demo,authors_small,paper)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda (auto)")
    parser.add_argument("--batches", default="",
                        help="comma-separated batch sizes (default: 8 and --large-batch)")
    parser.add_argument("--large-batch", type=int, default=None,
                        help="the large batch: 256 on CUDA, 32 on the CPU")
    parser.add_argument("--adv", choices=("both", "on", "off"), default="both",
                        help="λ_adv = 0.05 (on), 0 (off) or both rows (both)")
    parser.add_argument("--min-time", type=float, default=3.0, help="seconds per measurement (3)")
    parser.add_argument("--min-steps", type=int, default=2, help="timed steps at least (2)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed steps first (2; 10 with --compile)")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch CPU threads (default: torch's)")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile G and D (cfg.compile)")
    parser.add_argument("--compile-mode", default="default",
                        choices=("default", "reduce-overhead", "max-autotune"),
                        help="torch.compile mode (default); reduce-overhead = CUDA graphs")
    parser.add_argument("--peak-size", type=int, default=None,
                        help="side of the peak matmul (2048 on the CPU, 8192 on CUDA)")
    parser.add_argument("--data", default=DATA, help=f"clip source of the pool ({DATA})")
    parser.add_argument("--pool", type=int, default=512, help="clips in the pool (512)")
    parser.add_argument("--check-flops", action="store_true",
                        help="also count one step with torch.utils.flop_counter, per row")
    parser.add_argument("--json", type=Path, default=None, help="write the rows to this JSON file")
    args = parser.parse_args(argv)

    try:
        device = resolve_device(args.device)
    except DeviceError as exc:
        parser.error(str(exc))
    if args.threads:
        torch.set_num_threads(args.threads)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    for name in names:
        if name not in CONFIGS:
            parser.error(f"unknown config {name!r}; choose from {sorted(CONFIGS)}")
    cuda = device.type == "cuda"
    large = args.large_batch or (256 if cuda else 32)
    batches = ([int(b) for b in args.batches.split(",") if b.strip()] if args.batches
               else [8, large])
    advs = {"both": (True, False), "on": (True,), "off": (False,)}[args.adv]
    warmup = args.warmup if args.warmup is not None else (10 if args.compile else 2)
    sync = synchronizer(device)
    t_run = time.perf_counter()

    # -- header and peak
    dtype = torch.bfloat16 if cuda else torch.float32
    peak_size = args.peak_size or (8192 if cuda else 2048)
    peak_time = max(args.min_time, 2.0)
    peak = matmul_peak(device, dtype, peak_size, peak_time)
    where = (f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})" if cuda
             else "CPU")
    dtype_name = str(dtype).removeprefix("torch.")
    print(f"# sharpvid training benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"# command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"# machine: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"device {where}; {torch.get_num_threads()} CPU threads; fast_math on"
          + (f"; torch.compile mode={args.compile_mode}" if args.compile else ""))
    print(f"# peak: {peak_size}x{peak_size} {dtype_name} matmul {peak / 1e9:,.0f} GFLOP/s "
          f"(best group of 10 over {peak_time:g} s; measured again at the end)")
    print(f"# data: {args.pool} clips of 5x3x{PATCH}x{PATCH} from {args.data}, drawn once; "
          f"{warmup} warm-up steps, then >= {args.min_time:g} s and >= {args.min_steps} steps")
    print("# FLOPs: conv 2*Cin*Cout*k*k*Hout*Wout, linear 2*in*out; backward = 2x forward for "
          "trained nets, 1x for D in the G step (frozen); step = B*(4G+8D) with D, B*3G without")
    print()

    rows = []
    columns = ["config", "λ_adv", "batch", "G / D GFLOP per sample", "steps/s", "samples/s",
               "GFLOP/step", *(["torch GFLOP/step"] if args.check_flops else []), "GFLOP/s",
               "% peak", "target", "result"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    with tempfile.TemporaryDirectory(prefix="bench_train-") as tmp:
        pool = make_pool(args.data, max(args.pool, 2 * max(batches)))
        for name in names:
            for adversarial in advs:
                for batch in batches:
                    cfg = train_config(name, batch, adversarial, args, device)
                    net = cfg.network_config()
                    trainer = Trainer(cfg, Path(tmp) / f"{name}-{batch}-{adversarial}",
                                      progress=False, clips=pool, val_clips=[])
                    rate, steps = timed_rate(trainer.step, sync, warmup=warmup,
                                             min_time=args.min_time, min_calls=args.min_steps)
                    flops = step_flops(net, batch, adversarial)
                    torch_flops = check_flops(trainer) if args.check_flops else None
                    samples = batch * (2 if adversarial else 1)
                    achieved = flops * rate
                    frac = achieved / peak
                    target = target_of(name, batch, device)
                    label, result = ("-", "-") if target is None else (
                        target[0], "pass" if target[1](rate, frac) else "miss")
                    g_gf, d_gf = generator_flops(net) / 1e9, discriminator_flops(net) / 1e9
                    row = {
                        "config": name, "network": cfg.network, "lam_adv": cfg.lam_adv,
                        "batch": batch, "steps_timed": steps, "steps_per_s": rate,
                        "samples_per_s": rate * samples, "g_gflop_per_sample": g_gf,
                        "d_gflop_per_sample": d_gf, "gflop_per_step": flops / 1e9,
                        "gflop_per_s": achieved / 1e9, "fraction_of_peak": frac,
                        "target": label, "result": result,
                    }
                    if torch_flops is not None:
                        row["torch_gflop_per_step"] = torch_flops / 1e9
                    rows.append(row)
                    cells = [name, f"{cfg.lam_adv:g}", batch,
                             f"{num(g_gf)} / {num(d_gf) if adversarial else '-'}", num(rate),
                             num(rate * samples), num(flops / 1e9),
                             *([num(torch_flops / 1e9)] if torch_flops is not None else []),
                             num(achieved / 1e9), f"{frac:.1%}", label, result]
                    print("| " + " | ".join(map(str, cells)) + " |", flush=True)
                    del trainer
                    gc.collect()
                    if cuda:
                        torch.cuda.empty_cache()

    peak_end = matmul_peak(device, dtype, peak_size, peak_time)
    print()
    print(f"peak again at the end: {peak_end / 1e9:,.0f} GFLOP/s ({peak_end / peak:.2f}x the "
          f"start's; the ratios use the start's)")
    for row in rows:
        if row["result"] != "-":
            print(f"target {row['config']}, λ_adv {row['lam_adv']:g}, batch {row['batch']}: "
                  f"{row['target']}: {row['result']} ({row['fraction_of_peak']:.1%} of peak, "
                  f"{num(row['steps_per_s'])} steps/s)")
    if not cuda:
        print("CUDA targets (H100: paper >= 40 % of bf16 peak at batch 256, >= 100 steps/s at "
              "batch 8): not measured here, run with --device cuda")
    print(f"# total {time.perf_counter() - t_run:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d %H:%M"), "command": sys.argv,
            "machine": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "device": where, "threads": torch.get_num_threads(), "peak_dtype": dtype_name,
            "peak_size": peak_size, "peak_gflop_per_s": peak / 1e9,
            "peak_end_gflop_per_s": peak_end / 1e9, "compile": args.compile,
            "compile_mode": args.compile_mode, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
