"""Coarse-to-fine schedule for blind kernel estimation (Pan et al. 2014; reused for Xu et al. 2013).

Pan, Hu, Su & Yang, "Deblurring Text Images via L0-Regularized Intensity and Gradient Prior",
CVPR 2014, doi:10.1109/CVPR.2014.371 (``blind_deconv.m``, with A. Levin's ``downSmpImC``,
``resizeKer`` and ``fixsize`` from Levin, Weiss, Durand & Freeman, "Efficient marginal likelihood
optimization in blind deconvolution", CVPR 2011).

Scale s = 1 (finest) ... n (coarsest), ratio :math:`r = \\sqrt{1/2}`:

.. math::

    n = \\max(\\lfloor \\log(5 / k_{size}) / \\log r \\rfloor, 0) + 1, \\qquad
    k_s = \\lceil k_{size} \\, r^{s-1} \\rceil \\ (+1 \\text{ if even}),

and the image at scale s is the blurred image pre-filtered by a Gaussian and resampled by
:math:`r^{s-1}`.  Between scales the kernel is upsampled by 1/r and cropped or padded to
:math:`k_s`.

Convention
----------
- Lists run coarse to fine (the MATLAB loop runs ``s = n:-1:1``).
- Kernel upsampling uses ``scipy.ndimage.zoom(k, 1/r, order=3, grid_mode=True,
  mode='grid-constant')``: cubic B-spline with pixel-centre alignment and zeros outside, output
  size ``round(kh / r)``.  MATLAB's ``imresize`` is Keys' cubic convolution (a = -0.5) with
  antialiasing (inactive when upsampling) and output size ``ceil(kh / r)``; :func:`fix_kernel_size`
  absorbs the size difference and :func:`sharpvid.reference.deblur.kernel.adjust_psf_center` any
  sub-pixel drift.
- :func:`fix_kernel_size` drops the lighter edge row/column and pads zeros on the heavier side,
  ties going to the last row/column when dropping and to the first when padding, exactly as
  ``fixsize``.
- ``downsample_image`` samples at ``0, 1/r, 2/r, ... <= size - 1`` (MATLAB ``1:1/r:size``, with a
  1e-9 tolerance on the count); all positions are inside the image, so ``interp2``'s NaN never
  occurs.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.ndimage

from sharpvid.reference._checks import _as_float, _check_odd_size


def scale_schedule(
    kernel_size: int, *, ratio: float = math.sqrt(0.5), coarsest_size: int = 5
) -> list[tuple[float, int]]:
    """Sec. A.4: the (image factor, kernel size) of every scale, coarse to fine.

    Parameters
    ----------
    kernel_size : int
        Odd kernel size at the finest scale.
    ratio : float
        r, the size ratio between neighbouring scales (√½).
    coarsest_size : int
        The coarsest kernel is about this size (5).

    Returns
    -------
    list of (float, int)
        ``(r ** (s - 1), k_s)`` for s = n, ..., 1.

    Examples
    --------
    >>> [k for _, k in scale_schedule(25)]
    [7, 9, 13, 19, 25]
    """
    kernel_size = _check_odd_size(kernel_size, "kernel_size")
    max_itr = max(math.floor(math.log(coarsest_size / kernel_size) / math.log(ratio)), 0)
    out = []
    for s in range(max_itr, -1, -1):
        factor = ratio**s
        k = math.ceil(kernel_size * factor)
        out.append((factor, k + (k % 2 == 0)))
    return out


def _gaussian_prefilter(factor: float) -> np.ndarray:
    """``downSmpImC``'s 1-D anti-alias filter: Gaussian, normalised, tails < 5% cut."""
    sig = factor / np.pi
    n = np.arange(-50, 51)
    sf = np.exp(-0.5 * (2 * np.pi * n) ** 2 * sig**2)
    sf = sf / sf.sum()
    csf = np.cumsum(sf)
    csf = np.minimum(csf, csf[::-1])
    return sf[csf > 0.05]


