"""Time every oracle function against its fast twin on the same inputs, in one run.

    python benchmarks/bench_twins.py              # CPU (and CUDA when present)
    python benchmarks/bench_twins.py --quick      # smaller networks only, a few seconds

Sizes are realistic: a batch of 32 clips of 4+1 frames of 32x32 for losses and networks,
240x320 frames for metrics, CIFAR-sized 32x32 frames for the blurs, a 240x320 video for
clip selection; CUDA columns use batch 256 (CUDA_BATCH).  Each timing is the best of several
repeats after a warm-up.  Targets (issue): on CPU no twin slower than its oracle and the networks'
forward >= 5x; on CUDA every twin >= 20x its oracle at batch 256.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np
import torch


import sharpvid.fast.blur, sharpvid.fast.data, sharpvid.fast.losses  # noqa: E401
import sharpvid.fast.metrics, sharpvid.fast.networks, sharpvid.fast.pyramid  # noqa: E401
import sharpvid.reference.blur, sharpvid.reference.data, sharpvid.reference.losses  # noqa: E401
import sharpvid.reference.metrics, sharpvid.reference.networks  # noqa: E401
import sharpvid.reference.pyramid

R, F_ = sharpvid.reference, sharpvid.fast
CUDA_BATCH = 256


def best_time(fn, sync=lambda: None, min_total=0.3, max_reps=20) -> float:
    """Best wall time of ``fn()`` in seconds after one warm-up call."""
    fn()
    sync()
    times, start = [], time.perf_counter()
    while len(times) < max_reps and (len(times) < 3 or time.perf_counter() - start < min_total):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def cases(quick: bool, batch: int):
    """(name, size label, builder) where builder(batch) -> (ref_call, fast_call_for(device))."""
    rng = np.random.default_rng(0)

    def frames(*shape):
        return rng.uniform(-1, 1, shape)

    def pair(shape):
        a = frames(*shape)
        return a, np.clip(a + 0.1 * rng.standard_normal(shape), -1, 1)

    def on(device, *arrays):
        return [torch.as_tensor(a, dtype=torch.float32, device=device) for a in arrays]

    def two_arg(ref_fn, fast_fn, shape, **kw):
        a, b = pair(shape)
        return (lambda: ref_fn(a, b, **kw),
                lambda dev: (lambda ta=on(dev, a, b): lambda: fast_fn(*ta, **kw))())

    def one_arg(ref_fn, fast_fn, shape, **kw):
        a = frames(*shape)
        return (lambda: ref_fn(a, **kw), lambda dev: (lambda ta=on(dev, a): lambda: fast_fn(*ta, **kw))())

    def scales(b):
        ys = [pair((b, 3, s, s)) for s in (4, 8, 16, 32)]
        d = [rng.uniform(0.05, 0.95, b) for _ in range(4)]
        return [p[0] for p in ys], [p[1] for p in ys], d

    def combined(b):
        y_hat, y, d = scales(b)
        def fast_for(dev):
            t_hat, t_y, t_d = (on(dev, *v) for v in (y_hat, y, d))
            return lambda: F_.losses.combined_generator_loss(t_hat, t_y, t_d)
        return (lambda: R.losses.combined_generator_loss(y_hat, y, d), fast_for)

    def disc_loss(b):
        _, _, d = scales(b)
        d2 = [1 - v for v in d]
        def fast_for(dev):
            t1, t2 = on(dev, *d), on(dev, *d2)
            return lambda: F_.losses.discriminator_loss(t1, t2)
        return (lambda: R.losses.discriminator_loss(d, d2), fast_for)

    def patch_clip(_b):
        video = frames(10, 3, 240, 320)
        def fast_for(dev):
            (tv,) = on(dev, video)
            return lambda: F_.data.sample_patch_clip(tv, rng=1, threshold=1e9)
        return (lambda: R.data.sample_patch_clip(video, rng=1, threshold=1e9), fast_for)

    def networks(name, b, which):
        config = R.networks.get_config(name)
        x = frames(b, config.in_frames, config.channels, config.patch_size, config.patch_size)
        if which == "G":
            w = R.networks.init_generator_weights(config, rng=0)
            def fast_for(dev):
                model = F_.networks.MultiScaleGenerator(config, fast_math=dev == "cuda").to(dev)
                F_.networks.load_reference_weights(model, w)
                (tx,) = on(dev, x)
                def run():
                    with torch.inference_mode():
                        return model(tx)
                return run
            return (lambda: R.networks.generator_forward(w, x, config), fast_for)
        w = R.networks.init_discriminator_weights(config, rng=0)
        ys = R.pyramid.frame_pyramid(frames(b, config.channels, config.patch_size, config.patch_size),
                                     config.n_scales)
        def fast_for(dev):
            model = F_.networks.MultiScaleDiscriminator(config, fast_math=dev == "cuda").to(dev)
            F_.networks.load_reference_weights(model, w)
            (tx,), tys = on(dev, x), on(dev, *ys)
            def run():
                with torch.inference_mode():
                    return model(tx, tys)
            return run
        return (lambda: R.networks.discriminator_forward(w, x, ys, config), fast_for)

    b = batch
    meta = 8 if batch < CUDA_BATCH else batch // 8  # 240x320 frames per metric call
    yield "lp_loss", f"{b}x3x32x32", lambda: two_arg(R.losses.lp_loss, F_.losses.lp_loss, (b, 3, 32, 32))
    yield "gdl_loss", f"{b}x3x32x32", lambda: two_arg(R.losses.gdl_loss, F_.losses.gdl_loss, (b, 3, 32, 32))
    yield "bce", f"{b}", lambda: (lambda p=rng.uniform(0.01, 0.99, b): (
        lambda: R.losses.bce(p, 1.0), lambda dev: (lambda tp=on(dev, p)[0]: lambda: F_.losses.bce(tp, 1.0))()))()
    yield "discriminator_loss", f"4 scales x {b}", lambda: disc_loss(b)
    yield "combined_generator_loss", f"4 scales, {b} clips", lambda: combined(b)
    for conv in ("seed", "authors"):
        yield f"psnr[{conv}]", f"{meta}x3x240x320", lambda c=conv: two_arg(
            R.metrics.psnr, F_.metrics.psnr, (meta, 3, 240, 320), convention=c)
        yield f"sharpness_difference[{conv}]", f"{meta}x3x240x320", lambda c=conv: two_arg(
            R.metrics.sharpness_difference, F_.metrics.sharpness_difference, (meta, 3, 240, 320), convention=c)
        yield f"ssim[{conv}]", f"{meta}x3x240x320", lambda c=conv: two_arg(
            R.metrics.ssim, F_.metrics.ssim, (meta, 3, 240, 320), convention=c)
    yield "moving_mask", f"{meta}x3x240x320", lambda: two_arg(
        R.metrics.moving_mask, F_.metrics.moving_mask, (meta, 3, 240, 320))
    yield "downsample", f"{b}x5x3x32x32", lambda: one_arg(R.pyramid.downsample, F_.pyramid.downsample, (b, 5, 3, 32, 32), factor=2)
    yield "upsample[nearest]", f"{b}x3x16x16", lambda: one_arg(R.pyramid.upsample, F_.pyramid.upsample, (b, 3, 16, 16), factor=2)
    yield "upsample[bilinear]", f"{b}x3x16x16", lambda: one_arg(
        R.pyramid.upsample, F_.pyramid.upsample, (b, 3, 16, 16), factor=2, mode="bilinear")
    yield "frame_pyramid", f"{b}x5x3x32x32", lambda: one_arg(R.pyramid.frame_pyramid, F_.pyramid.frame_pyramid, (b, 5, 3, 32, 32), n_scales=4)
    yield "laplacian_step", f"{b}x3x16->32", lambda: (lambda c=frames(b, 3, 16, 16), r=frames(b, 3, 32, 32): (
        lambda: R.pyramid.laplacian_step(c, r),
        lambda dev: (lambda t=on(dev, c, r): lambda: F_.pyramid.laplacian_step(*t))()))()
    yield "gaussian_blur", f"{b}x3x32x32", lambda: one_arg(R.blur.gaussian_blur, F_.blur.gaussian_blur, (b, 3, 32, 32))
    yield "median_blur", f"{b}x3x32x32", lambda: one_arg(R.blur.median_blur, F_.blur.median_blur, (b, 3, 32, 32))
    yield "bilateral_blur", f"{b}x3x32x32", lambda: one_arg(R.blur.bilateral_blur, F_.blur.bilateral_blur, (b, 3, 32, 32))
    yield "has_enough_motion", f"{b}x5x3x32x32", lambda: one_arg(R.data.has_enough_motion, F_.data.has_enough_motion, (b, 5, 3, 32, 32))
    yield "sample_patch_clip", "10x3x240x320, 100 tries", lambda: patch_clip(b)
    nets = ["tiny", "authors_small"] if quick else ["tiny", "authors_small", "paper"]
    for name in nets:
        for which in ("G", "D"):
            yield f"{which} forward [{name}]", f"{b}x4x3x32x32", lambda n=name, w=which: networks(n, b, w)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the paper-size networks")
    parser.add_argument("--batch", type=int, default=32, help="CPU batch (32)")
    parser.add_argument("--only", default="", help="substring filter on the twin names")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = True  # speed runs use the GPU's defaults
    cuda = torch.cuda.is_available()
    print(f"# sharpvid twin benchmark — {time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, "
          f"{torch.get_num_threads()} torch threads, torch {torch.__version__}"
          + (f", {torch.cuda.get_device_name()}" if cuda else ", no CUDA"))
    header = "| twin | size | oracle ms | fast CPU ms | CPU ratio |"
    header += " CUDA size | oracle ms | fast CUDA ms | CUDA ratio |" if cuda else ""
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    worst_cpu, worst_cuda = [], []
    cuda_cases = dict((n, b) for n, _, b in cases(args.quick, CUDA_BATCH)) if cuda else {}
    for name, size, build in cases(args.quick, args.batch):
        if args.only and args.only not in name:
            continue
        ref_call, fast_for = build()
        t_ref = best_time(ref_call)
        t_fast = best_time(fast_for("cpu"))
        ratio = t_ref / t_fast
        worst_cpu.append((ratio, name))
        row = f"| {name} | {size} | {1e3 * t_ref:.2f} | {1e3 * t_fast:.2f} | {ratio:.1f}x |"
        if cuda:
            ref_c, fast_c = cuda_cases[name]()
            t_ref_c = best_time(ref_c, max_reps=3)
            t_fast_c = best_time(fast_c("cuda"), sync=torch.cuda.synchronize)
            worst_cuda.append((t_ref_c / t_fast_c, name))
            row += f" batch {CUDA_BATCH} | {1e3 * t_ref_c:.1f} | {1e3 * t_fast_c:.3f} | {t_ref_c / t_fast_c:.0f}x |"
        print(row, flush=True)
    print()
    print(f"slowest CPU ratio: {min(worst_cpu)[0]:.2f}x ({min(worst_cpu)[1]})")
    net = [r for r, n in worst_cpu if "forward" in n]
    if net:
        print(f"slowest CPU network-forward ratio: {min(net):.1f}x (target >= 5x)")
    if worst_cuda:
        print(f"slowest CUDA ratio: {min(worst_cuda)[0]:.1f}x ({min(worst_cuda)[1]}) (target >= 20x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
