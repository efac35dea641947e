"""Blind L0 deblurring on the Levin et al. 2009 benchmark: quality and speed, both methods.

    python benchmarks/bench_deblur.py ../shared/data/levin2009            # fast CPU (+ GPU)
    python benchmarks/bench_deblur.py DIR --impl both --reference-images 2  # + oracle timings

For every ``*.mat`` file (keys ``x`` sharp, ``y`` blurred, ``f`` true kernel as a correlation
filter, so the convolution kernel is ``f`` rotated by 180°; [0, 1]) and each
method (``natural``: Xu et al. 2013, ``text``: Pan et al. 2014) it reports the PSNR and SSIM of the
result against ``x``, the error ratio (Levin's shift-tolerant SSD with the estimated kernel over
the SSD with the true kernel, both through the method's own final non-blind step), the kernel
similarity, and the success rates at ratio <= 2 and <= 3; then seconds per image for the
oracle, the fast twin on the CPU (one image at a time and as one batch), and on the GPU when CuPy
sees one (and 240x320 colour frames per second, batched).  The data is not part of the package.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.io


from sharpvid.reference.deblur.evaluate import error_ratio, kernel_similarity  # noqa: E402
from sharpvid.reference.metrics import ssim  # noqa: E402


def load(folder: Path):
    files = sorted(folder.glob("*.mat"))
    if not files:
        raise SystemExit(f"{folder}: no .mat files")
    out = []
    for f in files:
        m = scipy.io.loadmat(f)
        # Levin's f is a correlation filter (MATLAB filter2); as a convolution kernel, the model
        # y = x * k of both methods, it is f rotated by 180 degrees.  Measured on im01_ker01:
        # non-blind TV-L2 with f gives SSD 103.5, with rot180(f) 22.3.
        k_true = m["f"].astype(np.float64)[::-1, ::-1]
        out.append((f.stem, m["x"].astype(np.float64), m["y"].astype(np.float64), k_true))
    return out


def kernel_size_for(true_kernel: np.ndarray, margin: int) -> int:
    """The usual protocol: a size at least the true blur's extent (odd), plus a margin."""
    k = max(true_kernel.shape) + margin
    return k if k % 2 else k + 1


def methods(impl):
    """name -> (blind driver, non-blind step with the driver's defaults) of ``impl``."""
    if impl == "reference":
        from sharpvid.reference import deblur as d
        from sharpvid.reference.deblur import nonblind as nb
    else:
        from sharpvid.fast import deblur as d
        from sharpvid.fast.deblur import nonblind as nb
    return {
        "natural": (d.deblur_natural_l0, lambda y, k: nb.deconv_tv_l2(y, k, 2.0 / 2e3)),
        "text": (d.deblur_text_l0, lambda y, k: nb.ringing_artifacts_removal(y, k)),
    }


