"""The embedded synthetic world: seeded video with no download, the default data everywhere.

Mathieu, Couprie & LeCun 2016 (arXiv:1511.05440) train on Sports1m and UCF101 clips.  This module
stands in for them wherever a download is unwelcome (tests, tutorials, smoke runs): a pure-NumPy
generator whose videos have what next-frame prediction needs, with the same seed giving the same
bytes on every machine.

The world
---------
- **Background**: a periodic texture (soft value-noise clouds, or tiles, or diagonal bands, each
  with fine grain) that pans slowly at a constant sub-pixel velocity (0.2-0.6 % of the frame's
  short side per frame), sampled bilinearly; panning wraps around seamlessly.
- **Objects** (2-5 unless ``objects`` is given), drawn back to front in a fixed depth order so they
  occlude each other: disc, ellipse, rectangle, triangle, six-pointed star or ring.  Each carries
  its own texture (stripes, checker, soft noise or sharp spots, plus grain) in its local frame,
  so rotation and scaling are visible inside it as well as at its outline.  Each object
  translates at constant speed, bounces off the frame borders, rotates at a constant rate, grows
  and shrinks (a smoothed triangle wave of its size) and, with probability ``turn_prob`` per frame,
  turns to a new random direction: the future is multimodal.
- Edges are anti-aliased: coverage is :math:`\\mathrm{clip}(0.5 - d, 0, 1)` of the signed distance
  ``d`` (pixels) to the outline.  Sizes, speeds and texture scales are fractions of the frame's
  short side ``L = min(height, width)``, so 64x64 and 240x320 (UCF101) videos look alike; for one
  aspect ratio the geometry and motion are the same scene at any resolution.

Determinism
-----------
Two rules make a seed give identical frames on every CPU, NumPy build and platform.

1. Randomness comes only from ``Generator.random`` and ``Generator.integers`` of
   ``np.random.default_rng`` (bit-exact integer arithmetic; ``normal`` and friends call libm in
   their tails and are avoided).  Draws happen in this fixed order:

   a. ``n = integers(2, 6)`` when ``objects`` is None; then ``texture_seed = integers(2**63)``;
   b. the background: kind, 3 colours, tile/band counts, grain, pan speed and direction;
   c. each object in depth order (back first): shape, size, aspect, texture kind and colours,
      texture period, grain, position, direction, speed, angle, spin, scale amplitude, period
      and phase;
   d. per frame, after it is drawn: ``random((n, 3))`` = for each object (turn?, direction,
      half-plane), always drawn whatever ``turn_prob``; so a shorter video is a prefix of a
      longer one, and videos differing only in ``turn_prob`` share the scene and the first frame.

   The textures' noise grids, whose sizes depend on the resolution, come from a second generator
   ``default_rng(texture_seed)`` (background first, then the objects in order), so the stream above
   does not depend on the frame size.
2. Per-pixel arithmetic is IEEE-754 correctly rounded only: ``+ - * /``, ``sqrt``, comparisons,
   ``abs``, ``floor``, ``min``/``max``/``clip`` and indexing (float64 for the textures, made once
   per video; float32 per frame, with Python-float scalars so NumPy 1 and 2 promote alike), and
   no reductions.  No transcendental function (nor ``**``, which calls libm ``pow``) is evaluated
   anywhere, not even on scalars: rotations and directions use the rational parametrisation
   :math:`(\\frac{1 - t^2}{1 + t^2}, \\frac{2t}{1 + t^2})` of the unit circle, and a rotation
   advances by one complex multiplication per frame.  Checked: the same bytes under NumPy 1.26
   and 2.4, and with NumPy's AVX2 loops disabled.

Convention
----------
Pixel ``(i, j)`` has its centre at ``(x, y) = (j + 0.5, i + 0.5)``; frames are ``uint8``
``(H, W, C)`` rounded half up from ``[0, 255]``.  With ``channels=1`` every colour is replaced by
its luma ``0.299 R + 0.587 G + 0.114 B`` before drawing: the same scene, in grey.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

SHAPES = ("disc", "ellipse", "rectangle", "triangle", "star", "ring")
_TEXTURES = ("stripes", "checker", "noise", "spots")
_F32 = np.float32
_HALF_SQRT3 = 0.8660254037844386  # √3 / 2, the triangle's edge normals


# ---------------------------------------------------------------- validation
def _check_args(frames, height, width, channels, objects, turn_prob) -> None:
    """One-line ValueErrors naming the bad value."""
    for name, value, least in (("frames", frames, 1), ("height", height, 8), ("width", width, 8)):
        if not _is_int(value) or value < least:
            raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    if channels not in (1, 3) or isinstance(channels, bool):
        raise ValueError(f"channels must be 1 or 3, got {channels!r}")
    if objects is not None and (not _is_int(objects) or objects < 0):
        raise ValueError(f"objects must be None or an integer >= 0, got {objects!r}")
    if not 0.0 <= turn_prob <= 1.0:
        raise ValueError(f"turn_prob must be in [0, 1], got {turn_prob!r}")


def _is_int(value) -> bool:
    """An integer value (``2`` or ``2.0``, not ``True`` or ``2.5``)."""
    return not isinstance(value, bool) and int(value) == value


# ---------------------------------------------------------------- exact helpers
def _unit(t: float) -> tuple[float, float]:
    """A point of the unit circle from ``t = tan(θ/2)``, with no transcendental function."""
    return (1.0 - t * t) / (1.0 + t * t), 2.0 * t / (1.0 + t * t)


def _direction(u: float, w: float) -> tuple[float, float]:
    """A direction from two uniforms: ``u`` picks θ in [-π/2, π/2], ``w`` the half-plane."""
    c, s = _unit(2.0 * u - 1.0)
    return (c, s) if w < 0.5 else (-c, -s)


def _colour(rng: np.random.Generator, channels: int) -> np.ndarray:
    """An RGB colour (3 draws), as luma when ``channels == 1``."""
    r, g, b = (float(c) for c in rng.random(3))
    return np.array([r, g, b] if channels == 3 else [0.299 * r + 0.587 * g + 0.114 * b])


def _value_noise(rng: np.random.Generator, shape: tuple[int, int], cells: tuple[int, int]):
    """Periodic value noise in [0, 1]: a ``cells`` grid of uniforms, bilinearly upsampled."""
    gy, gx = max(1, cells[0]), max(1, cells[1])
    grid = rng.random((gy, gx))
    h, w = shape
    # sample positions in grid units: pixel centres, periodic in (h, w)
    py = (np.arange(h) + 0.5) * (gy / h) - 0.5
    px = (np.arange(w) + 0.5) * (gx / w) - 0.5
    y0, x0 = np.floor(py), np.floor(px)
    fy, fx = (py - y0)[:, None], (px - x0)[None, :]
    y0, x0 = y0.astype(np.intp) % gy, x0.astype(np.intp) % gx
    y1, x1 = (y0 + 1) % gy, (x0 + 1) % gx
    top = grid[y0][:, x0] + fx * (grid[y0][:, x1] - grid[y0][:, x0])
    bot = grid[y1][:, x0] + fx * (grid[y1][:, x1] - grid[y1][:, x0])
    return top + fy * (bot - top)  # (h, w)


def _mix(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Colour ``a`` where ``m = 0``, ``b`` where ``m = 1``: ``(h, w)`` -> ``(h, w, C)``."""
    return a + (b - a) * m[..., None]


