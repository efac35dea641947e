"""Grey conversion for kernel estimation: ITU-R BT.601 luma.

Pan et al. (CVPR 2014, doi:10.1109/CVPR.2014.371) and Xu et al. (CVPR 2013,
doi:10.1109/CVPR.2013.147) estimate the blur kernel on a grey image and deconvolve each colour
channel with it:

.. math:: Y = 0.299 R + 0.587 G + 0.114 B.

Convention
----------
MATLAB's ``rgb2gray`` (the authors' code) uses the rounded weights 0.2989, 0.5870, 0.1140; the
exact BT.601 values are used here (a difference below 1e-4 of the range).
"""

from __future__ import annotations

import numpy as np

LUMA_BT601 = (0.299, 0.587, 0.114)


def rgb_to_luma(y: np.ndarray) -> np.ndarray:
    """BT.601 luma of a ``(3, H, W)`` image; ``(H, W)`` and ``(1, H, W)`` give ``(H, W)``.

    Parameters
    ----------
    y : ndarray, shape ``(H, W)``, ``(1, H, W)`` or ``(3, H, W)``
        Channels first, RGB order.

    Returns
    -------
    ndarray, shape ``(H, W)``

    Examples
    --------
    >>> rgb_to_luma(np.eye(3).reshape(3, 3, 1))[:, 0]  # pure red, green, blue pixels
    array([0.299, 0.587, 0.114])
    """
    if y.ndim == 2:
        return y
    if y.shape[0] == 1:
        return y[0]
    return np.tensordot(np.asarray(LUMA_BT601), y, axes=(0, 0))
