"""``sharpvid.fast.deblur`` computes ``sharpvid.reference.deblur``: step by step under hypothesis,
whole on fixed seeds.

The fast twin is batched NumPy/CuPy, so it has its own small checker, :func:`check`, following
the shared harness (``tests/equivalence.py``) step for step: both raise (the same type) or both
return; then the fast result's dtype; shape; values against ``TOLERANCES`` keyed by dtype.  The
oracle computes in float64 on the very values the twin sees (inputs rounded to the twin's dtype
first) and, being per image, is applied image by image and stacked: that *is* the batch's
meaning.  As there, both raising compares no value: a property that may draw invalid inputs
states the share of its checks that must compare values (``@compares_values``), and any other
check must compare values every time.  Iterative solvers: one iteration under hypothesis (the oracle's own loop parameters set
so that it stops after one), the whole loops and both drivers on fixed seeds.

Hard decisions (L0 thresholds, histogram bins, the 5% kernel cut, pruning at mass 0.1, the
fix-size tie) are discontinuous: in float32 a value within rounding of its threshold may go the
other way, so float32 examples are kept away from thresholds with ``assume``.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import scipy.ndimage
import torch
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sharpvid.fast.deblur as fd
import sharpvid.reference.deblur as rd
from deblur_synthetic import blur, glyph_image, motion_kernel, shapes_image
from equivalence import TOLERANCES, check_same_error, compares_values, record
from sharpvid.fast import _xp

DTYPES = (np.float64, np.float32)
_TORCH = {np.float64: torch.float64, np.float32: torch.float32}
dtypes = pytest.mark.parametrize("dtype", DTYPES, ids=["f64", "f32"])


# ---------------------------------------------------------- per-op tolerance overrides (why)
# An FFT solve divides by |K|² + β + μ|D|², as small as 2λ = 2e-3 here: float32 rounding of the
# right-hand side (~1e-7 of its size, O(HW)) is amplified accordingly.
_LATENT_F32 = {np.float32: (1e-3, 1e-4)}

# Hundreds of FFT solves, each amplifying rounding by up to 1/(2λ) ~ 1e3: the loops agree to
# ~1e-12 absolute, not to the single-operation 1e-11 of the table.
_CHAOS64 = (1e-9, 1e-9)

# The kernel step is CG stopped after 20 iterations, whose iterate is very sensitive to rounding
# (a 1e-16 relative perturbation of the gradients moved the oracle's own result by up to 6e-5 on
# some images); with hard thresholds downstream, the twin follows the oracle closely only where no
# decision lands within rounding of its boundary.  These seeds were checked to be such cases
# (kernels and latents agree to ~1e-11); the tolerance leaves room for ~1e-7 amplification.
_PIPE64 = (1e-6, 1e-7)


# ------------------------------------------------------------------------------- the checker
def _run(fn):
    try:
        return fn(), None
    except (ValueError, TypeError) as exc:
        return None, exc


def _leaves(result):
    if isinstance(result, (list, tuple)):
        return [leaf for r in result for leaf in _leaves(r)]
    return [result]


def _stack(outputs):
    """Per-image oracle outputs -> the batch's: tuples stacked element-wise."""
    if isinstance(outputs[0], tuple):
        return tuple(_stack([o[i] for o in outputs]) for i in range(len(outputs[0])))
    return np.stack([np.asarray(o) for o in outputs])


def check(ref, fast, dtype, *, tol=None, out_dtypes=None):
    """Both raise or both return; then dtype, shape and values (see the module docstring).

    ``ref``/``fast`` are zero-argument callables; ``tol`` an (rtol, atol) override (each use
    says why); ``out_dtypes`` overrides the expected dtype of single outputs (None: the twin's
    dtype for real outputs, its complex counterpart for complex ones).
    """
    r, r_exc = _run(ref)
    f, f_exc = _run(fast)
    if r_exc or f_exc:
        assert type(r_exc) is type(f_exc), f"oracle raised {r_exc!r}, fast twin raised {f_exc!r}"
        record(False, f"oracle raised {r_exc!r}")
        return
    record(True, "check")
    rtol, atol = tol or TOLERANCES[_TORCH[dtype]]
    r_leaves, f_leaves = _leaves(r), _leaves(f)
    assert len(r_leaves) == len(f_leaves), f"{len(f_leaves)} outputs, oracle {len(r_leaves)}"
    for i, (a, b) in enumerate(zip(r_leaves, f_leaves)):
        a, b_arr = np.asarray(a), _xp.to_numpy(b)
        expected = (out_dtypes or {}).get(i)
        if expected is None:
            expected = {"f": np.dtype(dtype), "c": np.result_type(dtype, np.complex64)}.get(a.dtype.kind)
        if expected is not None and isinstance(b, float):
            assert np.dtype(expected) == np.float64, f"output {i}: a Python float, expected {expected}"
        elif expected is not None:
            assert b_arr.dtype == expected, f"output {i}: dtype {b_arr.dtype}, expected {expected}"
        assert b_arr.shape == a.shape, f"output {i}: shape {b_arr.shape}, oracle {a.shape}"
        if a.dtype == bool:
            np.testing.assert_array_equal(b_arr, a)
        else:
            np.testing.assert_allclose(b_arr, a, rtol=rtol, atol=atol, err_msg=f"output {i}")


def rounded(a, dtype):
    """(oracle input, twin input): the same values, float64 for the oracle."""
    a = np.asarray(a)
    return a.astype(dtype).astype(np.float64), a.astype(dtype)


def margin(values, threshold):
    """Smallest relative distance of ``values`` from ``threshold`` (inf when there are none)."""
    values, t = np.broadcast_arrays(np.asarray(values, np.float64), np.asarray(threshold, np.float64))
    if values.size == 0:
        return np.inf
    return float(np.min(np.abs(values - t) / np.maximum(np.abs(t), 1e-12)))


# ----------------------------------------------------------------------------- strategies
UNIT = st.floats(0.0, 1.0, width=32, allow_subnormal=False)
# k / 2^20 in [-1, 1]: exact in float32, and squares never underflow (CG divides by ||r||²)
GRID = st.integers(-(2**20), 2**20).map(lambda k: k / 2**20)


@st.composite
def stacks(draw, lo=4, hi=16, batch=(1, 3), elements=UNIT):
    """``(B, H, W)`` grey stacks, B in ``batch``, odd and even sides."""
    b = draw(st.integers(*batch))
    h, w = draw(st.integers(lo, hi)), draw(st.integers(lo, hi))
    return draw(hnp.arrays(np.float64, (b, h, w), elements=elements))


