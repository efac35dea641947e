"""Fast twin of :mod:`sharpvid.reference.deblur.latent`: L0 hard thresholds and the FFT latent
solves.

Differences from the oracle, for every function:

- NumPy or CuPy (one code path), float32 unless the data are float64; a batch ``(B, ..., H, W)``
  at once.  Kernels are ``(kh, kw)`` or ``(B, kh, kw)`` (one per image); λ, β, μ, ε-weights may
  be per-image arrays of length B.
- Real FFTs: the Fourier terms are half spectra ``(..., H, W // 2 + 1)``.
- Fixed operands are transformed once per solve: the kernel's OTF, |K|², the gradient energy,
  :math:`\\overline K \\mathcal F y`, and in :func:`l0_deblur_whole` β F(u) once per β (u is fixed
  through the μ loop), so each inner iteration costs one ``rfft2`` and one ``irfft2``.
- Per-image λ give per-image β/μ schedules: all images run the longest schedule and an image
  whose own schedule has ended is frozen (masked), which reproduces the oracle's per-image loops.
"""

from __future__ import annotations

import numpy as np

from sharpvid.fast._xp import array_module
from sharpvid.fast.deblur._common import (
    _align,
    _as_float,
    _doubling,
    _fft,
    _irfft2_consume,
    _host_per_image,
    _is_scalar,
    _mask,
    _per_image,
)
from sharpvid.fast.deblur.boundary import wrap_pad
from sharpvid.fast.deblur.fourier import (_psf2otf_half, grad_circ, grad_circ_adjoint,
                                          grad_otf_energy)


def _ratio(num, den):
    """``num / den`` for scalars or per-image arrays (host float64 arithmetic when possible);
    0 where ``num`` is 0, so a zero λ thresholds nothing (the oracle's ``lambda_grad == 0``
    early return, where μ is 0 too)."""
    if np.ndim(num) == 0 and np.ndim(den) == 0 and array_module(num) is np and array_module(den) is np:
        return float(num) / float(den) if float(num) != 0 else 0.0
    xp = array_module(num) if array_module(num) is not np else array_module(den)
    num, den = xp.asarray(num, dtype=np.float64), xp.asarray(den, dtype=np.float64)
    return xp.where(num == 0, 0.0, num / xp.where(num == 0, 1.0, den))


def _zero_small(s, t):
    """Eq. (9) with the threshold ``t`` already divided: s where s² >= t, else 0."""
    return array_module(s).where(s * s < t, 0.0, s).astype(s.dtype, copy=False)


def threshold_intensity(s, lambda_pixel, beta):
    """Fast twin of :func:`sharpvid.reference.deblur.latent.threshold_intensity`.

    Differences: ``lambda_pixel`` and ``beta`` may be per-image arrays (first axis of ``s``);
    the threshold λ_p/β is compared in ``s``'s dtype.
    """
    xp = array_module(s)
    t = _per_image(_ratio(lambda_pixel, beta), s)
    return xp.where(s * s < t, 0.0, s).astype(s.dtype, copy=False)


def threshold_gradient(h, v, lambda_grad, mu):
    """Fast twin of :func:`sharpvid.reference.deblur.latent.threshold_gradient` (per-image λ_g, μ
    allowed; a zero λ_g, per image, thresholds nothing as in the oracle)."""
    xp = array_module(h)
    small = h * h + v * v < _per_image(_ratio(lambda_grad, mu), h)
    return xp.where(small, 0.0, h).astype(h.dtype), xp.where(small, 0.0, v).astype(v.dtype)


def threshold_phi0(h, v, eps):
    """Fast twin of :func:`sharpvid.reference.deblur.latent.threshold_phi0` (per-image ε
    allowed)."""
    xp = array_module(h)
    eps2 = float(eps) ** 2 if _is_scalar(eps) else _host_per_image(eps) ** 2
    small = h * h + v * v < _per_image(eps2, h)
    return xp.where(small, 0.0, h).astype(h.dtype), xp.where(small, 0.0, v).astype(v.dtype)


def fft_data_terms(y, k):
    """Fast twin of :func:`sharpvid.reference.deblur.latent.fft_data_terms`.

    Differences: half spectra (``rfft2``); ``k`` may be ``(B, kh, kw)``, one kernel per image
    along ``y``'s first axis, then ``dk`` is ``(B, 1, ..., H, W // 2 + 1)``.
    """
    y = _as_float(y, "y")
    k = _as_float(k, "k", like=y)
    xp = array_module(y)
    K = _align(_psf2otf_half(k, y.shape[-2:]), y.ndim)
    numer_y = xp.conj(K) * _fft(xp).rfft2(y)
    dk = K.real * K.real + K.imag * K.imag
    return numer_y, dk, grad_otf_energy(y.shape[-2:], like=y)


