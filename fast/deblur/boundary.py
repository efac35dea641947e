"""Fast twin of :mod:`sharpvid.reference.deblur.boundary`: Liu-Jia circularly smooth padding.

Differences from the oracle: NumPy or CuPy (one code path), float32 unless the input is float64,
every leading index (batch, channel) padded at once; the DST-I is computed with a real FFT of
the odd extension (``cupy.fft`` has no DST), not ``scipy.fft.dstn``.  The blocks, Dirichlet data,
interpolation weights and both variants ("release", the default, and "liu_jia") are the oracle's
(see its Convention).
"""

from __future__ import annotations

import numpy as np

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import _as_float, _fft
from sharpvid.fast.deblur.fourier import opt_fft_size
from sharpvid.reference._checks import _check_image
from sharpvid.reference.deblur.boundary import _check_variant, _side_weights


def _dst1(x, axis: int):
    """Unnormalised DST-I along ``axis`` (``scipy.fft.dst(type=1)``) by a real FFT.

    For ``z = [0, x, 0, -x[::-1]]`` of length ``2(n + 1)``,
    :math:`\\mathrm{DST}(x)_k = -\\mathrm{Im}\\,\\mathcal F(z)_{k+1}`.
    """
    xp = array_module(x)
    x = xp.moveaxis(x, axis, -1)
    n = x.shape[-1]
    zero = xp.zeros(x.shape[:-1] + (1,), dtype=x.dtype)
    z = xp.concatenate([zero, x, zero, -x[..., ::-1]], axis=-1)
    out = -_fft(xp).rfft(z, axis=-1)[..., 1 : n + 1].imag
    return xp.moveaxis(out, -1, axis)


def solve_min_laplacian(boundary):
    """Fast twin of :func:`sharpvid.reference.deblur.boundary.solve_min_laplacian`.

    Differences: DST-I by real FFTs (:func:`_dst1`); NumPy or CuPy; dtype kept.
    """
    xp = array_module(boundary)
    h, w = boundary.shape[-2:]
    ring = boundary.copy()
    ring[..., 1:-1, 1:-1] = 0.0
    rhs = -(
        ring[..., 1:-1, 2:] + ring[..., 1:-1, :-2] + ring[..., 2:, 1:-1] + ring[..., :-2, 1:-1]
    )  # (..., h-2, w-2)
    q = xp.arange(1, w - 1, dtype=boundary.dtype)[None, :]
    p = xp.arange(1, h - 1, dtype=boundary.dtype)[:, None]
    eig = (2 * xp.cos(np.pi * q / (w - 1)) - 2) + (2 * xp.cos(np.pi * p / (h - 1)) - 2)
    u_hat = _dst1(_dst1(rhs, -1), -2) / eig
    # idstn(type=1) = dstn(type=1) / (2(h-1) * 2(w-1))
    ring[..., 1:-1, 1:-1] = _dst1(_dst1(u_hat, -1), -2) / (4.0 * (h - 1) * (w - 1))
    return ring


def _lerp(a, b, t_host: np.ndarray):
    """``(1 - t) a + t b`` along a new last axis (weights from the oracle's rule)."""
    xp = array_module(a)
    t = xp.asarray(t_host.astype(a.dtype))
    return a[..., None] * (1 - t) + b[..., None] * t


def wrap_boundary_liu(img, shape: tuple[int, int], *, variant: str = "release"):
    """Fast twin of :func:`sharpvid.reference.deblur.boundary.wrap_boundary_liu`.

    Differences: every leading index at once, NumPy or CuPy, float32 unless ``img`` is float64.
    """
    img = _as_float(img, "img")
    _check_image(img, "img", min_size=2)
    _check_variant(variant)
    xp = array_module(img)
    H, W = img.shape[-2:]
    Hp, Wp = int(shape[0]), int(shape[1])
    if Hp < H or Wp < W:
        raise ValueError(f"shape {Hp}x{Wp} is smaller than the image {H}x{W}")
    Hw, Ww = Hp - H, Wp - W
    lead = img.shape[:-2]
    zeros = lambda s: xp.zeros(lead + s, dtype=img.dtype)  # noqa: E731

    rA = zeros((Hw + 2, W))  # block A, below the image
    rA[..., 0, :] = img[..., -1, :]
    rA[..., -1, :] = img[..., 0, :]
    tA = _side_weights(Hw, variant)
    rA[..., 1:-1, 0] = _lerp(img[..., -1, 0], img[..., 0, 0], tA)
    rA[..., 1:-1, -1] = _lerp(img[..., -1, -1], img[..., 0, -1], tA)
    if Hw > 0 and W > 2:
        rA = solve_min_laplacian(rA)

    rB = zeros((H, Ww + 2))  # block B, right of the image
    rB[..., :, 0] = img[..., :, -1]
    rB[..., :, -1] = img[..., :, 0]
    tB = _side_weights(Ww, variant)
    rB[..., 0, 1:-1] = _lerp(img[..., 0, -1], img[..., 0, 0], tB)
    rB[..., -1, 1:-1] = _lerp(img[..., -1, -1], img[..., -1, 0], tB)
    if Ww > 0 and H > 2:
        rB = solve_min_laplacian(rB)

    rC = zeros((Hw + 2, Ww + 2))  # block C, the corner
    rC[..., 0, :] = rB[..., -1, :]
    rC[..., -1, :] = rB[..., 0, :]
    rC[..., :, 0] = rA[..., :, -1]
    rC[..., :, -1] = rA[..., :, 0]
    if Hw > 0 and Ww > 0:
        rC = solve_min_laplacian(rC)

    top = xp.concatenate([img, rB[..., :, 1:-1]], axis=-1)
    A = rA[..., :Hw, :] if variant == "release" else rA[..., 1:-1, :]  # release: A(1:end-2, :)
    bottom = xp.concatenate([A, rC[..., 1:-1, 1:-1]], axis=-1)
    return xp.concatenate([top, bottom], axis=-2)


def wrap_pad(y, kernel_shape: tuple[int, int], *, boundary: str = "release"):
    """Fast twin of :func:`sharpvid.reference.deblur.boundary.wrap_pad` (batched, dtype kept)."""
    H, W = y.shape[-2:]
    shape = (opt_fft_size(H + kernel_shape[0] - 1), opt_fft_size(W + kernel_shape[1] - 1))
    return wrap_boundary_liu(y, shape, variant=boundary)
