"""Latent-image steps: L0 hard thresholds and the FFT solves of half-quadratic splitting.

(A) Pan, Hu, Su & Yang, "Deblurring Text Images via L0-Regularized Intensity and Gradient Prior",
CVPR 2014, doi:10.1109/CVPR.2014.371.  For a fixed kernel k the latent image solves

.. math::  \\min_x \\|x \\ast k - y\\|^2 + \\lambda_p \\|x\\|_0 + \\lambda_g \\|\\nabla x\\|_0,

split with auxiliaries u ≈ x (weight β) and g = (h, v) ≈ ∇x (weight μ):

.. math::

    u &= x \\cdot [x^2 \\ge \\lambda_p / \\beta]                            && \\text{(Eq. 9)}\\\\
    g &= \\nabla x \\cdot [h^2 + v^2 \\ge \\lambda_g / \\mu]                && \\text{(Eq. 12)}\\\\
    x &= \\mathcal F^{-1}\\Big[\\frac{\\overline{K}\\mathcal F(y) + \\beta \\mathcal F(u)
          + \\mu (\\overline{D_x}\\mathcal F(h) + \\overline{D_y}\\mathcal F(v))}
          {|K|^2 + \\beta + \\mu (|D_x|^2 + |D_y|^2)}\\Big]                    && \\text{(Eq. 8/11)}

with β doubling from 2λ_p to 8 (outer loop) and μ doubling from 2λ_g to 1e5 (inner loop).
``l0_restoration`` is the gradient-only model (λ_p = 0; Xu, Lu, Xu & Jia, "Image smoothing via L0
gradient minimization", SIGGRAPH Asia 2011).

(B) Xu, Zheng & Jia, "Unnatural L0 Sparse Representation for Natural Image Deblurring", CVPR 2013,
doi:10.1109/CVPR.2013.147, approximate L0 with

.. math::

    \\phi_0(z) = \\begin{cases} z^2/\\epsilon^2 & |z| \\le \\epsilon \\\\ 1 & \\text{otherwise}\\end{cases}
             = \\min_l \\Big\\{ \\tfrac{1}{\\epsilon^2}(z - l)^2 + [l \\ne 0] \\Big\\},

so that :math:`\\min_x \\|x \\ast k - y\\|^2 + \\lambda \\Phi_0(\\nabla x)` alternates the l-step
:math:`l = \\nabla x \\cdot [|\\nabla x|^2 \\ge \\epsilon^2]` with the same FFT x-step at
:math:`\\mu = \\lambda / \\epsilon^2`, while ε is halved (graduated non-convexity).

All functions act on the last two axes and broadcast over leading ones (channels, batch); the
fast twin ``sharpvid.fast.deblur.latent`` is the same call on ``(B, C, H, W)``.

Convention
----------
- Thresholds are per pixel and per leading index: a colour image is thresholded channel by
  channel.  The authors' MATLAB sums the squares over the three colour channels (a joint mask);
  here only the final non-blind step ever sees colour, and the brief asks for it per channel.
- ``l0_restoration`` does not clamp: the text release's ``L0Restoration.m`` (v1.0, line 66) returns
  ``real(ifft2(...))`` as it is.  Clamping negative intensities after every solve, which later
  third-party copies add, is ``clamp=True``.
- Xu's l-step uses the joint magnitude :math:`h^2 + v^2 \\ge \\epsilon^2` (the two public
  reimplementations), and exactly the threshold of the variational form (no 1/2 shrink).
"""

from __future__ import annotations

import numpy as np

from sharpvid.reference._checks import _as_float
from sharpvid.reference.deblur.boundary import wrap_pad
from sharpvid.reference.deblur.fourier import grad_circ, grad_circ_adjoint, grad_otf_energy, psf2otf


def threshold_intensity(s: np.ndarray, lambda_pixel: float, beta: float) -> np.ndarray:
    """Eq. (9) of Pan et al.: u = s where :math:`s^2 \\ge \\lambda_p / \\beta`, else 0.

    Minimises :math:`\\beta (u - s)^2 + \\lambda_p [u \\ne 0]` per pixel.

    Parameters
    ----------
    s : ndarray, shape ``(..., H, W)``
        Current latent image.
    lambda_pixel : float
        λ_p = σλ, the weight of :math:`\\|x\\|_0`.
    beta : float
        β > 0, the splitting weight of u.

    Returns
    -------
    ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> threshold_intensity(np.array([0.1, 0.5, -0.6]), 0.09, 1.0)
    array([ 0. ,  0.5, -0.6])
    """
    return np.where(s**2 < lambda_pixel / beta, 0.0, s)


