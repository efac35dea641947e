"""Blind L0 deblurring of synthetic text: PSNR gain, kernel similarity and success vs letter height.

    python benchmarks/bench_text_deblur.py                   # full run (4 heights x 30 images, ~9 min on 2 cores)
    python benchmarks/bench_text_deblur.py --quick           # 8 and 16 px, 3 images each
    python benchmarks/bench_text_deblur.py --heights 8,16 --images 20 --json out.json

Issue 12: the text method (Pan et al. 2014) is said to fail when the blur is longer than the
letters are tall on a small crop (8 px letters under a 20 px shake), because its coarse scales see
2-3 px letters, and to recover with 16 px letters.  This builds the case, seeded: grey ``--size``
crops of black text on white (random words, several lines) rendered with Pillow at each cap
height ("H" measured in pixels after rendering), blurred by a random smooth camera-shake kernel of
extent 12-25 px (a random walk with inertia, bilinearly splatted, Gaussian sigma 0.5), Gaussian
noise sigma 0.005, clipped to [0, 1].  The blur is a true convolution of a larger rendered page,
cropped to its 'valid' part (scipy.signal.fftconvolve), so no boundary condition is assumed.

Both methods (``text``: Pan et al. 2014, ``natural``: Xu et al. 2013) run through the public API
of the fast twin on the CPU, one image at a time, with default parameters and ``kernel_size`` =
the true kernel's odd box + ``--margin`` (2).  Scores: PSNR of the clipped result and of the
blurred input against the sharp crop, each the best over shifts of up to ``--max-shift`` (3) px
(``sharpvid.reference.deblur.evaluate.psnr_upto_shift``, border ``--border``); the gain is result
minus blurred input, measured in the same run; kernel similarity (Hu & Yang 2012); success = gain >
0 (and the rate of gains > 3 dB).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import scipy
import scipy.ndimage
import scipy.signal


from _machine import cpu_model  # noqa: E402

from sharpvid.reference.deblur.evaluate import kernel_similarity, psnr_upto_shift  # noqa: E402

PAD = 24  # page margin around the crop for the 'valid' convolution: half of any kernel box
DEJAVU = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/Library/Fonts/DejaVuSans.ttf",
)


# --- text -------------------------------------------------------------------------------------


def ink_height(font, upscale: int = 1) -> int:
    """Rows of a rendered "H" darker than mid-grey: the cap height in pixels as it is drawn."""
    from PIL import Image, ImageDraw

    img = Image.new("L", (200, 300), 255)
    ImageDraw.Draw(img).text((10, 10), "H", fill=0, font=font)
    rows = np.flatnonzero((np.asarray(img) < 128).any(axis=1))
    return int(rows.size and (rows[-1] - rows[0] + 1)) * upscale


class TextFont:
    """A Pillow font scaled to a target cap height: Pillow's scalable default font (>= 10.1 with
    FreeType), else DejaVu Sans from the system, else the bitmap default font upscaled (nearest)."""

    def __init__(self, cap_height: int):
        from PIL import ImageFont

        self.upscale = 1
        candidates = []
        try:
            if isinstance(ImageFont.load_default(size=10), ImageFont.FreeTypeFont):
                candidates.append(("Pillow default (scalable)", lambda s: ImageFont.load_default(size=s)))
        except (TypeError, ImportError, OSError):
            pass
        for path in DEJAVU:
            if os.path.exists(path):
                candidates.append((f"DejaVu Sans ({path})", lambda s, p=path: ImageFont.truetype(p, s)))
                break
        if candidates:
            self.name, make = candidates[0]
            # the font size whose rendered "H" is closest to the target (ties: the smaller size)
            best = min(range(4, 8 * cap_height + 8),
                       key=lambda s: (abs(ink_height(make(s)) - cap_height), s))
            self.font, self.size = make(best), best
        else:
            self.font = ImageFont.load_default()
            self.upscale = max(1, round(cap_height / max(ink_height(self.font), 1)))
            self.name, self.size = f"Pillow bitmap default x{self.upscale} (nearest)", None
        self.cap_height = ink_height(self.font, self.upscale)

    def describe(self) -> str:
        size = f" size {self.size}" if self.size else ""
        return f"{self.name}{size}"


LOWER, UPPER, DIGITS = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789"


def random_word(rng: np.random.Generator) -> str:
    """2-9 characters: mostly lower case, some capitals and digits (a fixed alphabet)."""
    n = int(rng.integers(2, 10))
    pools = rng.choice(3, size=n, p=[0.8, 0.12, 0.08])
    return "".join(rng.choice(list((LOWER, UPPER, DIGITS)[p])) for p in pools)


def render_page(font: TextFont, side: int, rng: np.random.Generator) -> np.ndarray:
    """A ``(side, side)`` float64 page in [0, 1]: black text on white, lines 1.8 cap heights apart,
    starting at a random offset so the crop cuts lines and words anywhere."""
    from PIL import Image, ImageDraw

    up = font.upscale
    n = -(-side // up)  # draw small, upscale nearest (bitmap fallback only)
    img = Image.new("L", (n, n), 255)
    draw = ImageDraw.Draw(img)
    cap = font.cap_height / up
    pitch = max(int(round(1.8 * cap)), 2)
    y = -int(rng.integers(0, pitch)) - int(cap)
    while y < n:
        x = -int(rng.integers(0, 4 * max(int(cap), 1)))
        words = []
        while font.font.getlength(" ".join(words)) < n - x + cap:
            words.append(random_word(rng))
        draw.text((x, y), " ".join(words), fill=0, font=font.font)
        y += pitch
    if up > 1:
        img = img.resize((n * up, n * up), Image.NEAREST)
    return np.asarray(img, dtype=np.float64)[:side, :side] / 255.0


# --- blur -------------------------------------------------------------------------------------


def shake_kernel(extent: int, rng: np.random.Generator, *, steps: int = 300, inertia: float = 0.95):
    """A smooth camera-shake kernel whose trajectory spans ``extent`` px (bounding box, larger side).

    Velocity with inertia (``v_t = a v_{t-1} + sqrt(1 - a^2) n_t``) integrated to a path, scaled to
    the extent, centred on its mean, splatted bilinearly with equal weight per step, blurred by a
    Gaussian of sigma 0.5 (radius 1), cut to the odd square box centred on the mean that covers
    it, normalised.  Returned as a convolution kernel (``y = x * k``).
    """
    v = np.empty((steps, 2))
    v[0] = rng.normal(size=2)
    noise = rng.normal(size=(steps, 2)) * math.sqrt(1 - inertia**2)
    for t in range(1, steps):
        v[t] = inertia * v[t - 1] + noise[t]
    p = np.cumsum(v, axis=0)
    p *= (extent - 1) / np.ptp(p, axis=0).max()
    p -= p.mean(axis=0)
    r = int(np.ceil(np.abs(p).max())) + 2
    grid = np.zeros((2 * r + 1, 2 * r + 1))
    q = p + r
    i0 = np.floor(q).astype(int)
    f = q - i0
    for di in (0, 1):
        for dj in (0, 1):
            w = (f[:, 0] if di else 1 - f[:, 0]) * (f[:, 1] if dj else 1 - f[:, 1])
            np.add.at(grid, (i0[:, 0] + di, i0[:, 1] + dj), w)
    grid = scipy.ndimage.gaussian_filter(grid, 0.5, mode="constant", truncate=2.0)
    grid[grid < 1e-6 * grid.max()] = 0
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    half = max(r - rows[0], rows[-1] - r, r - cols[0], cols[-1] - r)
    k = grid[r - half : r + half + 1, r - half : r + half + 1]
    return k / k.sum()


def make_case(font: TextFont, size: int, rng: np.random.Generator, noise: float):
    """(sharp, blurred, kernel, extent): a ``size`` crop and its blurred, noisy, clipped twin."""
    extent = int(rng.integers(12, 26))
    k = shake_kernel(extent, rng)
    page = render_page(font, size + 2 * PAD, rng)
    h = k.shape[0] // 2
    assert h <= PAD, (k.shape, PAD)
    region = page[PAD - h : PAD + size + h, PAD - h : PAD + size + h]
    blurred = scipy.signal.fftconvolve(region, k, mode="valid")  # (size, size), a true convolution
    sharp = page[PAD : PAD + size, PAD : PAD + size]
    blurred = np.clip(blurred + noise * rng.normal(size=blurred.shape), 0.0, 1.0)
    return sharp, blurred, k, extent


# --- run --------------------------------------------------------------------------------------


def methods():
    from sharpvid.fast import deblur as d

    return {"text": d.deblur_text_l0, "natural": d.deblur_natural_l0}


def summarise(rows):
    g = np.array([r["gain"] for r in rows])
    return dict(
        n=len(rows),
        blurred=float(np.mean([r["psnr_blurred"] for r in rows])),
        result=float(np.mean([r["psnr_result"] for r in rows])),
        mean_gain=float(g.mean()),
        median_gain=float(np.median(g)),
        similarity=float(np.mean([r["similarity"] for r in rows])),
        success=float(np.mean(g > 0)),
        success3=float(np.mean(g > 3)),
        seconds=float(np.mean([r["seconds"] for r in rows])),
    )


def recommendation(table, heights, names) -> str:
    """One line from the figures: where each method has the higher mean gain, where the text
    method succeeds on at least half the images, and the letter height from which to pick it."""
    parts = []
    for m in names:
        ok = [h for h in heights if table[h, m]["success"] >= 0.5]
        parts.append(f"{m} has gain > 0 on >= 50 % of images from "
                     + (f"{min(ok)} px letters" if ok else "no tested height"))
        bad = [h for h in heights if table[h, m]["mean_gain"] < 0]
        if bad:
            parts.append(f"{m} lowers the PSNR on average at {', '.join(map(str, bad))} px")
    if {"text", "natural"} <= set(names):
        text_wins = [h for h in heights if table[h, "text"]["mean_gain"] > table[h, "natural"]["mean_gain"]
                     and table[h, "text"]["success"] >= 0.5]
        # the smallest height from which the text method wins at every tested height above it
        tail = [h for h in sorted(heights) if all(g in text_wins for g in heights if g >= h)]
        if tail and min(tail) == min(heights):
            pick = f"pick text at every tested letter height ({min(heights)} px and up)"
        elif tail:
            pick = (f"pick text for letters of {min(tail)} px and taller (higher mean gain and >= 50 % "
                    f"success), natural below {min(tail)} px")
        else:
            pick = "pick natural at every tested letter height (text never wins with >= 50 % success)"
        parts.insert(0, "for text " + pick)
    return "Recommendation: " + "; ".join(parts) + "."


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="example: python benchmarks/bench_text_deblur.py --heights 8,16 --images 6")
    parser.add_argument("--heights", default="8,12,16,24", help="cap heights in px, comma-separated")
    parser.add_argument("--images", type=int, default=30, help="images per height")
    parser.add_argument("--size", type=int, default=128, help="side of the square grey crop")
    parser.add_argument("--methods", default="text,natural")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.005)
    parser.add_argument("--margin", type=int, default=2, help="kernel size = true odd box + margin")
    parser.add_argument("--border", type=int, default=8, help="pixels cropped before PSNR")
    parser.add_argument("--max-shift", type=float, default=3.0)
    parser.add_argument("--step", type=float, default=0.25, help="shift search step in px")
    parser.add_argument("--boundary", default="release", choices=("release", "liu_jia"),
                        help="padding of every FFT solve: the authors' release (default) or Liu-Jia")
    parser.add_argument("--quick", action="store_true", help="heights 8,16 and 3 images each")
    parser.add_argument("--json", type=Path, help="also write every image's scores here")
    args = parser.parse_args(argv)
    if args.quick:
        args.heights, args.images = "8,16", 3
    heights = [int(h) for h in args.heights.split(",")]
    names = args.methods.split(",")
    unknown = set(names) - {"text", "natural"}
    if unknown:
        raise SystemExit(f"unknown method(s): {', '.join(sorted(unknown))} (text, natural)")
    if args.margin < 0 or (args.margin % 2):
        raise SystemExit(f"--margin must be even and >= 0 (kernel sizes stay odd), got {args.margin}")
    import PIL


    blind = methods()
    fonts = {h: TextFont(h) for h in heights}
    t_start = time.perf_counter()
    print(f"# sharpvid text deblurring benchmark — {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"# command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(f"# CPU: {cpu_model()}, {os.cpu_count()} cores; numpy {np.__version__}, scipy "
          f"{scipy.__version__}, Pillow {PIL.__version__}; fast twin, NumPy, float32, one image at a time")
    print(f"# data: {args.images} images per height, {args.size}x{args.size} grey, seed {args.seed}; "
          f"shake extent 12-25 px; noise sigma {args.noise}; true convolution, 'valid' crop of a "
          f"larger page; kernel size = true odd box + {args.margin}; boundary {args.boundary}")
    print(f"# scores: PSNR of the clipped image up to a ±{args.max_shift:g} px shift (step {args.step:g}, "
          f"border {args.border}); gain = result − blurred input, same run")
    for h in heights:
        print(f"# font for {h} px: {fonts[h].describe()}, measured cap height ('H') {fonts[h].cap_height} px")
    print()

    records, table = [], {}
    for h in heights:
        cases = [make_case(fonts[h], args.size, np.random.default_rng([args.seed, h, i]), args.noise)
                 for i in range(args.images)]
        for m in names:
            rows = []
            for i, (sharp, blurred, k_true, extent) in enumerate(cases):
                ks = k_true.shape[0] + args.margin
                t0 = time.perf_counter()
                latent, kernel = blind[m](blurred.astype(np.float32), ks, boundary=args.boundary)
                seconds = time.perf_counter() - t0
                latent = np.clip(np.asarray(latent, dtype=np.float64), 0.0, 1.0)
                kernel = np.asarray(kernel, dtype=np.float64)
                shift = dict(border=args.border, max_shift=args.max_shift, step=args.step)
                p_blur = psnr_upto_shift(blurred, sharp, **shift)
                p_res = psnr_upto_shift(latent, sharp, **shift)
                row = dict(height=h, cap_height=fonts[h].cap_height, method=m, image=i,
                           extent=extent, box=int(k_true.shape[0]), kernel_size=int(ks),
                           psnr_blurred=p_blur, psnr_result=p_res, gain=p_res - p_blur,
                           similarity=kernel_similarity(kernel, k_true), seconds=seconds)
                rows.append(row)
                print(f"  {h:3d} px {m:7s} #{i}: shake {extent} px (box {row['box']}, k {ks}) "
                      f"blurred {p_blur:.2f} -> {p_res:.2f} dB ({row['gain']:+.2f}), "
                      f"kernel sim {row['similarity']:.3f}, {seconds:.2f} s", file=sys.stderr, flush=True)
            records += rows
            table[h, m] = summarise(rows)

    print("| letter height (cap, px) | method | blurred PSNR | result PSNR | mean gain | median gain "
          "| kernel sim | gain > 0 | gain > 3 dB | s/image |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for h in heights:
        for m in names:
            s = table[h, m]
            print(f"| {h} ({fonts[h].cap_height}) | {m} | {s['blurred']:.2f} | {s['result']:.2f} | "
                  f"{s['mean_gain']:+.2f} dB | {s['median_gain']:+.2f} dB | {s['similarity']:.3f} | "
                  f"{100 * s['success']:.0f}% | {100 * s['success3']:.0f}% | {s['seconds']:.2f} |")
    print()
    print(recommendation(table, heights, names))
    wall = time.perf_counter() - t_start
    print(f"# wall time {wall:.0f} s ({len(records)} runs)")
    if args.json:
        args.json.write_text(json.dumps(dict(args={k: str(v) for k, v in vars(args).items()},
                                             summary={f"{h}/{m}": s for (h, m), s in table.items()},
                                             images=records), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
