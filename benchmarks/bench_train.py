"""Measure training speed (Algorithm 1 steps/s) per precision against the machine's honest
ceiling for that precision, measured in the same run.

    python benchmarks/bench_train.py                               # all configs, batch 8 and large
    python benchmarks/bench_train.py --configs demo,paper --batches 8 --adv on
    python benchmarks/bench_train.py --configs demo,paper --batches 8 --adv on --force-bf16
    python benchmarks/bench_train.py --loss-check 200 --configs tiny --batches 8
    python benchmarks/bench_train.py --device cuda --compile --compile-mode reduce-overhead

For every network config (``--configs``: tiny, demo, authors_small, paper; tf also works), λ_adv
(0.05: a D step then a G step, Algorithm 1; 0: the G step alone, the ℓ2 + GDL baseline) and
batch (``--batches``, default the paper's 8 and ``--large-batch``: 256 on CUDA, 32 on the CPU,
where one adversarial step of the paper's networks on 256 clips takes about 4 minutes), one
:class:`sharpvid.fast.training.loop.Trainer` is built exactly as ``sharpvid train`` builds it (the
config's optimisers, optional ``torch.compile``) and
:meth:`~sharpvid.fast.training.loop.Trainer.step` is timed: ``--warmup`` steps first, then steps
until ``--min-time`` seconds have passed (at least ``--min-steps``), with
``torch.cuda.synchronize()`` around the timed loop on CUDA.  Data: a pool of synthetic clips drawn
once and served in turn (:class:`ClipPool`), so the only data work in a step is the trainer's own
uint8 -> float conversion; what is measured is the networks, losses and optimisers.

Samples/s counts every clip a step consumes, as the trainer's log does: 2B with a D step (D and G
each take B new clips), B without.

FLOP count (analytic, per step; printed with the rule in the header):

- a convolution: ``2 * C_in * C_out * k * k * H_out * W_out`` FLOPs (2 per multiply-add), a
  linear layer ``2 * in * out``; biases, activations, pooling, pyramids and losses are not counted.
  The shapes come from :func:`sharpvid.reference.networks.generator_weight_shapes` /
  :func:`~sharpvid.reference.networks.discriminator_weight_shapes`; G's convs are 'same' at scale
  k's side ``patch / 2^(N-1-k)`` (:func:`sharpvid.reference.networks._scale_side`), D's are valid
  (each k x k conv removes k-1 pixels), the optional 2x2 pool sits before the FC layers (already in
  the FC shapes).
- backward = 2x forward for a network whose weights are trained (input gradients + weight
  gradients), 1x for one that is only backpropagated through (input gradients only: D in the G
  step, where its weights are frozen).  The first layer of a trained network needs no input
  gradient when its input needs none (D in the D step, G's coarsest scale), so the rule slightly
  over-counts; ``--check-flops`` prints torch's own count (:mod:`torch.utils.flop_counter`,
  which counts only what autograd runs) beside it.
- λ_adv > 0: D step = G forward on B (no grad) + D forward on 2B (real, fake) + D backward on 2B;
  G step = G forward + backward on B + D forward on B fakes + D input-gradient backward:
  ``B * (4 G + 8 D)`` with G, D the per-sample forward FLOPs.  λ_adv = 0: ``B * 3 G``.

Precisions (``--precisions``, one row each): ``float32`` (``fast_math=off``: float32 NCHW, the
oracle-checked numbers) and ``fast`` (``fast_math=auto`` as
:func:`sharpvid.fast.devices.resolve_fast_math` resolves it here: bf16 autocast + channels_last
where the device has native bf16, else the same float32 path, and the fast rows are then skipped as
duplicates unless ``--force-bf16`` measures emulated bf16 anyway); ``float32-cl`` measures float32
in channels_last alone (the layout half of fast math).  "x f32" is a row's steps/s over the float32
row of the same config, λ_adv and batch. Emulated bf16 is slow: on a 2-core AVX2 CPU the demo step
takes 9x float32's, and one paper step several minutes, so keep ``--force-bf16`` to the small
configs there.

Ceiling, per precision (float32, bfloat16), measured in the same run: the best of
(a) a large square matmul (MKL on the CPU; 2048 x 2048 on the CPU, 8192 x 8192 on CUDA),
(b) one convolution at the largest layer shape of the configs benchmarked (batch 8, NCHW and
channels_last; oneDNN on the CPU), each the best timed group (10 calls, fewer when a call is
slow) over max(2 s, ``--min-time``), and
(c) on the CPU, the theoretical cores x clock x FLOPs/cycle where they can be read (clock:
cpufreq's maximum, else /proc/cpuinfo's MHz; FLOPs/cycle: 2 FMA units x vector lanes x 2 for
float32 (AVX-512 16 lanes, AVX2/FMA 8, else 4); bf16 twice that with AVX512-BF16, 2,048 with AMX,
float32's where bf16 is emulated).  A row faster than every yardstick raises its precision's
ceiling to itself (printed), so "% ceiling" (nanoGPT's MFU) never exceeds 100 %: a ratio above
100 % would say the yardstick, not the code, is off.  The measured yardsticks are taken again
after the rows (a shared VM's rate drifts; the ratios use the first).

Targets (issue): on a CPU with native bf16, fast math at >= 2x the float32 steps/s for the demo
and paper configs, and the paper config's bf16 row at >= 50 % of the bf16 ceiling (a CPU without
native bf16 keeps float32: these targets do not apply there, and the output says why); on an
H100 the paper config at >= 40 % of the bf16 ceiling at batch 256 and >= 100 steps/s at batch 8.
Other rows have no target ("-").  ``--loss-check N``: N steps of the ``tiny`` config in float32
and in bf16 (forced where not native), every logged loss compared step by step.
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


from _machine import cpu_model  # noqa: E402

from sharpvid.fast.config import load_config  # noqa: E402
from sharpvid.fast.devices import (ON, DeviceError, FastMath, cpu_flags,  # noqa: E402
                                   native_bf16, resolve_device, resolve_fast_math)
from sharpvid.fast.training.loop import Trainer  # noqa: E402
from sharpvid.fast.video.clips import ClipConfig, ClipSampler  # noqa: E402
from sharpvid.fast.video.sources import open_source  # noqa: E402
from sharpvid.reference.networks import (NetworkConfig, _scale_side,  # noqa: E402
                                         discriminator_weight_shapes,
                                         generator_weight_shapes)

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
CPU_TARGET = 0.50              # paper config, fraction of the bf16 ceiling (CPU with native bf16)
SPEEDUP_TARGET = 2.0           # fast math over float32 steps/s, demo and paper (native bf16 CPU)
SPEEDUP_CONFIGS = ("demo", "paper")
CUDA_TARGET = 0.40             # paper config at batch >= 256, fraction of the bf16 peak (H100)
CUDA_STEPS_TARGET = 100.0      # paper config at batch 8, steps/s (H100)
TARGET_CONFIG = "paper"
PRECISIONS = ("float32", "fast", "float32-cl")


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
    :class:`sharpvid.fast.video.clips.ClipSampler` (``batch(k, batch_size, seed, rank)``)."""

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