def threshold_gradient(
    h: np.ndarray, v: np.ndarray, lambda_grad: float, mu: float
) -> tuple[np.ndarray, np.ndarray]:
    """Eq. (12) of Pan et al.: keep (h, v) where :math:`h^2 + v^2 \\ge \\lambda_g / \\mu`, else 0.

    Minimises :math:`\\mu \\|g - \\nabla x\\|^2 + \\lambda_g [g \\ne 0]` per pixel (joint, isotropic).

    Parameters
    ----------
    h, v : ndarray, shape ``(..., H, W)``
        Horizontal and vertical circular differences of the latent image.
    lambda_grad : float
        λ_g = λ, the weight of :math:`\\|\\nabla x\\|_0`.
    mu : float
        μ > 0, the splitting weight of g.

    Returns
    -------
    h, v : ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> threshold_gradient(np.array([0.3, 0.1]), np.array([0.4, 0.1]), 0.25, 1.0)
    (array([0.3, 0. ]), array([0.4, 0. ]))
    """
    if lambda_grad == 0:  # no gradient prior (and μ = 0): nothing to threshold
        return h, v
    small = h**2 + v**2 < lambda_grad / mu
    return np.where(small, 0.0, h), np.where(small, 0.0, v)


def threshold_phi0(h: np.ndarray, v: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Xu et al. l-step: :math:`l = \\nabla x` where :math:`|\\nabla x|^2 \\ge \\epsilon^2`, else 0.

    The minimiser of :math:`\\tfrac{1}{\\epsilon^2}(\\nabla x - l)^2 + [l \\ne 0]`; it is
    :func:`threshold_gradient` with :math:`\\lambda/\\mu = \\epsilon^2`.

    Parameters
    ----------
    h, v : ndarray, shape ``(..., H, W)``
    eps : float
        ε > 0 of :math:`\\phi_0`.

    Returns
    -------
    h, v : ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> threshold_phi0(np.array([0.05, 0.2]), np.array([0.0, 0.0]), 0.1)
    (array([0. , 0.2]), array([0., 0.]))
    """
    small = h**2 + v**2 < eps**2
    return np.where(small, 0.0, h), np.where(small, 0.0, v)


def fft_data_terms(y: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precomputed Fourier terms of the x-step: :math:`\\overline{K}\\mathcal F(y)`, |K|², |D|².

    Parameters
    ----------
    y : ndarray, shape ``(..., H, W)``
        Observation (already boundary-padded).
    k : ndarray, shape ``(kh, kw)``
        Blur kernel.

    Returns
    -------
    numer_y : complex ndarray, shape ``(..., H, W)``
        :math:`\\overline{\\mathcal F k}\\,\\mathcal F y`.
    dk : ndarray, shape ``(H, W)``
        :math:`|\\mathcal F k|^2`.
    dg : ndarray, shape ``(H, W)``
        :math:`|D_x|^2 + |D_y|^2`.

    Examples
    --------
    >>> n, dk, dg = fft_data_terms(np.ones((4, 4)), np.ones((1, 1)))
    >>> float(n[0, 0].real), float(dk.max()), float(dg[0, 0])
    (16.0, 1.0, 0.0)
    """
    K = psf2otf(k, y.shape[-2:])
    return np.conj(K) * np.fft.fft2(y), np.abs(K) ** 2, grad_otf_energy(y.shape[-2:])


def solve_latent_fft(
    numer_y: np.ndarray,
    dk: np.ndarray,
    dg: np.ndarray,
    h: np.ndarray,
    v: np.ndarray,
    mu: float,
    u: np.ndarray | None = None,
    beta: float = 0.0,
) -> np.ndarray:
    """Eq. (8)/(11) of Pan et al.: the x-step of half-quadratic splitting, in closed form by FFT.

    .. math::

        x = \\arg\\min_x \\|x \\ast k - y\\|^2 + \\beta\\|x - u\\|^2 + \\mu\\|\\nabla x - (h, v)\\|^2
          = \\mathcal F^{-1}\\Big[\\frac{\\overline K \\mathcal F y + \\beta \\mathcal F u
            + \\mu \\mathcal F(\\nabla^\\top (h, v))}{|K|^2 + \\beta + \\mu (|D_x|^2 + |D_y|^2)}\\Big]

    Parameters
    ----------
    numer_y, dk, dg : ndarray
        From :func:`fft_data_terms`.
    h, v : ndarray, shape ``(..., H, W)``
        Gradient auxiliaries g (thresholded gradients).
    mu : float
        μ >= 0, weight of the gradient coupling.
    u : ndarray, shape ``(..., H, W)``, optional
        Intensity auxiliary (Pan's model only).
    beta : float
        β >= 0, weight of the intensity coupling; 0 drops the term.

    Returns
    -------
    ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> x = np.arange(16.0).reshape(4, 4); k = np.array([[0.2, 0.6, 0.2]])
    >>> from sharpvid.reference.deblur.fourier import convolve_circular
    >>> n, dk, dg = fft_data_terms(convolve_circular(x, k), k)
    >>> np.allclose(solve_latent_fft(n, dk, dg, 0 * x, 0 * x, 0.0), x)  # plain inverse filter
    True
    """
    numer = numer_y + mu * np.fft.fft2(grad_circ_adjoint(h, v))
    denom = dk + mu * dg
    if u is not None and beta > 0:
        numer = numer + beta * np.fft.fft2(u)
        denom = denom + beta
    return np.real(np.fft.ifft2(numer / denom))


def l0_deblur_whole(
    y_pad: np.ndarray,
    k: np.ndarray,
    lambda_pixel: float,
    lambda_grad: float,
    *,
    kappa: float = 2.0,
    beta_max: float = 8.0,
    mu_max: float = 1e5,
) -> np.ndarray:
    """Pan et al. Alg. 1 (``L0Deblur_whole``): the L0 intensity + gradient latent-image solve.

    Parameters
    ----------
    y_pad : ndarray, shape ``(..., Hp, Wp)``
        Boundary-wrapped observation (:func:`sharpvid.reference.deblur.boundary.wrap_pad`).
    k : ndarray, shape ``(kh, kw)``
        Current kernel.
    lambda_pixel : float
        λ_p > 0 (σλ in the paper; 4e-3 by default in the drivers).
    lambda_grad : float
        λ_g >= 0 (λ in the paper).
    kappa : float
        Growth factor of β and μ (2).
    beta_max, mu_max : float
        Stop when β >= ``beta_max`` (2^3) and μ >= ``mu_max`` (1e5).

    Returns
    -------
    ndarray, shape ``(..., Hp, Wp)``
        Latent image S on the padded grid (crop ``[..., :H, :W]``).

    Examples
    --------
    >>> y = np.zeros((16, 16)); y[4:12, 4:12] = 1.0
    >>> s = l0_deblur_whole(y, np.ones((1, 1)), 1e-3, 1e-3)
    >>> bool(np.abs(s - y).max() < 1e-3)
    True
    """
    if not lambda_pixel > 0 or not lambda_grad >= 0:
        raise ValueError(
            f"need lambda_pixel > 0 and lambda_grad >= 0, got {lambda_pixel!r}, {lambda_grad!r}"
            " (use l0_restoration for lambda_pixel = 0)"
        )
    y_pad = _as_float(y_pad, "y_pad")
    numer_y, dk, dg = fft_data_terms(y_pad, k)
    s = y_pad
    beta = 2 * lambda_pixel
    while beta < beta_max:
        u = threshold_intensity(s, lambda_pixel, beta)  # Eq. (9), u fixed in the inner loop
        mu = 2 * lambda_grad
        while mu < mu_max:
            h, v = threshold_gradient(*grad_circ(s), lambda_grad, mu)  # Eq. (12)
            s = solve_latent_fft(numer_y, dk, dg, h, v, mu, u, beta)  # Eq. (11)
            mu *= kappa
            if lambda_grad == 0:
                break
        beta *= kappa
    return s


def l0_restoration(
    y: np.ndarray,
    k: np.ndarray,
    lambda_grad: float,
    *,
    kappa: float = 2.0,
    mu_max: float = 1e5,
    clamp: bool = False,
    boundary: str = "release",
) -> np.ndarray:
    """Pan et al. ``L0Restoration``: gradient-only L0 deconvolution, padded and cropped inside.

    .. math:: \\min_x \\|x \\ast k - y\\|^2 + \\lambda_g \\|\\nabla x\\|_0

    Parameters
    ----------
    y : ndarray, shape ``(..., H, W)``
        Observation (not padded: :func:`wrap_pad` is applied here).
    k : ndarray, shape ``(kh, kw)``
    lambda_grad : float
        λ_g > 0.
    kappa : float
        Growth factor of μ, which runs from 2λ_g to ``mu_max``.
    mu_max : float
    clamp : bool
        Set negative intensities to 0 after every solve (False: the release does not; later
        third-party copies do).
    boundary : str
        :func:`wrap_pad` variant, ``"release"`` or ``"liu_jia"``.

    Returns
    -------
    ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> y = np.zeros((16, 16)); y[4:12, 4:12] = 1.0
    >>> bool(np.abs(l0_restoration(y, np.ones((1, 1)), 1e-3) - y).max() < 1e-3)
    True
    """
    if not lambda_grad > 0:
        raise ValueError(f"lambda_grad must be > 0, got {lambda_grad!r}")
    y, k = _as_float(y, "y"), _as_float(k, "k")
    H, W = y.shape[-2:]
    y_pad = wrap_pad(y, k.shape, boundary=boundary)
    numer_y, dk, dg = fft_data_terms(y_pad, k)
    s = y_pad
    mu = 2 * lambda_grad
    while mu < mu_max:
        h, v = threshold_gradient(*grad_circ(s), lambda_grad, mu)  # Eq. (12)
        s = solve_latent_fft(numer_y, dk, dg, h, v, mu)  # Eq. (11) with β = 0
        if clamp:
            s = np.maximum(s, 0.0)
        mu *= kappa
    return s[..., :H, :W]


def unnatural_l0_deblur(
    y_pad: np.ndarray,
    k: np.ndarray,
    lam: float,
    *,
    eps0: float = 0.35,
    n_levels: int = 4,
) -> np.ndarray:
    """Xu et al. latent step: half-quadratic :math:`\\Phi_0` deconvolution with ε halving.

    For ε = ε0, ε0/2, ..., ε0/2^(n_levels-1), run ε0/ε (1, 2, 4, 8) alternations of the l-step
    (:func:`threshold_phi0`) and the x-step (:func:`solve_latent_fft`, μ = λ/ε²).  Each call
    restarts from x = y.

    Parameters
    ----------
    y_pad : ndarray, shape ``(..., Hp, Wp)``
        Boundary-wrapped observation.
    k : ndarray, shape ``(kh, kw)``
    lam : float
        λ > 0, the weight of :math:`\\Phi_0(\\nabla x)`.
    eps0 : float
        Initial ε in intensity units (0.35; see :mod:`sharpvid.reference.deblur.natural`,
        Convention).
    n_levels : int
        Number of ε levels (4).

    Returns
    -------
    ndarray, shape ``(..., Hp, Wp)``

    Examples
    --------
    >>> y = np.zeros((16, 16)); y[4:12, 4:12] = 1.0
    >>> bool(np.abs(unnatural_l0_deblur(y, np.ones((1, 1)), 1e-3) - y).max() < 1e-2)
    True
    """
    if not lam > 0 or not eps0 > 0:
        raise ValueError(f"need lam > 0 and eps0 > 0, got {lam!r}, {eps0!r}")
    y_pad = _as_float(y_pad, "y_pad")
    numer_y, dk, dg = fft_data_terms(y_pad, k)
    x = y_pad
    for level in range(n_levels):
        eps = eps0 / 2**level
        mu = lam / eps**2  # the coupling weight tied to ε: exact variational form
        for _ in range(2**level):
            h, v = threshold_phi0(*grad_circ(x), eps)  # l-step
            x = solve_latent_fft(numer_y, dk, dg, h, v, mu)  # x-step
    return x