@st.composite
def kernels(draw, b, sizes=(1, 3, 5), nonneg=True):
    """``(b, kh, kw)`` kernels summing to 1 (odd or even sides)."""
    kh, kw = draw(st.sampled_from(sizes)), draw(st.sampled_from(sizes))
    k = draw(hnp.arrays(np.float64, (b, kh, kw), elements=st.floats(0.0 if nonneg else -0.25, 1.0, width=32, allow_subnormal=False)))
    k[:, kh // 2, kw // 2] += 0.5  # never all zero
    return k / np.abs(k).sum(axis=(1, 2), keepdims=True)  # sums to 1 when non-negative


LAMBDAS = st.sampled_from([1e-3, 2e-3, 4e-3, 1e-2, 3e-2])
LAMBDAS_OR_0 = st.sampled_from([0.0, 1e-3, 4e-3, 3e-2])  # λ_g = 0: no gradient prior


# ------------------------------------------------------------------------------- fourier
@dtypes
@compares_values(0.5)  # a grid one pixel smaller than the kernel: both must raise
@given(data=st.data())
def test_psf2otf_otf2psf(dtype, data):
    k = data.draw(kernels(data.draw(st.integers(1, 3)), sizes=(1, 2, 3, 4, 5), nonneg=False))
    shape = tuple(max(1, n + data.draw(st.integers(-1, 5))) for n in k.shape[1:])
    kr, kf = rounded(k, dtype)
    check(lambda: rd.psf2otf(kr, shape), lambda: fd.psf2otf(kf, shape), dtype)
    assume(shape[0] >= k.shape[1] and shape[1] >= k.shape[2])
    otf = rd.psf2otf(kr, shape)
    otf_f = otf.astype(np.result_type(dtype, np.complex64))
    check(lambda: rd.otf2psf(otf_f.astype(complex), k.shape[1:]), lambda: fd.otf2psf(otf_f, k.shape[1:]), dtype)


def test_names_parameters_and_defaults_are_the_oracles():
    """The twin mirrors the oracle one to one; ``like=`` (the array module and dtype of functions
    that build an array from a shape alone) is its only addition."""
    assert fd.__all__ == rd.__all__
    for name in rd.__all__:
        ref = inspect.signature(getattr(rd, name)).parameters
        fast = inspect.signature(getattr(fd, name)).parameters
        fast = {k: p for k, p in fast.items() if k != "like"}
        assert [(p.name, p.kind, p.default) for p in fast.values()] == [
            (p.name, p.kind, p.default) for p in ref.values()
        ], name
        assert getattr(fd, name).__doc__.startswith("Fast twin of :func:`sharpvid.reference.deblur."), name


def test_opt_fft_size_and_schedule_are_the_oracles():
    assert [fd.opt_fft_size(n) for n in range(1, 300)] == [rd.opt_fft_size(n) for n in range(1, 300)]
    for ks in (3, 7, 11, 25, 27, 55):
        assert fd.scale_schedule(ks) == rd.scale_schedule(ks)


@dtypes
@given(x=stacks(2, 12))
def test_circular_gradients_adjoint_and_energy(dtype, x):
    xr, xf = rounded(x, dtype)
    check(lambda: rd.grad_circ(xr), lambda: fd.grad_circ(xf), dtype)
    h, v = rd.grad_circ(xr)
    check(lambda: rd.grad_circ_adjoint(h, v),
          lambda: fd.grad_circ_adjoint(h.astype(dtype), v.astype(dtype)), dtype)
    W = x.shape[-1]
    # the twin returns the half spectrum: the oracle's first W // 2 + 1 columns
    check(lambda: rd.grad_otf_energy(x.shape[1:])[:, : W // 2 + 1],
          lambda: fd.grad_otf_energy(x.shape[1:], like=xf), dtype)


@dtypes
@given(data=st.data())
def test_convolve_circular_per_image_kernels(dtype, data):
    x = data.draw(stacks(5, 14))
    k = data.draw(kernels(x.shape[0]))
    assume(min(x.shape[1:]) >= max(k.shape[1:]))
    (xr, xf), (kr, kf) = rounded(x, dtype), rounded(k, dtype)
    ref = lambda: _stack([rd.convolve_circular(xr[i], kr[i]) for i in range(len(x))])  # noqa: E731
    check(ref, lambda: fd.convolve_circular(xf, kf), dtype)
    # (B, C, H, W) with one kernel per image, shared by its channels
    x4 = np.stack([x, 1 - x], axis=1)
    x4r, x4f = rounded(x4, dtype)
    ref4 = lambda: _stack([rd.convolve_circular(x4r[i], kr[i]) for i in range(len(x))])  # noqa: E731
    check(ref4, lambda: fd.convolve_circular(x4f, kf), dtype)


# ------------------------------------------------------------------------------- boundary
@dtypes
@given(data=st.data())
def test_wrap_boundary_liu_and_laplacian(dtype, data):
    x = data.draw(stacks(2, 12))
    H, W = x.shape[1:]
    shape = (H + data.draw(st.integers(0, 9)), W + data.draw(st.integers(0, 9)))
    xr, xf = rounded(x, dtype)
    v = data.draw(st.sampled_from(["release", "liu_jia"]))
    check(lambda: rd.wrap_boundary_liu(xr, shape, variant=v),
          lambda: fd.wrap_boundary_liu(xf, shape, variant=v), dtype)
    check(lambda: rd.wrap_pad(xr, (5, 3), boundary=v), lambda: fd.wrap_pad(xf, (5, 3), boundary=v), dtype)
    assume(H >= 3 and W >= 3)
    check(lambda: rd.solve_min_laplacian(xr), lambda: fd.solve_min_laplacian(xf), dtype)


def test_wrap_boundary_liu_rejects_like_the_oracle():
    """Both raise, the same one-line message: a twin that accepts fails here."""
    for img, shape in [(np.zeros((1, 5)), (4, 8)), (np.zeros((6, 6)), (5, 8)), (np.zeros(4), (4, 4))]:
        check_same_error(lambda: rd.wrap_boundary_liu(img, shape),
                         [lambda: fd.wrap_boundary_liu(img, shape)], one_line=True)
    img = np.zeros((6, 6))
    check_same_error(lambda: rd.wrap_boundary_liu(img, (8, 8), variant="cho"),
                     [lambda: fd.wrap_boundary_liu(img, (8, 8), variant="cho")], one_line=True)


# ------------------------------------------------------------------------ latent: one step
@dtypes
@given(s=stacks(2, 10, elements=st.floats(-1.0, 1.0, width=32, allow_subnormal=False)), data=st.data())
def test_hard_thresholds_per_image(dtype, s, data):
    b = len(s)
    lam = np.array(data.draw(st.lists(LAMBDAS, min_size=b, max_size=b)))
    lam_g = np.array(data.draw(st.lists(LAMBDAS_OR_0, min_size=b, max_size=b)))
    beta = np.array(data.draw(st.lists(st.sampled_from([0.01, 0.1, 1.0]), min_size=b, max_size=b)))
    sr, sf = rounded(s, dtype)
    h, v = rd.grad_circ(sr)
    t, eps = lam / beta, np.sqrt(lam)
    if dtype == np.float32:  # a value within float32 rounding of its threshold may flip
        assume(margin(sr**2, t[:, None, None] ) > 1e-5)
        assume(margin(h**2 + v**2, t[:, None, None] ) > 1e-5)
        assume(margin(h**2 + v**2, (eps**2)[:, None, None] ) > 1e-5)
    hf, vf = h.astype(dtype), v.astype(dtype)
    check(lambda: _stack([rd.threshold_intensity(sr[i], lam[i], beta[i]) for i in range(b)]),
          lambda: fd.threshold_intensity(sf, lam, beta), dtype)
    mu = np.where(lam_g == 0, 0.0, beta)  # the oracle's loop has μ = 2λ_g = 0 when λ_g = 0
    if dtype == np.float32:
        assume(margin(h**2 + v**2, (lam_g / np.where(mu == 0, 1, mu))[:, None, None]) > 1e-5)
    check(lambda: _stack([rd.threshold_gradient(h[i], v[i], lam_g[i], mu[i]) for i in range(b)]),
          lambda: fd.threshold_gradient(hf, vf, lam_g, mu), dtype)
    check(lambda: rd.threshold_gradient(h, v, 0.0, 0.0), lambda: fd.threshold_gradient(hf, vf, 0.0, 0.0), dtype)
    check(lambda: _stack([rd.threshold_phi0(h[i], v[i], eps[i]) for i in range(b)]),
          lambda: fd.threshold_phi0(hf, vf, eps), dtype)
    # scalars broadcast over the batch
    check(lambda: rd.threshold_intensity(sr, lam[0], beta[0]),
          lambda: fd.threshold_intensity(sf, lam[0], beta[0]), dtype)


@dtypes
@given(data=st.data())
def test_one_fft_latent_solve(dtype, data):
    y = data.draw(stacks(5, 14))
    b = len(y)
    k = data.draw(kernels(b))
    assume(min(y.shape[1:]) >= max(k.shape[1:]))
    h, v, u = (data.draw(hnp.arrays(np.float64, y.shape, elements=st.floats(-1, 1, width=32, allow_subnormal=False))) for _ in range(3))
    mu = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.01, 1.0, 100.0]), min_size=b, max_size=b)))
    beta = np.array(data.draw(st.lists(st.sampled_from([0.0, 0.008, 0.5, 8.0]), min_size=b, max_size=b)))
    assume(np.all(mu + beta > 0) or np.all(k[:, 0, 0] > 0))  # a solvable system
    (yr, yf), (kr, kf) = rounded(y, dtype), rounded(k, dtype)
    (hr, hf), (vr, vf), (ur, uf) = rounded(h, dtype), rounded(v, dtype), rounded(u, dtype)
    W = y.shape[-1]
    terms = [rd.fft_data_terms(yr[i], kr[i]) for i in range(b)]
    # the twin's Fourier terms are half spectra: the oracle's first W // 2 + 1 columns
    check(lambda: _stack([tuple(t[..., : W // 2 + 1] for t in ts) for ts in terms]),
          lambda: tuple(np.broadcast_to(t, (b,) + t.shape[-2:]) for t in fd.fft_data_terms(yf, kf)), dtype)
    ref = lambda: _stack([  # noqa: E731
        rd.solve_latent_fft(*terms[i], hr[i], vr[i], mu[i], ur[i], beta[i]) for i in range(b)
    ])
    fast = lambda: fd.solve_latent_fft(*fd.fft_data_terms(yf, kf), hf, vf, mu, uf, beta)  # noqa: E731
    # a small denominator (μ, β -> 0 at a zero of the kernel's OTF) amplifies float32 rounding;
    # bounded at 1e-4, since 1e-5 / denom grew to 0.4 at denom = 2e-5, above the values
    # themselves (on 300 examples the error beyond rtol stayed under 1e-6 even there)
    denom = min(float(np.min(np.abs(t[1]) + m * t[2] + bb)) for t, m, bb in zip(terms, mu, beta))
    atol = min(1e-5 / min(denom, 1.0), 1e-4)
    check(ref, fast, dtype, tol=(1e-4, atol) if dtype == np.float32 else None)


@dtypes
@given(data=st.data())
def test_one_iteration_of_each_latent_loop(dtype, data):
    """β_max, μ_max set just above 2λ so that the oracle's loops run once; in float64 the λ
    differ per image, so images with smaller λ run a few more steps than the others (masks)."""
    y = data.draw(stacks(5, 12))
    b = len(y)
    k = data.draw(kernels(b))
    assume(min(y.shape[1:]) >= max(k.shape[1:]))
    n_lam = b if dtype == np.float64 else 1
    lp = np.resize(data.draw(st.lists(LAMBDAS, min_size=n_lam, max_size=n_lam)), b)
    lg = np.resize(data.draw(st.lists(LAMBDAS, min_size=n_lam, max_size=n_lam)), b)
    eps0 = data.draw(st.sampled_from([0.1, 0.35, 1.0]))
    (yr, yf), (kr, kf) = rounded(y, dtype), rounded(k, dtype)
    if dtype == np.float32:  # keep the thresholds' inputs off their thresholds
        h, v = rd.grad_circ(yr)
        assume(margin(yr**2, 0.5 ) > 1e-5)  # λ_p / β = 1/2 at β = 2λ_p
        assume(margin(h**2 + v**2, 0.5 ) > 1e-5)  # λ_g / μ = 1/2 at μ = 2λ_g
        assume(margin(h**2 + v**2, eps0**2 ) > 1e-5)
    kw = dict(beta_max=3 * lp.max(), mu_max=3 * lg.max())
    tol = _LATENT_F32.get(dtype, _CHAOS64)
    check(lambda: _stack([rd.l0_deblur_whole(yr[i], kr[i], lp[i], lg[i], **kw) for i in range(b)]),
          lambda: fd.l0_deblur_whole(yf, kf, lp, lg, **kw), dtype, tol=tol)
    opts = dict(mu_max=kw["mu_max"], clamp=data.draw(st.booleans()),
                boundary=data.draw(st.sampled_from(["release", "liu_jia"])))
    check(lambda: _stack([rd.l0_restoration(yr[i], kr[i], lg[i], **opts) for i in range(b)]),
          lambda: fd.l0_restoration(yf, kf, lg, **opts), dtype, tol=tol)
    check(lambda: _stack([rd.unnatural_l0_deblur(yr[i], kr[i], lg[i], eps0=eps0, n_levels=1) for i in range(b)]),
          lambda: fd.unnatural_l0_deblur(yf, kf, lg, eps0=eps0, n_levels=1), dtype, tol=tol)




# ---------------------------------------------------------------- latent loops: fixed seeds
def _stack_of(n, size, seed, ksize=5):
    rng = np.random.default_rng(seed)
    x = np.stack([glyph_image(size, rng) if i % 2 == 0 else shapes_image(size, rng) for i in range(n)])
    k = np.stack([motion_kernel(ksize, rng) for _ in range(n)])
    y = np.stack([blur(x[i], k[i], 0.005, rng) for i in range(n)])
    return y.astype(np.float32).astype(np.float64), k  # on the float32 grid


def test_latent_loops_with_per_image_schedules():
    """Per-image λ give different β/μ schedule lengths: masks reproduce the oracle's loops."""
    y, k = _stack_of(3, 24, 0)
    y_pad = rd.wrap_pad(y, (5, 5))
    lp, lg = np.array([4e-3, 3e-2, 1e-3]), np.array([4e-3, 0.0, 2e-3])  # λ_g = 0: one μ = 0 step
    kw = dict(mu_max=1e2)
    check(lambda: _stack([rd.l0_deblur_whole(y_pad[i], k[i], lp[i], lg[i], **kw) for i in range(3)]),
          lambda: fd.l0_deblur_whole(y_pad, k, lp, lg, **kw), np.float64, tol=_CHAOS64)
    lg = np.array([4e-3, 0.2, 2e-3])  # λ_g > 0 in the gradient-only model
    check(lambda: _stack([rd.l0_restoration(y[i], k[i], lg[i]) for i in range(3)]),
          lambda: fd.l0_restoration(y, k, lg), np.float64, tol=_CHAOS64)
    check(lambda: _stack([rd.unnatural_l0_deblur(y_pad[i], k[i], lg[i] / 10, eps0=0.35) for i in range(3)]),
          lambda: fd.unnatural_l0_deblur(y_pad, k, lg / 10, eps0=0.35), np.float64, tol=_CHAOS64)
    # unbatched calls give the oracle's shapes
    check(lambda: rd.l0_deblur_whole(y_pad[0], k[0], 4e-3, 4e-3, **kw),
          lambda: fd.l0_deblur_whole(y_pad[0], k[0], 4e-3, 4e-3, **kw), np.float64, tol=_CHAOS64)




# ------------------------------------------------------------------------------ kernel
@dtypes
@given(x=stacks(6, 16), ksize=st.sampled_from([1, 3, 5]), data=st.data())
def test_thresholds_from_histograms_per_image(dtype, x, ksize, data):
    xr, xf = rounded(x, dtype)
    px, py = rd.valid_gradients(xr)
    check(lambda: rd.valid_gradients(xr), lambda: fd.valid_gradients(xf), dtype)
    # the histogram of the very gradients the twin gets: it is built in float64 in both
    (pxr, pxf), (pyr, pyf) = rounded(px, dtype), rounded(py, dtype)
    check(lambda: np.array([rd.estimate_threshold(pxr[i], pyr[i], ksize) for i in range(len(x))]),
          lambda: fd.estimate_threshold(pxf, pyf, ksize), dtype, out_dtypes={0: np.float64})
    # from the latent: float32 gradients differ from the oracle's by rounding, so in float32 a
    # given threshold only (the estimate is checked above), kept off the magnitudes
    choices = [0.0, 0.01, 0.1, 3.0] + ([None] if dtype == np.float64 else [])
    given_t = data.draw(st.sampled_from(choices))
    ts = [rd.threshold_pxpy(xr[i], ksize, given_t)[2] for i in range(len(x))]
    if dtype == np.float32:
        assume(margin(px**2 + py**2, 1.1 * np.array(ts)[:, None, None]) > 1e-5)
    check(lambda: _stack([rd.threshold_pxpy(xr[i], ksize, given_t) for i in range(len(x))]),
          lambda: fd.threshold_pxpy(xf, ksize, given_t), dtype, out_dtypes={2: np.float64})
    check(lambda: rd.threshold_pxpy(xr[0], ksize, given_t), lambda: fd.threshold_pxpy(xf[0], ksize, given_t),
          dtype, out_dtypes={2: np.float64})


def test_threshold_estimates_are_nonzero_on_blurred_images():
    """The histogram path with real edges (hypothesis' noise mostly gives small thresholds)."""
    y, _ = _stack_of(3, 40, 1)
    px, py = rd.valid_gradients(y)
    ref = np.array([rd.estimate_threshold(px[i], py[i], 3) for i in range(3)])
    assert np.all(ref > 0)
    check(lambda: ref, lambda: fd.estimate_threshold(px, py, 3), np.float64)
    check(lambda: _stack([rd.threshold_pxpy(y[i], 3) for i in range(3)]), lambda: fd.threshold_pxpy(y, 3),
          np.float64)


@dtypes
@given(data=st.data())
def test_conjugate_gradient_freezes_converged_systems(dtype, data):
    b_, n = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 6))
    m = data.draw(hnp.arrays(np.float64, (b_, n, n), elements=GRID))
    a = m @ m.transpose(0, 2, 1) + np.eye(n) * np.array(
        data.draw(st.lists(st.sampled_from([0.5, 2.0, 20.0]), min_size=b_, max_size=b_)))[:, None, None]
    rhs = data.draw(hnp.arrays(np.float64, (b_, n), elements=GRID))
    # float32: no tolerance test near its boundary, only exact convergence (r = 0) stops
    tol = 1e-3 if dtype == np.float64 else 1e-30
    max_iter = data.draw(st.integers(1, 8))
    (ar, af), (br, bf) = rounded(a, dtype), rounded(rhs, dtype)
    ref = lambda: _stack([  # noqa: E731
        rd.conjugate_gradient(lambda x: ar[i] @ x, br[i], np.zeros(n), max_iter=max_iter, tol=tol)
        for i in range(b_)
    ])
    # batched systems are (B, n, 1): a 1-D or 2-D right-hand side is one system, as the oracle's
    fast = lambda: fd.conjugate_gradient(  # noqa: E731
        lambda x: af @ x, bf[..., None], np.zeros((b_, n, 1), dtype), max_iter=max_iter, tol=tol
    )[..., 0]
    # CG's α, β are ratios of inner products: float32 rounding grows with the iterations
    check(ref, fast, dtype, tol=(1e-3, 1e-4) if dtype == np.float32 else (1e-8, 1e-10))
    check(lambda: rd.conjugate_gradient(lambda x: ar[0] @ x, br[0], np.zeros(n), max_iter=max_iter, tol=tol),
          lambda: fd.conjugate_gradient(lambda x: af[0] @ x, bf[0], np.zeros(n, dtype), max_iter=max_iter, tol=tol),
          dtype, tol=(1e-3, 1e-4) if dtype == np.float32 else (1e-8, 1e-10))


@st.composite
def gradient_problems(draw):
    """Gradients of a random latent and of its blur by a random kernel, per image."""
    x = draw(stacks(10, 18, batch=(1, 3)))
    k = draw(kernels(len(x), sizes=(3, 5)))
    y = np.stack([rd.convolve_circular(x[i], k[i]) for i in range(len(x))])
    return rd.valid_gradients(y) + rd.valid_gradients(x), k.shape[1:]


@dtypes
@given(problem=gradient_problems(), gamma=st.sampled_from([1e-3, 2.0, 40.0]))
def test_one_kernel_solve_cg_and_closed_form(dtype, problem, gamma):
    (bx, by, px, py), kshape = problem
    # a (nearly) constant image has rounding noise for gradients, which the solves amplify
    assume(np.abs(px).max(axis=(1, 2)).min() > 1e-3 and np.abs(bx).max(axis=(1, 2)).min() > 1e-3)
    (bxr, bxf), (byr, byf), (pxr, pxf), (pyr, pyf) = (rounded(a, dtype) for a in (bx, by, px, py))
    n = len(bx)
    raw = [rd.estimate_psf_cg(bxr[i], byr[i], pxr[i], pyr[i], gamma, kshape, rel_threshold=0) for i in range(n)]
    # the 5% cut: keep CG's values off it (the twin's CG differs from the oracle's by rounding)
    assume(all(margin(r_, 0.05 * r_.max() ) > 1e-6 for r_ in raw))
    # the twin's CG runs in float64 whatever the dtype; CG amplifies rounding (measured up to
    # ~1e7 on these systems), so float64 agrees to ~1e-9, float32 to its output rounding
    tol = (1e-6, 1e-8) if dtype == np.float64 else None
    check(lambda: _stack([rd.estimate_psf_cg(bxr[i], byr[i], pxr[i], pyr[i], gamma, kshape) for i in range(n)]),
          lambda: fd.estimate_psf_cg(bxf, byf, pxf, pyf, gamma, kshape), dtype, tol=tol)
    # closed form: a zero-clamp and a division by γ + |F p|²; float32 rounds both
    check(lambda: _stack([rd.estimate_psf_fft(bxr[i], byr[i], pxr[i], pyr[i], gamma, kshape) for i in range(n)]),
          lambda: fd.estimate_psf_fft(bxf, byf, pxf, pyf, gamma, kshape), dtype,
          tol=(1e-3, 1e-4) if dtype == np.float32 else None)


@st.composite
def sparse_kernels(draw):
    b = draw(st.integers(1, 4))
    kh, kw = draw(st.sampled_from([3, 5, 7])), draw(st.sampled_from([3, 5, 7]))
    vals = draw(hnp.arrays(np.float64, (b, kh, kw), elements=st.floats(-0.0625, 1.0, width=32, allow_subnormal=False)))
    keep = draw(hnp.arrays(bool, (b, kh, kw)))
    k = np.where(keep, vals, 0.0)
    if draw(st.booleans()):
        k = k / max(np.abs(k).sum(), 1e-3)  # masses near and below 0.1
    if draw(st.booleans()):
        k[draw(st.integers(0, b - 1))] = 0.0  # an empty kernel: the delta fallback
    return k


@dtypes
@given(k=sparse_kernels(), min_mass=st.sampled_from([0.1, 0.3]))
def test_prune_centre_threshold_normalise_per_image(dtype, k, min_mass):
    kr, kf = rounded(k, dtype)
    n = len(k)
    labels, count = scipy.ndimage.label(kr != 0, structure=np.pad(np.ones((1, 3, 3)), ((1, 1), (0, 0), (0, 0))))
    masses = scipy.ndimage.sum(kr, labels, np.arange(1, count + 1)) if count else np.array([])
    if dtype == np.float32:  # a component mass within rounding of the cut may go either way
        assume(margin(masses, min_mass) > 1e-5)
        assume(np.unique(np.round(masses, 5)).size == masses.size)  # "heaviest" well defined
    check(lambda: _stack([rd.prune_kernel(kr[i], min_mass=min_mass) for i in range(n)]),
          lambda: fd.prune_kernel(kf, min_mass=min_mass), dtype)
    check(lambda: _stack([rd.adjust_psf_center(kr[i]) for i in range(n)]),
          lambda: fd.adjust_psf_center(kf), dtype)
    check(lambda: _stack([rd.normalize_kernel(kr[i]) for i in range(n)]), lambda: fd.normalize_kernel(kf), dtype)
    if dtype == np.float32:
        assume(margin(kr, kr.max(axis=(1, 2), keepdims=True) / 20 ) > 1e-5)
    check(lambda: _stack([rd.threshold_kernel(kr[i], 20) for i in range(n)]),
          lambda: fd.threshold_kernel(kf, 20), dtype)
    check(lambda: rd.prune_kernel(kr[0]), lambda: fd.prune_kernel(kf[0]), dtype)


def test_prune_does_not_connect_across_the_batch():
    """Two images whose components touch across the batch axis stay separate components."""
    k = np.zeros((2, 5, 5))
    k[0, 2, 2], k[0, 0, 0] = 0.95, 0.05  # the 0.05 corner is pruned in image 0 ...
    k[1, 0, 0], k[1, 1, 1] = 0.5, 0.5  # ... though image 1's heavy component lies right "below"
    out = fd.prune_kernel(k)
    assert out[0, 0, 0] == 0.0 and out[1, 0, 0] == 0.5
    check(lambda: _stack([rd.prune_kernel(k[i]) for i in range(2)]), lambda: out, np.float64)


def test_delta_and_init_kernels():
    check(lambda: rd.delta_kernel((3, 5)), lambda: fd.delta_kernel((3, 5), like=np.zeros(1)), np.float64)
    check(lambda: np.stack([rd.delta_kernel((3, 5))] * 2), lambda: fd.delta_kernel((2, 3, 5)), np.float32)
    for size in (3, 5, 7):
        check(lambda: rd.init_kernel(size), lambda: fd.init_kernel(size), np.float32)
    for size in (2, 1):  # even, and below 3: the same one-line error
        check_same_error(lambda: rd.init_kernel(size), [lambda: fd.init_kernel(size)], one_line=True)


# ------------------------------------------------------------------------------ pyramid
@dtypes
@given(x=stacks(12, 30), s=st.integers(0, 4))
def test_downsample_image(dtype, x, s):
    factor = math.sqrt(0.5) ** s
    xr, xf = rounded(x, dtype)
    check(lambda: rd.downsample_image(xr, factor), lambda: fd.downsample_image(xf, factor), dtype)


@dtypes
@given(data=st.data())
def test_fix_and_resize_kernels_per_image(dtype, data):
    k = data.draw(sparse_kernels())
    k = np.abs(k)
    shape = (data.draw(st.integers(1, 11)), data.draw(st.integers(1, 11)))
    kr, kf = rounded(k, dtype)
    n = len(k)
    check(lambda: _stack([rd.fix_kernel_size(kr[i], shape) for i in range(n)]),
          lambda: fd.fix_kernel_size(kf, shape), dtype)
    if dtype == np.float64:
        # the zoom of a symmetric kernel has equal edge sums up to rounding, and fixsize's tie
        # then goes either way: a ramp makes every edge sum distinct
        ramp = 1e-3 * np.arange(k[0].size).reshape(k.shape[1:]) / k[0].size
        kr = kr + ramp * (1 + np.arange(n))[:, None, None]
        factor = data.draw(st.sampled_from([math.sqrt(2), 1.0, 1.5]))
        check(lambda: _stack([rd.resize_kernel(kr[i], factor, shape) for i in range(n)]),
              lambda: fd.resize_kernel(kr, factor, shape), dtype)


def test_resize_kernel_float32_on_estimated_kernels():
    """Kernels as the pipeline has them (positive, no exact ties): float32 resize is the oracle's."""
    rng = np.random.default_rng(3)
    k = np.stack([motion_kernel(s, rng) for s in (7, 7, 7)])
    kr, kf = rounded(k, np.float32)
    check(lambda: _stack([rd.resize_kernel(kr[i], math.sqrt(2), (9, 9)) for i in range(3)]),
          lambda: fd.resize_kernel(kf, math.sqrt(2), (9, 9)), np.float32)


# ------------------------------------------------------------------------------ non-blind
@dtypes
@given(data=st.data())
def test_tv_l2_deconvolution_and_bilateral(dtype, data):
    """TV-L2 (soft thresholds, convex) and the bilateral filter are continuous: whole loops."""
    y = data.draw(stacks(6, 14))
    k = data.draw(kernels(len(y)))
    assume(min(y.shape[1:]) >= max(k.shape[1:]))
    lam = data.draw(st.sampled_from([2e-3, 1e-2, 0.1]))
    (yr, yf), (kr, kf) = rounded(y, dtype), rounded(k, dtype)
    z = data.draw(hnp.arrays(np.float64, y.shape, elements=st.floats(-1, 1, width=32, allow_subnormal=False)))
    zr, zf = rounded(z, dtype)
    check(lambda: rd.soft_threshold(zr, 0.3), lambda: fd.soft_threshold(zf, 0.3), dtype)
    # each solve amplifies rounding by up to 1/(|K|² + g|D|²), g from λ/2 down to 1/(2·1e-3)
    tol = (1e-3, 1e-3) if dtype == np.float32 else (1e-9, 1e-10)
    opts = dict(clamp=data.draw(st.booleans()), boundary=data.draw(st.sampled_from(["release", "liu_jia"])))
    check(lambda: _stack([rd.deconv_tv_l2(yr[i], kr[i], lam, **opts) for i in range(len(y))]),
          lambda: fd.deconv_tv_l2(yf, kf, lam, **opts), dtype, tol=tol)
    y_pad = rd.wrap_pad(yr, k.shape[1:])
    one = 0.75 / lam  # b = 1/λ, then 1/(2λ) <= β_min: exactly one iteration
    check(lambda: _stack([rd.deblurring_adm_aniso(y_pad[i], kr[i], lam, beta_min=one) for i in range(len(y))]),
          lambda: fd.deblurring_adm_aniso(y_pad.astype(dtype), kf, lam, beta_min=one), dtype, tol=tol)
    sigma_s = data.draw(st.sampled_from([0.5, 1.0, 3.0]))
    check(lambda: rd.bilateral_filter(zr, sigma_s=sigma_s), lambda: fd.bilateral_filter(zf, sigma_s=sigma_s), dtype)


def test_ringing_artifacts_removal_per_image_kernels():
    y, k = _stack_of(2, 24, 2)
    y4 = np.stack([y, y**2], axis=1)  # (B, C, H, W): each image's kernel serves its channels
    for weight in (0.0, 1.0):
        check(lambda: _stack([rd.ringing_artifacts_removal(y4[i], k[i], weight_ring=weight) for i in range(2)]),
              lambda: fd.ringing_artifacts_removal(y4, k, weight_ring=weight), np.float64, tol=_CHAOS64)
    # the alternatives to the release: Liu-Jia padding, clamping, one padding for the L0 step
    opts = dict(boundary="liu_jia", clamp=True, pad_twice=False)
    check(lambda: _stack([rd.ringing_artifacts_removal(y4[i], k[i], **opts) for i in range(2)]),
          lambda: fd.ringing_artifacts_removal(y4, k, **opts), np.float64, tol=_CHAOS64)


# ---------------------------------------------------------------------- colour and scores
@dtypes
@given(y=hnp.arrays(np.float64, st.tuples(st.integers(1, 3), st.sampled_from([1, 3]), st.integers(1, 6),
                                          st.integers(1, 6)), elements=UNIT))
def test_rgb_to_luma_batched(dtype, y):
    yr, yf = rounded(y, dtype)
    check(lambda: _stack([rd.rgb_to_luma(yr[i]) for i in range(len(y))]), lambda: fd.rgb_to_luma(yf), dtype)
    check(lambda: rd.rgb_to_luma(yr[0]), lambda: fd.rgb_to_luma(yf[0]), dtype)
    check(lambda: rd.rgb_to_luma(yr[0, 0]), lambda: fd.rgb_to_luma(yf[0, 0]), dtype)


@given(data=st.data())
def test_scores_batched(data):
    k = data.draw(kernels(data.draw(st.integers(1, 3)), sizes=(3, 5)))
    t = data.draw(kernels(len(k), sizes=(3, 5, 7)))
    f64 = {0: np.float64}
    check(lambda: np.array([rd.kernel_similarity(k[i], t[i]) for i in range(len(k))]),
          lambda: fd.kernel_similarity(k, t), np.float64, tol=(1e-11, 1e-11))
    check(lambda: rd.kernel_similarity(k[0], t[0]), lambda: fd.kernel_similarity(k[0], t[0]), np.float64,
          tol=(1e-11, 1e-11))
    x = data.draw(stacks(12, 16))
    x_hat = x + data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-0.125, 0.125, width=32, allow_subnormal=False)))
    kw = dict(border=3, max_shift=2.0, step=data.draw(st.sampled_from([0.5, 1.0])))
    check(lambda: np.array([rd.ssd_upto_shift(x_hat[i], x[i], **kw) for i in range(len(x))]),
          lambda: fd.ssd_upto_shift(x_hat, x, **kw), np.float64, out_dtypes=f64)
    check(lambda: np.array([rd.psnr_upto_shift(x_hat[i], x[i], **kw) for i in range(len(x))]),
          lambda: fd.psnr_upto_shift(x_hat, x, **kw), np.float64, out_dtypes=f64)
    check(lambda: np.array([rd.error_ratio(x_hat[i], (x_hat[i] + x[i]) / 2, x[i], **kw) for i in range(len(x))]),
          lambda: fd.error_ratio(x_hat, (x_hat + x) / 2, x, **kw), np.float64, out_dtypes=f64)
    x4, x4_hat = x[:, None], x_hat[:, None]
    check(lambda: np.array([rd.psnr(x4_hat[i], x4[i]) for i in range(len(x))]),
          lambda: fd.psnr(x4_hat, x4), np.float64, out_dtypes=f64)
    check(lambda: rd.psnr(x[0], x[0]), lambda: fd.psnr(x[0], x[0]), np.float64)


