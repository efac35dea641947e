"""Classical dense optical flow, and the ``flow_extrap`` baseline that extrapolates with it.

The flow is iterative Lucas–Kanade (ILK): Lucas & Kanade, "An iterative image registration
technique with an application to stereo vision", IJCAI 1981, made dense, iterative and coarse to
fine as in Le Besnerais & Champagnat, "Dense optical flow by iterative local window
registration", ICIP 2005 (their FOLKI; scikit-image's ``optical_flow_ilk`` follows the same
paper).  Every pixel x gets the displacement v(x) that best explains the other image by the first
one inside a window around x:

- brightness constancy            :math:`I_1(x + v(x)) = I_0(x)`
- linearised about the current v_k (:func:`lucas_kanade_step`, the Eq. of Lucas & Kanade 1981
  that each iteration solves, in the dense form of Le Besnerais & Champagnat 2005):

  .. math::  I_1^w(x') + \\nabla I_1^w(x') \\cdot (v - v_k(x')) \\approx I_0(x'),
             \\qquad I_1^w = I_1(\\cdot + v_k)

- solved in the least-squares sense over a (2r+1)² window around x (:func:`window_mean`), with
  a small Tikhonov term λ that keeps v_k where the window has no texture (a flat window has no
  answer; Le Besnerais & Champagnat drop such pixels, scikit-image sets them to zero):

  .. math::  v_{k+1}(x) = \\arg\\min_v\\, \\overline{\\big(\\nabla I_1^w \\cdot v - e\\big)^2}(x)
             + \\lambda \\lVert v - v_k(x) \\rVert^2, \\quad
             e = I_0 - I_1^w + \\nabla I_1^w \\cdot v_k

  (the bar is the window mean), i.e. the 2x2 system :math:`(A + \\lambda I) v = b + \\lambda v_k`
  with :math:`A = \\overline{\\nabla I_1^w \\nabla I_1^{w\\top}}` and
  :math:`b = \\overline{\\nabla I_1^w e}`, solved by Cramer's rule;
- coarse to fine (Bouguet 2000, "Pyramidal implementation of the Lucas Kanade feature tracker"):
  the images are halved (:func:`sharpvid.reference.pyramid.downsample`) while both sides stay at
  least ``min_size``, up to ``levels`` levels; the flow of a coarser level, upsampled and doubled
  (:func:`upsample_flow`), starts the next finer one, so a displacement of d pixels is d / 2^L at
  level L, within the window's reach.

:func:`flow_extrapolate` is the constant-velocity baseline: the flow from the last frame to the
one before it says where each pixel of the last frame was one frame ago; assuming it keeps moving
the same way, the next frame at x is the last frame at x + v(x) (backward warping,
:func:`sharpvid.reference.pyramid.warp`).  Later frames are extrapolated recursively from the
earlier extrapolations, as the model predicts them.

Why ILK: it is a published method whose every step is a line of code, it is fast in a batched
twin (a few window means and a 2x2 solve per iteration, no inner solver), and on the demo's
held-out real frames its extrapolation is within 0.2 dB of OpenCV's DIS (Kroeger et al. 2016)
(benchmarks/RESULTS.md); Horn–Schunck and TV-L1 need hundreds of inner iterations per level for
the same job.

Convention
----------
- **Direction and units.** ``optical_flow(i0, i1)`` is the flow *from* ``i0`` *to* ``i1``: v has
  shape ``(..., 2, H, W)``, channel 0 is :math:`v_x` (+ right), channel 1 :math:`v_y` (+ down),
  in pixels of ``i0``, and :math:`I_1(x + v(x)) \\approx I_0(x)`, the convention of OpenCV's
  ``calcOpticalFlow*`` and of :func:`sharpvid.reference.pyramid.warp`'s flow (so
  ``warp(i1, v) ≈ i0``).  scikit-image's ``optical_flow_ilk`` returns ``(v_y, v_x)`` instead.
- **Colour.** The flow is computed on the BT.601 luma of the frames
  (:func:`sharpvid.reference.metrics.rgb_to_luma`); grey frames as they are.
- **Borders.** Gradients are central differences with the edge pixel repeated (so half the
  one-sided difference at the border; ``np.gradient`` takes the one-sided difference); the
  window mean is over the part of the window inside the frame; the warp clamps positions to the
  frame (edge pixels repeat), as OpenCV's ``BORDER_REPLICATE``.
- **Pyramid.** 2x2 average pooling that drops an odd last row or column (floor); the flow goes up
  by bilinear upsampling with half-pixel centres, times 2, the dropped row or column repeated.
"""

