"""Method (A): blind deblurring with the L0 intensity and gradient prior (the driver).

Pan, Hu, Su & Yang, "Deblurring Text Images via L0-Regularized Intensity and Gradient Prior",
CVPR 2014, doi:10.1109/CVPR.2014.371:

.. math::

    \\min_{x, k} \\|x \\ast k - y\\|^2 + \\gamma \\|k\\|^2 + \\lambda (\\sigma \\|x\\|_0
    + \\|\\nabla x\\|_0), \\qquad \\lambda_p = \\sigma\\lambda, \\ \\lambda_g = \\lambda.

Per scale (coarse to fine, :mod:`sharpvid.reference.deblur.pyramid`), ``n_iter`` = 5 alternations of

1. the latent step :func:`sharpvid.reference.deblur.latent.l0_deblur_whole` (Alg. 1, Eq. 8-12) on
   the boundary-wrapped image, or :func:`sharpvid.reference.deblur.latent.l0_restoration` when λ_p = 0;
2. salient-gradient selection :func:`sharpvid.reference.deblur.kernel.threshold_pxpy`;
3. the kernel step :func:`sharpvid.reference.deblur.kernel.estimate_psf_cg` (Eq. 13) and
   :func:`sharpvid.reference.deblur.kernel.prune_kernel`;
4. λ_p, λ_g ← max(λ/1.1, 1e-4),

then :func:`sharpvid.reference.deblur.kernel.adjust_psf_center`.  The finest kernel is thresholded
at max/``k_thresh``, and :func:`sharpvid.reference.deblur.nonblind.ringing_artifacts_removal` gives
the image.

Convention
----------
- Defaults are the paper's and the demo's: λ_p = λ_g = 4e-3, γ = 2, 5 iterations per scale,
  ``k_thresh`` = 20, λ_tv = 2e-3, λ_l0 = 2e-4, w_ring = 1 (the text demos use λ_tv 1e-3..3e-3 and
  λ_l0 1e-4..2e-4; Levin-style natural images use λ_tv = 1e-3, λ_l0 = 2e-3, w_ring = 0).
  ``gamma_correct`` defaults to 1.0 (the demos often use 2.2); the power is used only for kernel
  estimation and negative values are clipped to 0 before it when it is not 1.
- The lambdas decay across scales; the gradient threshold restarts at every scale from the value
  estimated on the coarsest blurred image (the authors do not return it between scales).
- At the coarsest scale, if 0 < threshold < λ_g/10, λ_g is set to it and then λ_p = λ_g,
  even when λ_p was 0 (``lambda_from_threshold``; ``blind_deconv.m`` line 77 of the text release,
  where it is active: it is commented out only in the later dark-channel code).
  ``keep_zero_lambda_pixel=True`` keeps a λ_p of 0 at 0 (the gradient-only model stays so).
- Boundary padding, clamping and the final step's double padding follow the release
  (``boundary="release"``, no clamping, ``pad_twice=True``); see
  :mod:`sharpvid.reference.deblur.boundary` and :mod:`sharpvid.reference.deblur.nonblind` for the
  alternatives.
- A colour image's kernel is estimated on its BT.601 luma; the final deconvolution runs per
  channel.  The output is not clipped.
"""

from __future__ import annotations

import numpy as np

from sharpvid.reference.deblur._validate import _check_blurred
from sharpvid.reference.deblur.color import rgb_to_luma
from sharpvid.reference.deblur.boundary import wrap_pad
from sharpvid.reference.deblur.kernel import (
    adjust_psf_center,
    estimate_psf_cg,
    prune_kernel,
    threshold_kernel,
    threshold_pxpy,
    valid_gradients,
)
from sharpvid.reference.deblur.latent import l0_deblur_whole, l0_restoration
from sharpvid.reference.deblur.nonblind import ringing_artifacts_removal
from sharpvid.reference.deblur.pyramid import (downsample_image, init_kernel, resize_kernel,
                                               scale_schedule)


def _decay(lam: float, *, factor: float = 1.1, floor: float = 1e-4) -> float:
    """Sec. A.4: λ ← max(λ / 1.1, 1e-4), and 0 stays 0."""
    return max(lam / factor, floor) if lam != 0 else 0.0


