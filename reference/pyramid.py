"""The multi-scale pyramid of Mathieu, Couprie & LeCun 2016 (arXiv:1511.05440), Sec. 2.1.

The generator works coarse to fine on ``n_scales`` scales s_1 < ... < s_N (with 32x32 training
patches and 4 scales: 4, 8, 16, 32).  ``X_k`` and ``Y_k`` are the inputs and targets at scale k,
``u_k`` upsamples towards scale k, and each scale refines the upsampled coarser prediction:

.. math::  \\hat Y_k = u_k(\\hat Y_{k-1}) + G'_k\\big(X_k, u_k(\\hat Y_{k-1})\\big)

Convention
----------
- Downsampling is average pooling over non-overlapping ``factor x factor`` blocks (the authors'
  ``SpatialAveragePooling`` in get_model.lua); trailing rows/columns that do not fill a block are
  dropped (floor), as Torch and ``torch.nn.functional.avg_pool2d`` do.  The TF reimplementation
  resizes bilinearly instead.
- Upsampling is nearest neighbour by default (the authors); ``mode="bilinear"`` is the TF
  reimplementation's choice, computed here with half-pixel centres and edge clamping (OpenCV and
  ``torch.nn.functional.interpolate(..., align_corners=False)``); TF 0.12's legacy
  ``resize_bilinear`` used corner-aligned-at-origin sampling without half-pixel centres, a
  fraction of a pixel different.
- ``laplacian_step`` applies ``tanh`` after the sum, as the authors' code does
  (``out = tanh(net + up)``); the paper's equation has no squashing.
- ``copy_step`` is this project's copy path (generator ``output="copy"``): the same Laplacian
  sum, over the change from the last input frame instead of the frame, clipped to [-1, 1]
  rather than squashed.  Neither the paper nor the two codes have it.
- ``warp`` is this project's warp path (generator ``output="warp"``): backward bilinear warping
  of the last input frame by a flow the finest scale predicts, before the copy step.  Neither
  the paper nor the two codes have it.
"""

from __future__ import annotations

import numpy as np

from sharpvid.reference._checks import _as_float, _check_image, _check_positive_int


def downsample(x: np.ndarray, factor: int) -> np.ndarray:
    """Average pooling by ``factor`` over the last two axes: the pyramid's d_k.

    Parameters
    ----------
    x : ndarray, shape ``(..., H, W)``
    factor : int
        Pooling window and stride; 1 returns a float64 copy.

    Returns
    -------
    ndarray, shape ``(..., H // factor, W // factor)``

    Examples
    --------
    >>> downsample(np.arange(16.0).reshape(4, 4), 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    x = _as_float(x, "x")
    factor = _check_positive_int(factor, "factor")
    _check_image(x, "x", min_size=factor)
    h, w = x.shape[-2] // factor, x.shape[-1] // factor
    x = x[..., : h * factor, : w * factor]  # floor: drop what does not fill a block
    # (..., h, f, w, f) -> mean over each f x f block
    blocks = x.reshape(x.shape[:-2] + (h, factor, w, factor))
    return blocks.mean(axis=(-3, -1))


def _linear_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix of 1-D linear interpolation with half-pixel centres, edges clamped."""
    # source coordinate of output sample i: (i + 1/2) * n_in / n_out - 1/2
    src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    weights = np.zeros((n_out, n_in))
    np.add.at(weights, (np.arange(n_out), lo), 1.0 - frac)
    np.add.at(weights, (np.arange(n_out), hi), frac)
    return weights


def upsample(x: np.ndarray, factor: int, mode: str = "nearest") -> np.ndarray:
    """Upsampling by ``factor`` over the last two axes: the pyramid's u_k.

    Parameters
    ----------
    x : ndarray, shape ``(..., H, W)``
    factor : int
    mode : {"nearest", "bilinear"}
        ``"nearest"`` (the authors) repeats each pixel; ``"bilinear"`` (the TF
        reimplementation) interpolates with half-pixel centres (see the module's Convention).

    Returns
    -------
    ndarray, shape ``(..., H * factor, W * factor)``

    Examples
    --------
    >>> upsample(np.array([[1.0, 2.0]]), 2)
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.]])
    """
    x = _as_float(x, "x")
    factor = _check_positive_int(factor, "factor")
    _check_image(x, "x")
    if mode == "nearest":
        return np.repeat(np.repeat(x, factor, axis=-2), factor, axis=-1)
    if mode == "bilinear":
        h, w = x.shape[-2:]
        rows = _linear_weights(h, h * factor)  # (fH, H)
        cols = _linear_weights(w, w * factor)  # (fW, W)
        # separable: rows @ x @ cols^T
        return np.einsum("ih,...hw,jw->...ij", rows, x, cols, optimize=True)
    raise ValueError(f"mode must be 'nearest' or 'bilinear', got {mode!r}")