# ------------------------------------------------------------------- one scale, two drivers
def test_one_scale_of_each_method_per_image():
    y, _ = _stack_of(3, 32, 4)
    k0 = np.broadcast_to(rd.init_kernel(5), (3, 5, 5))
    thr = np.array([rd.threshold_pxpy(y[i], 5)[2] for i in range(3)])
    lam = np.array([4e-3, 2e-3, 1e-3])
    kw = dict(n_iter=2)
    ref = [rd.blind_deconv_scale_text(y[i], k0[i], lam[i], lam[i], thr[i], **kw) for i in range(3)]
    # CG inside: measured differences ~1e-10 for these seeds (see test_pipeline_float64)
    check(lambda: _stack(ref), lambda: fd.blind_deconv_scale_text(y, k0, lam, lam, thr, **kw), np.float64,
          tol=_PIPE64, out_dtypes={1: np.float64, 2: np.float64})
    check(lambda: _stack([rd.blind_deconv_scale_natural(y[i], k0[i], 6e-3, **kw) for i in range(3)]),
          lambda: fd.blind_deconv_scale_natural(y, k0, np.full(3, 6e-3), **kw), np.float64, tol=_PIPE64,
          out_dtypes={1: np.float64})
    check(lambda: rd.blind_deconv_scale_natural(y[0], k0[0], 6e-3, **kw),
          lambda: fd.blind_deconv_scale_natural(y[0], k0[0], 6e-3, **kw), np.float64, tol=_PIPE64)