def blind_deconv_scale_text(
    y: np.ndarray,
    k: np.ndarray,
    lambda_pixel: float,
    lambda_grad: float,
    threshold: float,
    *,
    n_iter: int = 5,
    gamma: float = 2.0,
    kappa: float = 2.0,
    boundary: str = "release",
) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Sec. A.3-A.4 (``blind_deconv_main.m``): alternate latent and kernel steps at one scale.

    Parameters
    ----------
    y : ndarray, shape ``(H, W)``
        Blurred (grey, gamma-corrected) image at this scale.
    k : ndarray, shape ``(kh, kw)``
        Starting kernel.
    lambda_pixel, lambda_grad : float
        λ_p and λ_g at the start of this scale.
    threshold : float
        Gradient threshold for :func:`threshold_pxpy` (decays by 1.1 per iteration).
    n_iter : int
        Alternations (``opts.xk_iter`` = 5).
    gamma : float
        γ, the kernel's Tikhonov weight (2).
    kappa : float
        Growth of the splitting weights in the latent step (2).
    boundary : str
        :func:`wrap_pad` variant, ``"release"`` or ``"liu_jia"``.

    Returns
    -------
    k : ndarray, shape ``(kh, kw)``
    lambda_pixel, lambda_grad : float
        The decayed weights, carried to the next scale.
    latent : ndarray, shape ``(H, W)``
        The last latent image S.
    """
    H, W = y.shape
    y_pad = wrap_pad(y, k.shape, boundary=boundary)
    bx, by = valid_gradients(y)  # (H-1, W-1), once per scale
    for _ in range(n_iter):
        if lambda_pixel != 0:  # step 1: Alg. 1, intensity + gradient L0
            s = l0_deblur_whole(y_pad, k, lambda_pixel, lambda_grad, kappa=kappa)[:H, :W]
        else:  # step 1: gradient-only L0
            s = l0_restoration(y, k, lambda_grad, kappa=kappa, boundary=boundary)
        px, py, threshold = threshold_pxpy(s, max(k.shape), threshold)  # step 2
        k = estimate_psf_cg(bx, by, px, py, gamma, k.shape)  # step 3: Eq. (13)
        k = prune_kernel(k)
        lambda_pixel, lambda_grad = _decay(lambda_pixel), _decay(lambda_grad)  # step 4
    return k, lambda_pixel, lambda_grad, s


def estimate_kernel_text(
    y: np.ndarray,
    kernel_size: int,
    *,
    lambda_pixel: float = 4e-3,
    lambda_grad: float = 4e-3,
    gamma: float = 2.0,
    n_iter: int = 5,
    k_thresh: float = 20.0,
    gamma_correct: float = 1.0,
    kappa: float = 2.0,
    lambda_from_threshold: bool = True,
    keep_zero_lambda_pixel: bool = False,
    boundary: str = "release",
) -> tuple[np.ndarray, np.ndarray]:
    """Sec. A.4 (``blind_deconv.m``): coarse-to-fine kernel estimation with the L0 text prior.

    Parameters
    ----------
    y : ndarray, shape ``(H, W)`` or ``(C, H, W)``
        Blurred image in [0, 1]; colour is reduced to BT.601 luma.
    kernel_size : int
        Odd kernel size, at least the blur's extent.
    lambda_pixel : float
        λ_p = σλ (4e-3; 0 selects the gradient-only model).
    lambda_grad : float
        λ_g = λ (4e-3).
    gamma : float
        γ (2).
    n_iter : int
        Latent/kernel alternations per scale (5).
    k_thresh : float
        Final cut at max/``k_thresh`` (20; <= 0 disables).
    gamma_correct : float
        Exponent applied to y for kernel estimation only (1.0).
    kappa : float
        Growth of the splitting weights (2).
    lambda_from_threshold : bool
        At the coarsest scale set λ_g, then λ_p = λ_g, to the gradient threshold when
        0 < threshold < λ_g/10 (True: active in the text release's ``blind_deconv.m``; only the
        later dark-channel code comments it out).  On small images with few edges it can weaken
        the prior to ~1e-4.
    keep_zero_lambda_pixel : bool
        With ``lambda_from_threshold``, leave a λ_p of 0 at 0 (False: the release sets it).
    boundary : str
        :func:`wrap_pad` variant, ``"release"`` or ``"liu_jia"``.

    Returns
    -------
    kernel : ndarray, shape ``(kernel_size, kernel_size)``
        Non-negative, sums to 1.
    latent : ndarray, shape ``(H, W)``
        The last intermediate latent image (finest scale).
    """
    y, kernel_size = _check_blurred(y, kernel_size)
    y = rgb_to_luma(y)
    if gamma_correct != 1:
        y = np.maximum(y, 0.0) ** gamma_correct
    schedule = scale_schedule(kernel_size)
    threshold = 0.0
    for s, (factor, ks) in enumerate(schedule):
        if s == 0:
            k = init_kernel(ks)
        else:  # upsample by 1/r = factor / previous factor
            k = resize_kernel(k, factor / schedule[s - 1][0], (ks, ks))
        ys = downsample_image(y, factor)
        if s == 0:  # the gradient threshold, from the coarsest blurred image
            _, _, threshold = threshold_pxpy(ys, ks)
            if lambda_from_threshold and 0 < threshold < lambda_grad / 10:
                lambda_grad = threshold
                if lambda_pixel != 0 or not keep_zero_lambda_pixel:
                    lambda_pixel = lambda_grad
        k, lambda_pixel, lambda_grad, latent = blind_deconv_scale_text(
            ys, k, lambda_pixel, lambda_grad, threshold, n_iter=n_iter, gamma=gamma, kappa=kappa,
            boundary=boundary,
        )
        k = adjust_psf_center(k)  # centre, clamp, renormalise
    return threshold_kernel(k, k_thresh), latent


def deblur_text_l0(
    y: np.ndarray,
    kernel_size: int,
    *,
    lambda_pixel: float = 4e-3,
    lambda_grad: float = 4e-3,
    gamma: float = 2.0,
    n_iter: int = 5,
    k_thresh: float = 20.0,
    gamma_correct: float = 1.0,
    kappa: float = 2.0,
    lambda_from_threshold: bool = True,
    keep_zero_lambda_pixel: bool = False,
    lambda_tv: float = 2e-3,
    lambda_l0: float = 2e-4,
    weight_ring: float = 1.0,
    boundary: str = "release",
    clamp: bool = False,
    pad_twice: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Pan et al. 2014, end to end: estimate the kernel, then deconvolve with ringing removal.

    Parameters
    ----------
    y : ndarray, shape ``(H, W)`` or ``(C, H, W)``, C in (1, 3)
        Blurred image, float in [0, 1] (other finite values are accepted).
    kernel_size : int
        Odd, >= 3, at most the image's smaller side (and small enough for the coarsest scale).
    lambda_pixel, lambda_grad, gamma, n_iter, k_thresh, gamma_correct, kappa
        Kernel estimation, see :func:`estimate_kernel_text`.
    lambda_from_threshold, keep_zero_lambda_pixel : bool
        The coarsest scale's λ rule, see :func:`estimate_kernel_text`.
    lambda_tv, lambda_l0, weight_ring : float
        Final deconvolution, see
        :func:`sharpvid.reference.deblur.nonblind.ringing_artifacts_removal`.
    boundary : str
        Padding variant for every FFT solve, ``"release"`` (default) or ``"liu_jia"``.
    clamp, pad_twice : bool
        The final step's release behaviour (no clamping; the L0 step pads the padded image).

    Returns
    -------
    latent : ndarray, shape of ``y``
        Deblurred image (not clipped).
    kernel : ndarray, shape ``(kernel_size, kernel_size)``
        Estimated blur kernel, non-negative, sums to 1.

    Examples
    --------
    >>> from sharpvid.reference.deblur.fourier import convolve_circular
    >>> x = np.zeros((48, 48)); x[12:36, 20:28] = 1.0; x[20:28, 8:40] = 1.0
    >>> k = np.zeros((7, 7)); k[3, 1:6] = 0.2
    >>> latent, k_est = deblur_text_l0(convolve_circular(x, k), 7)
    >>> latent.shape, k_est.shape, bool(abs(k_est.sum() - 1) < 1e-12)
    ((48, 48), (7, 7), True)
    """
    y, kernel_size = _check_blurred(y, kernel_size)
    kernel, _ = estimate_kernel_text(
        y, kernel_size, lambda_pixel=lambda_pixel, lambda_grad=lambda_grad, gamma=gamma,
        n_iter=n_iter, k_thresh=k_thresh, gamma_correct=gamma_correct, kappa=kappa,
        lambda_from_threshold=lambda_from_threshold, keep_zero_lambda_pixel=keep_zero_lambda_pixel,
        boundary=boundary,
    )
    latent = ringing_artifacts_removal(
        y, kernel, lambda_tv=lambda_tv, lambda_l0=lambda_l0, weight_ring=weight_ring,
        boundary=boundary, clamp=clamp, pad_twice=pad_twice,
    )
    return latent, kernel