def _linear_sampling_matrix(n_in: int, positions: np.ndarray) -> np.ndarray:
    """(n_out, n_in) matrix of 1-D linear interpolation at 0-based ``positions`` in [0, n_in-1]."""
    lo = np.clip(np.floor(positions).astype(int), 0, n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = positions - lo
    mat = np.zeros((positions.size, n_in))
    np.add.at(mat, (np.arange(positions.size), lo), 1.0 - frac)
    np.add.at(mat, (np.arange(positions.size), hi), frac)
    return mat


def downsample_image(y: np.ndarray, factor: float) -> np.ndarray:
    """Sec. A.4 (Levin's ``downSmpImC``): Gaussian pre-filter ('valid'), then bilinear resampling.

    Parameters
    ----------
    y : ndarray, shape ``(..., H, W)``
    factor : float
        Scale factor in (0, 1]; 1 returns ``y`` unchanged.

    Returns
    -------
    ndarray, shape ``(..., h, w)``
        With ``h = floor((H - L) * factor) + 1`` for an L-tap pre-filter (same for w).

    Examples
    --------
    >>> downsample_image(np.ones((40, 40)), 0.5).shape
    (18, 18)
    """
    y = _as_float(y, "y")
    if factor == 1:
        return y
    sf = _gaussian_prefilter(factor)
    taps = sf.size
    H, W = y.shape[-2:]
    # separable 'valid' convolution (the filter is symmetric, so no flip is needed)
    rows = sum(sf[t] * y[..., t : H - taps + 1 + t, :] for t in range(taps))
    img = sum(sf[t] * rows[..., :, t : W - taps + 1 + t] for t in range(taps))
    h, w = img.shape[-2:]
    # bilinear sampling at 0, 1/factor, 2/factor, ... (MATLAB 1:1/ret:size)
    pos_r = np.arange(math.floor((h - 1) * factor + 1e-9) + 1) / factor
    pos_c = np.arange(math.floor((w - 1) * factor + 1e-9) + 1) / factor
    mr, mc = _linear_sampling_matrix(h, pos_r), _linear_sampling_matrix(w, pos_c)
    return np.einsum("ih,...hw,jw->...ij", mr, img, mc, optimize=True)


def init_kernel(size: int) -> np.ndarray:
    """Sec. A.4: the coarsest-scale start, a two-pixel horizontal bar just above-left of centre.

    MATLAB ``k((m-1)/2, (m-1)/2 : (m+1)/2) = 1/2`` (1-based).

    Examples
    --------
    >>> init_kernel(5)
    array([[0. , 0. , 0. , 0. , 0. ],
           [0. , 0.5, 0.5, 0. , 0. ],
           [0. , 0. , 0. , 0. , 0. ],
           [0. , 0. , 0. , 0. , 0. ],
           [0. , 0. , 0. , 0. , 0. ]])
    """
    size = _check_odd_size(size, "size")
    if size < 3:
        raise ValueError(f"size must be at least 3, got {size}")
    c = (size - 1) // 2 - 1  # 1-based (m-1)/2 -> 0-based
    k = np.zeros((size, size))
    k[c, c : c + 2] = 0.5
    return k


def fix_kernel_size(k: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Levin's ``fixsize``: crop or zero-pad one edge row/column at a time to reach ``shape``.

    Parameters
    ----------
    k : ndarray, shape ``(kh, kw)``
    shape : (int, int)
        Target size.

    Returns
    -------
    ndarray, shape ``shape``

    Examples
    --------
    >>> fix_kernel_size(np.array([[0.1, 0.6, 0.3]]), (1, 2))
    array([[0.6, 0.3]])
    """
    f = _as_float(k, "k")
    nk1, nk2 = int(shape[0]), int(shape[1])
    while f.shape != (nk1, nk2):
        k1, k2 = f.shape
        if k1 > nk1:  # drop the lighter edge row
            s = f.sum(axis=1)
            f = f[1:] if s[0] < s[-1] else f[:-1]
        if k1 < nk1:  # pad a zero row on the heavier side
            s = f.sum(axis=1)
            zero = np.zeros((1, f.shape[1]))
            f = np.concatenate([f, zero] if s[0] < s[-1] else [zero, f], axis=0)
        if k2 > nk2:
            s = f.sum(axis=0)
            f = f[:, 1:] if s[0] < s[-1] else f[:, :-1]
        if k2 < nk2:
            s = f.sum(axis=0)
            zero = np.zeros((f.shape[0], 1))
            f = np.concatenate([f, zero] if s[0] < s[-1] else [zero, f], axis=1)
    return f


def resize_kernel(k: np.ndarray, factor: float, shape: tuple[int, int]) -> np.ndarray:
    """Sec. A.4 (Levin's ``resizeKer``): upsample the kernel, clamp, fix the size, renormalise.

    Parameters
    ----------
    k : ndarray, shape ``(kh, kw)``
    factor : float
        Zoom factor (1/r = √2 between scales).
    shape : (int, int)
        Kernel size at the new scale.

    Returns
    -------
    ndarray, shape ``shape``
        Non-negative; sums to 1 unless it is all zero.

    Examples
    --------
    >>> k = np.zeros((5, 5)); k[2, 2] = 1.0
    >>> r = resize_kernel(k, math.sqrt(2), (7, 7))
    >>> r.shape, bool(abs(r.sum() - 1) < 1e-12), bool(r.argmax() == 24)
    ((7, 7), True, True)
    """
    k = _as_float(k, "k")
    k = scipy.ndimage.zoom(k, factor, order=3, mode="grid-constant", grid_mode=True)
    k = np.maximum(k, 0.0)
    k = fix_kernel_size(k, shape)
    if k.max() > 0:
        k = k / k.sum()
    return k
