"""Synthetic test data for the blind-deblurring oracle and its fast twin (seeded, no files).

- :func:`shapes_image`: piecewise-constant discs and rectangles on grey (a "natural" cartoon).
- :func:`glyph_image`: black letter-like strokes (stems, bars, bowls, arches) on white, drawn with
  PIL ``ImageDraw`` at 4x and box-averaged (deterministic anti-aliasing, no font files).
- :func:`motion_kernel`: a smooth random camera-shake trajectory, rasterised bilinearly.
- :func:`blur`: circular blur plus Gaussian noise.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from sharpvid.reference.deblur.fourier import convolve_circular


def shapes_image(size: int, rng: np.random.Generator, count: int = 12) -> np.ndarray:
    """Discs and rectangles of random grey levels on a 0.5 background, ``(size, size)``."""
    x = np.full((size, size), 0.5)
    yy, xx = np.mgrid[:size, :size]
    for _ in range(count):
        cy, cx = rng.integers(0, size, 2)
        r = rng.integers(size // 10, size // 4)
        value = rng.random()
        if rng.random() < 0.5:
            x[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = value
        else:
            x[(np.abs(yy - cy) < r) & (np.abs(xx - cx) < 0.7 * r)] = value
    return x


def glyph_image(
    size: int, rng: np.random.Generator, *, cell: tuple[int, int] = (28, 20), stroke: int = 3
) -> np.ndarray:
    """Black glyph-like strokes on white in a grid of ``cell = (height, width)`` letters."""
    s = 4  # supersampling factor
    img = Image.new("L", (size * s, size * s), 255)
    draw = ImageDraw.Draw(img)
    ch, cw = cell
    w = stroke * s
    for top in range(3, size - ch + 1, ch + 4):
        for left in range(3, size - cw + 1, cw + 3):
            x0, y0, x1, y1 = left * s, top * s, (left + cw - 4) * s, (top + ch - 2) * s
            ym = (y0 + y1) // 2
            for kind in rng.choice(6, size=2, replace=False):
                if kind == 0:  # left stem
                    draw.line([(x0 + w // 2, y0), (x0 + w // 2, y1)], fill=0, width=w)
                elif kind == 1:  # right stem (short)
                    draw.line([(x1 - w // 2, ym), (x1 - w // 2, y1)], fill=0, width=w)
                elif kind == 2:  # middle bar
                    draw.line([(x0, ym), (x1, ym)], fill=0, width=w)
                elif kind == 3:  # bowl
                    draw.ellipse([x0, ym - w, x1, y1], outline=0, width=w)
                elif kind == 4:  # arch
                    draw.arc([x0, y0, x1, ym + w], 180, 360, fill=0, width=w)
                else:  # diagonal
                    draw.line([(x0, y1), (x1, y0)], fill=0, width=w)
    a = np.asarray(img, dtype=np.float64) / 255.0
    return a.reshape(size, s, size, s).mean(axis=(1, 3))


def motion_kernel(size: int, rng: np.random.Generator, *, steps: int = 60) -> np.ndarray:
    """A smooth random-walk trajectory spanning about ``size - 2`` pixels, centred, sum 1."""
    pos, vel = np.zeros(2), rng.normal(size=2)
    vel /= np.linalg.norm(vel)
    pts = [pos.copy()]
    for _ in range(steps):
        vel = vel + 0.35 * rng.normal(size=2)
        vel /= np.linalg.norm(vel)
        pos = pos + 0.25 * vel
        pts.append(pos.copy())
    pts = np.array(pts)
    pts -= (pts.max(axis=0) + pts.min(axis=0)) / 2
    pts *= (size // 2 - 1) / max(np.abs(pts).max(), 1e-9)
    pts += size // 2
    k = np.zeros((size, size))
    for p in pts:  # bilinear splat
        i, j = np.floor(p).astype(int)
        a, b = p - (i, j)
        k[i, j] += (1 - a) * (1 - b)
        k[i + 1, j] += a * (1 - b)
        k[i, j + 1] += (1 - a) * b
        k[i + 1, j + 1] += a * b
    return k / k.sum()


def blur(x: np.ndarray, k: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """``x * k`` (circular) plus N(0, noise^2) noise."""
    return convolve_circular(x, k) + noise * rng.standard_normal(x.shape)