# ------------------------------------------------------------------------- whole pipeline
METHODS = {
    "text": (rd.deblur_text_l0, fd.deblur_text_l0),
    "natural": (rd.deblur_natural_l0, fd.deblur_natural_l0),
}
PIPE_SIZE, PIPE_K = 64, 11  # two scales (kernels 9 and 11)


@pytest.fixture(scope="module")
def synthetic_batch():
    """Three blurred 64 px images (two glyph pages, one cartoon), on the float32 grid."""
    rng = np.random.default_rng(0)
    x = [glyph_image(PIPE_SIZE, rng), shapes_image(PIPE_SIZE, rng), glyph_image(PIPE_SIZE, rng)]
    k = [motion_kernel(PIPE_K, rng) for _ in range(3)]
    y = np.stack([blur(x[i], k[i], 0.005, rng) for i in range(3)])[:, None]  # (3, 1, H, W)
    return y.astype(np.float32).astype(np.float64)


@pytest.fixture(scope="module")
def oracle_results(synthetic_batch):
    return {
        name: _stack([ref(y, PIPE_K) for y in synthetic_batch]) for name, (ref, _) in METHODS.items()
    }


@pytest.mark.parametrize("method", METHODS)
def test_pipeline_float64(method, synthetic_batch, oracle_results):
    _, fast = METHODS[method]
    check(lambda: oracle_results[method], lambda: fast(synthetic_batch, PIPE_K), np.float64, tol=_PIPE64)


