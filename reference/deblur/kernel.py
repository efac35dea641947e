"""Kernel steps: salient-gradient selection, the kernel solves, pruning and centring.

(A) Pan, Hu, Su & Yang, "Deblurring Text Images via L0-Regularized Intensity and Gradient Prior",
CVPR 2014, doi:10.1109/CVPR.2014.371, Eq. (13): with the latent image S fixed,

.. math::  \\min_k \\sum_{d \\in \\{x, y\\}} \\|\\partial_d S \\ast k - \\partial_d y\\|^2 + \\gamma \\|k\\|^2,

solved by conjugate gradients on the ``kh x kw`` support (``estimate_psf.m``, S. Cho's code), on
gradients that ``threshold_pxpy_v1.m`` keeps only where they are salient.  Afterwards small values
and 8-connected components of little mass are removed, and at every scale the kernel is
re-centred (``adjust_psf_center.m``).

(B) Xu, Zheng & Jia, "Unnatural L0 Sparse Representation for Natural Image Deblurring", CVPR 2013,
doi:10.1109/CVPR.2013.147: the same energy solved in closed form on the whole Fourier grid,

.. math::  k = \\mathcal F^{-1}\\Big[\\frac{\\sum_d \\overline{\\mathcal F(\\partial_d S)}
           \\mathcal F(\\partial_d y)}{\\sum_d |\\mathcal F(\\partial_d S)|^2 + \\gamma}\\Big],

cropped to the support, clamped at 0 and normalised.

Convention
----------
- The gradients are MATLAB ``conv2(x, [-1 1; 0 0], 'valid')`` and ``conv2(x, [-1 0; 1 0],
  'valid')`` (true convolutions, so negated forward differences, ``(H-1) x (W-1)``).  The kernel
  FFTs are circular on that ``(H-1) x (W-1)`` grid, as in the authors' code.
- The histogram threshold reproduces ``histc(pm, 0:6e-5:2)``: left-closed bins whose last bin
  counts only values equal to the last edge; magnitudes above it are not counted.
- Rounding in :func:`adjust_psf_center` is MATLAB's ``round`` (half away from zero), and the
  centroid is divided by the kernel's sum (the authors' kernels already sum to 1 there).
- Degenerate kernels: where a step would leave no positive mass (a constant image has no
  gradients), the kernel falls back to a centred delta; pruning that would remove every component
  keeps the heaviest one.  The authors' code would divide by zero.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.ndimage

from sharpvid.reference._checks import _as_float
from sharpvid.reference.deblur.fourier import otf2psf, psf2otf


def delta_kernel(shape: tuple[int, int]) -> np.ndarray:
    """The identity blur: 1 at the centre ``(kh // 2, kw // 2)``, 0 elsewhere.

    Examples
    --------
    >>> delta_kernel((3, 3))[1]
    array([0., 1., 0.])
    """
    k = np.zeros(shape)
    k[shape[0] // 2, shape[1] // 2] = 1.0
    return k


def normalize_kernel(k: np.ndarray) -> np.ndarray:
    """``k / sum(k)``; a kernel with no positive mass becomes :func:`delta_kernel`.

    Examples
    --------
    >>> normalize_kernel(np.array([[1.0, 3.0, 0.0]]))
    array([[0.25, 0.75, 0.  ]])
    """
    total = k.sum()
    if not total > 0:
        return delta_kernel(k.shape)
    return k / total


def valid_gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sec. A.3 step 1: ``conv2(x, [-1 1; 0 0], 'valid')`` and ``conv2(x, [-1 0; 1 0], 'valid')``.

    Parameters
    ----------
    x : ndarray, shape ``(..., H, W)``

    Returns
    -------
    px, py : ndarray, shape ``(..., H-1, W-1)``
        ``px[i, j] = x[i+1, j] - x[i+1, j+1]`` and ``py[i, j] = x[i, j+1] - x[i+1, j+1]``
        (``conv2`` flips the filter, so these are negated forward differences).

    Examples
    --------
    >>> px, py = valid_gradients(np.array([[0.0, 1.0], [2.0, 4.0]]))
    >>> float(px[0, 0]), float(py[0, 0])
    (-2.0, -3.0)
    """
    px = x[..., 1:, :-1] - x[..., 1:, 1:]
    py = x[..., :-1, 1:] - x[..., 1:, 1:]
    return px, py


def _histc_tail_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``cumsum(flipud(histc(values, edges)))``: counts of values >= each edge, from the top."""
    n = edges.size
    idx = np.searchsorted(edges, values, side="right") - 1  # edges[idx] <= v < edges[idx + 1]
    last = idx == n - 1
    keep = (idx >= 0) & (~last | (values == edges[-1]))  # histc: last bin only v == edges[-1]
    counts = np.bincount(idx[keep], minlength=n)
    return np.cumsum(counts[::-1])


def estimate_threshold(
    px: np.ndarray, py: np.ndarray, kernel_size: int, *, step: float = 6e-5, top: float = 2.0
) -> float:
    """Sec. A.3 step 2 (first call of ``threshold_pxpy_v1``): the initial gradient threshold.

    The largest squared magnitude t on the grid ``0:step:top`` such that in each of the four
    orientation bins ``[0, π/4)``, ``[π/4, π/2)``, ``[-π/4, 0)``, ``[-π/2, -π/4)`` of
    ``atan(py/px)`` at least ``max(20 * kernel_size, 10)`` pixels have
    :math:`p_x^2 + p_y^2 \\ge t`.

    Parameters
    ----------
    px, py : ndarray, shape ``(h, w)``
        Gradients from :func:`valid_gradients` (one image).
    kernel_size : int
        ``max(kh, kw)``.
    step, top : float
        Histogram edges ``0:step:top`` (6e-5 and 2, the authors').

    Returns
    -------
    float
        The threshold, or 0 when no edge satisfies the count.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> px, py = rng.normal(size=(2, 60, 60)) * 0.1
    >>> t = estimate_threshold(px, py, 3)
    >>> 0.0 < t < 0.2
    True
    """
    pm = px**2 + py**2
    with np.errstate(divide="ignore", invalid="ignore"):
        pd = np.arctan(py / px)  # NaN where px = py = 0: in no bin, as in MATLAB
    n_edges = int(np.floor(top / step + 1e-9)) + 1
    edges = np.arange(n_edges) * step
    bins = [(0, np.pi / 4), (np.pi / 4, np.pi / 2), (-np.pi / 4, 0), (-np.pi / 2, -np.pi / 4)]
    tails = np.stack([_histc_tail_counts(pm[(pd >= lo) & (pd < hi)], edges) for lo, hi in bins])
    th = max(20 * int(kernel_size), 10)
    ok = np.flatnonzero(tails.min(axis=0) >= th)  # t (0-based) scanning from the top edge
    if ok.size == 0:
        return 0.0
    return float(edges[n_edges - 1 - ok[0]])


def threshold_pxpy(
    latent: np.ndarray, kernel_size: int, threshold: float | None = None
) -> tuple[np.ndarray, np.ndarray, float]:
    """Sec. A.3 step 2 (``threshold_pxpy_v1``): keep only salient latent gradients.

    Parameters
    ----------
    latent : ndarray, shape ``(H, W)``
        Latent image S (cropped to the image).
    kernel_size : int
        ``max(kh, kw)``.
    threshold : float, optional
        Threshold on :math:`p_x^2 + p_y^2`; ``None`` estimates it (:func:`estimate_threshold`).

    Returns
    -------
    px, py : ndarray, shape ``(H-1, W-1)``
        :func:`valid_gradients` of ``latent``, zero where :math:`p_x^2 + p_y^2 <` threshold.
    threshold : float
        The threshold used, divided by 1.1 when it was given (the next iteration's value).

    Notes
    -----
    While every pixel would be zeroed the threshold is multiplied by 0.81.

    Examples
    --------
    >>> x = np.zeros((8, 8)); x[:, 4:] = 1.0
    >>> px, py, t = threshold_pxpy(x, 3, 0.5)
    >>> int(np.count_nonzero(px)), round(t, 4)
    (7, 0.4545)
    """
    px, py = valid_gradients(latent)
    pm = px**2 + py**2
    estimated = threshold is None
    if estimated:
        threshold = estimate_threshold(px, py, kernel_size)
    while threshold > 0 and pm.max() > 0 and np.all(pm < threshold):
        threshold *= 0.81
    mask = pm < threshold
    px = np.where(mask, 0.0, px)
    py = np.where(mask, 0.0, py)
    return px, py, threshold if estimated else threshold / 1.1


def conjugate_gradient(
    apply_a: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    x0: np.ndarray,
    *,
    max_iter: int = 20,
    tol: float = 1e-5,
) -> np.ndarray:
    """Conjugate gradients for :math:`A x = b`, A symmetric positive definite (Cho's ``conjgrad``).

    Parameters
    ----------
    apply_a : callable
        ``x -> A x``.
    b, x0 : ndarray
        Right-hand side and start.
    max_iter : int
        At most 20 iterations (the authors').
    tol : float
        Stop when :math:`\\|r\\|_2 <` ``tol``.

    Returns
    -------
    ndarray
        The approximate solution.

    Examples
    --------
    >>> A = np.array([[4.0, 1.0], [1.0, 3.0]])
    >>> np.round(conjugate_gradient(lambda x: A @ x, np.array([1.0, 2.0]), np.zeros(2)), 6)
    array([0.090909, 0.636364])
    """
    x = x0
    r = b - apply_a(x)
    p = r
    rs_old = np.sum(r * r)
    if np.sqrt(rs_old) < tol:  # x0 already solves it (e.g. b = 0): α would be 0/0
        return x
    for _ in range(max_iter):
        ap = apply_a(p)
        alpha = rs_old / np.sum(p * ap)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = np.sum(r * r)
        if np.sqrt(rs_new) < tol:
            break
        p = r + (rs_new / rs_old) * p
        rs_old = rs_new
    return x


def estimate_psf_cg(
    bx: np.ndarray,
    by: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    gamma: float,
    kernel_shape: tuple[int, int],
    *,
    max_iter: int = 20,
    tol: float = 1e-5,
    rel_threshold: float = 0.05,
) -> np.ndarray:
    """Eq. (13) of Pan et al. (``estimate_psf.m``): Tikhonov kernel least squares by CG.

    Solves :math:`(\\sum_d P_d^\\top P_d + \\gamma I) k = \\sum_d P_d^\\top b_d` on the kernel
    support, with :math:`P_d k = p_d \\ast k` circular on the gradient grid; then zeros values
    below ``rel_threshold * max(k)`` and normalises.

    Parameters
    ----------
    bx, by : ndarray, shape ``(h, w)``
        :func:`valid_gradients` of the blurred image.
    px, py : ndarray, shape ``(h, w)``
        Thresholded latent gradients (:func:`threshold_pxpy`).
    gamma : float
        γ, the weight of :math:`\\|k\\|^2` (2).
    kernel_shape : (int, int)
        ``(kh, kw)``.
    max_iter, tol : int, float
        CG settings (20, 1e-5).
    rel_threshold : float
        Relative cut applied after CG (0.05).

    Returns
    -------
    ndarray, shape ``kernel_shape``
        Non-negative kernel summing to 1.

    Examples
    --------
    >>> from sharpvid.reference.deblur.fourier import convolve_circular
    >>> rng = np.random.default_rng(0); x = rng.random((32, 32))
    >>> k = np.zeros((5, 5)); k[2, 1:4] = 1 / 3
    >>> px, py = valid_gradients(x); bx, by = valid_gradients(convolve_circular(x, k))
    >>> bool(np.abs(estimate_psf_cg(bx, by, px, py, 1e-3, (5, 5)) - k).max() < 0.05)
    True
    """
    grid = px.shape[-2:]
    fpx, fpy = np.fft.fft2(px), np.fft.fft2(py)
    fbx, fby = np.fft.fft2(bx), np.fft.fft2(by)
    # b = sum_d P_d^T b_d ;  P^T P in the Fourier domain is |F p|^2
    rhs = otf2psf(np.conj(fpx) * fbx + np.conj(fpy) * fby, kernel_shape)
    m = np.abs(fpx) ** 2 + np.abs(fpy) ** 2

    def apply_a(k: np.ndarray) -> np.ndarray:
        return otf2psf(m * psf2otf(k, grid), kernel_shape) + gamma * k

    k0 = np.full(kernel_shape, 1.0 / np.prod(kernel_shape))
    k = conjugate_gradient(apply_a, rhs, k0, max_iter=max_iter, tol=tol)
    k = np.where(k < rel_threshold * k.max(), 0.0, k)
    return normalize_kernel(k)


def estimate_psf_fft(
    bx: np.ndarray,
    by: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    gamma: float,
    kernel_shape: tuple[int, int],
) -> np.ndarray:
    """Xu et al. kernel step: the closed-form Fourier solution, cropped, clamped, normalised.

    .. math:: k = \\mathcal F^{-1}\\Big[\\frac{\\overline{\\mathcal F p_x}\\mathcal F b_x
              + \\overline{\\mathcal F p_y}\\mathcal F b_y}{|\\mathcal F p_x|^2
              + |\\mathcal F p_y|^2 + \\gamma}\\Big]

    Parameters
    ----------
    bx, by : ndarray, shape ``(h, w)``
        Gradients of the blurred image.
    px, py : ndarray, shape ``(h, w)``
        Gradients of the latent image.
    gamma : float
        γ, the weight of :math:`\\|k\\|^2`.
    kernel_shape : (int, int)

    Returns
    -------
    ndarray, shape ``kernel_shape``
        Non-negative kernel summing to 1.

    Examples
    --------
    >>> from sharpvid.reference.deblur.fourier import convolve_circular
    >>> rng = np.random.default_rng(0); x = rng.random((32, 32))
    >>> k = np.zeros((5, 5)); k[2, 1:4] = 1 / 3
    >>> px, py = valid_gradients(x); bx, by = valid_gradients(convolve_circular(x, k))
    >>> bool(np.abs(estimate_psf_fft(bx, by, px, py, 1e-3, (5, 5)) - k).max() < 0.05)
    True
    """
    fpx, fpy = np.fft.fft2(px), np.fft.fft2(py)
    fbx, fby = np.fft.fft2(bx), np.fft.fft2(by)
    otf = (np.conj(fpx) * fbx + np.conj(fpy) * fby) / (np.abs(fpx) ** 2 + np.abs(fpy) ** 2 + gamma)
    k = otf2psf(otf, kernel_shape)
    return normalize_kernel(np.maximum(k, 0.0))


def prune_kernel(k: np.ndarray, *, min_mass: float = 0.1) -> np.ndarray:
    """Sec. A.3 step 4: zero 8-connected components of ``k != 0`` whose sum is < ``min_mass``.

    Then clamps negatives and renormalises (``blind_deconv_main.m``'s ``bwconncomp(k, 8)``).

    Parameters
    ----------
    k : ndarray, shape ``(kh, kw)``
    min_mass : float
        Components with less total mass are removed (0.1).

    Returns
    -------
    ndarray, shape ``(kh, kw)``

    Examples
    --------
    >>> k = np.array([[0.5, 0.45, 0.0, 0.05]])
    >>> prune_kernel(k).round(4)
    array([[0.5263, 0.4737, 0.    , 0.    ]])
    """
    labels, n = scipy.ndimage.label(k != 0, structure=np.ones((3, 3)))
    if n == 0:
        return normalize_kernel(k)
    mass = scipy.ndimage.sum(k, labels, index=np.arange(1, n + 1))  # (n,)
    drop = mass < min_mass
    if drop.all():  # Convention: keep the heaviest component rather than nothing
        drop[np.argmax(mass)] = False
    removed = np.isin(labels, 1 + np.flatnonzero(drop))
    k = np.where(removed, 0.0, k)
    return normalize_kernel(np.maximum(k, 0.0))


def _round_half_away(x: float) -> int:
    """MATLAB ``round``: halves go away from zero (NumPy rounds them to even)."""
    return int(np.sign(x) * np.floor(abs(x) + 0.5))


def adjust_psf_center(k: np.ndarray) -> np.ndarray:
    """Sec. A.4 (``adjust_psf_center.m``): shift the kernel by an integer to centre its centroid.

    The shift is ``round(centre - centroid)`` per axis; pixels shifted out are lost and the
    vacated ones are 0 (bilinear warping by an integer, NaN -> 0).  Negatives are then clamped and
    the kernel renormalised (``blind_deconv.m``).

    Parameters
    ----------
    k : ndarray, shape ``(kh, kw)``

    Returns
    -------
    ndarray, shape ``(kh, kw)``

    Examples
    --------
    >>> adjust_psf_center(np.array([[0.0, 0.0, 0.0, 0.5, 0.5]]))
    array([[0. , 0.5, 0.5, 0. , 0. ]])
    """
    k = _as_float(k, "k")
    kh, kw = k.shape
    total = k.sum()
    if not total > 0:
        return normalize_kernel(k)
    rows, cols = np.arange(kh), np.arange(kw)
    yc = np.sum(k.sum(axis=1) * rows) / total  # centroid, 0-based
    xc = np.sum(k.sum(axis=0) * cols) / total
    dy = _round_half_away((kh - 1) / 2 - yc)
    dx = _round_half_away((kw - 1) / 2 - xc)
    out = np.zeros_like(k)
    # out[i, j] = k[i - dy, j - dx] where that index exists; a shift past the kernel's size
    # (possible only for a kernel with negative values) moves everything out: all zeros
    if abs(dy) < kh and abs(dx) < kw:
        out[max(dy, 0) : kh + min(dy, 0), max(dx, 0) : kw + min(dx, 0)] = k[
            max(-dy, 0) : kh + min(-dy, 0), max(-dx, 0) : kw + min(-dx, 0)
        ]
    return normalize_kernel(np.maximum(out, 0.0))


def threshold_kernel(k: np.ndarray, k_thresh: float) -> np.ndarray:
    """Sec. A.4, finest scale: zero values below ``max(k) / k_thresh`` and renormalise.

    ``k_thresh <= 0`` only clamps negatives (``blind_deconv.m``).

    Examples
    --------
    >>> threshold_kernel(np.array([[0.02, 0.49, 0.49]]), 20)
    array([[0. , 0.5, 0.5]])
    """
    if k_thresh > 0:
        k = np.where(k < k.max() / k_thresh, 0.0, k)
    return normalize_kernel(np.maximum(k, 0.0))
