"""Fourier-domain building blocks shared by both L0 deblurring methods.

Pan, Hu, Su & Yang, "Deblurring Text Images via L0-Regularized Intensity and Gradient Prior",
CVPR 2014, doi:10.1109/CVPR.2014.371, and Xu, Zheng & Jia, "Unnatural L0 Sparse Representation
for Natural Image Deblurring", CVPR 2013, doi:10.1109/CVPR.2013.147, both solve their quadratic
sub-problems in the Fourier domain with circular boundaries:

.. math::

    \\mathcal F(x \\ast k) = \\mathrm{OTF}(k) \\odot \\mathcal F(x), \\qquad
    \\nabla x = (\\partial_h x, \\partial_v x), \\quad
    \\partial_h x[i, j] = x[i, j + 1] - x[i, j] \\ (\\text{wrapping}),

and :math:`\\nabla^\\top` is the adjoint (minus a backward-difference divergence).

Every function works on the last two axes and broadcasts over leading ones, so the batched fast
twin (``sharpvid.fast.deblur.fourier``) is the same call with ``(B, C, H, W)`` arrays.

Convention
----------
- ``psf2otf``/``otf2psf`` follow MATLAB: the PSF is zero-padded at the bottom-right, then rolled so
  that its centre ``(kh // 2, kw // 2)`` lands on index ``(0, 0)``.  For odd kernels this is the
  kernel centre; ``convolve_circular`` is then a *true* convolution (MATLAB ``conv2``/``imfilter``
  with ``'conv'``), not a correlation.
- FFTs are NumPy's unnormalised forward / ``1/N`` inverse (MATLAB's ``fft2``/``ifft2``).
- ``otf2psf`` returns the real part (every PSF here is real); MATLAB returns a real array only when
  the imaginary part is negligible.
- ``opt_fft_size`` searches the 7-smooth (times at most one 11 or 13) sizes for any ``n``; Cho's
  ``opt_fft_size.m`` uses a look-up table up to 4096 and returns ``n`` unchanged above it.
"""

from __future__ import annotations

import numpy as np

from sharpvid.reference._checks import _as_float, _check_image, _check_positive_int