# ---------------------------------------------------------------- the background
def _background(rng, tex_rng, height: int, width: int, channels: int, unit: float):
    """The periodic background, tiled 2x2 ``(2H, 2W, C)``, and its pan velocity (px/frame)."""
    kind = int(rng.integers(3))  # 0 clouds, 1 tiles, 2 diagonal bands
    a, b, c = (_colour(rng, channels) for _ in range(3))
    ny, nx = (int(k) for k in rng.integers(2, 7, size=2))  # tiles or bands across the frame
    grain = 0.02 + 0.04 * float(rng.random())
    speed = unit * (0.002 + 0.004 * float(rng.random()))
    vx, vy = _direction(float(rng.random()), float(rng.random()))

    h, w = height, width
    coarse, fine = ((max(1, round(k * h / unit)), max(1, round(k * w / unit))) for k in (2, 6))
    clouds = 0.6 * _value_noise(tex_rng, (h, w), coarse) + 0.4 * _value_noise(tex_rng, (h, w), fine)
    if kind == 0:
        tile = _mix(a, b, clouds)
    elif kind == 1:
        shade = tex_rng.random((ny, nx))
        iy = (np.arange(h) * ny) // h
        ix = (np.arange(w) * nx) // w
        tile = _mix(a, b, shade[iy][:, ix]) + 0.3 * (clouds - 0.5)[..., None]
    else:
        # bands of q = 2 ny y/H + 2 nx x/W (periodic in (H, W): a shift adds an even integer);
        # e is linear in q, 0.5 on a border: (e - 0.5) / |∇q| is the distance in px (anti-aliasing)
        y = (np.arange(h) + 0.5)[:, None] / h
        x = (np.arange(w) + 0.5)[None, :] / w
        q = 2 * ny * y + 2 * nx * x
        e = np.abs(2 * (q / 2 + 0.25 - np.floor(q / 2 + 0.25)) - 1)
        grad = 2 * math.sqrt((ny / h) * (ny / h) + (nx / w) * (nx / w))  # |∇q| in 1/px
        band = np.clip(0.5 + (e - 0.5) / grad, 0, 1)
        tile = _mix(a, c, band) + 0.3 * (clouds - 0.5)[..., None]
    tile = tile + grain * (tex_rng.random((h, w)) - 0.5)[..., None]
    tile = np.clip(tile, 0.0, 1.0) * 255.0
    return np.tile(tile.astype(_F32), (2, 2, 1)), (speed * vx, speed * vy)