def score(name, x, y, f, latent, kernel, nonblind, args):
    x_true_k = np.asarray(nonblind(y, f))
    shift = dict(border=args.border, max_shift=args.max_shift, step=args.step)
    ratio = error_ratio(latent, x_true_k, x, **shift)
    return dict(
        name=name,
        psnr=10 * np.log10(1.0 / np.mean((np.clip(latent, 0, 1) - x) ** 2)),
        ssim=ssim(np.clip(latent, 0, 1)[None], x[None], data_range=1.0, data_min=0.0),
        ratio=ratio,
        similarity=kernel_similarity(kernel, f),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--methods", default="natural,text")
    parser.add_argument("--impl", choices=("fast", "reference", "both"), default="fast",
                        help="which implementation is scored (timings: see --reference-images)")
    parser.add_argument("--reference-images", type=int, default=1,
                        help="images the oracle is timed on (it is slow); 0 skips it")
    parser.add_argument("--margin", type=int, default=2, help="kernel size = true size + margin")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N files")
    parser.add_argument("--border", type=int, default=15)
    parser.add_argument("--max-shift", type=float, default=5.0)
    parser.add_argument("--step", type=float, default=0.25)
    args = parser.parse_args(argv)
    data = load(args.folder)[: args.limit or None]
    from sharpvid.fast._xp import cupy_available, to_numpy

    print(f"# Levin et al. 2009 ({len(data)} images from {args.folder}), {time.strftime('%Y-%m-%d')}")
    print(f"# kernel size = true size + {args.margin}; error ratio with Levin's shift search "
          f"(border {args.border}, ±{args.max_shift} px, step {args.step})")
    for method in args.methods.split(","):
        impls = ["reference", "fast"] if args.impl == "both" else [args.impl]
        for impl in impls:
            blind, nonblind = methods(impl)[method]
            rows, seconds = [], []
            for name, x, y, f in data:
                ks = kernel_size_for(f, args.margin)
                yy = y.astype(np.float32) if impl == "fast" else y
                t0 = time.perf_counter()
                latent, kernel = blind(yy, ks)
                seconds.append(time.perf_counter() - t0)
                latent, kernel = to_numpy(latent).astype(np.float64), to_numpy(kernel).astype(np.float64)
                rows.append(score(name, x, y, f, latent, kernel, lambda a, b: to_numpy(nonblind(a, b)), args))
                r = rows[-1]
                print(f"  {method:7s} {impl:9s} {name}: PSNR {r['psnr']:.2f} SSIM {r['ssim']:.3f} "
                      f"ratio {r['ratio']:.2f} kernel sim {r['similarity']:.3f} ({seconds[-1]:.1f} s)",
                      flush=True)
            ratios = np.array([r["ratio"] for r in rows])
            print(f"| {method} | {impl} | {np.mean([r['psnr'] for r in rows]):.2f} | "
                  f"{np.mean([r['ssim'] for r in rows]):.3f} | {np.median(ratios):.2f} | "
                  f"{100 * np.mean(ratios <= 2):.0f}% | {100 * np.mean(ratios <= 3):.0f}% | "
                  f"{np.mean([r['similarity'] for r in rows]):.3f} | {np.mean(seconds):.2f} s |")
    print()
    print("## seconds per image (255x255 grey, first image, kernel size as above)")
    name, x, y, f = data[0]
    ks = kernel_size_for(f, args.margin)
    for method in args.methods.split(","):
        timings = {}
        if args.reference_images:
            blind = methods("reference")[method][0]
            t0 = time.perf_counter()
            for _, _, yy, ff in data[: args.reference_images]:
                blind(yy, kernel_size_for(ff, args.margin))
            timings["oracle"] = (time.perf_counter() - t0) / args.reference_images
        blind = methods("fast")[method][0]
        t0 = time.perf_counter()
        blind(y.astype(np.float32), ks)
        timings["fast CPU, 1 image"] = time.perf_counter() - t0
        batch = np.stack([d[2] for d in data[:8]]).astype(np.float32)[:, None]
        t0 = time.perf_counter()
        blind(batch, ks)
        timings[f"fast CPU, batch of {len(batch)}"] = (time.perf_counter() - t0) / len(batch)
        if cupy_available():
            import cupy as cp

            gpu_batch = cp.asarray(batch)
            blind(gpu_batch, ks)
            cp.cuda.Device().synchronize()
            t0 = time.perf_counter()
            blind(gpu_batch, ks)
            cp.cuda.Device().synchronize()
            timings[f"fast GPU, batch of {len(batch)}"] = (time.perf_counter() - t0) / len(batch)
            frames = cp.asarray(np.random.default_rng(0).uniform(0, 1, (64, 3, 240, 320)).astype(np.float32))
            blind(frames[:2], 9)
            cp.cuda.Device().synchronize()
            t0 = time.perf_counter()
            blind(frames, 9)
            cp.cuda.Device().synchronize()
            timings["fast GPU 240x320 colour, frames/s (k 9, batch 64)"] = 64 / (time.perf_counter() - t0)
        line = ", ".join(f"{k}: {v:.3f}" for k, v in timings.items())
        print(f"- {method}: {line}")
        if "oracle" in timings:
            print(f"  fast CPU speed-up over the oracle: {timings['oracle'] / timings['fast CPU, 1 image']:.1f}x "
                  f"(one image), {timings['oracle'] / timings[f'fast CPU, batch of {len(batch)}']:.1f}x (batched)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
