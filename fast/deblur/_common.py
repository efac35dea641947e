"""Private plumbing of :mod:`sharpvid.fast.deblur`: dtype policy, FFT/ndimage back ends, per-image
values.

Everything here is written against the NumPy API so the same call runs on NumPy (SciPy's FFT and
ndimage) and on CuPy (``cupy.fft``, ``cupyx.scipy.ndimage``); the module is chosen from the data
with :func:`sharpvid.fast._xp.array_module`.

Conventions of the fast twin
----------------------------
- dtype: float64 input stays float64 (so the pipeline can be checked against the oracle); any
  other real input (float32/16, integers, bool) becomes float32.  Per-image scalars that steer
  control flow (λ schedules, gradient thresholds) are float64.
- batch: the first axis.  A per-image parameter is a scalar or a 1-D array of length B; it is
  broadcast against ``(B, ...)`` data by :func:`_per_image`.  Kernels are ``(kh, kw)`` (shared)
  or ``(B, kh, kw)`` (one per image of a ``(B, ..., H, W)`` stack), aligned by :func:`_align`.
- Fourier domain: real FFTs; spectra are "half" spectra ``(..., H, W // 2 + 1)``.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

from sharpvid.fast._xp import array_module, from_torch


def _is_torch(x) -> bool:
    return type(x).__module__.split(".")[0] == "torch" and hasattr(x, "detach")


def _xp_of(*arrays):
    """The array module of the first NumPy/CuPy array among ``arrays`` (NumPy if none)."""
    for a in arrays:
        xp = array_module(a)
        if xp is not np:
            return xp
    return np


def _float_dtype(dtype) -> np.dtype:
    """The fast dtype policy: float64 stays, everything else computes in float32."""
    return np.dtype(np.float64) if np.dtype(dtype) == np.float64 else np.dtype(np.float32)


def _as_float(x, name: str = "x", *, like=None):
    """Any real array-like (NumPy, CuPy, torch via DLPack) -> float32/float64 array of its module.

    ``like``: put the result on ``like``'s module with ``like``'s dtype (kernels follow images).
    """
    if _is_torch(x):
        x = from_torch(x)
    xp = array_module(x)
    if xp is np and not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a real-valued array, got {type(x).__name__}") from exc
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a real-valued array, got dtype {x.dtype}")
    if like is None:
        return x.astype(_float_dtype(x.dtype), copy=False)
    lxp = array_module(like)
    if lxp is not xp:
        x = lxp.asarray(_to_host(x) if lxp is np else x)
    return x.astype(like.dtype, copy=False)


def _complex_dtype(dtype) -> np.dtype:
    return np.dtype(np.complex128) if np.dtype(dtype) == np.float64 else np.dtype(np.complex64)


# ------------------------------------------------------------------------------ back ends
def _fft(xp):
    """``scipy.fft`` (all cores) for NumPy, ``cupy.fft`` for CuPy; both have the calls used."""
    return _SCIPY_FFT if xp is np else xp.fft


def _irfft2_consume(xp, x, s):
    """The inverse real FFT of a temporary spectrum, overwriting it where the back end can."""
    if xp is np:
        return _SCIPY_FFT.irfft2(x, s=s, consume=True)
    return xp.fft.irfft2(x, s=s)


def _workers(x) -> int | None:
    """All cores for a large batch of transforms (pocketfft threads over the batch); one 2-D
    transform, or a small batch, runs faster on one thread."""
    per_image = x.shape[-1] * x.shape[-2] if x.ndim >= 2 else x.size
    return -1 if x.size >= 1 << 17 and x.size >= 2 * per_image else None


class _ScipyFFT:
    """scipy.fft, spreading a large batch of 2-D FFTs over the CPU cores."""

    @staticmethod
    def rfft2(x, s=None, axes=(-2, -1)):
        return scipy.fft.rfft2(x, s=s, axes=axes, workers=_workers(x))

    @staticmethod
    def irfft2(x, s=None, axes=(-2, -1), *, consume=False):
        """``consume=True``: ``x`` is a temporary the transform may overwrite (saves a copy,
        about a third of an inverse transform's time at 288x288)."""
        return scipy.fft.irfft2(x, s=s, axes=axes, workers=_workers(x), overwrite_x=consume)

    @staticmethod
    def fft2(x, s=None, axes=(-2, -1)):
        return scipy.fft.fft2(x, s=s, axes=axes, workers=_workers(x))

    @staticmethod
    def ifft2(x, s=None, axes=(-2, -1)):
        return scipy.fft.ifft2(x, s=s, axes=axes, workers=_workers(x))

    @staticmethod
    def rfft(x, n=None, axis=-1):
        return scipy.fft.rfft(x, n=n, axis=axis, workers=_workers(x))


_SCIPY_FFT = _ScipyFFT()


def _ndimage(xp):
    """``scipy.ndimage`` for NumPy, ``cupyx.scipy.ndimage`` for CuPy."""
    if xp is np:
        import scipy.ndimage

        return scipy.ndimage
    import cupyx.scipy.ndimage

    return cupyx.scipy.ndimage


def _to_host(x) -> np.ndarray:
    """A NumPy copy of a (small) NumPy/CuPy array or scalar, for host-side control flow."""
    if array_module(x) is not np:
        return x.get()
    return np.asarray(x)


# ------------------------------------------------------------------------ per-image values
def _is_scalar(value) -> bool:
    return np.ndim(value) == 0 if array_module(value) is np else value.ndim == 0


def _per_image(value, like, *, dtype=None):
    """A scalar stays a Python float; a length-B array becomes ``(B, 1, ..., 1)`` on ``like``'s
    module (``like.ndim`` axes), in ``dtype`` (default ``like.dtype``)."""
    if _is_scalar(value):
        return float(value)
    xp = array_module(like)
    a = xp.asarray(value, dtype=dtype or like.dtype)
    return a.reshape(a.shape[:1] + (1,) * (like.ndim - a.ndim) + a.shape[1:])


def _host_per_image(value, n: int | None = None) -> np.ndarray:
    """Per-image parameter as a host float64 array of length ``n`` (broadcast from a scalar)."""
    a = np.asarray(_to_host(value), dtype=np.float64).reshape(-1)
    if n is not None and a.size == 1:
        a = np.full(n, a[0])
    return a


def _align(a, ndim: int):
    """Insert unit axes after the batch axis so a ``(B, h, w)`` array lines up with ``ndim``-D
    data ``(B, ..., H, W)``; a ``(h, w)`` array (shared by every image) is returned unchanged."""
    if a.ndim <= 2 or a.ndim >= ndim:
        return a
    return a.reshape(a.shape[:1] + (1,) * (ndim - a.ndim) + a.shape[1:])


def _as_batch(x, core_ndim: int):
    """``(..., *core)`` -> ``(N, *core)`` and the leading shape to restore."""
    lead = x.shape[: x.ndim - core_ndim]
    return x.reshape((-1,) + x.shape[x.ndim - core_ndim :]), lead


def _mask(active: np.ndarray, like):
    """Host bool per image -> ``(B, 1, ..., 1)`` device mask for ``xp.where``."""
    xp = array_module(like)
    return xp.asarray(active).reshape((-1,) + (1,) * (like.ndim - 1))


def _doubling(start: float, stop: float, kappa: float, *, once: bool = False) -> list[float]:
    """The oracle's ``w = start; while w < stop: ...; w *= kappa`` as the list of ``w`` used
    (the same float arithmetic, so the same iteration count); ``once`` stops after one."""
    out = []
    w = start
    while w < stop:
        out.append(w)
        w *= kappa
        if once:
            break
    return out