@pytest.mark.parametrize("method", METHODS)
def test_pipeline_float32(method, synthetic_batch, oracle_results):
    """float32: the kernels are the oracle's up to a few flipped hard decisions.

    Measured: kernel similarity >= 0.97 to the oracle's.  The latent is compared with the oracle's
    own non-blind step run on the twin's kernel (the kernel's float32 drift is bounded by the
    similarity; the latent of a 1-pixel-shifted kernel is a shifted image, and the text method's
    L0 restoration turns tiny kernel differences into visible ones).
    """
    ref, fast = METHODS[method]
    y32 = synthetic_batch.astype(np.float32)
    latent, kernels_ = fast(y32, PIPE_K)
    assert latent.dtype == np.float32 and kernels_.dtype == np.float32
    assert latent.shape == synthetic_batch.shape and kernels_.shape == (3, PIPE_K, PIPE_K)
    ref_latent, ref_kernels = oracle_results[method]
    for i in range(3):
        assert rd.kernel_similarity(kernels_[i].astype(np.float64), ref_kernels[i]) >= 0.95
        k64 = kernels_[i].astype(np.float64)
        if method == "text":
            expected = rd.ringing_artifacts_removal(synthetic_batch[i], k64)
        else:
            expected = rd.deconv_tv_l2(synthetic_batch[i], k64, 2.0 / 2e3)
        assert rd.psnr(latent[i].astype(np.float64), expected) >= 35.0
    if method == "natural":  # no CG, no L0 cascade in the final step: the latents themselves
        for i in range(3):
            assert rd.psnr(latent[i].astype(np.float64), ref_latent[i]) >= 35.0