from __future__ import annotations

import numpy as np

from sharpvid.reference._checks import (_as_float, _check_image, _check_nonnegative_number,
                                        _check_positive_int)
from sharpvid.reference.metrics import rgb_to_luma
from sharpvid.reference.pyramid import downsample, upsample, warp

#: Defaults of :func:`optical_flow`: scikit-image's ILK window (radius 7), 4 iterations a level,
#: levels down to 16 pixels, λ small beside a textured window's A (about 1e-3 to 1e-2 on [-1, 1]
#: frames).  Set before any measurement; the variations tried afterwards on the sample clips
#: (2 to 8 iterations, radius 4, a Gaussian window of σ 3, λ = 1e-3) moved the extrapolation's
#: mean frame-1 PSNR by 0.1 dB or less (benchmarks/RESULTS.md), so none replaced them.
LEVELS, ITERATIONS, RADIUS, LAM, MIN_SIZE = 5, 4, 7, 1e-4, 16


def _check_frames(x, name: str) -> np.ndarray:
    """Frames ``(..., C, H, W)``, C = 1 or 3, finite: the flow's input."""
    x = _as_float(x, name)
    if x.ndim < 3 or x.shape[-3] not in (1, 3):
        raise ValueError(f"{name} must be frames (..., C, H, W) with 1 or 3 channels, got shape "
                         f"{x.shape}")
    _check_image(x, name, min_size=2)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} has NaN or infinite pixels; the optical flow needs finite ones")
    return x