def _param(values: np.ndarray, batched: bool, like):
    """Host per-image values -> a Python float (unbatched call) or ``(B, 1, ..)`` device array."""
    return _per_image(values, like) if batched else float(values[0])


def _thresholded_divergence(s, t):
    """∇ᵀg with g = ∇s zeroed where h² + v² < t (Eq. 12), computed in place."""
    xp = array_module(s)
    h, v = grad_circ(s)
    m = h * h
    m += v * v
    keep = ~(m < t)  # the oracle's where(small, 0, h), as a multiply (NaN-safe the same way)
    xp.multiply(h, keep, out=h)
    xp.multiply(v, keep, out=v)
    return grad_circ_adjoint(h, v)


def _solve_div(numer, denom_fixed, dg, div, mu):
    """x = F^-1[(numer + μ F(div)) / (denom_fixed + μ |D|²)], half spectra; the one ``rfft2`` +
    ``irfft2`` of every inner iteration (μ a float or a per-image array aligned with ``numer``)."""
    fft = _fft(array_module(div))
    rhs = fft.rfft2(div)  # a fresh array: the rest is in place when the shapes allow
    denom = denom_fixed + mu * dg  # (dg is (H, W//2+1); the fixed part may carry the batch)
    if rhs.shape == np.broadcast_shapes(rhs.shape, numer.shape, denom.shape):
        rhs *= mu
        rhs += numer
        rhs /= denom
    else:
        rhs = (numer + mu * rhs) / denom
    return _irfft2_consume(array_module(div), rhs, div.shape[-2:])  # rhs is ours to overwrite


def _latent_step(numer, denom_fixed, dg, h, v, mu):
    """:func:`_solve_div` of ∇ᵀ(h, v), μ a scalar or per-image values."""
    mu_c = mu if np.isscalar(mu) else _per_image(mu, numer, dtype=h.dtype)
    return _solve_div(numer, denom_fixed, dg, grad_circ_adjoint(h, v), mu_c)


def solve_latent_fft(numer_y, dk, dg, h, v, mu, u=None, beta=0.0):
    """Fast twin of :func:`sharpvid.reference.deblur.latent.solve_latent_fft`.

    Differences: ``numer_y``, ``dk``, ``dg`` are half spectra (from :func:`fft_data_terms`);
    ``mu`` and ``beta`` may be per-image arrays (β = 0 entries add nothing, like the oracle's
    ``beta > 0`` test).
    """
    xp = array_module(h)
    numer, denom = numer_y, dk
    if u is not None and (not np.isscalar(beta) or beta > 0):
        b = _per_image(beta, numer_y, dtype=h.dtype) if not np.isscalar(beta) else beta
        numer = numer_y + b * _fft(xp).rfft2(u)
        denom = dk + b
    return _latent_step(numer, denom, dg, h, v, mu)


def _schedules(lams_a, lams_b, start_a, stop_a, start_b, stop_b, kappa, once_b):
    """Per-image outer (a) and inner (b) doubling schedules, as host lists."""
    outer = [_doubling(start_a * la, stop_a, kappa) for la in lams_a]
    inner = [_doubling(start_b * lb, stop_b, kappa, once=once_b(lb)) for lb in lams_b]
    return outer, inner


def _column(values: list[list[float]], j: int, fill: float = 1.0):
    """Entry ``j`` of each image's schedule (``fill`` where it has ended) and the active mask."""
    active = np.array([j < len(v) for v in values])
    return np.array([v[j] if j < len(v) else fill for v in values]), active


def _select(active: np.ndarray, new, old):
    """Per-image freeze: ``new`` where the image is active, else ``old`` (no copy if all are)."""
    if active.all():
        return new
    return array_module(new).where(_mask(active, new), new, old)


def _batch_size(x, *params) -> int:
    sizes = {np.size(_host_per_image(p)) for p in params if np.ndim(p) > 0}
    if not sizes:
        return 1
    (n,) = sizes
    if x.ndim < 3 or x.shape[0] != n:
        raise ValueError(
            f"per-image parameters of length {n} need data of shape (B={n}, ..., H, W), "
            f"got {tuple(x.shape)}"
        )
    return n


def _scalar_or_array(host: np.ndarray, batched: bool):
    return host if batched else float(host[0])


