"""The three blurs that make the blur detector's training data (the seed slides: "10000 images of
CIFAR-10 blurred using one of a) Gaussian blur b) Median blur c) Bilateral filtering"), and the
Gaussian blur of the second discriminator's "blurred ground truth" ("Gaussian blurring with 5x5
kernel and variance 5").

- Gaussian kernel and blur     :func:`gaussian_kernel`, :func:`gaussian_blur`
- median filter                :func:`median_blur`
- bilateral filter (Tomasi & Manduchi, "Bilateral filtering for gray and color images", ICCV 1998)
  :func:`bilateral_blur`

Every blur takes frames ``(..., C, H, W)`` (or one grey ``(H, W)``) and blurs each frame's
channels over ``(H, W)``; the output has the input's shape.

Convention
----------
Borders are mirrored **without repeating the edge pixel** (``d c b | a b c d | c b a``), which is
OpenCV's default ``BORDER_REFLECT_101``, SciPy's ``mode="mirror"`` and
``torch.nn.functional.pad(mode="reflect")``; so a frame must be larger than the kernel's radius.
OpenCV's ``medianBlur`` replicates the edge instead, a one-pixel difference at the border.
"variance 5" is taken literally: σ = √5 ≈ 2.24 (``cv2.GaussianBlur(x, (5, 5), 5)`` would be σ = 5).
The bilateral range distance is Euclidean over the channels (OpenCV sums absolute differences).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from sharpvid.reference._checks import _as_float, _check_image, _check_odd_size


def _as_frames(x, size: int) -> np.ndarray:
    """``(H, W)`` -> ``(1, H, W)``; check the frame is larger than the kernel's radius.

    The blurs return ``out.reshape(np.shape(x))`` so a grey ``(H, W)`` input stays 2-D.
    """
    x = _as_float(x, "x")
    _check_image(x, "x", min_size=size // 2 + 1)
    return x[None] if x.ndim == 2 else x


def gaussian_kernel(size: int = 5, variance: float = 5.0) -> np.ndarray:
    """A normalised 2-D Gaussian :math:`g(u,v) \\propto \\exp(-(u^2+v^2)/(2σ^2))`, σ² = ``variance``.

    Parameters
    ----------
    size : int       — odd side of the kernel (5 in the seed)
    variance : float — σ² (5 in the seed)

    Returns
    -------
    ndarray ``(size, size)``, sums to 1.

    Examples
    --------
    >>> k = gaussian_kernel(3, 1.0)
    >>> bool(np.isclose(k.sum(), 1.0)), bool(k[1, 1] == k.max())
    (True, True)
    """
    size = _check_odd_size(size, "size")
    if not variance > 0:
        raise ValueError(f"variance must be positive, got {variance!r}")
    r = np.arange(size) - size // 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2.0 * variance))
    return g / g.sum()


def gaussian_blur(x, size: int = 5, variance: float = 5.0) -> np.ndarray:
    """Gaussian blur: :math:`x * g` with :func:`gaussian_kernel` per channel, mirrored borders.

    Examples
    --------
    >>> float(gaussian_blur(np.full((6, 6), 0.3)).round(12).max())  # a constant image is unchanged
    0.3
    """
    k = gaussian_kernel(size, variance)
    frames = _as_frames(x, size)
    k = k.reshape((1,) * (frames.ndim - 2) + k.shape)  # blur over (H, W) only
    return ndimage.correlate(frames, k, mode="mirror").reshape(np.shape(x))


def median_blur(x, size: int = 3) -> np.ndarray:
    """Median filter: each pixel becomes the median of its ``size x size`` neighbourhood.

    Examples
    --------
    >>> median_blur(np.array([[0.0, 0, 0], [0, 1, 0], [0, 0, 0]]))  # an isolated spike vanishes
    array([[0., 0., 0.],
           [0., 0., 0.],
           [0., 0., 0.]])
    """
    frames = _as_frames(x, _check_odd_size(size, "size"))
    window = (1,) * (frames.ndim - 2) + (size, size)
    return ndimage.median_filter(frames, size=window, mode="mirror").reshape(np.shape(x))


def bilateral_blur(x, size: int = 5, sigma_space: float = 1.5, sigma_color: float = 0.2) -> np.ndarray:
    """Bilateral filter (Tomasi & Manduchi 1998), normalised per pixel.

    .. math::
        \\tilde x_p = \\frac{\\sum_{q \\in \\mathcal N(p)} w_{pq}\\, x_q}{\\sum_q w_{pq}},\\quad
        w_{pq} = \\exp\\Big(-\\frac{\\|p-q\\|^2}{2σ_s^2}\\Big)
                 \\exp\\Big(-\\frac{\\|x_p-x_q\\|^2}{2σ_c^2}\\Big)

    with :math:`\\|x_p - x_q\\|` over the channels and :math:`\\mathcal N(p)` the
    ``size x size`` window.

    Parameters
    ----------
    size : int           — odd window side
    sigma_space : float  — σ_s, in pixels
    sigma_color : float  — σ_c, in pixel units (0.2 on [-1, 1] is about 25 grey levels)

    Examples
    --------
    >>> float(bilateral_blur(np.full((5, 5), -0.4)).round(12).min())
    -0.4
    """
    shape = np.shape(x)
    x = _as_frames(x, _check_odd_size(size, "size"))
    if not (sigma_space > 0 and sigma_color > 0):
        raise ValueError(f"sigmas must be positive, got {sigma_space!r}, {sigma_color!r}")
    r = size // 2
    h, w = x.shape[-2:]
    pad = [(0, 0)] * (x.ndim - 2) + [(r, r), (r, r)]
    padded = np.pad(x, pad, mode="reflect")  # reflect-101, as the module's Convention says
    num = np.zeros_like(x)
    den = np.zeros(x.shape[:-3] + (1, h, w))
    for du in range(-r, r + 1):  # loop over the window's offsets, not over pixels
        for dv in range(-r, r + 1):
            x_q = padded[..., r + du : r + du + h, r + dv : r + dv + w]  # (..., C, H, W)
            spatial = np.exp(-(du**2 + dv**2) / (2.0 * sigma_space**2))
            dist2 = ((x_q - x) ** 2).sum(axis=-3, keepdims=True)  # ‖x_p − x_q‖²
            wgt = spatial * np.exp(-dist2 / (2.0 * sigma_color**2))  # (..., 1, H, W)
            num += wgt * x_q
            den += wgt
    return (num / den).reshape(shape)
