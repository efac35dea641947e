"""Fast twin of :mod:`sharpvid.reference.deblur.kernel`: salient gradients, kernel solves, prune,
centre.

Differences from the oracle, for every function: NumPy or CuPy (one code path), float32 unless the
data are float64, and batched: kernels ``(B, kh, kw)`` and gradients ``(B, h, w)`` (the oracle's
unbatched ``(kh, kw)`` / ``(h, w)`` give the oracle's shapes back).  Per-image decisions are
vectorised, never looped over frames:

- histogram thresholds: one ``bincount`` over (image, direction, bin) for the whole batch;
- the 0.81 threshold decay: a masked loop that only touches images that still need it;
- conjugate gradients: per-image residuals, converged images frozen (all run the same loop);
- pruning: one ``ndimage.label`` call whose structuring element does not connect across the
  batch axis, component masses by ``bincount``;
- centring: per-image integer shifts applied as one gather;
- degenerate kernels fall back to the centred delta per image (``where``).

Per-image thresholds are float64 arrays of length B (a Python float for unbatched input).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import (
    _as_batch,
    _as_float,
    _fft,
    _float_dtype,
    _ndimage,
)
from sharpvid.fast.deblur.fourier import _otf2psf_half, _psf2otf_half


def _like_module_dtype(like):
    if like is None:
        return np, np.dtype(np.float32)
    return array_module(like), _float_dtype(like.dtype)


def delta_kernel(shape: tuple[int, ...], *, like=None):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.delta_kernel`.

    Differences: ``shape`` may be ``(B, kh, kw)`` (a delta per image); ``like``: an array whose
    module and float dtype to use (default NumPy float32).
    """
    xp, dtype = _like_module_dtype(like)
    k = xp.zeros(tuple(shape), dtype=dtype)
    k[..., shape[-2] // 2, shape[-1] // 2] = 1.0
    return k


def _sum2(k):
    """Per-image sum over the last two axes, in the oracle's order (``k.sum()`` of each 2-D);
    C order first, as NumPy's summation order over a strided array depends on the batch size."""
    xp = array_module(k)
    return xp.ascontiguousarray(k).reshape(k.shape[:-2] + (-1,)).sum(axis=-1)


def normalize_kernel(k):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.normalize_kernel` (per image; delta
    where an image has no positive mass)."""
    xp = array_module(k)
    total = _sum2(k)[..., None, None]
    ok = total > 0  # also False for NaN, as the oracle's ``not total > 0``
    return xp.where(ok, k / xp.where(ok, total, 1.0), delta_kernel(k.shape, like=k))


def valid_gradients(x):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.valid_gradients` (any leading axes)."""
    px = x[..., 1:, :-1] - x[..., 1:, 1:]
    py = x[..., :-1, 1:] - x[..., 1:, 1:]
    return px, py


_DIRECTIONS = ((0.0, np.pi / 4), (np.pi / 4, np.pi / 2), (-np.pi / 4, 0.0), (-np.pi / 2, -np.pi / 4))


def _estimate_thresholds(px, py, kernel_size: int, step: float, top: float):
    """``(N, h, w)`` gradients -> ``(N,)`` float64 thresholds (see :func:`estimate_threshold`)."""
    xp = array_module(px)
    n_img = px.shape[0]
    px64, py64 = px.astype(np.float64), py.astype(np.float64)
    pm = (px64 * px64 + py64 * py64).reshape(n_img, -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        pd = xp.arctan(py64 / px64).reshape(n_img, -1)  # NaN where px = py = 0: in no bin
    n_edges = int(np.floor(top / step + 1e-9)) + 1
    edges_h = np.arange(n_edges) * step
    edges = xp.asarray(edges_h)
    # direction bin 0..3 of each pixel, -1 if none (NaN, or exactly pi/2)
    d = xp.full(pd.shape, -1, dtype=np.int64)
    for i, (lo, hi) in enumerate(_DIRECTIONS):
        d = xp.where((pd >= lo) & (pd < hi), i, d)
    idx = xp.searchsorted(edges, pm.ravel(), side="right").reshape(pm.shape) - 1
    # histc: left-closed bins, the last bin only counts values equal to the last edge
    valid = (d >= 0) & (idx >= 0) & ((idx < n_edges - 1) | (pm == edges_h[-1]))
    image = xp.arange(n_img)[:, None]
    flat = ((image * 4 + d) * n_edges + idx).ravel()
    counts = xp.bincount(
        xp.where(valid.ravel(), flat, 0), weights=valid.ravel().astype(np.float64),
        minlength=n_img * 4 * n_edges,
    ).reshape(n_img, 4, n_edges)
    tails = xp.cumsum(counts[..., ::-1], axis=-1).min(axis=1)  # (N, n_edges), from the top edge
    ok = tails >= max(20 * int(kernel_size), 10)
    first = xp.argmax(ok.astype(np.int8), axis=-1)  # t (0-based) scanning from the top edge
    return xp.where(ok.any(axis=-1), edges[n_edges - 1 - first], 0.0)


def estimate_threshold(px, py, kernel_size: int, *, step: float = 6e-5, top: float = 2.0):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.estimate_threshold`.

    Differences: ``(B, h, w)`` gradients give a float64 array of B thresholds, from one
    ``bincount`` over (image, direction, histogram bin); the histogram is built in float64.
    """
    xp = array_module(px)
    px_b, lead = _as_batch(xp.asarray(px), 2)
    py_b, _ = _as_batch(xp.asarray(py), 2)
    t = _estimate_thresholds(px_b, py_b, kernel_size, step, top).reshape(lead)
    return float(t) if not lead else t


def threshold_pxpy(latent, kernel_size: int, threshold=None):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.threshold_pxpy`.

    Differences: ``latent`` may be ``(B, H, W)``; ``threshold`` is then None, a scalar or B
    values, and the returned threshold a float64 array of B.  The 0.81 decay runs as a masked
    loop over the images whose gradients are all below their threshold.
    """
    latent = _as_float(latent, "latent")
    xp = array_module(latent)
    px, py = valid_gradients(latent)
    pm = px * px + py * py
    lead = latent.shape[:-2]
    estimated = threshold is None
    if estimated:
        t = xp.asarray(estimate_threshold(px, py, kernel_size), dtype=np.float64)
    else:
        t = xp.asarray(threshold, dtype=np.float64)
        t = xp.broadcast_to(t, lead).copy() if t.shape != lead else t
    pmax = pm.max(axis=(-2, -1))
    while True:  # while every pixel would be zeroed: threshold *= 0.81 (per image)
        need = (t > 0) & (pmax > 0) & (pmax < t.astype(pm.dtype))
        if not bool(need.any()):
            break
        t = xp.where(need, t * 0.81, t)
    mask = pm < t.astype(pm.dtype)[..., None, None]
    px = xp.where(mask, 0.0, px).astype(px.dtype)
    py = xp.where(mask, 0.0, py).astype(py.dtype)
    t_out = t if estimated else t / 1.1
    return px, py, (float(t_out) if not lead else t_out)


def _reduce_axes(x) -> tuple[int, ...]:
    """The axes of one system: the last two (a kernel), or the only one (a vector)."""
    return tuple(range(max(x.ndim - 2, 0), x.ndim))


def conjugate_gradient(
    apply_a: Callable,
    b,
    x0,
    *,
    max_iter: int = 20,
    tol: float = 1e-5,
):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.conjugate_gradient`.

    Differences: batched.  ``b`` of 1 or 2 dimensions is one system (the oracle's); ``(B, kh,
    kw)`` is B independent systems (``apply_a`` maps the batch to the batch), each with its own
    α, β, residual and stopping test.  Every image runs the same loop; an image stops updating
    after the iteration in which its ``||r|| < tol`` (the oracle's ``break``), and the loop ends
    when all have.  An image whose :math:`p^T A p` underflows to 0 (float32, solved to its
    precision) also stops, where the oracle's division would give NaN.
    """
    xp = array_module(b)
    axes = _reduce_axes(b)
    dot = lambda a, c: (a * c).sum(axis=axes, keepdims=True)  # noqa: E731
    x = x0
    r = b - apply_a(x)
    p = r
    rs_old = dot(r, r)
    active = ~(xp.sqrt(rs_old) < tol)  # the oracle returns x0 when it already solves
    with np.errstate(divide="ignore", invalid="ignore"):
        for _ in range(max_iter):
            if not bool(active.any()):
                break
            ap = apply_a(p)
            p_ap = dot(p, ap)
            # p^T A p underflowed to 0 (float32, a system solved to its precision): α would be
            # r/0 and x NaN, so the image stops here, as converged
            active = active & (p_ap != 0)
            alpha = rs_old / p_ap
            x = xp.where(active, x + alpha * p, x)  # frozen images keep their solution
            r = r - alpha * ap
            rs_new = dot(r, r)
            active = active & ~(xp.sqrt(rs_new) < tol)
            p = r + (rs_new / rs_old) * p
            rs_old = rs_new
    return x


def estimate_psf_cg(
    bx,
    by,
    px,
    py,
    gamma: float,
    kernel_shape: tuple[int, int],
    *,
    max_iter: int = 20,
    tol: float = 1e-5,
    rel_threshold: float = 0.05,
):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.estimate_psf_cg`.

    Differences: batched ``(B, h, w)`` gradients give ``(B, kh, kw)`` kernels; real FFTs; the
    spectra of the fixed operands (|F p|², the right-hand side) are computed once and each CG
    iteration costs one ``rfft2`` + ``irfft2`` of the batch; per-image CG stopping
    (:func:`conjugate_gradient`).  The solve runs in float64 whatever the input dtype (the
    result is returned in it): 20 CG steps on this ill-conditioned system amplify rounding by
    ~1e7, and the 5% cut that follows is a hard decision.
    """
    xp = array_module(px)
    fft = _fft(xp)
    dtype = px.dtype
    # CG amplifies rounding by orders of magnitude on this ill-conditioned system, and the result
    # is then cut at 5% of its maximum: the small kernel solve always runs in float64.
    bx, by, px, py = (a.astype(np.float64) for a in (bx, by, px, py))
    grid = px.shape[-2:]
    fpx, fpy = fft.rfft2(px), fft.rfft2(py)
    fbx, fby = fft.rfft2(bx), fft.rfft2(by)
    rhs = _otf2psf_half(xp.conj(fpx) * fbx + xp.conj(fpy) * fby, grid, kernel_shape, consume=True)
    m = (fpx.real**2 + fpx.imag**2) + (fpy.real**2 + fpy.imag**2)

    def apply_a(k):
        return _otf2psf_half(m * _psf2otf_half(k, grid), grid, kernel_shape, consume=True) + gamma * k

    k0 = xp.full(rhs.shape, 1.0 / np.prod(kernel_shape), dtype=rhs.dtype)
    k = conjugate_gradient(apply_a, rhs, k0, max_iter=max_iter, tol=tol)
    kmax = k.max(axis=(-2, -1), keepdims=True)
    k = xp.where(k < rel_threshold * kmax, 0.0, k)
    return normalize_kernel(k).astype(dtype)


def estimate_psf_fft(bx, by, px, py, gamma: float, kernel_shape: tuple[int, int]):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.estimate_psf_fft` (batched, real
    FFTs)."""
    xp = array_module(px)
    fft = _fft(xp)
    fpx, fpy = fft.rfft2(px), fft.rfft2(py)
    fbx, fby = fft.rfft2(bx), fft.rfft2(by)
    energy = (fpx.real**2 + fpx.imag**2) + (fpy.real**2 + fpy.imag**2) + gamma
    otf = (xp.conj(fpx) * fbx + xp.conj(fpy) * fby) / energy
    k = _otf2psf_half(otf, px.shape[-2:], kernel_shape, consume=True)
    return normalize_kernel(xp.maximum(k, 0.0))


def _structure(ndim: int) -> np.ndarray:
    """8-connectivity in the last two axes, none across the leading (batch) axes."""
    s = np.zeros((3,) * ndim, dtype=bool)
    s[(1,) * (ndim - 2)] = True
    return s


def prune_kernel(k, *, min_mass: float = 0.1):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.prune_kernel`.

    Differences: ``(B, kh, kw)`` kernels are labelled in one ``ndimage.label`` call (SciPy or
    CuPy) with a structuring element that connects nothing across the batch axis; component
    masses come from one ``bincount``; "keep the heaviest if all would go" is decided per image
    with per-pixel masks (ties to the lowest label, as ``argmax``).
    """
    k = _as_float(k, "k")
    xp = array_module(k)
    labels, n = _ndimage(xp).label(k != 0, structure=_structure(k.ndim))
    if n == 0:
        return normalize_kernel(k)
    labels = labels.astype(np.int64)
    mass = xp.bincount(labels.ravel(), weights=k.ravel().astype(np.float64), minlength=n + 1)
    in_comp = labels > 0
    pix_mass = xp.where(in_comp, mass[labels], -np.inf)  # each pixel's component mass
    drop = in_comp & (pix_mass < min_mass)
    heaviest = pix_mass.max(axis=(-2, -1), keepdims=True)
    all_dropped = in_comp.any(axis=(-2, -1), keepdims=True) & (heaviest < min_mass)
    # Convention: keep the heaviest component (lowest label among equals) rather than nothing
    chosen = xp.where(in_comp & (pix_mass == heaviest), labels, n + 1).min(axis=(-2, -1), keepdims=True)
    drop = drop & ~(all_dropped & (labels == chosen))
    k = xp.where(drop, 0.0, k).astype(k.dtype)
    return normalize_kernel(xp.maximum(k, 0.0))


def _round_half_away(x):
    """MATLAB ``round`` (halves away from zero), elementwise."""
    xp = array_module(x)
    return xp.sign(x) * xp.floor(xp.abs(x) + 0.5)


def adjust_psf_center(k):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.adjust_psf_center`.

    Differences: ``(B, kh, kw)`` kernels are shifted by their own integer shifts in one gather;
    the centroid is computed in float64 whatever the kernel's dtype.
    """
    k = _as_float(k, "k")
    xp = array_module(k)
    kb, lead = _as_batch(k, 2)
    n, kh, kw = kb.shape
    k64 = kb.astype(np.float64)
    total = _sum2(k64)  # (N,)
    safe = xp.where(total > 0, total, 1.0)
    yc = (k64.sum(axis=-1) * xp.arange(kh)).sum(axis=-1) / safe  # centroid, 0-based
    xc = (k64.sum(axis=-2) * xp.arange(kw)).sum(axis=-1) / safe
    dy = _round_half_away((kh - 1) / 2 - yc).astype(np.int64)
    dx = _round_half_away((kw - 1) / 2 - xc).astype(np.int64)
    # out[i, j] = k[i - dy, j - dx] where that index exists, else 0
    src_r = xp.arange(kh)[None, :] - dy[:, None]  # (N, kh)
    src_c = xp.arange(kw)[None, :] - dx[:, None]  # (N, kw)
    inside = ((src_r >= 0) & (src_r < kh))[:, :, None] & ((src_c >= 0) & (src_c < kw))[:, None, :]
    gathered = kb[
        xp.arange(n)[:, None, None], xp.clip(src_r, 0, kh - 1)[:, :, None],
        xp.clip(src_c, 0, kw - 1)[:, None, :],
    ]
    out = normalize_kernel(xp.maximum(xp.where(inside, gathered, 0.0).astype(k.dtype), 0.0))
    out = xp.where((total > 0)[:, None, None], out, normalize_kernel(kb))
    return out.reshape(k.shape)


def threshold_kernel(k, k_thresh: float):
    """Fast twin of :func:`sharpvid.reference.deblur.kernel.threshold_kernel` (per-image
    maximum)."""
    xp = array_module(k)
    if k_thresh > 0:
        kmax = k.max(axis=(-2, -1), keepdims=True)
        k = xp.where(k < kmax / k_thresh, 0.0, k).astype(k.dtype)
    return normalize_kernel(xp.maximum(k, 0.0))