@pytest.mark.parametrize("method", METHODS)
def test_batch_equals_images_stacked(method, synthetic_batch):
    """Nothing couples the images of a batch (float32, the default path)."""
    _, fast = METHODS[method]
    y = np.concatenate([synthetic_batch, synthetic_batch[:1] ** 1.5]).astype(np.float32)
    latent, kernels_ = fast(y, PIPE_K)
    for i in range(len(y)):
        li, ki = fast(y[i], PIPE_K)  # (C, H, W): the oracle's unbatched shapes
        assert li.shape == y[i].shape and ki.shape == (PIPE_K, PIPE_K)
        np.testing.assert_array_equal(latent[i], li)  # the same operations on the same values
        np.testing.assert_array_equal(kernels_[i], ki)


def test_colour_and_grey_inputs_give_the_oracles_shapes():
    y, _ = _stack_of(1, 32, 5)
    y = np.clip(y, 0.0, 1.0)
    rgb = np.stack([y[0], y[0] ** 2, y[0] ** 0.5])  # (3, H, W)
    for yy in (y[0], rgb, rgb[None]):
        ref = rd.deblur_natural_l0(yy if yy.ndim < 4 else yy[0], 5)
        out = fd.deblur_natural_l0(yy, 5)
        if yy.ndim == 4:
            out = (out[0][0], out[1][0])
        check(lambda: ref, lambda: out, np.float64, tol=_PIPE64)