def image_gradient(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:math:`\\nabla I = (\\partial_x I, \\partial_y I)` by central differences, edge repeated.

    Parameters
    ----------
    i : ndarray, shape ``(..., H, W)``

    Returns
    -------
    (gx, gy) : two ndarrays of the shape of ``i``
        :math:`\\partial_x I(y, x) = (I(y, x+1) - I(y, x-1)) / 2` and the same along y, with
        ``I`` extended by its edge pixels (so half the one-sided difference at the border).

    Examples
    --------
    >>> gx, gy = image_gradient(np.array([[0.0, 1.0, 4.0]]))
    >>> gx
    array([[0.5, 2. , 1.5]])
    >>> gy
    array([[0., 0., 0.]])
    """
    i = _as_float(i, "i")
    _check_image(i, "i")
    pad = [(0, 0)] * (i.ndim - 2) + [(1, 1), (1, 1)]
    p = np.pad(i, pad, mode="edge")  # (..., H + 2, W + 2)
    gx = (p[..., 1:-1, 2:] - p[..., 1:-1, :-2]) / 2
    gy = (p[..., 2:, 1:-1] - p[..., :-2, 1:-1]) / 2
    return gx, gy


def _window_mean_1d(x: np.ndarray, radius: int, axis: int) -> np.ndarray:
    """Mean over ``[i - radius, i + radius]`` along ``axis``, the part inside the array."""
    n = x.shape[axis]
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    p = np.pad(x, pad)  # zeros outside: they add nothing to the sum
    total = sum(np.take(p, np.arange(d, d + n), axis=axis) for d in range(2 * radius + 1))
    i = np.arange(n)
    count = np.minimum(i + radius, n - 1) - np.maximum(i - radius, 0) + 1  # in-frame positions
    shape = [1] * x.ndim
    shape[axis] = n
    return total / count.reshape(shape)


def window_mean(x: np.ndarray, radius: int) -> np.ndarray:
    """The window mean :math:`\\bar f(x) = \\frac{1}{|N(x)|}\\sum_{x' \\in N(x)} f(x')` over the
    ``(2r+1) x (2r+1)`` window N(x) around each pixel, clipped to the frame.

    Lucas & Kanade's weighting w: uniform over the window (scikit-image's ``optical_flow_ilk``
    default; Le Besnerais & Champagnat 2005 also use a Gaussian).  The window is separable, so
    it is a 1-D mean along x then along y.

    Parameters
    ----------
    x : ndarray, shape ``(..., H, W)``
    radius : int  — r >= 1

    Returns
    -------
    ndarray, shape of ``x``

    Examples
    --------
    >>> window_mean(np.array([[0.0, 3.0, 6.0]]), 1)
    array([[1.5, 3. , 4.5]])
    """
    x = _as_float(x, "x")
    radius = _check_positive_int(radius, "radius")
    _check_image(x, "x")
    return _window_mean_1d(_window_mean_1d(x, radius, -1), radius, -2)


def lucas_kanade_step(i0: np.ndarray, i1: np.ndarray, v: np.ndarray, *, radius: int = RADIUS,
                      lam: float = LAM) -> np.ndarray:
    """One iteration of dense iterative Lucas–Kanade: :math:`v_k \\to v_{k+1}` (Lucas & Kanade
    1981, dense as in Le Besnerais & Champagnat 2005), with a Tikhonov term λ.

    .. math::
        (A + \\lambda I)\\, v_{k+1} = b + \\lambda v_k, \\quad
        A = \\overline{\\nabla I_1^w \\nabla I_1^{w\\top}}, \\quad
        b = \\overline{\\nabla I_1^w \\,(I_0 - I_1^w + \\nabla I_1^w \\cdot v_k)}

    with :math:`I_1^w = W(I_1, v_k)` (:func:`sharpvid.reference.pyramid.warp`) and the bar the
    window mean (:func:`window_mean`).

    Parameters
    ----------
    i0, i1 : ndarray, shape ``(..., H, W)``
        Grey images: the flow is from ``i0`` to ``i1``.
    v : ndarray, shape ``(..., 2, H, W)``
        :math:`v_k = (v_x, v_y)` in pixels.
    radius : int  — r, the window's half-width
    lam : float  — λ >= 0, the Tikhonov weight (in squared intensity per squared pixel)

    Returns
    -------
    ndarray, shape of ``v``: :math:`v_{k+1}`

    Examples
    --------
    A ramp whose every pixel came from one pixel to the right is found in one step:

    >>> i0 = np.tile(np.arange(12.0), (4, 1)) / 12
    >>> v = lucas_kanade_step(i0, i0 + 1 / 12, np.zeros((2, 4, 12)), radius=2, lam=1e-9)
    >>> np.round(v[:, 0, 3:-3], 6) + 0.0
    array([[-1., -1., -1., -1., -1., -1.],
           [ 0.,  0.,  0.,  0.,  0.,  0.]])
    """
    i0, i1, v = _as_float(i0, "i0"), _as_float(i1, "i1"), _as_float(v, "v")
    radius = _check_positive_int(radius, "radius")
    _check_nonnegative_number(lam, "lam")
    if i0.shape != i1.shape or v.shape != i0.shape[:-2] + (2,) + i0.shape[-2:]:
        raise ValueError(f"i0 {i0.shape}, i1 {i1.shape} and v {v.shape} must be (..., H, W), "
                         f"(..., H, W) and (..., 2, H, W)")
    i1w = warp(i1[..., None, :, :], v)[..., 0, :, :]          # I_1^w = I_1(x + v_k)
    gx, gy = image_gradient(i1w)                              # \nabla I_1^w
    e = i0 - i1w + gx * v[..., 0, :, :] + gy * v[..., 1, :, :]  # I_0 - I_1^w + \nabla I_1^w . v_k
    a_xx, a_xy, a_yy = (window_mean(p, radius) for p in (gx * gx, gx * gy, gy * gy))
    b_x, b_y = window_mean(gx * e, radius), window_mean(gy * e, radius)
    a_xx, a_yy = a_xx + lam, a_yy + lam                       # A + \lambda I
    b_x, b_y = b_x + lam * v[..., 0, :, :], b_y + lam * v[..., 1, :, :]  # b + \lambda v_k
    det = a_xx * a_yy - a_xy * a_xy
    with np.errstate(divide="ignore", invalid="ignore"):      # det = 0 only where lam = 0
        v_x = (a_yy * b_x - a_xy * b_y) / det                 # Cramer's rule
        v_y = (a_xx * b_y - a_xy * b_x) / det
    return np.stack([v_x, v_y], axis=-3)


def upsample_flow(v: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A coarser level's flow carried to the next finer one: :math:`2\\,u(v)`, of size ``shape``.

    :func:`sharpvid.reference.pyramid.upsample` (bilinear, half-pixel centres) doubles the
    sides and the factor 2 turns coarse pixels into fine ones; a fine level of odd size, whose
    last row or column the 2x2 pooling dropped, gets the last upsampled one repeated.

    Parameters
    ----------
    v : ndarray, shape ``(..., 2, h, w)``
    shape : (H, W)  — the finer level's size, ``2h <= H <= 2h + 1`` (likewise W)

    Returns
    -------
    ndarray, shape ``(..., 2, H, W)``

    Examples
    --------
    >>> upsample_flow(np.ones((2, 1, 1)), (3, 2))[0]
    array([[2., 2.],
           [2., 2.],
           [2., 2.]])
    """
    v = _as_float(v, "v")
    up = 2.0 * upsample(v, 2, "bilinear")
    h, w = shape
    if not (0 <= h - up.shape[-2] <= 1 and 0 <= w - up.shape[-1] <= 1):
        raise ValueError(f"shape {shape} is not twice the flow's {v.shape[-2:]} (plus at most 1)")
    pad = [(0, 0)] * (v.ndim - 2) + [(0, h - up.shape[-2]), (0, w - up.shape[-1])]
    return np.pad(up, pad, mode="edge")


