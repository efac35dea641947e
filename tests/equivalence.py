"""The equivalence harness: one registry of twins, one generic check.

A :class:`Twin` names a reference function, its fast twin, a strategy that draws the oracle's
inputs (NumPy, float64, on the CPU) for a *regime*, and optionally a per-op tolerance override
(with a comment saying why).  :func:`check_twin` runs both and checks, in order: both raise
(the same exception type) or both return; then the fast result's dtype; then shapes; then values
against the tolerance table keyed by dtype.  The oracle always computes in float64 on the very
values the fast twin sees (inputs are rounded to the fast dtype first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

#: (rtol, atol) by the fast twin's dtype; the oracle is float64.  STYLE.md's starting table.
TOLERANCES = {
    torch.float64: (1e-9, 1e-11),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (7.8e-3, 7.8e-3),
}
REGIMES = ("normal", "small", "large", "edges")


@dataclass(frozen=True)
class Twin:
    name: str
    ref: Callable
    fast: Callable
    #: regime -> hypothesis strategy of ``(args, kwargs)`` with NumPy float64 arrays
    inputs: Callable
    #: dtype -> (rtol, atol) replacing the table's entry; every use carries a comment why
    tolerance: dict = field(default_factory=dict)
    #: the regimes this twin is checked in (some inputs have no meaningful "large" regime)
    regimes: tuple = REGIMES


def _to_fast(value, dtype, device):
    """NumPy float arrays -> tensors of ``dtype``; bool arrays -> bool tensors; others as-is."""
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return torch.as_tensor(value, device=device)
        return torch.as_tensor(value, device=device).to(dtype)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_fast(v, dtype, device) for v in value)
    return value


def _round_to(value, dtype):
    """Round float arrays to what ``dtype`` can hold (still float64), so both twins see them."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        return torch.as_tensor(value).to(dtype).to(torch.float64).numpy()
    if isinstance(value, (list, tuple)):
        return type(value)(_round_to(v, dtype) for v in value)
    return value


def _flatten(result):
    """Results may be scalars, arrays, tensors or lists of them (the pyramid)."""
    if isinstance(result, (list, tuple)):
        return [leaf for r in result for leaf in _flatten(r)]
    return [result]


def _check_values(ref, fast, dtype, rtol, atol, name):
    if isinstance(fast, torch.Tensor):
        expected_dtype = torch.bool if fast.dtype == torch.bool else dtype
        assert fast.dtype == expected_dtype, f"{name}: dtype {fast.dtype}, expected {expected_dtype}"
        fast = fast.detach().to("cpu")
        fast = fast.numpy() if fast.dtype == torch.bool else fast.to(torch.float64).numpy()
    ref = np.asarray(ref)
    fast = np.asarray(fast)
    assert ref.shape == fast.shape, f"{name}: shape {fast.shape}, oracle {ref.shape}"
    if ref.dtype == bool:
        np.testing.assert_array_equal(fast, ref, err_msg=name)
    else:
        np.testing.assert_allclose(fast, ref, rtol=rtol, atol=atol, equal_nan=True, err_msg=name)


def check_same_error(ref_call: Callable, fast_calls, *, one_line: bool = False) -> None:
    """The oracle's call raises a ValueError or TypeError, and every fast call raises the same
    type with the same message (``one_line``: a message without a newline)."""
    import pytest

    with pytest.raises((ValueError, TypeError)) as ref_exc:
        ref_call()
    if one_line:
        assert "\n" not in str(ref_exc.value)
    for call in fast_calls:
        with pytest.raises(type(ref_exc.value)) as fast_exc:
            call()
        assert str(fast_exc.value) == str(ref_exc.value)


def check_twin(twin: Twin, args, kwargs, dtype=torch.float64, device="cpu"):
    """Both raise or both return; then dtype, shape and values (see module docstring)."""
    args, kwargs = _round_to(args, dtype), {k: _round_to(v, dtype) for k, v in kwargs.items()}
    ref_exc = fast_exc = None
    try:
        ref = twin.ref(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        ref_exc = exc
    fast_args = _to_fast(args, dtype, device)
    fast_kwargs = {k: _to_fast(v, dtype, device) for k, v in kwargs.items()}
    try:
        fast = twin.fast(*fast_args, **fast_kwargs)
    except (ValueError, TypeError) as exc:
        fast_exc = exc
    if ref_exc or fast_exc:
        assert type(ref_exc) is type(fast_exc), (
            f"{twin.name}: oracle raised {ref_exc!r}, fast twin raised {fast_exc!r}"
        )
        return
    rtol, atol = twin.tolerance.get(dtype, TOLERANCES[dtype])
    ref_leaves, fast_leaves = _flatten(ref), _flatten(fast)
    assert len(ref_leaves) == len(fast_leaves), f"{twin.name}: {len(fast_leaves)} outputs"
    for r, f in zip(ref_leaves, fast_leaves):
        _check_values(r, f, dtype, rtol, atol, twin.name)