def psf2otf(psf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Optical transfer function of a PSF on an ``shape`` grid (MATLAB ``psf2otf``).

    Parameters
    ----------
    psf : ndarray, shape ``(..., kh, kw)``
        Point-spread function (blur kernel) k.
    shape : (int, int)
        ``(H, W)`` of the Fourier grid; ``H >= kh`` and ``W >= kw``.

    Returns
    -------
    ndarray of complex, shape ``(..., H, W)``
        :math:`\\mathcal F` of the zero-padded PSF rolled by ``-(kh // 2, kw // 2)``.

    Examples
    --------
    >>> np.allclose(psf2otf(np.array([[0., 1., 0.]]), (4, 4)), 1.0)  # a centred delta
    True
    """
    psf = _as_float(psf, "psf")
    _check_image(psf, "psf")
    kh, kw = psf.shape[-2:]
    h, w = int(shape[0]), int(shape[1])
    if kh > h or kw > w:
        raise ValueError(f"psf of size {kh}x{kw} does not fit the {h}x{w} Fourier grid")
    padded = np.zeros(psf.shape[:-2] + (h, w))
    padded[..., :kh, :kw] = psf
    # move the PSF centre to the origin: the MATLAB circshift by -floor(size/2)
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(-2, -1))
    return np.fft.fft2(padded)


def otf2psf(otf: np.ndarray, psf_shape: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`psf2otf`: the ``psf_shape`` PSF whose OTF is ``otf`` (MATLAB ``otf2psf``).

    Parameters
    ----------
    otf : ndarray, shape ``(..., H, W)``
    psf_shape : (int, int)
        ``(kh, kw)`` of the support to crop.

    Returns
    -------
    ndarray of float, shape ``(..., kh, kw)``
        ``real(ifft2(otf))`` rolled by ``+(kh // 2, kw // 2)`` and cropped to the top-left.

    Examples
    --------
    >>> k = np.arange(9.0).reshape(3, 3)
    >>> np.allclose(otf2psf(psf2otf(k, (8, 8)), (3, 3)), k)
    True
    """
    kh, kw = int(psf_shape[0]), int(psf_shape[1])
    psf = np.real(np.fft.ifft2(otf))
    psf = np.roll(psf, (kh // 2, kw // 2), axis=(-2, -1))
    return psf[..., :kh, :kw]


def _is_fft_friendly(m: int) -> bool:
    """``m = 2^a 3^b 5^c 7^d`` times at most one factor of 11 or 13."""
    for p in (2, 3, 5, 7):
        while m % p == 0:
            m //= p
    return m in (1, 11, 13)


def opt_fft_size(n: int) -> int:
    """Smallest FFT-friendly size ``m >= n`` (Cho's ``opt_fft_size``).

    Parameters
    ----------
    n : int
        Minimum size, ``n >= 1``.

    Returns
    -------
    int
        Smallest ``m >= n`` of the form :math:`2^a 3^b 5^c 7^d`, optionally times one 11 or 13.

    Examples
    --------
    >>> [opt_fft_size(n) for n in (1, 17, 97, 121, 143, 281)]
    [1, 18, 98, 125, 144, 288]
    """
    m = _check_positive_int(n, "n")
    while not _is_fft_friendly(m):
        m += 1
    return m


def grad_circ(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Circular forward differences :math:`\\nabla x = (\\partial_h x, \\partial_v x)` (Sec. A.1).

    Parameters
    ----------
    x : ndarray, shape ``(..., H, W)``

    Returns
    -------
    h, v : ndarray, shape ``(..., H, W)``
        ``h[i, j] = x[i, j+1] - x[i, j]`` and ``v[i, j] = x[i+1, j] - x[i, j]``, indices modulo
        ``W`` and ``H`` (the filters ``[1, -1]`` and ``[1; -1]`` through :func:`psf2otf`).

    Examples
    --------
    >>> grad_circ(np.array([[0.0, 1.0, 3.0]]))[0]
    array([[ 1.,  2., -3.]])
    """
    h = np.roll(x, -1, axis=-1) - x
    v = np.roll(x, -1, axis=-2) - x
    return h, v


def grad_circ_adjoint(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Adjoint :math:`\\nabla^\\top (h, v)` of :func:`grad_circ` (minus a backward divergence).

    Satisfies :math:`\\langle \\nabla x, (h, v) \\rangle = \\langle x, \\nabla^\\top (h, v) \\rangle`;
    in the Fourier domain it is :math:`\\overline{D_x} \\mathcal F h + \\overline{D_y} \\mathcal F v`.

    Parameters
    ----------
    h, v : ndarray, shape ``(..., H, W)``

    Returns
    -------
    ndarray, shape ``(..., H, W)``
        ``(h[:, j-1] - h[:, j]) + (v[i-1, :] - v[i, :])``, indices modulo the size.

    Examples
    --------
    >>> grad_circ_adjoint(np.array([[1.0, 0.0, 0.0]]), np.zeros((1, 3)))
    array([[-1.,  1.,  0.]])
    """
    return (np.roll(h, 1, axis=-1) - h) + (np.roll(v, 1, axis=-2) - v)


def grad_otf_energy(shape: tuple[int, int]) -> np.ndarray:
    """:math:`|D_x|^2 + |D_y|^2`, the Fourier symbol of :math:`\\nabla^\\top \\nabla` on ``shape``.

    Parameters
    ----------
    shape : (int, int)
        ``(H, W)``, each at least 2.

    Returns
    -------
    ndarray of float, shape ``(H, W)``

    Examples
    --------
    >>> grad_otf_energy((2, 2))
    array([[0., 4.],
           [4., 8.]])
    """
    dx = psf2otf(np.array([[1.0, -1.0]]), shape)
    dy = psf2otf(np.array([[1.0], [-1.0]]), shape)
    return np.abs(dx) ** 2 + np.abs(dy) ** 2


def convolve_circular(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Circular convolution :math:`x \\ast k` through the OTF (the blur model y = x * k).

    Parameters
    ----------
    x : ndarray, shape ``(..., H, W)``
    k : ndarray, shape ``(kh, kw)`` or ``(..., kh, kw)`` broadcastable with ``x``

    Returns
    -------
    ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> x = np.zeros((5, 5)); x[2, 2] = 1.0
    >>> k = np.array([[0.0, 0.5, 0.5]])
    >>> np.allclose(convolve_circular(x, k)[2], [0.0, 0.0, 0.5, 0.5, 0.0])
    True
    """
    x = _as_float(x, "x")
    otf = psf2otf(k, x.shape[-2:])
    return np.real(np.fft.ifft2(np.fft.fft2(x) * otf))