def downsample_flow(v: np.ndarray, factor: int) -> np.ndarray:
    """A flow carried to a coarser scale: :math:`d_f(v) / f`, the inverse of :func:`upsample_flow`.

    Average pooling over ``factor x factor`` blocks (:func:`sharpvid.reference.pyramid.downsample`,
    the frames' pyramid rule) and division by ``factor``, since a coarse pixel is ``factor``
    fine ones.  The flow-based generator (``NetworkConfig.output = "flow"``) sees the input
    flows at every scale this way.

    Parameters
    ----------
    v : ndarray, shape ``(..., 2, H, W)``
    factor : int

    Returns
    -------
    ndarray, shape ``(..., 2, H // factor, W // factor)``

    Examples
    --------
    >>> downsample_flow(np.full((2, 4, 4), 2.0), 2)[0]
    array([[1., 1.],
           [1., 1.]])
    """
    v = _as_float(v, "v")
    factor = _check_positive_int(factor, "factor")
    if v.ndim < 3 or v.shape[-3] != 2:
        raise ValueError(f"v must be a flow (..., 2, H, W), got shape {v.shape}")
    return downsample(v, factor) / factor


def _pyramid_levels(h: int, w: int, levels: int, min_size: int) -> int:
    """How many levels the pyramid has: halve while both halves keep ``min_size``."""
    count = 1
    while count < levels and min(h, w) // 2 ** count >= min_size:
        count += 1
    return count


