"""Final non-blind deconvolution: TV-L2 by half-quadratic splitting and ringing suppression.

Pan, Hu, Su & Yang, "Deblurring Text Images via L0-Regularized Intensity and Gradient Prior",
CVPR 2014, doi:10.1109/CVPR.2014.371, Sec. 5 ("ringing_artifacts_removal.m"): with the kernel
fixed, deconvolve twice,

.. math::

    I_{tv} &= \\arg\\min_I \\|k \\ast I - y\\|^2 + \\lambda_{tv} (\\|\\partial_h I\\|_1
              + \\|\\partial_v I\\|_1) \\\\
    I_0 &= \\arg\\min_I \\|k \\ast I - y\\|^2 + \\lambda_{l0} \\|\\nabla I\\|_0,

and subtract the bilateral-filtered difference, which holds the ringing:
:math:`I = I_{tv} - w_{ring}\\, \\mathrm{BF}(I_{tv} - I_0)`.

The TV-L2 solve is ``deblurring_adm_aniso.m`` (after Krishnan & Fergus, "Fast image deconvolution
using hyper-Laplacian priors", NIPS 2009), with b halving from 1/λ_tv to 1e-3:

.. math::

    W = \\mathrm{soft}(\\nabla I, b \\lambda_{tv}), \\qquad
    I = \\mathcal F^{-1}\\Big[\\frac{\\overline K \\mathcal F y + g\\,\\mathcal F(\\nabla^\\top W)}
        {|K|^2 + g (|D_x|^2 + |D_y|^2)}\\Big], \\quad g = \\frac{1}{2b}.

Xu et al. 2013 use this TV-L2 step as their final deconvolution (see
:func:`sharpvid.reference.deblur.natural.deblur_natural_l0` for the weight mapping).

Convention
----------
- Every leading index (colour channel, batch) is deconvolved and filtered independently.  The
  authors' bilateral filter measures the range distance of a colour image in CIELAB (of the
  *difference* image, a quirk) with σ_r = 0.1·100; here each channel uses its own grey-level
  rule, σ_r = 0.1, and ``L0Restoration``'s threshold is per channel too.
- The release's ``deblurring_adm_aniso`` never clamps, nor does ``L0Restoration``; clamping
  ``I[I < 0] = 0`` (some later copies do it after each iteration's gradient, which affects only the
  returned iterate) is ``clamp=True``, applied once at the end.
- The release passes the already padded ``y_pad`` to ``L0Restoration``, which pads it again
  (``ringing_artifacts_removal.m`` line 36, ``L0Restoration.m`` line 29): ``pad_twice=True``, the
  default; ``pad_twice=False`` pads once, like the TV-L2 step.
- The bilateral spatial weights are ``fspecial('gaussian', 2r + 1, σ_s)`` (r = ⌈3σ_s⌉ = 9) and
  the border is 'replicate' (``np.pad(mode='edge')``).
- The result is not clipped to [0, 1].
"""

from __future__ import annotations

import math

import numpy as np

from sharpvid.reference._checks import _as_float
from sharpvid.reference.deblur.boundary import wrap_pad
from sharpvid.reference.deblur.fourier import grad_circ
from sharpvid.reference.deblur.latent import fft_data_terms, l0_restoration, solve_latent_fft


def soft_threshold(z: np.ndarray, t: float) -> np.ndarray:
    """Shrinkage: :math:`\\mathrm{sign}(z) \\max(|z| - t, 0)`, the proximal map of :math:`t|z|`.

    Examples
    --------
    >>> soft_threshold(np.array([-1.0, 0.2, 0.5]), 0.3)
    array([-0.7,  0. ,  0.2])
    """
    return np.sign(z) * np.maximum(np.abs(z) - t, 0.0)


def deblurring_adm_aniso(
    y_pad: np.ndarray,
    k: np.ndarray,
    lambda_tv: float,
    *,
    beta_min: float = 1e-3,
    beta_ratio: float = 2.0,
    clamp: bool = False,
) -> np.ndarray:
    """Sec. A.6 step 2 (``deblurring_adm_aniso``): anisotropic TV-L2 deconvolution by HQS.

    Parameters
    ----------
    y_pad : ndarray, shape ``(..., Hp, Wp)``
        Boundary-wrapped observation.
    k : ndarray, shape ``(kh, kw)``
    lambda_tv : float
        λ_tv > 0, the TV weight.
    beta_min : float
        Stop once b <= ``beta_min`` (1e-3); b starts at 1/λ_tv.
    beta_ratio : float
        b is divided by this after each iteration (2).
    clamp : bool
        Set negative intensities of the result to 0 (False: the release never clamps).

    Returns
    -------
    ndarray, shape ``(..., Hp, Wp)``

    Examples
    --------
    >>> y = np.zeros((16, 16)); y[4:12, 4:12] = 1.0
    >>> bool(np.abs(deblurring_adm_aniso(y, np.ones((1, 1)), 1e-3) - y).max() < 0.01)
    True
    """
    if not lambda_tv > 0:
        raise ValueError(f"lambda_tv must be > 0, got {lambda_tv!r}")
    y_pad = _as_float(y_pad, "y_pad")
    numer_y, dk, dg = fft_data_terms(y_pad, k)
    x = y_pad
    b = 1.0 / lambda_tv
    while b > beta_min:
        g = 1.0 / (2.0 * b)
        h, v = grad_circ(x)
        wh, wv = soft_threshold(h, b * lambda_tv), soft_threshold(v, b * lambda_tv)  # W-step
        x = solve_latent_fft(numer_y, dk, dg, wh, wv, g)  # I-step
        b /= beta_ratio
    return np.maximum(x, 0.0) if clamp else x


