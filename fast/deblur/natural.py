"""Fast twin of :mod:`sharpvid.reference.deblur.natural`: Xu et al. 2013 blind deblurring, batched.

Differences from the oracle: a batch ``(B, C, H, W)`` of frames of one size is deblurred at once
(NumPy on the CPU or CuPy on the GPU, one code path), float32 unless the input is float64; the
oracle's ``(H, W)`` / ``(C, H, W)`` give the oracle's shapes back.  λ may be per image (its
schedule is shared here, since every image starts from the same λ); pruning and centring are per
image.  Nothing couples the images of a batch.
"""

from __future__ import annotations

import numpy as np

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import _as_float
from sharpvid.fast.deblur._validate import _as_bchw, _check_blurred
from sharpvid.fast.deblur.boundary import wrap_pad
from sharpvid.fast.deblur.color import rgb_to_luma
from sharpvid.fast.deblur.kernel import (
    adjust_psf_center,
    estimate_psf_fft,
    prune_kernel,
    threshold_kernel,
    valid_gradients,
)
from sharpvid.fast.deblur.latent import unnatural_l0_deblur
from sharpvid.fast.deblur.nonblind import deconv_tv_l2
from sharpvid.fast.deblur.pyramid import (downsample_image, init_kernel, resize_kernel,
                                          scale_schedule)


def blind_deconv_scale_natural(
    y,
    k,
    lam,
    *,
    n_iter: int = 5,
    gamma: float = 40.0,
    eps0: float = 0.35,
    n_levels: int = 4,
    prune: bool = True,
    lambda_decay: float = 1.1,
    boundary: str = "release",
):
    """Fast twin of :func:`sharpvid.reference.deblur.natural.blind_deconv_scale_natural`.

    Differences: ``y`` may be ``(B, H, W)`` with ``k`` ``(B, kh, kw)`` (or shared); ``lam`` a
    scalar or B values (then returned as a float64 array).
    """
    y = _as_float(y, "y")
    batched = y.ndim == 3
    yb = y if batched else y[None]
    xp = array_module(yb)
    k = _as_float(k, "k", like=yb)
    kb = k if k.ndim == 3 else xp.broadcast_to(k, (yb.shape[0],) + k.shape).copy()
    H, W = yb.shape[-2:]
    y_pad = wrap_pad(yb, kb.shape[-2:], boundary=boundary)
    bx, by = valid_gradients(yb)  # (B, H-1, W-1)
    for _ in range(n_iter):
        x = unnatural_l0_deblur(y_pad, kb, lam, eps0=eps0, n_levels=n_levels)[..., :H, :W]
        px, py = valid_gradients(x)
        kb = estimate_psf_fft(bx, by, px, py, gamma, kb.shape[-2:])  # step 2
        if prune:
            kb = prune_kernel(kb)  # step 3
        lam = (
            max(lam / lambda_decay, 1e-4) if np.ndim(lam) == 0
            else np.maximum(np.asarray(lam, dtype=np.float64) / lambda_decay, 1e-4)
        )
    if batched:
        return kb, lam, x
    return kb[0], lam, x[0]


def estimate_kernel_natural(
    y,
    kernel_size: int,
    *,
    lam: float = 6e-3,
    gamma: float = 40.0,
    n_iter: int = 5,
    eps0: float = 0.35,
    n_levels: int = 4,
    prune: bool = True,
    lambda_decay: float = 1.1,
    k_thresh: float = 20.0,
    gamma_correct: float = 1.0,
    boundary: str = "release",
):
    """Fast twin of :func:`sharpvid.reference.deblur.natural.estimate_kernel_natural`.

    Differences: ``y`` may be ``(B, C, H, W)``, giving kernels ``(B, K, K)`` and latents
    ``(B, H, W)``.
    """
    y, kernel_size = _check_blurred(y, kernel_size)
    yb, batched = _as_bchw(y)
    xp = array_module(yb)
    grey = rgb_to_luma(yb)  # (B, H, W)
    if gamma_correct != 1:
        grey = xp.maximum(grey, 0.0) ** gamma_correct
    B = grey.shape[0]
    schedule = scale_schedule(kernel_size)
    for s, (factor, ks) in enumerate(schedule):
        if s == 0:
            k = xp.broadcast_to(init_kernel(ks, like=grey), (B, ks, ks)).copy()
        else:  # upsample by 1/r = factor / previous factor
            k = resize_kernel(k, factor / schedule[s - 1][0], (ks, ks))
        ys = downsample_image(grey, factor)
        k, lam, latent = blind_deconv_scale_natural(
            ys, k, lam, n_iter=n_iter, gamma=gamma, eps0=eps0, n_levels=n_levels, prune=prune,
            lambda_decay=lambda_decay, boundary=boundary,
        )
        k = adjust_psf_center(k)  # centre, clamp, renormalise
    kernel = threshold_kernel(k, k_thresh)
    return (kernel, latent) if batched else (kernel[0], latent[0])


def deblur_natural_l0(
    y,
    kernel_size: int,
    *,
    lam: float = 6e-3,
    gamma: float = 40.0,
    n_iter: int = 5,
    eps0: float = 0.35,
    n_levels: int = 4,
    prune: bool = True,
    lambda_decay: float = 1.1,
    k_thresh: float = 20.0,
    gamma_correct: float = 1.0,
    nonblind_weight: float = 2e3,
    boundary: str = "release",
    clamp: bool = False,
):
    """Fast twin of :func:`sharpvid.reference.deblur.natural.deblur_natural_l0`.

    Differences: ``y`` may be a batch ``(B, C, H, W)`` (kernels ``(B, K, K)``, each image
    deconvolved with its own); NumPy or CuPy (torch tensors cross over by DLPack); float32 unless
    ``y`` is float64.
    """
    y, kernel_size = _check_blurred(y, kernel_size)
    kernel, _ = estimate_kernel_natural(
        y, kernel_size, lam=lam, gamma=gamma, n_iter=n_iter, eps0=eps0, n_levels=n_levels,
        prune=prune, lambda_decay=lambda_decay, k_thresh=k_thresh, gamma_correct=gamma_correct,
        boundary=boundary,
    )
    latent = deconv_tv_l2(y, kernel, 2.0 / nonblind_weight, boundary=boundary, clamp=clamp)
    return latent, kernel
