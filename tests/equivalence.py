"""The equivalence harness: one registry of twins, one generic check.

A :class:`Twin` names a reference function, its fast twin, a strategy that draws the oracle's
inputs (NumPy, float64, on the CPU) for a *regime*, and optionally a per-op tolerance override
(with a comment saying why).  :func:`check_twin` runs both and checks, in order: both raise
(the same exception type) or both return; then the fast result's dtype; then shapes; then values
against the tolerance table keyed by dtype.  The oracle always computes in float64 on the very
values the fast twin sees (inputs are rounded to the fast dtype first).

"Both raise" agrees, but compares no value: a strategy whose examples mostly raise would check
nothing.  So each property states the share of its checks that must compare values,
:func:`compares_values` (a decorator outside ``@given``), and fails below it; a check outside
such a property must compare values every time (a test that expects both to raise says so with
:func:`check_same_error`).
"""

from __future__ import annotations

import contextvars
import functools
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
    #: regime -> the least share of examples that must compare values (not both raise); 1 unless
    #: the regime draws invalid inputs on purpose (each use carries a comment why)
    compared: dict = field(default_factory=dict)
    #: the "small" regime draws small values, so the atol is relative to them (False: it draws
    #: something else, and the atol stays absolute; a comment says why)
    small_values: bool = True

    def min_compared(self, regime: str) -> float:
        return self.compared.get(regime, 1.0)


# ------------------------------------------------------------------ compared vs both raised
@dataclass
class Tally:
    """A property's checks: how many compared values, how many found both twins raising."""

    compared: int = 0
    raised: int = 0

    def share(self) -> float:
        total = self.compared + self.raised
        return self.compared / total if total else 0.0


_TALLY: contextvars.ContextVar[Tally | None] = contextvars.ContextVar("tally", default=None)


def record(compared: bool, what: str) -> None:
    """Count one check; outside :func:`compares_values`, both raising fails (share 1)."""
    tally = _TALLY.get()
    if tally is None:
        assert compared, f"{what}: both twins raised, and this test declares no share that may raise"
        return
    if compared:
        tally.compared += 1
    else:
        tally.raised += 1


def compares_values(min_share):
    """Decorator, placed outside ``@given``: after hypothesis has run every example, at least
    ``min_share`` of the test's checks compared values (not both raised), and at least one did.

    ``min_share`` is a number or a function of the test's keyword arguments (its parameters).
    """

    def decorate(test):
        @functools.wraps(test)
        def wrapper(*args, **kwargs):
            tally = Tally()
            token = _TALLY.set(tally)
            try:
                test(*args, **kwargs)
            finally:
                _TALLY.reset(token)
            share = min_share(**kwargs) if callable(min_share) else min_share
            assert tally.compared > 0 and tally.share() >= share, (
                f"{test.__name__}: {tally.compared} checks compared values, {tally.raised} found "
                f"both twins raising: {tally.share():.0%} compared, at least {share:.0%} required"
            )

        return wrapper

    return decorate


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


def _check_values(ref, fast, dtype, rtol, atol, name, relative_atol=False):
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
        return
    if relative_atol:  # atol in units of the oracle's largest finite value (when that is < 1)
        finite = np.abs(ref[np.isfinite(ref)])
        atol = atol * min(1.0, float(finite.max()) if finite.size else 0.0)
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


def check_twin(twin: Twin, args, kwargs, dtype=torch.float64, device="cpu", *,
               relative_atol: bool = False):
    """Both raise or both return; then dtype, shape and values (see module docstring).

    ``relative_atol``: the table's atol is relative to the oracle's values where they are below 1
    (each output's largest finite magnitude), as in the "small" regime, where values of 1e-6
    sit below an absolute 1e-5 and a twin that returned 0 would pass.
    """
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
        record(False, twin.name)
        return
    record(True, twin.name)
    rtol, atol = twin.tolerance.get(dtype, TOLERANCES[dtype])
    ref_leaves, fast_leaves = _flatten(ref), _flatten(fast)
    assert len(ref_leaves) == len(fast_leaves), f"{twin.name}: {len(fast_leaves)} outputs"
    for r, f in zip(ref_leaves, fast_leaves):
        _check_values(r, f, dtype, rtol, atol, twin.name, relative_atol)