# ---------------------------------------------------------------- the objects
@dataclass
class _Object:
    """One object: fixed shape and texture, mutable pose (position, velocity, rotation, time)."""

    shape: str
    size: tuple[float, float, float]  # shape parameters in px at scale 1 (see _signed_distance)
    bound: float  # radius of a circle holding the shape at scale 1, px
    texture: np.ndarray  # (K*K, C) float32 in [0, 255], texel = 1 px at scale 1
    k: int  # texture side, a power of two
    x: float
    y: float
    speed: float
    vx: float
    vy: float
    cos: float
    sin: float
    spin: tuple[float, float]  # (cos ω, sin ω): the rotation per frame
    amp: float  # scale(t) = 1 + amp * wave(phase + t / period)
    period: float
    phase: float
    t: int = 0

    def scale(self) -> float:
        """A smoothed triangle wave in [1 - amp, 1 + amp] (growth and shrinkage)."""
        p = self.phase + self.t / self.period
        tri = 4.0 * abs(p - math.floor(p) - 0.5) - 1.0  # in [-1, 1]
        return 1.0 + self.amp * tri * (1.5 - 0.5 * tri * tri)


def _texture(rng, tex_rng, k: int, channels: int, unit: float) -> np.ndarray:
    """An object's texture, ``(k*k, C)`` float32: stripes, checker, soft noise or sharp spots."""
    kind = _TEXTURES[int(rng.integers(len(_TEXTURES)))]
    a, b = _colour(rng, channels), _colour(rng, channels)
    period = unit * (0.03 + 0.06 * float(rng.random()))  # px
    grain = 0.03 + 0.09 * float(rng.random())
    centre = np.arange(k) - k / 2 + 0.5  # texel centres in px from the object's centre
    y, x = centre[:, None], centre[None, :]
    if kind == "stripes":
        m = np.floor(x / period) % 2 + 0 * y
    elif kind == "checker":
        m = (np.floor(x / period) + np.floor(y / period)) % 2
    else:
        cells = max(1, round(k / (1.5 * period)))
        m = _value_noise(tex_rng, (k, k), (cells, cells))
        if kind == "spots":
            m = (m > 0.5).astype(np.float64)
    tex = _mix(a, b, m) + grain * (tex_rng.random((k, k)) - 0.5)[..., None]
    return (np.clip(tex, 0.0, 1.0) * 255.0).astype(_F32).reshape(k * k, channels)


def _make_object(rng, tex_rng, height: int, width: int, channels: int, unit: float) -> _Object:
    """Draw one object's parameters (order as in the module docstring)."""
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    r = unit * (0.1 + 0.14 * float(rng.random()))  # px
    aspect = 0.45 + 0.45 * float(rng.random())
    if shape == "ellipse":
        size, bound = (r, r * aspect, 0.0), r
    elif shape == "rectangle":
        size = (0.85 * r, 0.85 * r * aspect, 0.0)
        bound = math.sqrt(size[0] * size[0] + size[1] * size[1])
    elif shape == "ring":
        half = r * (0.35 - 0.15 * aspect)  # half the ring's width; the hole is 0.3-0.57 r
        size, bound = (r - half, half, 0.0), r
    else:  # disc, triangle, star: circumradius
        size, bound = (r, 0.0, 0.0), r
    k = 1 << (int(2 * bound) + 4).bit_length()
    texture = _texture(rng, tex_rng, k, channels, unit)
    x = width * (0.15 + 0.7 * float(rng.random()))
    y = height * (0.15 + 0.7 * float(rng.random()))
    dx, dy = _direction(float(rng.random()), float(rng.random()))
    speed = unit * (0.012 + 0.033 * float(rng.random()))
    cos, sin = _direction(float(rng.random()), float(rng.random()))
    spin = _unit(0.04 * (2.0 * float(rng.random()) - 1.0))  # |ω| <= 0.08 rad/frame
    amp = 0.3 * float(rng.random())
    period = 20.0 + 40.0 * float(rng.random())
    phase = float(rng.random())
    return _Object(shape, size, bound, texture, k, x, y, speed, speed * dx, speed * dy, cos, sin,
                   spin, amp, period, phase)


