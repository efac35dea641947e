"""Boundary padding that makes an image circularly smooth (Liu & Jia, ICIP 2008; Cho's variant).

R. Liu and J. Jia, "Reducing boundary artifacts in image deconvolution", ICIP 2008,
doi:10.1109/ICIP.2008.4711802, as used by Pan et al. CVPR 2014 (``wrap_boundary_liu.m`` by
S. Cho).  The image is extended at the bottom and right to an FFT-friendly size so that every
circular FFT solve sees no jump across the wrap.  Each new block solves Laplace's equation

.. math::  \\Delta u = 0 \\ \\text{inside}, \\qquad u = g \\ \\text{on the block's border},

with a DST-I (the Dirichlet Laplacian's eigenbasis; eigenvalues
:math:`2\\cos(\\pi p / (W - 1)) - 2 + 2\\cos(\\pi q / (H - 1)) - 2`).  Result: ``[[img, B], [A, C]]``.

Convention
----------
Cho's code keeps rows ``1..H_w`` of the bordered block A (its first row repeats the image's last
row and its last solved row is dropped), which shifts A by one row against the corner block C, and
it interpolates A's side columns (B's side rows) with weights ``(0..H_w-1)/(H_w-1)`` that put two
copies of the image edge next to each other.  Here every block keeps exactly its solved interior
and the side Dirichlet values are interpolated at ``1..H_w`` over ``H_w + 1`` steps, which is the
Liu-Jia construction: the padded array is then smooth across every seam and the wrap.  The first
``H x W`` pixels are the input, as in Cho's code.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from reference._checks import _as_float, _check_image
from reference.deblur.fourier import opt_fft_size


def solve_min_laplacian(boundary: np.ndarray) -> np.ndarray:
    """Laplace's equation with Dirichlet data: harmonic fill of the interior of ``boundary``.

    Parameters
    ----------
    boundary : ndarray, shape ``(..., h, w)``
        Only the outer ring (first/last row and column) is read; ``h, w >= 3``.

    Returns
    -------
    ndarray, shape ``(..., h, w)``
        The ring unchanged and the interior solving :math:`\\Delta u = 0`.

    Notes
    -----
    The 5-point Laplacian of the interior with the ring moved to the right-hand side is
    diagonalised by the 2-D DST-I:

    .. math:: \\hat u_{pq} = \\hat f_{pq} / \\big(2\\cos\\tfrac{\\pi q}{w-1} - 2
              + 2\\cos\\tfrac{\\pi p}{h-1} - 2\\big).

    Examples
    --------
    >>> b = np.tile(np.arange(4.0), (3, 1)); b[1, 1:3] = 0.0  # a linear ring
    >>> np.round(solve_min_laplacian(b)[1], 12)  # the harmonic fill is linear too
    array([0., 1., 2., 3.])
    """
    h, w = boundary.shape[-2:]
    ring = boundary.copy()
    ring[..., 1:-1, 1:-1] = 0.0
    # right-hand side: minus the ring's contribution to the 5-point Laplacian of interior pixels
    rhs = -(
        ring[..., 1:-1, 2:] + ring[..., 1:-1, :-2] + ring[..., 2:, 1:-1] + ring[..., :-2, 1:-1]
    )  # (..., h-2, w-2); the -4 * centre term is zero inside the ring
    q = np.arange(1, w - 1)[None, :]
    p = np.arange(1, h - 1)[:, None]
    eig = (2 * np.cos(np.pi * q / (w - 1)) - 2) + (2 * np.cos(np.pi * p / (h - 1)) - 2)
    u_hat = scipy.fft.dstn(rhs, type=1, axes=(-2, -1)) / eig
    out = ring
    out[..., 1:-1, 1:-1] = scipy.fft.idstn(u_hat, type=1, axes=(-2, -1))
    return out


def _lerp(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """``n`` values strictly between ``a`` and ``b`` (weights ``1..n`` over ``n + 1``), axis -1."""
    t = np.arange(1, n + 1) / (n + 1)
    return a[..., None] * (1 - t) + b[..., None] * t


def wrap_boundary_liu(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Liu-Jia padding: extend ``img`` to ``shape`` so that it is smooth across the circular wrap.

    Parameters
    ----------
    img : ndarray, shape ``(..., H, W)``
        Image (each leading index is padded independently), ``H, W >= 2``.
    shape : (int, int)
        Target ``(Hp, Wp)`` with ``Hp >= H`` and ``Wp >= W``.

    Returns
    -------
    ndarray, shape ``(..., Hp, Wp)``
        ``[[img, B], [A, C]]`` with ``out[..., :H, :W] == img``.

    Examples
    --------
    >>> img = np.outer(np.arange(4.0), np.ones(4))
    >>> out = wrap_boundary_liu(img, (8, 8))
    >>> out.shape, bool(np.all(out[:4, :4] == img))
    ((8, 8), True)
    """
    img = _as_float(img, "img")
    _check_image(img, "img", min_size=2)
    H, W = img.shape[-2:]
    Hp, Wp = int(shape[0]), int(shape[1])
    if Hp < H or Wp < W:
        raise ValueError(f"shape {Hp}x{Wp} is smaller than the image {H}x{W}")
    Hw, Ww = Hp - H, Wp - W
    lead = img.shape[:-2]

    # Block A (H_w x W, below the image): Dirichlet rows = last / first image rows,
    # side columns interpolated between them.
    rA = np.zeros(lead + (Hw + 2, W))
    rA[..., 0, :] = img[..., -1, :]
    rA[..., -1, :] = img[..., 0, :]
    rA[..., 1:-1, 0] = _lerp(img[..., -1, 0], img[..., 0, 0], Hw)
    rA[..., 1:-1, -1] = _lerp(img[..., -1, -1], img[..., 0, -1], Hw)
    if Hw > 0 and W > 2:
        rA = solve_min_laplacian(rA)

    # Block B (H x W_w, right of the image): the same with rows and columns exchanged.
    rB = np.zeros(lead + (H, Ww + 2))
    rB[..., :, 0] = img[..., :, -1]
    rB[..., :, -1] = img[..., :, 0]
    rB[..., 0, 1:-1] = _lerp(img[..., 0, -1], img[..., 0, 0], Ww)
    rB[..., -1, 1:-1] = _lerp(img[..., -1, -1], img[..., -1, 0], Ww)
    if Ww > 0 and H > 2:
        rB = solve_min_laplacian(rB)

    # Block C (the corner): bordered by B's last/first rows and A's last/first columns.
    rC = np.zeros(lead + (Hw + 2, Ww + 2))
    rC[..., 0, :] = rB[..., -1, :]
    rC[..., -1, :] = rB[..., 0, :]
    rC[..., :, 0] = rA[..., :, -1]
    rC[..., :, -1] = rA[..., :, 0]
    if Hw > 0 and Ww > 0:
        rC = solve_min_laplacian(rC)

    A = rA[..., 1:-1, :]  # (..., Hw, W)
    B = rB[..., :, 1:-1]  # (..., H, Ww)
    C = rC[..., 1:-1, 1:-1]  # (..., Hw, Ww)
    top = np.concatenate([img, B], axis=-1)
    bottom = np.concatenate([A, C], axis=-1)
    return np.concatenate([top, bottom], axis=-2)


def wrap_pad(y: np.ndarray, kernel_shape: tuple[int, int]) -> np.ndarray:
    """Sec. A.5: ``wrap_boundary_liu(y, opt_fft_size([H, W] + kernel_shape - 1))``.

    Parameters
    ----------
    y : ndarray, shape ``(..., H, W)``
    kernel_shape : (int, int)
        ``(kh, kw)`` of the blur kernel.

    Returns
    -------
    ndarray, shape ``(..., opt_fft_size(H + kh - 1), opt_fft_size(W + kw - 1))``

    Examples
    --------
    >>> wrap_pad(np.zeros((30, 40)), (9, 9)).shape  # 38 -> 39 = 3 * 13, 48 = 2^4 * 3
    (39, 48)
    """
    H, W = y.shape[-2:]
    shape = (opt_fft_size(H + kernel_shape[0] - 1), opt_fft_size(W + kernel_shape[1] - 1))
    return wrap_boundary_liu(y, shape)