@pytest.mark.parametrize("method", METHODS)
def test_constant_image(method):
    """No gradients at all: both twins fall back to the delta kernel the same way."""
    ref, fast = METHODS[method]
    y = np.full((1, 24, 24), 0.5)
    check(lambda: ref(y, 5), lambda: fast(y, 5), np.float64)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bad", ["even", "large", "small", "nan", "ndim", "channels", "too-large-coarse"])
def test_driver_errors_are_the_oracles(method, bad):
    ref, fast = METHODS[method]
    y, ks = np.full((20, 20), 0.5), 5
    if bad == "even":
        ks = 4
    elif bad == "large":
        ks = 21
    elif bad == "small":
        ks = 1
    elif bad == "nan":
        y = y.copy()
        y[3, 4] = np.nan
    elif bad == "ndim":
        y = np.zeros(20)
    elif bad == "channels":
        y = np.zeros((2, 20, 20))
    elif bad == "too-large-coarse":
        ks = 19
    with pytest.raises(ValueError) as ref_err:
        ref(y, ks)
    with pytest.raises(ValueError) as fast_err:
        fast(y, ks)
    if bad != "ndim":  # the twin also accepts 4-D input, and says so
        assert str(fast_err.value) == str(ref_err.value)
    with pytest.raises(ValueError):  # the same checks on a batch
        fast(np.stack([y, y])[:, None] if y.ndim == 2 else np.zeros((2, 2, 20, 20)), ks)