def _signed_distance(obj: _Object, u: np.ndarray, v: np.ndarray, s: float) -> np.ndarray:
    """Signed distance in px (negative inside) at local coordinates ``(u, v)``, scale ``s``."""
    p, q, _ = obj.size
    if obj.shape == "disc":
        return np.sqrt(u * u + v * v) - p * s
    if obj.shape == "ring":
        return np.abs(np.sqrt(u * u + v * v) - p * s) - q * s
    if obj.shape == "rectangle":
        return np.maximum(np.abs(u) - p * s, np.abs(v) - q * s)
    if obj.shape == "ellipse":
        # first-order distance f / |∇f| of f = (u/a)² + (v/b)² - 1 (exact on the outline)
        a, b = p * s, q * s
        ia, ib = 1.0 / (a * a), 1.0 / (b * b)
        uu, vv = u * ia, v * ib
        f = u * uu + v * vv - 1.0
        return f / (2.0 * np.sqrt(uu * uu + vv * vv) + 1e-6)
    # triangle (a vertex at v = +p, inradius h = p / 2): max over its 3 edges' half-planes
    e = _HALF_SQRT3 * np.abs(u)
    h = 0.5 * p * s
    up = np.maximum(-v, e + 0.5 * v)
    if obj.shape == "triangle":
        return up - h
    return np.minimum(up, np.maximum(v, e - 0.5 * v)) - h  # star: union with the flipped triangle


def _draw(buf: np.ndarray, obj: _Object, xs: np.ndarray, ys: np.ndarray) -> None:
    """Composite ``obj`` over ``buf`` ``(H, W, C)`` in place, inside its bounding box only."""
    s = obj.scale()
    reach = obj.bound * s + 1.0
    x0, x1 = max(0, math.floor(obj.x - reach)), min(buf.shape[1], math.ceil(obj.x + reach))
    y0, y1 = max(0, math.floor(obj.y - reach)), min(buf.shape[0], math.ceil(obj.y + reach))
    if x0 >= x1 or y0 >= y1:
        return
    dx, dy = xs[x0:x1] - obj.x, ys[y0:y1] - obj.y  # (w,), (h,)
    # rotate into the object's frame: u = c dx + s dy, v = -s dx + c dy   (h, w)
    u = (obj.cos * dx)[None, :] + (obj.sin * dy)[:, None]
    v = (obj.cos * dy)[:, None] - (obj.sin * dx)[None, :]
    alpha = 0.5 - _signed_distance(obj, u, v, s)
    alpha = np.minimum(np.maximum(alpha, 0.0, out=alpha), 1.0, out=alpha)[..., None]  # (h, w, 1)
    # nearest texel of the unscaled texture, centred on the object
    inv, half, mask = 1.0 / s, obj.k // 2, obj.k - 1
    tu = (np.floor(u * inv).astype(np.intp) + half) & mask
    tv = (np.floor(v * inv).astype(np.intp) + half) & mask
    colour = np.take(obj.texture, tv * obj.k + tu, axis=0)  # (h, w, C)
    region = buf[y0:y1, x0:x1]
    region += alpha * (colour - region)


def _step(obj: _Object, draws: np.ndarray, turn_prob: float, width: int, height: int) -> None:
    """Advance one frame: maybe turn, move, bounce off the borders, rotate, age."""
    turn, u, w = (float(d) for d in draws)
    if turn < turn_prob:
        c, s = _direction(u, w)
        obj.vx, obj.vy = obj.speed * c, obj.speed * s
    obj.x, obj.vx = _bounce(obj.x + obj.vx, obj.vx, 0.6 * obj.bound, width)
    obj.y, obj.vy = _bounce(obj.y + obj.vy, obj.vy, 0.6 * obj.bound, height)
    c, s = obj.spin
    obj.cos, obj.sin = obj.cos * c - obj.sin * s, obj.sin * c + obj.cos * s
    obj.t += 1