def optical_flow(i0: np.ndarray, i1: np.ndarray, *, levels: int = LEVELS,
                 iterations: int = ITERATIONS, radius: int = RADIUS, lam: float = LAM,
                 min_size: int = MIN_SIZE) -> np.ndarray:
    """Dense optical flow from ``i0`` to ``i1``: coarse-to-fine iterative Lucas–Kanade (the
    module's equations; Le Besnerais & Champagnat 2005's FOLKI, Bouguet 2000's pyramid).

    Parameters
    ----------
    i0, i1 : ndarray, shape ``(..., C, H, W)``, C = 1 or 3, finite, H, W >= 2
        The frames (the flow is on their BT.601 luma); the flow lives on ``i0``'s pixels.
    levels : int  — at most this many pyramid levels (1: no pyramid)
    iterations : int  — :func:`lucas_kanade_step` iterations at each level
    radius : int  — the window's half-width r (a (2r+1)² window)
    lam : float  — the Tikhonov weight λ > 0 of :func:`lucas_kanade_step`
    min_size : int  — a coarser level is made only while both its sides stay >= this

    Returns
    -------
    ndarray, shape ``(..., 2, H, W)``
        :math:`(v_x, v_y)` in pixels with :math:`I_1(x + v(x)) \\approx I_0(x)` (module
        Convention).

    Examples
    --------
    A smooth texture moved by one pixel to the right; ``i0`` is the moved one, so each of its
    pixels came from one pixel to the left (:math:`v_x = -1`):

    >>> y, x = np.mgrid[0:24, 0:24]
    >>> i1 = (np.sin(x / 2) * np.cos(y / 3))[None]  # one grey frame (1, 24, 24)
    >>> i0 = np.roll(i1, 1, axis=-1)
    >>> v = optical_flow(i0, i1, levels=2, min_size=8, radius=3)
    >>> np.round(np.median(v[:, 4:-4, 4:-4], axis=(-2, -1)), 4) + 0.0
    array([-1.,  0.])
    """
    i0, i1 = _check_frames(i0, "i0"), _check_frames(i1, "i1")
    if i0.shape != i1.shape:
        raise ValueError(f"i0 and i1 must have the same shape, got {i0.shape} and {i1.shape}")
    levels = _check_positive_int(levels, "levels")
    iterations = _check_positive_int(iterations, "iterations")
    min_size = _check_positive_int(min_size, "min_size")
    _check_nonnegative_number(lam, "lam")
    if lam == 0:
        raise ValueError("lam must be > 0: a window with no texture has no flow without it")
    g0, g1 = rgb_to_luma(i0)[..., 0, :, :], rgb_to_luma(i1)[..., 0, :, :]  # (..., H, W)
    count = _pyramid_levels(*g0.shape[-2:], levels, min_size)
    p0, p1 = [g0], [g1]  # the pyramids, fine to coarse: level L is level L - 1 halved
    for _ in range(1, count):
        p0.append(downsample(p0[-1], 2))
        p1.append(downsample(p1[-1], 2))
    v = np.zeros(p0[-1].shape[:-2] + (2,) + p0[-1].shape[-2:])  # zero flow at the coarsest
    for level in reversed(range(count)):
        if v.shape[-2:] != p0[level].shape[-2:]:
            v = upsample_flow(v, p0[level].shape[-2:])  # 2 u(v): the coarser level's estimate
        for _ in range(iterations):
            v = lucas_kanade_step(p0[level], p1[level], v, radius=radius, lam=lam)
    return v


def flow_extrapolate(frames: np.ndarray, n: int = 1, **flow_options) -> np.ndarray:
    """The ``flow_extrap`` baseline: n frames predicted at constant velocity from the last two.

    .. math::  \\hat F_{t+1}(x) = F_t\\big(x + v(x)\\big), \\quad
               v = \\mathrm{optical\\_flow}(F_t, F_{t-1})

    v says where each pixel of the last frame F_t was in F_{t-1}; moving on at the same velocity,
    the pixel at x of the next frame comes from x + v(x) in F_t (backward bilinear warping,
    positions clamped to the frame: :func:`sharpvid.reference.pyramid.warp`).  Frame j > 1 is
    extrapolated the same way from the last two frames of the sequence that ends with frame
    j - 1's extrapolation (recursively, as the model predicts).  The paper compares its models
    with an optical-flow baseline as well (Mathieu et al. 2016, Table 1; the authors' flow for
    their masks was EpicFlow).

    Parameters
    ----------
    frames : ndarray, shape ``(..., T, C, H, W)``, T >= 2, C = 1 or 3
        The input frames (only the last two are used).
    n : int  — frames to extrapolate
    **flow_options
        Keyword arguments of :func:`optical_flow`.

    Returns
    -------
    ndarray, shape ``(..., n, C, H, W)``

    Examples
    --------
    Frames that do not move give the last frame again:

    >>> still = np.zeros((3, 1, 8, 8))
    >>> flow_extrapolate(still, 2).shape
    (2, 1, 8, 8)
    """
    frames = _as_float(frames, "frames")
    n = _check_positive_int(n, "n")
    if frames.ndim < 4 or frames.shape[-4] < 2:
        raise ValueError(f"frames must be (..., T, C, H, W) with T >= 2 (two frames give the "
                         f"motion), got shape {frames.shape}")
    prev, last = frames[..., -2, :, :, :], frames[..., -1, :, :, :]
    out = []
    for _ in range(n):
        v = optical_flow(last, prev, **flow_options)  # from the last frame to the one before it
        prev, last = last, warp(last, v)              # \hat F_{t+1}(x) = F_t(x + v(x))
        out.append(last)
    return np.stack(out, axis=-4)