def deconv_tv_l2(
    y: np.ndarray, k: np.ndarray, lambda_tv: float, *, boundary: str = "release", clamp: bool = False
) -> np.ndarray:
    """Sec. A.6 steps 1-2: pad with :func:`wrap_pad`, :func:`deblurring_adm_aniso`, crop.

    Parameters
    ----------
    y : ndarray, shape ``(..., H, W)``
    k : ndarray, shape ``(kh, kw)``
    lambda_tv : float
    boundary : str
        :func:`wrap_pad` variant, ``"release"`` or ``"liu_jia"``.
    clamp : bool
        See :func:`deblurring_adm_aniso`.

    Returns
    -------
    ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> deconv_tv_l2(np.zeros((3, 20, 20)), np.ones((3, 3)) / 9, 1e-3).shape
    (3, 20, 20)
    """
    y, k = _as_float(y, "y"), _as_float(k, "k")
    H, W = y.shape[-2:]
    y_pad = wrap_pad(y, k.shape, boundary=boundary)
    return deblurring_adm_aniso(y_pad, k, lambda_tv, clamp=clamp)[..., :H, :W]


def bilateral_filter(img: np.ndarray, *, sigma_s: float = 3.0, sigma_r: float = 0.1) -> np.ndarray:
    """Sec. A.6 step 5 (Cho's ``bilateral_filter``): edge-preserving smoothing, 'replicate' border.

    .. math:: \\mathrm{BF}(I)_p = \\frac{\\sum_q G_{\\sigma_s}(p - q)\\,
              e^{-(I_p - I_q)^2 / (2\\sigma_r^2)} I_q}{\\sum_q G_{\\sigma_s}(p - q)\\,
              e^{-(I_p - I_q)^2 / (2\\sigma_r^2)}}

    over the ``(2r + 1)^2`` window, r = ⌈3σ_s⌉.

    Parameters
    ----------
    img : ndarray, shape ``(..., H, W)``
        Each leading index is filtered independently.
    sigma_s : float
        Spatial σ in pixels (3).
    sigma_r : float
        Range σ (0.1).

    Returns
    -------
    ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> step = np.repeat([[0.0] * 5 + [1.0] * 5], 10, axis=0)
    >>> bool(np.abs(bilateral_filter(step) - step).max() < 1e-6)  # edges survive
    True
    """
    img = _as_float(img, "img")
    r = math.ceil(3 * sigma_s)
    H, W = img.shape[-2:]
    pad = [(0, 0)] * (img.ndim - 2) + [(r, r), (r, r)]
    p = np.pad(img, pad, mode="edge")
    offsets = np.arange(-r, r + 1)
    spatial = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma_s**2))
    spatial = spatial / spatial.sum()  # fspecial('gaussian', 2r+1, sigma_s)
    num = np.zeros_like(img)
    den = np.zeros_like(img)
    for i, dy in enumerate(offsets):
        for j, dx in enumerate(offsets):
            nb = p[..., r + dy : r + dy + H, r + dx : r + dx + W]  # neighbour I_q
            w = spatial[i, j] * np.exp(-0.5 * (img - nb) ** 2 / sigma_r**2)
            num += w * nb
            den += w
    return num / den


def ringing_artifacts_removal(
    y: np.ndarray,
    k: np.ndarray,
    *,
    lambda_tv: float = 2e-3,
    lambda_l0: float = 2e-4,
    weight_ring: float = 1.0,
    sigma_s: float = 3.0,
    sigma_r: float = 0.1,
    boundary: str = "release",
    clamp: bool = False,
    pad_twice: bool = True,
) -> np.ndarray:
    """Sec. A.6 (Pan et al. Sec. 5): TV-L2 deconvolution minus the filtered ringing estimate.

    .. math:: I = I_{tv} - w_{ring}\\,\\mathrm{BF}(I_{tv} - I_0)

    Parameters
    ----------
    y : ndarray, shape ``(..., H, W)``
        Blurred image (each channel deconvolved independently).
    k : ndarray, shape ``(kh, kw)``
        Blur kernel.
    lambda_tv : float
        λ_tv of the TV-L2 step (2e-3; the text demos use 1e-3 to 3e-3).
    lambda_l0 : float
        λ_l0 of the gradient-only L0 step (2e-4).
    weight_ring : float
        w_ring; 0 returns :math:`I_{tv}` and skips the L0 solve (1).
    sigma_s, sigma_r : float
        Bilateral filter settings (3, 0.1).
    boundary : str
        :func:`wrap_pad` variant, ``"release"`` or ``"liu_jia"``.
    clamp : bool
        Clamp negative intensities in both solves (False: the release does not).
    pad_twice : bool
        Give the L0 step the padded image, which it pads again, as the release does (True).

    Returns
    -------
    ndarray, shape ``(..., H, W)``

    Examples
    --------
    >>> y = np.zeros((24, 24)); y[6:18, 6:18] = 1.0
    >>> bool(np.abs(ringing_artifacts_removal(y, np.ones((1, 1))) - y).max() < 0.05)
    True
    """
    y, k = _as_float(y, "y"), _as_float(k, "k")
    H, W = y.shape[-2:]
    y_pad = wrap_pad(y, k.shape, boundary=boundary)  # step 1
    i_tv = deblurring_adm_aniso(y_pad, k, lambda_tv, clamp=clamp)[..., :H, :W]  # step 2
    if weight_ring == 0:
        return i_tv  # step 3
    l0_input = y_pad if pad_twice else y  # step 4: the release pads the padded image again
    i_0 = l0_restoration(l0_input, k, lambda_l0, clamp=clamp, boundary=boundary)[..., :H, :W]
    diff = i_tv - i_0
    return i_tv - weight_ring * bilateral_filter(diff, sigma_s=sigma_s, sigma_r=sigma_r)  # step 5
