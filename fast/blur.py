"""Fast twin of :mod:`sharpvid.reference.blur`: Gaussian, median and bilateral blurs of frames.

Differences from the oracle: torch tensors on any device, all frames and channels at once
(depthwise ``conv2d`` for the Gaussian, ``unfold`` windows for the median and bilateral filters).
Borders (reflect-101, ``F.pad(mode="reflect")``), σ² = ``variance`` and the bilateral range
distance (Euclidean over channels) are the oracle's.

Beyond the oracle: :data:`BLURS` names the three, and :func:`blur` / :func:`blurred` blur frames
by name as a training config sizes them (``blur_size``, ``blur_variance``): the blur detector
D2's negatives, in its pretraining (:mod:`sharpvid.fast.blur_detector`) and in adversarial
training's D step (:mod:`sharpvid.fast.training.step`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sharpvid.fast._tensors import _as_tensor
from sharpvid.reference._checks import _check_image, _check_odd_size
from sharpvid.reference.blur import gaussian_kernel as _gaussian_kernel_np


def _as_frames(x, size: int) -> torch.Tensor:
    """``(H, W)`` -> ``(1, H, W)``; the frame must be larger than the kernel's radius."""
    x = _as_tensor(x, "x")
    _check_image(x, "x", min_size=size // 2 + 1)
    return x.unsqueeze(0) if x.ndim == 2 else x


def _windows(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Reflect-padded ``size x size`` windows: ``(..., C, H, W)`` -> ``(N, C, size*size, H, W)``."""
    c, h, w = frames.shape[-3:]
    r = size // 2
    padded = F.pad(frames.reshape((-1, c, h, w)), (r, r, r, r), mode="reflect")
    cols = F.unfold(padded, size)  # (N, C*size*size, H*W), window offsets row-major
    return cols.reshape(-1, c, size * size, h, w)


def gaussian_kernel(size: int = 5, variance: float = 5.0, *, device=None, dtype=torch.float32):
    """Fast twin of :func:`sharpvid.reference.blur.gaussian_kernel` (a tensor on ``device``)."""
    return torch.as_tensor(_gaussian_kernel_np(size, variance), dtype=dtype, device=device)


def gaussian_blur(x, size: int = 5, variance: float = 5.0) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.blur.gaussian_blur` (one depthwise conv over all
    frames)."""
    _check_odd_size(size, "size")
    frames = _as_frames(x, size)
    k = gaussian_kernel(size, variance, device=frames.device, dtype=frames.dtype)
    h, w = frames.shape[-2:]
    r = size // 2
    flat = F.pad(frames.reshape(-1, 1, h, w), (r, r, r, r), mode="reflect")
    return F.conv2d(flat, k[None, None]).reshape(np.shape(x))


def median_blur(x, size: int = 3) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.blur.median_blur` (median over unfolded windows)."""
    frames = _as_frames(x, _check_odd_size(size, "size"))
    return _windows(frames, size).median(dim=2).values.reshape(np.shape(x))


def bilateral_blur(
    x, size: int = 5, sigma_space: float = 1.5, sigma_color: float = 0.2
) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.blur.bilateral_blur` (all window offsets at once)."""
    frames = _as_frames(x, _check_odd_size(size, "size"))
    if not (sigma_space > 0 and sigma_color > 0):
        raise ValueError(f"sigmas must be positive, got {sigma_space!r}, {sigma_color!r}")
    c, h, w = frames.shape[-3:]
    x_q = _windows(frames, size)  # (N, C, K, H, W), K = size²
    x_p = frames.reshape(-1, c, 1, h, w)
    r = torch.arange(size, dtype=frames.dtype, device=frames.device) - size // 2
    spatial = torch.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * sigma_space**2))
    spatial = spatial.reshape(-1, 1, 1)  # (K, 1, 1), offsets row-major like unfold
    dist2 = ((x_q - x_p) ** 2).sum(dim=1, keepdim=True)  # ‖x_p − x_q‖²: (N, 1, K, H, W)
    wgt = spatial * torch.exp(-dist2 / (2.0 * sigma_color**2))
    return ((wgt * x_q).sum(dim=2) / wgt.sum(dim=2)).reshape(np.shape(x))


#: The three reference blurs, in the order a blur index names them.
BLURS = ("gaussian", "median", "bilateral")


# ---------------------------------------------------------------------------------------------
# The blur detector's negatives: blurred images, by name
# ---------------------------------------------------------------------------------------------


def blur(images: torch.Tensor, name: str, cfg) -> torch.Tensor:
    """``images`` ``(B, C, H, W)`` in [-1, 1], all blurred by the blur ``name`` of :data:`BLURS`
    (``cfg.blur_size`` wide; the Gaussian of variance ``cfg.blur_variance``)."""
    if name == "gaussian":
        return gaussian_blur(images, cfg.blur_size, cfg.blur_variance)
    if name == "median":
        return median_blur(images, cfg.blur_size)
    return bilateral_blur(images, cfg.blur_size)


def blurred(images: torch.Tensor, kinds: Sequence, cfg) -> torch.Tensor:
    """Each image blurred by its own blur (:func:`blur`): ``kinds[i]`` names one of :data:`BLURS`
    (or indexes it).

    Parameters
    ----------
    images : Tensor
        ``(B, C, H, W)`` in [-1, 1].
    kinds : sequence of str or int
        One blur per image: ``"gaussian"`` (variance ``cfg.blur_variance``), ``"median"`` or
        ``"bilateral"``, or their indices 0, 1, 2; every one ``cfg.blur_size`` wide.
    cfg : TrainConfig
        Gives the blurs' size and the Gaussian's variance.

    Returns
    -------
    Tensor
        ``(B, C, H, W)``, same dtype and device.

    Examples
    --------
    >>> from sharpvid.fast.config import load_config
    >>> x = torch.zeros(2, 3, 32, 32)
    >>> blurred(x, ["median", 2], load_config("tiny")).shape
    torch.Size([2, 3, 32, 32])
    """
    names = [BLURS[k] if not isinstance(k, str) else k for k in kinds]
    if len(names) != len(images):
        raise ValueError(f"one blur per image: {len(names)} for {len(images)} images")
    unknown = sorted(set(names) - set(BLURS))
    if unknown:
        raise ValueError(f"unknown blur {unknown[0]!r}; choose from {BLURS}")
    out = torch.empty_like(images)
    for name in BLURS:
        idx = [i for i, k in enumerate(names) if k == name]
        if not idx:
            continue
        sel = torch.as_tensor(idx, device=images.device)
        out.index_copy_(0, sel, blur(images.index_select(0, sel), name, cfg))
    return out
