"""NumPy on the CPU, CuPy on a CUDA GPU: one code path for array work outside the networks.

The fast deblurring (and any other NumPy-API code in :mod:`fast`) is written against the array
module ``xp`` of its input, so the same function runs on NumPy arrays (CPU, CI) and on CuPy arrays
(GPU).  CuPy is optional (the ``gpu`` extra); its absence, or a machine without a usable GPU, is
detected with ``cupy.cuda.is_available()``, never by a crash.  Torch tensors cross over without a
host copy through DLPack (:func:`from_torch`, :func:`to_torch`).
"""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def _cupy():
    """The cupy module when it is installed and sees a GPU, else None."""
    try:
        import cupy
    except Exception:  # not installed, or a broken CUDA install: NumPy it is
        return None
    try:
        return cupy if cupy.cuda.is_available() else None
    except Exception:
        return None


def cupy_available() -> bool:
    """True when CuPy is installed and a CUDA device is usable."""
    return _cupy() is not None


def array_module(x):
    """``cupy`` for a CuPy array, ``numpy`` for anything else."""
    cp = _cupy()
    if cp is not None and isinstance(x, cp.ndarray):
        return cp
    return np


def xp_for_device(device: str):
    """The array module for ``device`` ("cpu" or "cuda"); a clear error if CUDA is unusable."""
    if device == "cpu":
        return np
    if device == "cuda" or str(device).startswith("cuda:"):
        cp = _cupy()
        if cp is None:
            raise ValueError(
                f"device {device!r} needs CuPy and a CUDA GPU; install sharpvid[gpu] "
                "(cupy-cuda12x) on a machine with one, or use device 'cpu'"
            )
        return cp
    raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")


def to_device(x, device: str):
    """Move an array to ``device`` (NumPy for "cpu", CuPy for "cuda")."""
    xp = xp_for_device(device)
    if xp is np:
        return to_numpy(x)
    return xp.asarray(x)


def to_numpy(x) -> np.ndarray:
    """Any array (NumPy, CuPy, torch) as a NumPy array on the host."""
    cp = _cupy()
    if cp is not None and isinstance(x, cp.ndarray):
        return cp.asnumpy(x)
    if hasattr(x, "detach"):  # a torch tensor
        return x.detach().cpu().numpy()
    return np.asarray(x)


def from_torch(t):
    """A torch tensor as an array of the matching module, without a copy.

    CPU tensors become NumPy arrays (sharing memory); CUDA tensors become CuPy arrays through
    DLPack (sharing device memory).
    """
    if t.is_cuda:
        cp = _cupy()
        if cp is None:
            raise ValueError("a CUDA tensor needs CuPy to cross over; install sharpvid[gpu]")
        return cp.from_dlpack(t.detach())
    return t.detach().numpy()


def to_torch(x):
    """A NumPy or CuPy array as a torch tensor on the same device, without a copy."""
    import torch

    if isinstance(x, np.ndarray):
        return torch.from_numpy(x)
    return torch.from_dlpack(x)