def _bounce(p: float, v: float, margin: float, extent: int) -> tuple[float, float]:
    """Reflect position ``p`` and velocity ``v`` off walls at ``margin`` and ``extent - margin``."""
    lo, hi = min(margin, extent / 2), max(extent - margin, extent / 2)
    if p < lo:
        p, v = 2 * lo - p, abs(v)
    elif p > hi:
        p, v = 2 * hi - p, -abs(v)
    return min(max(p, lo), hi), v


# ---------------------------------------------------------------- public API
def synthetic_frames(
    seed: int,
    height: int = 64,
    width: int = 64,
    *,
    channels: int = 3,
    objects: int | None = None,
    turn_prob: float = 0.05,
) -> Iterator[np.ndarray]:
    """Endless synthetic video, one ``uint8`` frame ``(height, width, channels)`` at a time.

    The frames of :func:`synthetic_video` with the same arguments, one by one and without end;
    see there.

    Examples
    --------
    >>> frames = synthetic_frames(0, 16, 24)
    >>> next(frames).shape
    (16, 24, 3)
    """
    _check_args(1, height, width, channels, objects, turn_prob)
    return _frames(seed, height, width, channels, objects, turn_prob)


def _frames(seed, height, width, channels, objects, turn_prob) -> Iterator[np.ndarray]:
    """The generator behind :func:`synthetic_frames` (arguments already checked)."""
    rng = np.random.default_rng(seed)
    unit = float(min(height, width))
    n = int(rng.integers(2, 6)) if objects is None else int(objects)
    tex_rng = np.random.default_rng(int(rng.integers(2**63)))
    tile, (pan_x, pan_y) = _background(rng, tex_rng, height, width, channels, unit)
    things = [_make_object(rng, tex_rng, height, width, channels, unit) for _ in range(n)]
    xs = (np.arange(width) + 0.5).astype(_F32)
    ys = (np.arange(height) + 0.5).astype(_F32)
    off_x = off_y = 0.0
    buf = np.empty((height, width, channels), _F32)
    while True:
        # background: bilinear sample of the doubled periodic tile at the pan offset
        ix, iy = math.floor(off_x), math.floor(off_y)
        fx, fy = off_x - ix, off_y - iy
        ix, iy = ix % width, iy % height
        a = tile[iy : iy + height + 1, ix : ix + width]  # (H+1, W, C)
        b = tile[iy : iy + height + 1, ix + 1 : ix + width + 1]
        rows = a + fx * (b - a)
        np.subtract(rows[1:], rows[:-1], out=buf)
        buf *= fy
        buf += rows[:-1]
        for obj in things:
            _draw(buf, obj, xs, ys)
        np.minimum(np.maximum(buf, 0.0, out=buf), 255.0, out=buf)
        buf += 0.5
        yield buf.astype(np.uint8)  # floor of non-negative values: round half up
        draws = rng.random((n, 3))
        for obj, d in zip(things, draws):
            _step(obj, d, turn_prob, width, height)
        off_x, off_y = off_x + pan_x, off_y + pan_y


def synthetic_video(
    seed: int,
    frames: int = 32,
    height: int = 64,
    width: int = 64,
    *,
    channels: int = 3,
    objects: int | None = None,
    turn_prob: float = 0.05,
) -> np.ndarray:
    """A deterministic synthetic video: textured shapes moving over a panning textured background.

    Parameters
    ----------
    seed : int — the whole video follows from it, identically on every machine
    frames : int — number of frames T >= 1; a shorter video is a prefix of a longer one
    height, width : int — frame size H, W >= 8; 64x64 for tests, 240x320 matches UCF101
    channels : int — 3 (RGB) or 1 (the same scene in grey, by luma)
    objects : int or None — number of objects >= 0; None draws 2 to 5 from the seed
    turn_prob : float — probability per object and frame of turning to a new random direction

    Returns
    -------
    ndarray ``(T, H, W, C)`` uint8

    Notes
    -----
    The world, the order of the random draws and the rules that make it deterministic across
    machines are described in the module docstring (:mod:`sharpvid.fast.video.synthetic`).

    Examples
    --------
    >>> video = synthetic_video(0, frames=4, height=32, width=48)
    >>> video.shape, video.dtype
    ((4, 32, 48, 3), dtype('uint8'))
    >>> bool((video[1] != video[0]).any())
    True
    >>> bool((synthetic_video(0, frames=2, height=32, width=48) == video[:2]).all())
    True
    """
    _check_args(frames, height, width, channels, objects, turn_prob)
    out = np.empty((int(frames), height, width, channels), np.uint8)
    stream = synthetic_frames(
        seed, height, width, channels=channels, objects=objects, turn_prob=turn_prob
    )
    for t in range(int(frames)):
        out[t] = next(stream)
    return out
