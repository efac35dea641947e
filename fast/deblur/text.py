"""Fast twin of :mod:`sharpvid.reference.deblur.text`: Pan et al. 2014 blind deblurring, batched.

Differences from the oracle: a batch ``(B, C, H, W)`` of frames of one size is deblurred at once
(NumPy on the CPU or CuPy on the GPU, one code path), float32 unless the input is float64; the
oracle's ``(H, W)`` / ``(C, H, W)`` give the oracle's shapes back.  Every per-image decision is
kept per image: the gradient threshold (estimated per image at the coarsest scale), λ_p and λ_g
(set from that threshold and decayed per image, as float64 host arrays that fix each image's
β/μ schedule), the CG stopping, pruning and centring.  Nothing couples the images of a batch.

float64 input follows the oracle to rounding (the equivalence tests).  In float32 the latent
solves round at ~1e-5 (each divides by β + ..., β from 2λ_p), and an L0 threshold, the 5% kernel
cut, a pruning decision or the centring's rounding may then go the other way than in float64;
the alternation carries such a flip on, so float32 kernels are the oracle's up to a small drift
(similarity >= 0.95 in the tests, of the same quality against the true kernel).
"""

from __future__ import annotations

import numpy as np

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import _as_float, _host_per_image, _to_host
from sharpvid.fast.deblur._validate import _as_bchw, _check_blurred
from sharpvid.fast.deblur.boundary import wrap_pad
from sharpvid.fast.deblur.color import rgb_to_luma
from sharpvid.fast.deblur.kernel import (
    adjust_psf_center,
    estimate_psf_cg,
    prune_kernel,
    threshold_kernel,
    threshold_pxpy,
    valid_gradients,
)
from sharpvid.fast.deblur.latent import l0_deblur_whole, l0_restoration
from sharpvid.fast.deblur.nonblind import ringing_artifacts_removal
from sharpvid.fast.deblur.pyramid import (downsample_image, init_kernel, resize_kernel,
                                          scale_schedule)


def _decay(lam: np.ndarray, *, factor: float = 1.1, floor: float = 1e-4) -> np.ndarray:
    """Sec. A.4 per image: λ ← max(λ / 1.1, 1e-4), and 0 stays 0 (host float64)."""
    return np.where(lam != 0, np.maximum(lam / factor, floor), 0.0)


def _latent_text(y, y_pad, k, lp: np.ndarray, lg: np.ndarray, kappa: float, boundary: str):
    """Step 1 for a batch: Alg. 1 where λ_p != 0, the gradient-only model where λ_p = 0."""
    xp = array_module(y)
    H, W = y.shape[-2:]
    whole = lp != 0
    if whole.all():
        return l0_deblur_whole(y_pad, k, lp, lg, kappa=kappa)[..., :H, :W]
    if not whole.any():
        return l0_restoration(y, k, lg, kappa=kappa, boundary=boundary)
    s = xp.empty_like(y)  # a mixed batch: each group in one call
    i, j = np.flatnonzero(whole), np.flatnonzero(~whole)
    di, dj = xp.asarray(i), xp.asarray(j)
    s[di] = l0_deblur_whole(y_pad[di], k[di], lp[i], lg[i], kappa=kappa)[..., :H, :W]
    s[dj] = l0_restoration(y[dj], k[dj], lg[j], kappa=kappa, boundary=boundary)
    return s


