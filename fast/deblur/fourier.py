"""Fast twin of :mod:`sharpvid.reference.deblur.fourier`: OTFs, circular gradients, circular blur.

Differences from the oracle: NumPy or CuPy arrays (one code path), float32 unless the input is
float64, real FFTs.  ``psf2otf``/``otf2psf`` return the oracle's full spectra; the solvers use
the private half-spectrum versions :func:`_psf2otf_half` / :func:`_otf2psf_half`, and
:func:`grad_otf_energy` returns a half spectrum ``(H, W // 2 + 1)``.  Per-image kernels
``(B, kh, kw)`` pair with the first axis of the data.  Conventions (MATLAB psf2otf, wrapping
forward differences) are the oracle's.
"""

from __future__ import annotations

import numpy as np

from sharpvid.fast.deblur._common import (_align, _as_float, _complex_dtype, _fft, _float_dtype,
                                          _irfft2_consume, _xp_of)
from sharpvid.fast._xp import array_module
from sharpvid.reference._checks import _check_image
from sharpvid.reference.deblur.fourier import opt_fft_size as _opt_fft_size_ref


def _wrap_index(xp, k: int, n: int):
    """Grid indices of a length-``k`` PSF axis centred at ``k // 2`` -> index 0 (mod ``n``)."""
    return (xp.arange(k) - k // 2) % n


def _psf2otf_half(psf, shape: tuple[int, int]):
    """Half spectrum ``(..., H, W // 2 + 1)`` of :func:`psf2otf` (``rfft2`` of the placed PSF)."""
    xp = array_module(psf)
    kh, kw = psf.shape[-2:]
    h, w = int(shape[0]), int(shape[1])
    padded = xp.zeros(psf.shape[:-2] + (h, w), dtype=psf.dtype)
    rows, cols = _wrap_index(xp, kh, h), _wrap_index(xp, kw, w)
    padded[..., rows[:, None], cols[None, :]] = psf  # pad + circshift by -(kh//2, kw//2)
    return _fft(xp).rfft2(padded)


def _otf2psf_half(otf_half, grid: tuple[int, int], psf_shape: tuple[int, int], *,
                  consume: bool = False):
    """:func:`otf2psf` of a half spectrum on the ``grid = (H, W)`` Fourier grid (``consume``:
    ``otf_half`` is a temporary the inverse transform may overwrite)."""
    xp = array_module(otf_half)
    kh, kw = int(psf_shape[0]), int(psf_shape[1])
    grid_hw = (int(grid[0]), int(grid[1]))
    psf = (_irfft2_consume(xp, otf_half, grid_hw) if consume
           else _fft(xp).irfft2(otf_half, s=grid_hw))
    rows, cols = _wrap_index(xp, kh, grid[0]), _wrap_index(xp, kw, grid[1])
    # C order: reductions over a non-contiguous gather would depend on the batch size
    return xp.ascontiguousarray(psf[..., rows[:, None], cols[None, :]])


def _full_from_half(half, w: int):
    """Complete a half spectrum to ``(..., H, W)`` by Hermitian symmetry X[-p, -q] = conj X[p, q]."""
    xp = array_module(half)
    h = half.shape[-2]
    rows = (-xp.arange(h)) % h
    cols = w - xp.arange(half.shape[-1], w)  # q = W//2+1 .. W-1  <-  W - q
    rest = xp.conj(half[..., rows[:, None], cols[None, :]])
    return xp.concatenate([half, rest], axis=-1)


def psf2otf(psf, shape: tuple[int, int]):
    """Fast twin of :func:`sharpvid.reference.deblur.fourier.psf2otf`.

    Differences: complex64 unless ``psf`` is float64; a real FFT completed by Hermitian symmetry.
    """
    psf = _as_float(psf, "psf")
    _check_image(psf, "psf")
    kh, kw = psf.shape[-2:]
    h, w = int(shape[0]), int(shape[1])
    if kh > h or kw > w:
        raise ValueError(f"psf of size {kh}x{kw} does not fit the {h}x{w} Fourier grid")
    return _full_from_half(_psf2otf_half(psf, (h, w)), w)


def otf2psf(otf, psf_shape: tuple[int, int]):
    """Fast twin of :func:`sharpvid.reference.deblur.fourier.otf2psf`.

    Differences: float32 for a complex64 (or float32) OTF.  The full (complex) inverse FFT is
    kept so any OTF, Hermitian or not, gives the oracle's real part.
    """
    xp = _xp_of(otf)
    otf = xp.asarray(otf)
    real_dtype = np.float64 if otf.dtype in (np.complex128, np.float64) else np.float32
    otf = otf.astype(_complex_dtype(real_dtype), copy=False)
    kh, kw = int(psf_shape[0]), int(psf_shape[1])
    psf = xp.real(_fft(xp).ifft2(otf))
    rows, cols = _wrap_index(xp, kh, otf.shape[-2]), _wrap_index(xp, kw, otf.shape[-1])
    return xp.ascontiguousarray(psf[..., rows[:, None], cols[None, :]])


def opt_fft_size(n: int) -> int:
    """Fast twin of :func:`sharpvid.reference.deblur.fourier.opt_fft_size` (host integer arithmetic:
    the oracle's own function)."""
    return _opt_fft_size_ref(n)


def grad_circ(x):
    """Fast twin of :func:`sharpvid.reference.deblur.fourier.grad_circ` (slices instead of
    ``roll``)."""
    xp = array_module(x)
    h = xp.empty_like(x)
    v = xp.empty_like(x)
    xp.subtract(x[..., 1:], x[..., :-1], out=h[..., :-1])
    xp.subtract(x[..., :1], x[..., -1:], out=h[..., -1:])
    xp.subtract(x[..., 1:, :], x[..., :-1, :], out=v[..., :-1, :])
    xp.subtract(x[..., :1, :], x[..., -1:, :], out=v[..., -1:, :])
    return h, v


def grad_circ_adjoint(h, v):
    """Fast twin of :func:`sharpvid.reference.deblur.fourier.grad_circ_adjoint` (slices, not
    ``roll``)."""
    xp = array_module(h)
    out = xp.empty(np.broadcast_shapes(h.shape, v.shape), dtype=np.result_type(h.dtype, v.dtype))
    # (h[:, j-1] - h[:, j]) + (v[i-1, :] - v[i, :]), indices modulo the size
    xp.subtract(h[..., :-1], h[..., 1:], out=out[..., 1:])
    xp.subtract(h[..., -1:], h[..., :1], out=out[..., :1])
    out[..., 1:, :] += v[..., :-1, :] - v[..., 1:, :]
    out[..., :1, :] += v[..., -1:, :] - v[..., :1, :]
    return out


def grad_otf_energy(shape: tuple[int, int], *, like=None):
    """Fast twin of :func:`sharpvid.reference.deblur.fourier.grad_otf_energy`.

    Differences: the half spectrum ``(H, W // 2 + 1)`` (the oracle's first ``W // 2 + 1``
    columns); ``like``: an array whose module and float dtype to use (default NumPy float32).
    """
    xp = np if like is None else array_module(like)
    dtype = np.float32 if like is None else _float_dtype(like.dtype)
    dx = _psf2otf_half(xp.asarray([[1.0, -1.0]], dtype=dtype), shape)
    dy = _psf2otf_half(xp.asarray([[1.0], [-1.0]], dtype=dtype), shape)
    return (dx.real**2 + dx.imag**2) + (dy.real**2 + dy.imag**2)


def convolve_circular(x, k):
    """Fast twin of :func:`sharpvid.reference.deblur.fourier.convolve_circular`.

    Differences: ``k`` is ``(kh, kw)`` (shared) or ``(B, kh, kw)`` (one per image along ``x``'s
    first axis); real FFTs.
    """
    x = _as_float(x, "x")
    k = _as_float(k, "k", like=x)
    xp = array_module(x)
    otf = _align(_psf2otf_half(k, x.shape[-2:]), x.ndim)
    return _fft(xp).irfft2(_fft(xp).rfft2(x) * otf, s=x.shape[-2:])