def l0_deblur_whole(
    y_pad,
    k,
    lambda_pixel,
    lambda_grad,
    *,
    kappa: float = 2.0,
    beta_max: float = 8.0,
    mu_max: float = 1e5,
):
    """Fast twin of :func:`sharpvid.reference.deblur.latent.l0_deblur_whole`.

    Differences: per-image λ_p, λ_g (arrays of length B) give per-image β/μ schedules run with
    masks; β F(u) and β are folded into the fixed numerator/denominator once per β; half spectra.
    """
    y_pad = _as_float(y_pad, "y_pad")
    n = _batch_size(y_pad, lambda_pixel, lambda_grad)
    batched = np.ndim(lambda_pixel) > 0 or np.ndim(lambda_grad) > 0
    lp, lg = _host_per_image(lambda_pixel, n), _host_per_image(lambda_grad, n)
    if not np.all(lp > 0) or not np.all(lg >= 0):
        raise ValueError(
            f"need lambda_pixel > 0 and lambda_grad >= 0, got "
            f"{_scalar_or_array(lp, batched)!r}, {_scalar_or_array(lg, batched)!r}"
            " (use l0_restoration for lambda_pixel = 0)"
        )
    fft = _fft(array_module(y_pad))
    numer_y, dk, dg = fft_data_terms(y_pad, k)
    betas, mus = _schedules(lp, lg, 2.0, beta_max, 2.0, mu_max, kappa, lambda lam: lam == 0)
    # the μ steps are the same in every β iteration: thresholds λ_g/μ and μ, made once
    inner = []
    for m in range(max(map(len, mus), default=0)):
        mu, on_m = _column(mus, m)
        inner.append((_param(_ratio(lg, mu), batched, y_pad), _param(mu, batched, y_pad), on_m))
    s = y_pad
    for j in range(max(map(len, betas), default=0)):
        beta, on_b = _column(betas, j)
        t_u = _param(lp / beta, batched, y_pad)  # λ_p / β, the oracle's float division
        u = _zero_small(s, t_u)  # Eq. (9), fixed through the μ loop
        b = _param(beta, batched, y_pad)
        numer = numer_y + b * fft.rfft2(u)  # β F(u): once per β
        denom = dk + b
        for t_g, mu, on_m in inner:
            active = on_b & on_m
            if not active.any():
                break
            s_new = _solve_div(numer, denom, dg, _thresholded_divergence(s, t_g), mu)  # (12), (11)
            s = _select(active, s_new, s)  # finished images stay frozen
    return s


def l0_restoration(y, k, lambda_grad, *, kappa: float = 2.0, mu_max: float = 1e5,
                   clamp: bool = False, boundary: str = "release"):
    """Fast twin of :func:`sharpvid.reference.deblur.latent.l0_restoration`.

    Differences: per-image λ_g (array of length B) gives per-image μ schedules run with masks;
    half spectra.
    """
    y = _as_float(y, "y")
    n = _batch_size(y, lambda_grad)
    batched = np.ndim(lambda_grad) > 0
    lg = _host_per_image(lambda_grad, n)
    if not np.all(lg > 0):
        raise ValueError(f"lambda_grad must be > 0, got {_scalar_or_array(lg, batched)!r}")
    k = _as_float(k, "k", like=y)
    xp = array_module(y)
    H, W = y.shape[-2:]
    y_pad = wrap_pad(y, k.shape[-2:], boundary=boundary)
    numer_y, dk, dg = fft_data_terms(y_pad, k)
    mus = [_doubling(2 * lam, mu_max, kappa) for lam in lg]
    s = y_pad
    for m in range(max(map(len, mus), default=0)):
        mu, active = _column(mus, m)
        t_g = _param(_ratio(lg, mu), batched, y_pad)
        s_new = _solve_div(numer_y, dk, dg, _thresholded_divergence(s, t_g), _param(mu, batched, y_pad))
        if clamp:
            s_new = xp.maximum(s_new, 0.0)
        s = _select(active, s_new, s)
    return s[..., :H, :W]


def unnatural_l0_deblur(y_pad, k, lam, *, eps0: float = 0.35, n_levels: int = 4):
    """Fast twin of :func:`sharpvid.reference.deblur.latent.unnatural_l0_deblur`.

    Differences: ``lam`` may be a per-image array (μ = λ/ε² per image; the ε schedule is shared);
    half spectra.
    """
    batched = np.ndim(lam) > 0
    lam_h = _host_per_image(lam)
    if not np.all(lam_h > 0) or not eps0 > 0:
        raise ValueError(f"need lam > 0 and eps0 > 0, got {_scalar_or_array(lam_h, batched)!r}, {eps0!r}")
    y_pad = _as_float(y_pad, "y_pad")
    _batch_size(y_pad, lam)
    numer_y, dk, dg = fft_data_terms(y_pad, k)
    x = y_pad
    for level in range(n_levels):
        eps = eps0 / 2**level
        mu = _param(lam_h / eps**2, batched, y_pad)  # μ = λ/ε²: exact variational form
        for _ in range(2**level):
            x = _solve_div(numer_y, dk, dg, _thresholded_divergence(x, eps**2), mu)  # l-, x-step
    return x