def test_five_dimensional_input_is_rejected():
    with pytest.raises(ValueError, match="y must have 2 or 3 or 4 dimensions"):
        fd.deblur_text_l0(np.zeros((1, 1, 1, 20, 20)), 5)


# ---------------------------------------------------------------------------------- CuPy
def _cupy():
    if not _xp.cupy_available():
        pytest.skip("CuPy with a CUDA device is not available")
    import cupy

    return cupy


@pytest.mark.gpu
def test_gpu_steps_match_numpy():
    cp = _cupy()
    y, k = _stack_of(3, 24, 6)
    for dtype in DTYPES:
        yc, kc = cp.asarray(y.astype(dtype)), cp.asarray(k.astype(dtype))
        yn, kn = y.astype(dtype), k.astype(dtype)
        pairs = [
            (fd.psf2otf(kc, (24, 24)), fd.psf2otf(kn, (24, 24))),
            (fd.wrap_pad(yc, (5, 5)), fd.wrap_pad(yn, (5, 5))),
            (fd.convolve_circular(yc, kc), fd.convolve_circular(yn, kn)),
            (fd.threshold_pxpy(yc, 5)[0], fd.threshold_pxpy(yn, 5)[0]),
            (fd.estimate_threshold(*fd.valid_gradients(yc), 3), fd.estimate_threshold(*fd.valid_gradients(yn), 3)),
            (fd.prune_kernel(kc * (kc > 0.02)), fd.prune_kernel(kn * (kn > 0.02))),
            (fd.adjust_psf_center(kc), fd.adjust_psf_center(kn)),
            (fd.resize_kernel(kc, math.sqrt(2), (7, 7)), fd.resize_kernel(kn, math.sqrt(2), (7, 7))),
            (fd.downsample_image(yc, 0.5), fd.downsample_image(yn, 0.5)),
            (fd.deconv_tv_l2(yc, kc, 2e-3), fd.deconv_tv_l2(yn, kn, 2e-3)),
            (fd.bilateral_filter(yc), fd.bilateral_filter(yn)),
        ]
        rtol, atol = (1e-9, 1e-10) if dtype == np.float64 else (1e-3, 1e-4)
        for got, want in pairs:
            assert isinstance(got, cp.ndarray)
            assert got.dtype == want.dtype
            np.testing.assert_allclose(cp.asnumpy(got), want, rtol=rtol, atol=atol)


@pytest.mark.gpu
@pytest.mark.parametrize("method", METHODS)
def test_gpu_pipeline_matches_the_oracle(method, synthetic_batch, oracle_results):
    cp = _cupy()
    _, fast = METHODS[method]
    latent, kernels_ = fast(cp.asarray(synthetic_batch), PIPE_K)
    assert isinstance(latent, cp.ndarray) and latent.dtype == np.float64
    ref_latent, ref_kernels = oracle_results[method]
    for i in range(3):
        assert rd.kernel_similarity(cp.asnumpy(kernels_[i]), ref_kernels[i]) >= 0.95
    latent32, kernels32 = fast(cp.asarray(synthetic_batch.astype(np.float32)), PIPE_K)
    assert latent32.dtype == np.float32 and kernels32.shape == (3, PIPE_K, PIPE_K)
    for i in range(3):
        assert rd.kernel_similarity(cp.asnumpy(kernels32[i]).astype(np.float64), ref_kernels[i]) >= 0.95


@pytest.mark.gpu
def test_gpu_dlpack_round_trip_from_torch(synthetic_batch):
    cp = _cupy()
    t = torch.as_tensor(synthetic_batch, dtype=torch.float32, device="cuda")
    y = _xp.from_torch(t)  # no host copy
    assert isinstance(y, cp.ndarray) and y.data.ptr == t.data_ptr()
    latent, kernels_ = fd.deblur_natural_l0(y, PIPE_K)
    back = _xp.to_torch(latent)
    assert back.is_cuda and back.dtype == torch.float32 and tuple(back.shape) == tuple(t.shape)
    # torch tensors are also accepted directly (they cross over by DLPack)
    latent2, _ = fd.deblur_natural_l0(t, PIPE_K)
    np.testing.assert_allclose(cp.asnumpy(latent2), cp.asnumpy(latent), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("keep_zero", [False, True])
def test_text_options_match_the_oracle(keep_zero):
    """The release's λ rule (λ_p = λ_g = threshold even from λ_p = 0; these 96 px images have
    coarsest thresholds of about 0.01-0.03 < λ_g/10) and the alternatives to the release (Liu-Jia
    padding, clamping, single padding), through the whole text pipeline."""
    rng = np.random.default_rng(4)
    y = np.stack([rd.convolve_circular(glyph_image(96, rng), motion_kernel(9, rng)) for _ in range(2)])
    thresholds = [rd.threshold_pxpy(rd.downsample_image(im, 0.7071067811865476), 7)[2] for im in y]
    assert all(0 < t < 0.1 for t in thresholds)
    opts = dict(lambda_pixel=0.0, lambda_grad=1.0, keep_zero_lambda_pixel=keep_zero, n_iter=1)
    ref = lambda: _stack([rd.deblur_text_l0(im[None], 9, **opts) for im in y])  # noqa: E731
    fast = lambda: fd.deblur_text_l0(y[:, None], 9, **opts)  # noqa: E731
    if not keep_zero:
        check(ref, fast, np.float64, tol=_PIPE64)
        return
    # λ_p stays 0: the gradient-only route, whose hard threshold at λ_g/μ flips a pixel on a
    # 1e-16 difference (NumPy's and torch's FFTs round differently), and a flip spreads.  How far
    # depends on the machine's FFT and BLAS kernels: on an AMD EPYC the images were 4.3e-4 apart,
    # on an Intel Xeon 1.6 % of the pixels differ by more than 1e-3 (at most 0.023).  So the
    # kernels are compared element-wise and the images as a whole (mean and worst difference),
    # which holds on both.  Measured on the Xeon: kernels 4.6e-5 apart, images 1.2e-4 on average.
    opts.update(boundary="liu_jia", clamp=True, pad_twice=False)
    (r_latent, r_kernel), (f_latent, f_kernel) = ref(), fast()
    f_latent, f_kernel = _xp.to_numpy(f_latent), _xp.to_numpy(f_kernel)
    assert f_latent.shape == r_latent.shape and f_kernel.shape == r_kernel.shape
    np.testing.assert_allclose(f_kernel, r_kernel, rtol=1e-3, atol=1e-3)
    diff = np.abs(f_latent - r_latent)
    assert diff.mean() < 1e-3 and diff.max() < 0.1, (diff.mean(), diff.max())