def best_rate(fn, flops: float, device: torch.device, min_time: float) -> float:
    """FLOP/s of ``fn`` (``flops`` per call): the best timed group over ``min_time`` seconds (at
    least 3 groups) after one warm-up call; a group is 10 calls, or as many as take about 0.2 s
    when a call is slow (an emulated-bf16 convolution can take seconds)."""
    sync = synchronizer(device)
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    per_group = max(1, min(10, int(0.2 / max(time.perf_counter() - t0, 1e-9))))
    best, groups, start = 0.0, 0, time.perf_counter()
    while groups < 3 or time.perf_counter() - start < min_time:
        sync()
        t0 = time.perf_counter()
        for _ in range(per_group):
            fn()
        sync()
        best = max(best, per_group * flops / (time.perf_counter() - t0))
        groups += 1
    return best


def matmul_peak(device: torch.device, dtype: torch.dtype, size: int, min_time: float) -> float:
    """FLOP/s of ``size x size`` matmuls in ``dtype`` (2 size^3 each), by :func:`best_rate`."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    return best_rate(lambda: torch.mm(a, b, out=out), 2 * size**3, device, min_time)


def largest_conv(names) -> tuple[str, tuple, int]:
    """``(config, weight shape, output side)`` of the convolution with the most FLOPs per sample
    over G and D of the configs ``names`` at the benchmark's patch."""
    best = None
    for name in names:
        net = train_config(name, 8, True, None, torch.device("cpu")).network_config()
        for shapes, kernels, same in ((generator_weight_shapes(net), net.g_kernels, True),
                                      (discriminator_weight_shapes(net), net.d_kernels, False)):
            for k in range(net.n_scales):
                side = _scale_side(net, k)
                for i, size in enumerate(kernels[k]):
                    side = side if same else side - (size - 1)
                    shape = shapes[f"scales.{k}.convs.{i}.weight"]
                    flops = conv_flops(shape, side, side)
                    if best is None or flops > best[0]:
                        best = (flops, name, tuple(shape), side)
    return best[1:]


