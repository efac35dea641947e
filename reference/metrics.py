"""Image-quality metrics of Mathieu, Couprie & LeCun 2016, "Deep multi-scale video prediction
beyond mean square error", ICLR 2016, arXiv:1511.05440, Sec. 4 (Eqs. 7-8), and SSIM (Wang,
Bovik, Sheikh & Simoncelli, "Image quality assessment: from error visibility to structural
similarity", IEEE TIP 2004).

- Eq. (7)  PSNR                  :func:`psnr`
- Eq. (8)  sharpness difference  :func:`sharpness_difference`
- SSIM on luma                   :func:`ssim`
- moving-area mask               :func:`moving_mask`

Shapes: a frame is ``(C, H, W)`` (a 2-D array is one grey frame); any leading axes are a batch, and
every metric returns one value per frame: a float for one frame, an array of shape ``(...)`` for a
batch.  ``mask=`` (boolean, ``(..., H, W)``, shared by the channels) restricts every mean to the
pixels where it is true; a frame whose mask selects nothing gets NaN ("undefined", to be skipped).

Convention
----------
Two conventions are offered wherever the seed's formulas and the authors' evaluation code
(``image_error_measures.lua``) differ; ``convention="seed"`` (the formula as written, default) or
``convention="authors"``.

PSNR, both conventions use :math:`\\mathrm{MSE} = \\frac1N\\sum_i (Y_i-\\hat Y_i)^2` over all
``N = C H W`` elements:

- seed: :math:`10\\log_{10}(\\mathrm{range}^2 / \\mathrm{MSE})`, ``range`` the data range (2 on
  [-1, 1]); identical frames give ``+inf``.
- authors: :math:`10\\log_{10}(255^2 / \\max(128^2\\,\\mathrm{MSE}, 10^{-4}))` on [-1, 1] data (the
  MSE rescaled by 128² as if to 0-255; capped at 88.13 dB for identical frames).

Sharpness difference, with :math:`\\nabla_i Y = |Y_{i,j} - Y_{i-1,j}|` and
:math:`\\nabla_j Y = |Y_{i,j} - Y_{i,j-1}|`:

- seed: :math:`10\\log_{10}\\big(\\mathrm{range}^2 / \\frac1N\\sum_{i,j}
  |(\\nabla_i Y+\\nabla_j Y)-(\\nabla_i\\hat Y+\\nabla_j\\hat Y)|\\big)`, the sum over the
  ``(H-1) x (W-1)`` pixels where both gradients exist, ``N = C (H-1)(W-1)`` its term count.
- authors (``computel1difference``): per direction :math:`|\\nabla\\hat Y - \\nabla Y|`, the two
  directions summed, a one-pixel border cropped (pixels ``1..H-2, 1..W-2``), the sum divided by
  **all** ``C H W`` elements, multiplied by 128² although it is an L1 quantity, and
  :math:`10\\log_{10}(255^2 / \\max(\\cdot, 10^{-4}))`.  The TF reimplementation uses
  :math:`10\\log_{10}(1/\\cdot)` of the seed's mean (max 1 on a range of 2, about 6 dB lower).

SSIM (Wang et al. 2004) on the luma ``Y = 0.299 R + 0.587 G + 0.114 B`` (ITU-R BT.601, the
authors' ``image.rgb2y``) mapped to [0, 255], 11x11 Gaussian window with σ = 1.5 normalised to
sum 1, :math:`K = (0.01, 0.03)`, ``L = 255``; the SSIM map is averaged:

- seed: the window slides over ``valid`` positions only (Wang's reference ``ssim.m``); frames
  must be at least 11x11.
- authors: ``full`` 2-D convolution (zero padding, map of size ``(H+10) x (W+10)``), as the
  authors' Lua code does; zeros bias the border statistics, so values are a little lower.

Masks: the authors' protocol set static pixels to -1 in both frames but still averaged over all
pixels, which inflates PSNR; ``mask=`` here excludes them from the mean instead.  The authors
took the moving pixels from an optical-flow image (EpicFlow); :func:`moving_mask` approximates
them by the frame difference (see there).
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from sharpvid.reference._checks import _as_float, _check_image, _check_same_shape

#: The authors' floor on the (scaled) error before the log: PSNR is capped at 10 log10(255²/1e-4).
AUTHORS_EPS = 1e-4
_CONVENTIONS = ("seed", "authors")


def _as_frames(x: np.ndarray, name: str) -> np.ndarray:
    """``(H, W)`` -> ``(1, H, W)``; ``(..., C, H, W)`` unchanged."""
    x = _as_float(x, name)
    _check_image(x, name)
    return x[None] if x.ndim == 2 else x


def _as_mask(mask, frames: np.ndarray) -> np.ndarray | None:
    """Validate ``mask`` ``(..., H, W)`` against frames ``(..., C, H, W)``; -> ``(..., 1, H, W)``."""
    if mask is None:
        return None
    mask = np.asarray(mask, dtype=bool)
    expected = frames.shape[:-3] + frames.shape[-2:]
    if mask.shape != expected:
        raise ValueError(f"mask must have shape {expected} (frames without C), got {mask.shape}")
    return mask[..., None, :, :]


def _frame_mean(values: np.ndarray, mask: np.ndarray | None, count=None) -> np.ndarray:
    """Mean over the last three axes ``(C, h, w)``, over ``mask`` pixels when one is given.

    ``count`` replaces the denominator (the authors' sharpness divides by all ``C H W``).
    """
    if mask is None:
        total = values.sum(axis=(-3, -2, -1))
        n = values.shape[-3] * values.shape[-2] * values.shape[-1] if count is None else count
        return total / n
    mask = np.broadcast_to(mask, values.shape)
    total = np.where(mask, values, 0.0).sum(axis=(-3, -2, -1))
    n = mask.sum(axis=(-3, -2, -1)) if count is None else count
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def _decibels(numerator: float, error: np.ndarray) -> np.ndarray:
    """:math:`10\\log_{10}(\\mathrm{numerator} / \\mathrm{error})`; a zero error gives ``+inf``."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(numerator / error)


def _scalar_or_array(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def _check_convention(convention: str) -> None:
    if convention not in _CONVENTIONS:
        raise ValueError(f"convention must be one of {_CONVENTIONS}, got {convention!r}")


def psnr(y_hat, y, data_range: float = 2.0, *, mask=None, convention: str = "seed"):
    """Eq. (7): :math:`\\mathrm{PSNR}(Y,\\hat Y) = 10\\log_{10}\\frac{\\max^2}{\\frac1N\\sum_i(Y_i-\\hat Y_i)^2}`.

    Parameters
    ----------
    y_hat, y : ndarray, shape ``(..., C, H, W)`` or ``(H, W)``  — :math:`\\hat Y`, :math:`Y`
    data_range : float  — :math:`\\max`, the range of the pixel values (2 on [-1, 1])
    mask : bool ndarray ``(..., H, W)``, optional  — average over these pixels only
    convention : {"seed", "authors"}  — see the module's Convention

    Returns
    -------
    float or ndarray of shape ``(...)``; ``+inf`` for identical frames (seed convention).

    Examples
    --------
    >>> round(psnr(np.zeros((1, 2, 2)), np.full((1, 2, 2), 0.2)), 4)  # 10 log10(4 / 0.04)
    20.0
    """
    _check_convention(convention)
    y_hat, y = _as_frames(y_hat, "y_hat"), _as_frames(y, "y")
    _check_same_shape(y_hat, y)
    mse = _frame_mean((y - y_hat) ** 2, _as_mask(mask, y))
    if convention == "authors":
        return _scalar_or_array(_decibels(255.0**2, np.maximum(128.0**2 * mse, AUTHORS_EPS)))
    return _scalar_or_array(_decibels(data_range**2, mse))


def _grad_i(x: np.ndarray) -> np.ndarray:
    """:math:`\\nabla_i x = |x_{i,j} - x_{i-1,j}|` for i >= 1 (all j): shape ``(..., H-1, W)``."""
    return np.abs(x[..., 1:, :] - x[..., :-1, :])


def _grad_j(x: np.ndarray) -> np.ndarray:
    """:math:`\\nabla_j x = |x_{i,j} - x_{i,j-1}|` for j >= 1 (all i): shape ``(..., H, W-1)``."""
    return np.abs(x[..., :, 1:] - x[..., :, :-1])


def sharpness_difference(y_hat, y, data_range: float = 2.0, *, mask=None, convention: str = "seed"):
    """Eq. (8): the sharpness difference, PSNR-like on gradient differences.

    .. math::
        \\mathrm{Sharp.\\,diff.}(Y,\\hat Y) = 10\\log_{10}\\frac{\\max^2}{\\frac1N\\sum_i\\sum_j
        |(\\nabla_i Y + \\nabla_j Y) - (\\nabla_i \\hat Y + \\nabla_j \\hat Y)|}

    Parameters
    ----------
    y_hat, y : ndarray, shape ``(..., C, H, W)`` or ``(H, W)``, H, W >= 2 (>= 3 for "authors")
    data_range : float  — :math:`\\max` (seed convention; the authors' is fixed, see Convention)
    mask : bool ndarray ``(..., H, W)``, optional
    convention : {"seed", "authors"}  — see the module's Convention for the exact formulas

    Returns
    -------
    float or ndarray of shape ``(...)``; ``+inf`` for identical frames (seed convention).

    Examples
    --------
    >>> y = np.array([[0.0, 1.0], [0.0, 1.0]])  # one term: |(0 + 1) - (0 + 0)| = 1
    >>> round(sharpness_difference(np.zeros((2, 2)), y), 4)  # 10 log10(4 / 1)
    6.0206
    """
    _check_convention(convention)
    y_hat, y = _as_frames(y_hat, "y_hat"), _as_frames(y, "y")
    _check_same_shape(y_hat, y)
    _check_image(y, "y", min_size=2 if convention == "seed" else 3)
    m = _as_mask(mask, y)
    if convention == "seed":
        # both gradients exist on pixels i >= 1, j >= 1: (..., C, H-1, W-1)
        sum_y = _grad_i(y)[..., :, 1:] + _grad_j(y)[..., 1:, :]
        sum_hat = _grad_i(y_hat)[..., :, 1:] + _grad_j(y_hat)[..., 1:, :]
        err = _frame_mean(np.abs(sum_y - sum_hat), None if m is None else m[..., 1:, 1:])
        return _scalar_or_array(_decibels(data_range**2, err))
    # authors: per-direction differences on the interior pixels 1..H-2, 1..W-2
    d_i = np.abs(_grad_i(y_hat) - _grad_i(y))[..., :-1, 1:-1]
    d_j = np.abs(_grad_j(y_hat) - _grad_j(y))[..., 1:-1, :-1]
    c, h, w = y.shape[-3:]
    count = c * h * w if m is None else c * m.sum(axis=(-3, -2, -1))
    err = _frame_mean(d_i + d_j, None if m is None else m[..., 1:-1, 1:-1], count=count)
    return _scalar_or_array(_decibels(255.0**2, np.maximum(128.0**2 * err, AUTHORS_EPS)))


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    """SSIM's window: a ``size x size`` Gaussian with standard deviation ``sigma``, sum 1.

    Examples
    --------
    >>> round(float(gaussian_window().sum()), 12)
    1.0
    """
    r = np.arange(size) - (size - 1) / 2
    g = np.exp(-(r**2) / (2.0 * sigma**2))
    w = np.outer(g, g)
    return w / w.sum()


def rgb_to_luma(x: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma ``Y = 0.299 R + 0.587 G + 0.114 B`` of ``(..., 3, H, W)`` -> ``(..., 1, H, W)``.

    One-channel frames are returned unchanged.
    """
    x = _as_float(x, "x")
    if x.shape[-3] == 1:
        return x
    if x.shape[-3] != 3:
        raise ValueError(f"luma needs 1 or 3 channels, got {x.shape[-3]} in shape {x.shape}")
    weights = np.array([0.299, 0.587, 0.114])
    return np.einsum("c,...chw->...hw", weights, x)[..., None, :, :]


def ssim(
    y_hat, y, data_range: float = 2.0, *, data_min: float | None = None, mask=None,
    convention: str = "seed",
):
    """SSIM (Wang et al. 2004, Eq. 13) of the luma, mean of the SSIM map.

    .. math::
        \\mathrm{SSIM} = \\frac{(2\\mu_x\\mu_y + C_1)(2\\sigma_{xy} + C_2)}
                              {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},
        \\quad C_1 = (0.01 L)^2,\\; C_2 = (0.03 L)^2,\\; L = 255

    Parameters
    ----------
    y_hat, y : ndarray, shape ``(..., C, H, W)`` (C = 1 or 3) or ``(H, W)``; H, W >= 11 for "seed"
    data_range : float  — the range of the input pixels (2 on [-1, 1]); they are mapped to 0-255
    data_min : float, optional  — the lowest pixel value; default ``-data_range / 2`` (centred
        data such as [-1, 1]); pass 0 for [0, data_range] data.  SSIM depends on the offset
        through the means, so it matters.
    mask : bool ndarray ``(..., H, W)``, optional
        Mean over the map positions whose centre pixel is in the mask.
    convention : {"seed", "authors"}  — ``valid`` (Wang) or ``full`` (authors) window positions

    Returns
    -------
    float or ndarray of shape ``(...)``; 1 for identical frames.

    Examples
    --------
    >>> x = np.linspace(-1, 1, 256).reshape(16, 16)
    >>> round(ssim(x, x), 6)
    1.0
    """
    _check_convention(convention)
    y_hat, y = _as_frames(y_hat, "y_hat"), _as_frames(y, "y")
    _check_same_shape(y_hat, y)
    window = gaussian_window(11, 1.5)
    if convention == "seed":
        _check_image(y, "y", min_size=11)
    m = _as_mask(mask, y)
    low = -data_range / 2.0 if data_min is None else data_min
    # pixels to [0, 255], as the authors' evaluation does before SSIM
    a = (rgb_to_luma(y_hat)[..., 0, :, :] - low) * (255.0 / data_range)  # (..., H, W)
    b = (rgb_to_luma(y)[..., 0, :, :] - low) * (255.0 / data_range)
    mode = "valid" if convention == "seed" else "full"

    def filt(img):  # (..., H, W) -> (..., h', w'), the window applied to every frame
        flat = img.reshape((-1,) + img.shape[-2:])
        out = np.stack([signal.convolve2d(f, window, mode=mode) for f in flat])
        return out.reshape(img.shape[:-2] + out.shape[-2:])

    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a**2
    var_b = filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )  # (..., h', w')
    if m is not None:
        m = m[..., 0, :, :]
        if mode == "valid":
            m = m[..., 5:-5, 5:-5]  # the centre pixel of each valid window position
        else:
            m = np.pad(m, [(0, 0)] * (m.ndim - 2) + [(5, 5), (5, 5)])
        m = m[..., None, :, :]
    return _scalar_or_array(_frame_mean(ssim_map[..., None, :, :], m))


def moving_mask(x_last, y, threshold: float = 0.05) -> np.ndarray:
    """The moving area: pixels where the target differs from the last input frame.

    A pixel moves when :math:`\\max_c |Y_{c,i,j} - X^m_{c,i,j}| > \\mathrm{threshold}`.

    Parameters
    ----------
    x_last : ndarray, ``(..., C, H, W)`` or ``(H, W)``  — :math:`X^m`, the last input frame
    y : ndarray, the same shape                          — the target frame
    threshold : float  — in pixel units (0.05 on [-1, 1] is about 6 grey levels of 255)

    Returns
    -------
    bool ndarray ``(..., H, W)``: the ``mask=`` of :func:`psnr`, :func:`sharpness_difference`, :func:`ssim`.

    Notes
    -----
    The authors took the moving area from an optical-flow image (EpicFlow per the paper: a pixel
    moves if any channel of the flow visualisation is below 0.2).  The frame difference is an
    approximation that needs no flow: it also marks pixels that change by lighting or noise, and
    misses the interior of uniformly coloured moving objects.

    Examples
    --------
    >>> moving_mask(np.zeros((1, 1, 2)), np.array([[[0.0, 0.5]]]))
    array([[False,  True]])
    """
    x_last, y = _as_frames(x_last, "x_last"), _as_frames(y, "y")
    _check_same_shape(x_last, y, ("x_last", "y"))
    if not threshold >= 0:
        raise ValueError(f"threshold must be >= 0, got {threshold!r}")
    return np.abs(y - x_last).max(axis=-3) > threshold