def frame_pyramid(x: np.ndarray, n_scales: int) -> list[np.ndarray]:
    """The frames at every scale, coarse to fine: ``[d_{2^(N-1)}(x), ..., d_2(x), x]``.

    Parameters
    ----------
    x : ndarray, shape ``(..., H, W)``
        Frames at the finest scale; H and W divisible by ``2 ** (n_scales - 1)`` keep every
        pixel (otherwise the floor rule of :func:`downsample` applies at each scale).
    n_scales : int
        N, the number of scales (4 in the paper).

    Returns
    -------
    list of ndarray
        ``N`` arrays; entry k has spatial size ``(H, W) // 2 ** (N - 1 - k)``.

    Examples
    --------
    >>> [p.shape for p in frame_pyramid(np.zeros((3, 32, 32)), 4)]
    [(3, 4, 4), (3, 8, 8), (3, 16, 16), (3, 32, 32)]
    """
    x = _as_float(x, "x")
    n_scales = _check_positive_int(n_scales, "n_scales")
    return [downsample(x, 2 ** (n_scales - 1 - k)) for k in range(n_scales)]


def laplacian_step(
    y_coarse: np.ndarray, residual: np.ndarray, *, factor: int = 2, mode: str = "nearest",
    squash: bool = True,
) -> np.ndarray:
    """Sec. 2.1, combining scales: :math:`\\hat Y_k = u_k(\\hat Y_{k-1}) + G'_k(\\cdot)`.

    Parameters
    ----------
    y_coarse : ndarray, shape ``(..., H, W)``
        :math:`\\hat Y_{k-1}`, the prediction at the coarser scale.
    residual : ndarray, shape ``(..., factor*H, factor*W)``
        :math:`G'_k(X_k, u_k(\\hat Y_{k-1}))`, the network's output before any squashing.
    factor, mode
        As in :func:`upsample`.
    squash : bool
        Apply ``tanh`` after the sum (the authors' code, default) or not (the paper's equation).

    Returns
    -------
    ndarray, shape of ``residual``

    Examples
    --------
    >>> laplacian_step(np.zeros((1, 1)), np.full((2, 2), 0.5), squash=False)
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    up = upsample(y_coarse, factor, mode)
    residual = _as_float(residual, "residual")
    if up.shape != residual.shape:
        raise ValueError(
            f"residual must have the upsampled shape {up.shape}, got {residual.shape}"
        )
    y_k = up + residual
    return np.tanh(y_k) if squash else y_k


def copy_step(
    last: np.ndarray, residual: np.ndarray, *, y_coarse: np.ndarray | None = None,
    last_coarse: np.ndarray | None = None, factor: int = 2, mode: str = "nearest",
) -> np.ndarray:
    """The copy path: :math:`\\hat Y_k = \\mathrm{clip}(F_k + u_k(\\hat Y_{k-1} - F_{k-1})
    + G'_k(\\cdot), -1, 1)`.

    The Laplacian rule of :func:`laplacian_step` applied to the *change* from the last input
    frame F (F_k at scale k) rather than to the frame: G'_k adds detail to the upsampled change
    of the coarser scale, and the last frame is added back.  With ``G'_k = 0`` at every scale the
    prediction is exactly the last frame (copy-last-frame), whatever the scale.  No ``tanh``:
    ``tanh(F + 0) != F`` would wash out saturated colours while G is untrained (0.9 becomes
    0.72, then 0.61, ... over the scales); clipping keeps the data range and is the identity
    inside it.  Beyond the paper (related: Finn et al. 2016's previous-frame background, SAVP's
    ``prev_image_background``).

    Parameters
    ----------
    last : ndarray, shape ``(..., H, W)``
        F_k, the last input frame at scale k.
    residual : ndarray, shape of ``last``
        :math:`G'_k(X_k, u_k(\\hat Y_{k-1}))`, the network's output.
    y_coarse, last_coarse : ndarray, shape ``(..., H / factor, W / factor)``, optional
        :math:`\\hat Y_{k-1}` and F_{k-1}, the prediction and the last frame one scale coarser
        (both or neither: the coarsest scale, and ``residual=False`` networks, give neither).
    factor, mode
        As in :func:`upsample`.

    Returns
    -------
    ndarray, shape of ``last``, in [-1, 1]

    Examples
    --------
    >>> copy_step(np.full((2, 2), 0.9), np.zeros((2, 2)))
    array([[0.9, 0.9],
           [0.9, 0.9]])
    >>> copy_step(np.zeros((2, 2)), np.zeros((2, 2)), y_coarse=np.ones((1, 1)),
    ...           last_coarse=np.full((1, 1), 0.5))
    array([[0.5, 0.5],
           [0.5, 0.5]])
    """
    last = _as_float(last, "last")
    residual = _as_float(residual, "residual")
    if residual.shape != last.shape:
        raise ValueError(f"residual must have the shape of last {last.shape}, got {residual.shape}")
    if (y_coarse is None) != (last_coarse is None):
        raise ValueError("give both y_coarse and last_coarse, or neither")
    change = residual  # the change from F_k
    if y_coarse is not None:
        y_coarse, last_coarse = _as_float(y_coarse, "y_coarse"), _as_float(last_coarse, "last_coarse")
        if y_coarse.shape != last_coarse.shape:
            raise ValueError(f"y_coarse {y_coarse.shape} and last_coarse {last_coarse.shape} "
                             f"must have the same shape")
        up = upsample(y_coarse - last_coarse, factor, mode)  # u_k(\hat Y_{k-1} - F_{k-1})
        if up.shape != last.shape:
            raise ValueError(f"last must have the upsampled shape {up.shape}, got {last.shape}")
        change = up + residual
    return np.clip(last + change, -1.0, 1.0)  # \hat Y_k = clip(F_k + change, -1, 1)


def warp(frame: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward bilinear warping: :math:`W(F, v)(y, x) = F(y + v_y(y, x), x + v_x(y, x))`.

    The warp path's sampler (generator ``output="warp"``: at the finest scale, the copy path's
    last frame F_N is replaced by W(F_N, v) before :func:`copy_step`, with v two more output
    channels of :math:`G'_N`): each output pixel reads the frame at its own position moved by
    the flow, interpolated bilinearly between the four neighbours; positions outside the frame
    are clamped to its border (the edge pixels repeat).  With a zero flow it is the identity,
    exactly.  The sampler of Jaderberg et al. 2015's spatial transformer and of the flow-based
    predictors (Finn et al. 2016's STP, Liu et al. 2017's deep voxel flow); beyond the paper and
    the two codes.

    Parameters
    ----------
    frame : ndarray, shape ``(..., C, H, W)``
    flow : ndarray, shape ``(..., 2, H, W)``
        :math:`(v_x, v_y)` in pixels of this scale: where each output pixel reads from,
        relative to itself (+x right, +y down).

    Returns
    -------
    ndarray, shape of ``frame``

    Examples
    --------
    >>> warp(np.arange(4.0).reshape(1, 1, 4), np.stack([np.full((1, 4), 0.5), np.zeros((1, 4))]))
    array([[[0.5, 1.5, 2.5, 3. ]]])
    """
    frame = _as_float(frame, "frame")
    flow = _as_float(flow, "flow")
    _check_image(frame, "frame")
    h, w = frame.shape[-2:]
    if flow.shape[-3:] != (2, h, w) or flow.shape[:-3] != frame.shape[:-3]:
        raise ValueError(f"flow must have shape {frame.shape[:-3] + (2, h, w)}, got {flow.shape}")
    # where each pixel reads from, clamped to the frame
    x = np.clip(np.arange(w) + flow[..., 0, :, :], 0.0, w - 1)
    y = np.clip(np.arange(h)[:, None] + flow[..., 1, :, :], 0.0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    ax, ay = (x - x0)[..., None, :, :], (y - y0)[..., None, :, :]  # (..., 1, H, W)

    def at(rows, cols):  # frame[..., c, rows[i, j], cols[i, j]] for every pixel (i, j)
        return np.take_along_axis(
            frame.reshape(frame.shape[:-2] + (h * w,)),
            (rows * w + cols).reshape(rows.shape[:-2] + (1, h * w)), axis=-1,
        ).reshape(frame.shape)

    return ((1 - ay) * ((1 - ax) * at(y0, x0) + ax * at(y0, x1))
            + ay * ((1 - ax) * at(y1, x0) + ax * at(y1, x1)))


def shrink(v: np.ndarray, tau: float) -> np.ndarray:
    """Soft thresholding: :math:`\\mathrm{sign}(v)\\,\\max(|v| - \\tau, 0)`, element-wise.

    The warp path's dead zone (network config ``flow_deadzone``): each component of the flow
    :math:`G'_N` predicts moves by ``tau`` pixels less, and one within ``tau`` of 0 is exactly
    0.  With ``tau = 0.5`` a move under half a pixel is no move, so still pixels are copied
    rather than resampled at a fractional position, which bilinear sampling would blur (measured:
    without it the demo's still grass and walls lose up to 6 dB of sharpness; docs/conventions.md).

    Parameters
    ----------
    v : ndarray
    tau : float
        The dead zone's half-width, >= 0 (0: the identity).

    Returns
    -------
    ndarray, shape of ``v``

    Examples
    --------
    >>> shrink(np.array([-2.0, -0.3, 0.0, 0.5, 1.25]), 0.5)
    array([-1.5 , -0.  ,  0.  ,  0.  ,  0.75])
    """
    v = _as_float(v, "v")
    return np.sign(v) * np.maximum(np.abs(v) - float(tau), 0.0)