def conv_peak(device: torch.device, dtype: torch.dtype, shape, side: int, channels_last: bool,
              min_time: float, batch: int = 8) -> float:
    """FLOP/s of one 'same' convolution of weight ``shape`` on ``batch`` x C_in x side x side in
    ``dtype`` (oneDNN on the CPU), in NCHW or channels_last, by :func:`best_rate`."""
    c_out, c_in, k, _ = shape
    x = torch.randn(batch, c_in, side, side, device=device).to(dtype)
    w = torch.randn(*shape, device=device).to(dtype)
    if channels_last:
        x, w = (t.contiguous(memory_format=torch.channels_last) for t in (x, w))
    with torch.no_grad():
        return best_rate(lambda: torch.nn.functional.conv2d(x, w, padding=(k - 1) // 2),
                         batch * conv_flops(shape, side, side), device, min_time)


def cpu_clock_hz() -> tuple[float | None, str]:
    """The CPU's clock and where it was read: cpufreq's maximum, else /proc/cpuinfo's MHz."""
    try:
        khz = float(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text())
        return khz * 1e3, "cpufreq max"
    except (OSError, ValueError):
        pass
    try:
        mhz = [float(line.split(":")[1]) for line in Path("/proc/cpuinfo").read_text().splitlines()
               if line.startswith("cpu MHz")]
        if mhz:
            return max(mhz) * 1e6, "/proc/cpuinfo MHz"
    except (OSError, ValueError):
        pass
    return None, "unreadable"


def theoretical_peak(dtype: torch.dtype) -> tuple[float | None, str]:
    """cores x clock x FLOPs/cycle (module docstring's rule), and the rule as printed."""
    clock, where = cpu_clock_hz()
    flags = cpu_flags()
    if clock is None or not flags:
        return None, "theoretical: clock or flags unreadable"
    lanes = 16 if "avx512f" in flags else 8 if ("avx2" in flags or "fma" in flags) else 4
    per_cycle = 2 * lanes * 2  # 2 FMA units x lanes x (multiply + add)
    rule = f"2 FMA x {lanes} lanes x 2"
    if dtype == torch.bfloat16:
        if "amx_bf16" in flags:
            per_cycle, rule = 2048, "AMX 1,024 bf16 MACs x 2"
        elif "avx512_bf16" in flags:
            per_cycle, rule = 2 * per_cycle, f"AVX512-BF16: 2 x ({rule})"
        else:
            rule += ", bf16 emulated"
    cores = os.cpu_count() or 1
    return (cores * clock * per_cycle,
            f"theoretical {cores} cores x {clock / 1e9:.2f} GHz ({where}) x {per_cycle} "
            f"FLOP/cycle ({rule})")


def yardsticks(device, dtype, peak_size, conv, min_time) -> dict[str, float]:
    """The measured (and on the CPU theoretical) FLOP/s of ``dtype``, by name (emulated bf16
    gets a matmul a quarter the side: at the full side one group takes minutes)."""
    name = "MKL" if device.type == "cpu" else "cuBLAS"
    if dtype == torch.bfloat16 and not native_bf16(device)[0]:
        peak_size //= 4
    _, shape, side = conv
    out = {f"{peak_size}^2 matmul ({name})": matmul_peak(device, dtype, peak_size, min_time)}
    for cl in (False, True):
        label = (f"conv {shape[1]}->{shape[0]} {shape[2]}x{shape[3]} at 8x{side}x{side} "
                 f"{'channels_last' if cl else 'NCHW'}")
        out[label] = conv_peak(device, dtype, shape, side, cl, min_time)
    if device.type == "cpu":
        value, rule = theoretical_peak(dtype)
        if value is not None:
            out[rule] = value
    return out


def train_config(name: str, batch: int, adversarial: bool, args, device: torch.device,
                 fast_math: str = "off"):
    """The shipped config of ``name`` for one row: its networks and optimisers, this batch and
    λ_adv, ``fast_math`` as given, ``--compile`` as asked, no validation or TensorBoard."""
    toml, extra = CONFIGS[name]
    return load_config(toml, {
        **extra, "data": args.data if args else DATA, "frame_range": "", "val_data": "",
        "patch": PATCH, "batch": batch, "lam_adv": LAM_ADV if adversarial else 0.0,
        "device": str(device), "fast_math": fast_math,
        "compile": bool(args and args.compile),
        "compile_mode": args.compile_mode if args else "default", "tensorboard": False,
    })


def row_plan(precision: str, device: torch.device, force_bf16: bool) -> FastMath | None:
    """The networks' plan of a row of ``precision``, or None when the row would repeat the
    float32 one (``fast`` on a device without native bf16, unless ``force_bf16``)."""
    if precision == "float32":
        return resolve_fast_math("off", device)
    if precision == "float32-cl":
        return FastMath(channels_last=True, summary="float32 + channels_last")
    plan = resolve_fast_math("auto", device)
    if plan.bf16:
        return plan
    if force_bf16:
        return FastMath(channels_last=True, bf16=True,
                        summary="bf16 autocast + channels_last (forced: emulated here)")
    return None


def use_plan(trainer: Trainer, plan: FastMath) -> None:
    """Put ``plan`` on the trainer's networks (they move to channels_last at their next call,
    in place, so the optimisers keep their parameters); no DDP here, and --compile comes after."""
    for module in [trainer.g] + [c.module for c in trainer.critics]:
        module.fast_math = plan
    trainer.fast_math = plan


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


def targets_of(row: dict, device: torch.device, native: bool):
    """[(label, passed)] of the issue's targets that apply to ``row`` (after the speed-ups are
    known); empty for rows without one."""
    out = []
    name, batch, bf16 = row["config"], row["batch"], row["dtype"] == "bfloat16"
    if device.type == "cpu":
        if not (native and bf16):
            return out
        if name in SPEEDUP_CONFIGS and row.get("speedup") is not None and row["lam_adv"] > 0:
            out.append((f">= {SPEEDUP_TARGET:g}x float32", row["speedup"] >= SPEEDUP_TARGET))
        if name == TARGET_CONFIG:
            out.append((f">= {CPU_TARGET:.0%} bf16 ceiling", row["fraction"] >= CPU_TARGET))
        return out
    if name != TARGET_CONFIG or not bf16:
        return out
    if batch >= 256:
        out.append((f">= {CUDA_TARGET:.0%} ceiling (H100)", row["fraction"] >= CUDA_TARGET))
    if batch == 8:
        out.append((f">= {CUDA_STEPS_TARGET:.0f} steps/s (H100)",
                    row["steps_per_s"] >= CUDA_STEPS_TARGET))
    return out


def loss_check(steps: int, device: torch.device, tmp: Path) -> list[str]:
    """``steps`` steps of ``tiny`` in float32 and in bf16 (forced where not native), same seed
    and data; the largest relative difference of each logged loss over the steps."""
    bf16 = ON if device.type == "cpu" else resolve_fast_math("on", device)
    logs = {}
    for label, plan in (("float32", resolve_fast_math("off", device)), ("bf16", bf16)):
        cfg = load_config("tiny", {"data": DATA, "frame_range": "", "val_data": "",
                                   "steps": steps, "log_every": 1, "sample_every": 0,
                                   "val_every": 0, "device": str(device), "fast_math": "off",
                                   "tensorboard": False})
        trainer = Trainer(cfg, tmp / f"loss-{label}", progress=False)
        use_plan(trainer, plan)
        trainer.fit()
        lines = [json.loads(x) for x in (tmp / f"loss-{label}" / "metrics.jsonl").read_text()
                 .splitlines()]
        logs[label] = [x for x in lines if x["kind"] == "train"]
    out = []
    for key in ("g/total", "g/lp", "g/gdl", "g/adv", "d/loss"):
        rel = [abs(b[key] - a[key]) / max(abs(a[key]), 1e-12)
               for a, b in zip(logs["float32"], logs["bf16"]) if key in a and key in b]
        if rel:
            last = rel[-max(1, len(rel) // 10):]
            out.append(f"{key}: max {max(rel):.2%}, mean {np.mean(rel):.2%}, mean over the last "
                       f"10 % of steps {np.mean(last):.2%}")
    return out


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
    parser.add_argument("--precisions", default="float32,fast",
                        help=f"comma-separated, of {PRECISIONS} (float32,fast)")
    parser.add_argument("--force-bf16", action="store_true",
                        help="measure the fast rows in bf16 even where bf16 is emulated")
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
                        help="side of the matmul yardstick (2048 on the CPU, 8192 on CUDA)")
    parser.add_argument("--data", default=DATA, help=f"clip source of the pool ({DATA})")
    parser.add_argument("--pool", type=int, default=512, help="clips in the pool (512)")
    parser.add_argument("--check-flops", action="store_true",
                        help="also count one step with torch.utils.flop_counter, per row")
    parser.add_argument("--loss-check", type=int, default=0, metavar="N",
                        help="also train tiny N steps in float32 and bf16 and compare the losses")
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
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    for precision in precisions:
        if precision not in PRECISIONS:
            parser.error(f"unknown precision {precision!r}; choose from {PRECISIONS}")
    cuda = device.type == "cuda"
    large = args.large_batch or (256 if cuda else 32)
    batches = ([int(b) for b in args.batches.split(",") if b.strip()] if args.batches
               else [8, large])
    advs = {"both": (True, False), "on": (True,), "off": (False,)}[args.adv]
    warmup = args.warmup if args.warmup is not None else (10 if args.compile else 2)
    sync = synchronizer(device)
    t_run = time.perf_counter()
    native, evidence = native_bf16(device)
    plans = {p: row_plan(p, device, args.force_bf16) for p in precisions}
    dtypes = sorted({"bfloat16" if plan.bf16 else "float32" for plan in plans.values()
                     if plan is not None})

    # -- header and yardsticks
    peak_size = args.peak_size or (8192 if cuda else 2048)
    peak_time = max(args.min_time, 2.0)
    conv = largest_conv(names)
    sticks = {d: yardsticks(device, getattr(torch, d), peak_size, conv, peak_time) for d in dtypes}
    where = (f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})" if cuda
             else "CPU")
    print(f"# sharpvid training benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"# command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"# machine: {cpu_model()}, {os.cpu_count()} cores; torch {torch.__version__}; "
          f"device {where}; {torch.get_num_threads()} CPU threads"
          + (f"; torch.compile mode={args.compile_mode}" if args.compile else ""))
    print(f"# native bf16: {'yes' if native else 'no'} ({evidence}); fast_math=auto here: "
          f"{resolve_fast_math('auto', device).summary}")
    for precision in precisions:
        plan = plans[precision]
        print(f"# precision {precision}: " + (plan.summary if plan is not None else
              "skipped: fast math is float32 here, the float32 rows (--force-bf16 measures "
              "emulated bf16)"))
    for dtype in dtypes:
        print(f"# {dtype} yardsticks (GFLOP/s): " + "; ".join(
            f"{label} {value / 1e9:,.0f}" for label, value in sticks[dtype].items()))
    print(f"# data: {args.pool} clips of 5x3x{PATCH}x{PATCH} from {args.data}, drawn once; "
          f"{warmup} warm-up steps, then >= {args.min_time:g} s and >= {args.min_steps} steps")
    print("# FLOPs: conv 2*Cin*Cout*k*k*Hout*Wout, linear 2*in*out; backward = 2x forward for "
          "trained nets, 1x for D in the G step (frozen); step = B*(4G+8D) with D, B*3G without")
    print()

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_train-") as tmp:
        pool = make_pool(args.data, max(args.pool, 2 * max(batches)))
        for name in names:
            for adversarial in advs:
                for batch in batches:
                    for precision in precisions:
                        plan = plans[precision]
                        if plan is None:  # fast math is the float32 row here
                            continue
                        cfg = train_config(name, batch, adversarial, args, device)
                        net = cfg.network_config()
                        trainer = Trainer(cfg, Path(tmp) / f"{name}-{batch}-{adversarial}-"
                                                           f"{precision}",
                                          progress=False, clips=pool, val_clips=[])
                        use_plan(trainer, plan)
                        rate, steps = timed_rate(trainer.step, sync, warmup=warmup,
                                                 min_time=args.min_time,
                                                 min_calls=args.min_steps)
                        flops = step_flops(net, batch, adversarial)
                        row = {
                            "config": name, "network": cfg.network, "lam_adv": cfg.lam_adv,
                            "batch": batch, "precision": precision, "plan": plan.summary,
                            "dtype": "bfloat16" if plan.bf16 else "float32",
                            "steps_timed": steps, "steps_per_s": rate,
                            "samples_per_s": rate * batch * (2 if adversarial else 1),
                            "g_gflop_per_sample": generator_flops(net) / 1e9,
                            "d_gflop_per_sample": discriminator_flops(net) / 1e9,
                            "gflop_per_step": flops / 1e9, "gflop_per_s": flops * rate / 1e9,
                        }
                        if args.check_flops:
                            row["torch_gflop_per_step"] = check_flops(trainer) / 1e9
                        rows.append(row)
                        print(f"measured {name} λ_adv={cfg.lam_adv:g} batch {batch} "
                              f"{precision}: {num(rate)} steps/s", file=sys.stderr, flush=True)
                        del trainer
                        gc.collect()
                        if cuda:
                            torch.cuda.empty_cache()
        loss_lines = loss_check(args.loss_check, device, Path(tmp)) if args.loss_check else []

    # -- ceilings (never below a measured row), ratios, speed-ups, targets
    ceilings = {}
    for dtype in dtypes:
        label, value = max(sticks[dtype].items(), key=lambda kv: kv[1])
        fastest = max((r for r in rows if r["dtype"] == dtype), key=lambda r: r["gflop_per_s"],
                      default=None)
        if fastest is not None and fastest["gflop_per_s"] * 1e9 > value:
            label = (f"the {fastest['config']} batch {fastest['batch']} row itself (above every "
                     f"yardstick: {label} {value / 1e9:,.0f})")
            value = fastest["gflop_per_s"] * 1e9
        ceilings[dtype] = (label, value)
    for row in rows:
        row["fraction"] = row["gflop_per_s"] * 1e9 / ceilings[row["dtype"]][1]
        base = next((r for r in rows if r["precision"] == "float32" and all(
            r[k] == row[k] for k in ("config", "lam_adv", "batch"))), None)
        row["speedup"] = row["steps_per_s"] / base["steps_per_s"] if base else None
        row["targets"] = [(label, bool(ok)) for label, ok in targets_of(row, device, native)]

    columns = ["config", "λ_adv", "batch", "precision", "G / D GFLOP per sample", "steps/s",
               "samples/s", "GFLOP/step", *(["torch GFLOP/step"] if args.check_flops else []),
               "GFLOP/s", "% ceiling", "x f32", "target", "result"]
    print("| " + " | ".join(columns) + " |")
    print("|" + " --- |" * len(columns))
    for row in rows:
        adversarial = row["lam_adv"] > 0
        cells = [row["config"], f"{row['lam_adv']:g}", row["batch"], row["precision"],
                 f"{num(row['g_gflop_per_sample'])} / "
                 f"{num(row['d_gflop_per_sample']) if adversarial else '-'}",
                 num(row["steps_per_s"]), num(row["samples_per_s"]), num(row["gflop_per_step"]),
                 *([num(row["torch_gflop_per_step"])] if args.check_flops else []),
                 num(row["gflop_per_s"]),
                 f"{row['fraction']:.1%} {'bf16' if row['dtype'] == 'bfloat16' else 'f32'}",
                 "-" if row["speedup"] is None else f"{row['speedup']:.2f}",
                 "; ".join(label for label, _ in row["targets"]) or "-",
                 "; ".join("pass" if ok else "miss" for _, ok in row["targets"]) or "-"]
        print("| " + " | ".join(map(str, cells)) + " |")
    print()
    for dtype, (label, value) in ceilings.items():
        print(f"{dtype} ceiling: {value / 1e9:,.0f} GFLOP/s ({label})")
    sticks_end = {d: yardsticks(device, getattr(torch, d), peak_size, conv, peak_time)
                  for d in dtypes}
    for dtype in dtypes:
        measured = [k for k in sticks[dtype] if not k.startswith("theoretical")]
        print(f"{dtype} yardsticks again at the end: " + "; ".join(
            f"{sticks_end[dtype][k] / sticks[dtype][k]:.2f}x" for k in measured)
            + " the start's (the ratios use the start's)")
    for row in rows:
        for label, ok in row["targets"]:
            print(f"target {row['config']}, λ_adv {row['lam_adv']:g}, batch {row['batch']}, "
                  f"{row['precision']}: {label}: {'pass' if ok else 'miss'} "
                  f"({row['fraction']:.1%} of the {row['dtype']} ceiling, "
                  f"{num(row['steps_per_s'])} steps/s"
                  + (f", {row['speedup']:.2f}x float32)" if row["speedup"] else ")"))
    if not cuda and not native:
        print(f"CPU targets (fast math >= {SPEEDUP_TARGET:g}x float32 for demo and paper, paper "
              f">= {CPU_TARGET:.0%} of the bf16 ceiling): not applicable here: {evidence}, so "
              f"fast math keeps float32")
    if not cuda:
        print("CUDA targets (H100: paper >= 40 % of the bf16 ceiling at batch 256, >= 100 "
              "steps/s at batch 8): not measured here, run with --device cuda")
    for line in loss_lines:
        print(f"loss check, {args.loss_check} tiny steps, bf16 vs float32: {line}")
    print(f"# total {time.perf_counter() - t_run:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({
            "date": time.strftime("%Y-%m-%d %H:%M"), "command": sys.argv,
            "machine": cpu_model(), "cores": os.cpu_count(), "torch": torch.__version__,
            "device": where, "threads": torch.get_num_threads(), "native_bf16": native,
            "native_bf16_evidence": evidence,
            "yardsticks_gflop_per_s": {d: {k: v / 1e9 for k, v in sticks[d].items()}
                                       for d in dtypes},
            "ceilings_gflop_per_s": {d: {"value": v / 1e9, "from": label}
                                     for d, (label, v) in ceilings.items()},
            "compile": args.compile, "compile_mode": args.compile_mode, "rows": rows,
            "loss_check": loss_lines}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
