"""Fast twin of :mod:`sharpvid.reference.deblur.nonblind`: TV-L2 deconvolution and ringing
suppression.

Differences from the oracle, for every function: NumPy or CuPy (one code path), float32 unless
the data are float64, batched: images ``(B, C, H, W)`` (or any leading axes) with kernels
``(kh, kw)`` or ``(B, kh, kw)`` (one per image, shared by its channels).  The TV-L2 solve uses
half spectra with the kernel OTF, :math:`\\overline K \\mathcal F y`, |K|² and |D|² transformed
once per solve (one ``rfft2`` + ``irfft2`` per iteration).  The bilateral filter loops over the
``(2r + 1)²`` window offsets (not pixels, not frames), each offset processing the whole batch.
"""

from __future__ import annotations

import math

import numpy as np

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import _as_float
from sharpvid.fast.deblur.boundary import wrap_pad
from sharpvid.fast.deblur.fourier import grad_circ
from sharpvid.fast.deblur.latent import _latent_step, fft_data_terms, l0_restoration


def soft_threshold(z, t: float):
    """Fast twin of :func:`sharpvid.reference.deblur.nonblind.soft_threshold` (dtype kept)."""
    xp = array_module(z)
    return xp.sign(z) * xp.maximum(xp.abs(z) - t, 0.0)


def deblurring_adm_aniso(
    y_pad, k, lambda_tv: float, *, beta_min: float = 1e-3, beta_ratio: float = 2.0,
    clamp: bool = False,
):
    """Fast twin of :func:`sharpvid.reference.deblur.nonblind.deblurring_adm_aniso`.

    Differences: batched with per-image kernels; half spectra computed once per solve.
    """
    if not lambda_tv > 0:
        raise ValueError(f"lambda_tv must be > 0, got {lambda_tv!r}")
    y_pad = _as_float(y_pad, "y_pad")
    xp = array_module(y_pad)
    numer_y, dk, dg = fft_data_terms(y_pad, k)
    x = y_pad
    b = 1.0 / lambda_tv
    while b > beta_min:
        g = 1.0 / (2.0 * b)
        h, v = grad_circ(x)
        wh, wv = soft_threshold(h, b * lambda_tv), soft_threshold(v, b * lambda_tv)  # W-step
        x = _latent_step(numer_y, dk, dg, wh, wv, g)  # I-step
        b /= beta_ratio
    return xp.maximum(x, 0.0) if clamp else x


def deconv_tv_l2(y, k, lambda_tv: float, *, boundary: str = "release", clamp: bool = False):
    """Fast twin of :func:`sharpvid.reference.deblur.nonblind.deconv_tv_l2` (batched, per-image
    kernels)."""
    y = _as_float(y, "y")
    k = _as_float(k, "k", like=y)
    H, W = y.shape[-2:]
    y_pad = wrap_pad(y, k.shape[-2:], boundary=boundary)
    return deblurring_adm_aniso(y_pad, k, lambda_tv, clamp=clamp)[..., :H, :W]


def bilateral_filter(img, *, sigma_s: float = 3.0, sigma_r: float = 0.1):
    """Fast twin of :func:`sharpvid.reference.deblur.nonblind.bilateral_filter`.

    Differences: NumPy or CuPy, dtype kept; every leading index at once (the loop runs over the
    window offsets, accumulating in the oracle's order).
    """
    img = _as_float(img, "img")
    xp = array_module(img)
    r = math.ceil(3 * sigma_s)
    H, W = img.shape[-2:]
    pad = [(0, 0)] * (img.ndim - 2) + [(r, r), (r, r)]
    p = xp.pad(img, pad, mode="edge")
    offsets = np.arange(-r, r + 1)
    spatial = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * sigma_s**2))
    spatial = spatial / spatial.sum()  # fspecial('gaussian', 2r+1, sigma_s), on the host
    num = xp.zeros_like(img)
    den = xp.zeros_like(img)
    scale = -0.5 / sigma_r**2
    for i, dy in enumerate(offsets):
        for j, dx in enumerate(offsets):
            nb = p[..., r + dy : r + dy + H, r + dx : r + dx + W]  # neighbour I_q
            d = img - nb
            w = xp.exp(d * d * scale) * float(spatial[i, j])
            num += w * nb
            den += w
    return num / den


def ringing_artifacts_removal(
    y,
    k,
    *,
    lambda_tv: float = 2e-3,
    lambda_l0: float = 2e-4,
    weight_ring: float = 1.0,
    sigma_s: float = 3.0,
    sigma_r: float = 0.1,
    boundary: str = "release",
    clamp: bool = False,
    pad_twice: bool = True,
):
    """Fast twin of :func:`sharpvid.reference.deblur.nonblind.ringing_artifacts_removal`.

    Differences: batched, per-image kernels ``(B, kh, kw)`` shared by each image's channels.
    """
    y = _as_float(y, "y")
    k = _as_float(k, "k", like=y)
    H, W = y.shape[-2:]
    y_pad = wrap_pad(y, k.shape[-2:], boundary=boundary)  # step 1
    i_tv = deblurring_adm_aniso(y_pad, k, lambda_tv, clamp=clamp)[..., :H, :W]  # step 2
    if weight_ring == 0:
        return i_tv  # step 3
    l0_input = y_pad if pad_twice else y  # step 4: the release pads the padded image again
    i_0 = l0_restoration(l0_input, k, lambda_l0, clamp=clamp, boundary=boundary)[..., :H, :W]
    diff = i_tv - i_0
    return i_tv - weight_ring * bilateral_filter(diff, sigma_s=sigma_s, sigma_r=sigma_r)  # step 5