def blind_deconv_scale_text(
    y,
    k,
    lambda_pixel,
    lambda_grad,
    threshold,
    *,
    n_iter: int = 5,
    gamma: float = 2.0,
    kappa: float = 2.0,
    boundary: str = "release",
):
    """Fast twin of :func:`sharpvid.reference.deblur.text.blind_deconv_scale_text`.

    Differences: ``y`` may be ``(B, H, W)`` with ``k`` ``(B, kh, kw)`` (or shared), and
    ``lambda_pixel``, ``lambda_grad``, ``threshold`` scalars or B values; the returned λ are then
    float64 arrays of B (floats for unbatched input).
    """
    y = _as_float(y, "y")
    batched = y.ndim == 3
    yb = y if batched else y[None]
    xp = array_module(yb)
    k = _as_float(k, "k", like=yb)
    B = yb.shape[0]
    kb = k if k.ndim == 3 else xp.broadcast_to(k, (B,) + k.shape).copy()
    lp, lg = _host_per_image(lambda_pixel, B), _host_per_image(lambda_grad, B)
    t = xp.broadcast_to(xp.asarray(threshold, dtype=np.float64), (B,)).copy()
    y_pad = wrap_pad(yb, kb.shape[-2:], boundary=boundary)
    bx, by = valid_gradients(yb)  # (B, H-1, W-1), once per scale
    for _ in range(n_iter):
        s = _latent_text(yb, y_pad, kb, lp, lg, kappa, boundary)  # step 1
        px, py, t = threshold_pxpy(s, max(kb.shape[-2:]), t)  # step 2
        kb = estimate_psf_cg(bx, by, px, py, gamma, kb.shape[-2:])  # step 3: Eq. (13)
        kb = prune_kernel(kb)
        lp, lg = _decay(lp), _decay(lg)  # step 4
    if batched:
        return kb, lp, lg, s
    return kb[0], float(lp[0]), float(lg[0]), s[0]


def estimate_kernel_text(
    y,
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
):
    """Fast twin of :func:`sharpvid.reference.deblur.text.estimate_kernel_text`.

    Differences: ``y`` may be ``(B, C, H, W)``, giving kernels ``(B, K, K)`` and latents
    ``(B, H, W)``; the threshold and λ are per image.
    """
    y, kernel_size = _check_blurred(y, kernel_size)
    yb, batched = _as_bchw(y)
    xp = array_module(yb)
    grey = rgb_to_luma(yb)  # (B, H, W)
    if gamma_correct != 1:
        grey = xp.maximum(grey, 0.0) ** gamma_correct
    B = grey.shape[0]
    lp = np.full(B, float(lambda_pixel))
    lg = np.full(B, float(lambda_grad))
    schedule = scale_schedule(kernel_size)
    for s, (factor, ks) in enumerate(schedule):
        if s == 0:
            k = xp.broadcast_to(init_kernel(ks, like=grey), (B, ks, ks)).copy()
        else:  # upsample by 1/r = factor / previous factor
            k = resize_kernel(k, factor / schedule[s - 1][0], (ks, ks))
        ys = downsample_image(grey, factor)
        if s == 0:  # the gradient threshold per image, from the coarsest blurred image
            _, _, threshold = threshold_pxpy(ys, ks)
            if lambda_from_threshold:
                th = _to_host(threshold)
                use = (0 < th) & (th < lambda_grad / 10)
                lg = np.where(use, th, lg)
                # the release: λ_p = λ_g even where λ_p was 0, unless asked to keep it
                lp = np.where(use & ((lp != 0) | (not keep_zero_lambda_pixel)), lg, lp)
        k, lp, lg, latent = blind_deconv_scale_text(
            ys, k, lp, lg, threshold, n_iter=n_iter, gamma=gamma, kappa=kappa, boundary=boundary
        )
        k = adjust_psf_center(k)  # centre, clamp, renormalise
    kernel = threshold_kernel(k, k_thresh)
    return (kernel, latent) if batched else (kernel[0], latent[0])


def deblur_text_l0(
    y,
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
):
    """Fast twin of :func:`sharpvid.reference.deblur.text.deblur_text_l0`.

    Differences: ``y`` may be a batch ``(B, C, H, W)`` (kernels ``(B, K, K)``, each image
    deblurred with its own); NumPy or CuPy (torch tensors cross over by DLPack); float32 unless
    ``y`` is float64.
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
