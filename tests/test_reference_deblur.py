"""Tests of the blind L0 deblurring oracle :mod:`sharpvid.reference.deblur` (Pan et al. 2014; Xu et
al. 2013).

Fast step-level checks (closed forms, adjoints, per-pixel threshold rules under hypothesis) and
a few seeded end-to-end runs on small synthetic images (tests/deblur_synthetic.py).
"""

from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sharpvid.reference.deblur import (
    adjust_psf_center,
    bilateral_filter,
    blind_deconv_scale_text,
    convolve_circular,
    deblur_natural_l0,
    deblur_text_l0,
    deblurring_adm_aniso,
    deconv_tv_l2,
    delta_kernel,
    downsample_image,
    error_ratio,
    estimate_kernel_natural,
    estimate_psf_cg,
    estimate_psf_fft,
    estimate_threshold,
    fft_data_terms,
    fix_kernel_size,
    grad_circ,
    grad_circ_adjoint,
    grad_otf_energy,
    init_kernel,
    kernel_similarity,
    l0_deblur_whole,
    l0_restoration,
    opt_fft_size,
    otf2psf,
    prune_kernel,
    psf2otf,
    psnr,
    psnr_upto_shift,
    resize_kernel,
    rgb_to_luma,
    ringing_artifacts_removal,
    scale_schedule,
    soft_threshold,
    solve_latent_fft,
    solve_min_laplacian,
    ssd_upto_shift,
    threshold_gradient,
    threshold_intensity,
    threshold_kernel,
    threshold_phi0,
    threshold_pxpy,
    unnatural_l0_deblur,
    valid_gradients,
    wrap_boundary_liu,
    wrap_pad,
)
from deblur_synthetic import blur, glyph_image, motion_kernel, shapes_image

MODULES = [
    "fourier", "boundary", "latent", "kernel", "pyramid", "nonblind", "text", "natural",
    "evaluate", "color",
]

# A kernel whose OTF stays >= 0.2 in modulus, so the inverse filter is exact and stable.
K_INVERTIBLE = np.array([[0.0, 0.1, 0.0], [0.1, 0.6, 0.1], [0.0, 0.1, 0.0]])

floats = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
small_images = arrays(np.float64, st.tuples(st.integers(3, 12), st.integers(3, 12)), elements=floats)
positive = st.floats(1e-3, 10.0)

# Levin's comp_upto_shift made cheaper for 96-px test images.
SHIFT = dict(border=10, max_shift=3, step=0.25)


def _centroid_offset(k: np.ndarray) -> np.ndarray:
    """(row, col) distance of the kernel's centroid from its centre pixel."""
    rows, cols = np.indices(k.shape)
    c = np.array([(k * rows).sum(), (k * cols).sum()]) / k.sum()
    return np.abs(c - (np.array(k.shape) - 1) / 2)


def _assert_valid_kernel(k: np.ndarray, size: int) -> None:
    """Sec. 3 (d) of the spec: non-negative, sums to 1, odd size, centroid within 1 px."""
    assert k.shape == (size, size) and size % 2 == 1
    assert np.all(k >= 0)
    assert abs(k.sum() - 1) < 1e-10
    assert np.all(_centroid_offset(k) <= 1.0)


# ---------------------------------------------------------------------------------------------
# docstring examples


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(f"sharpvid.reference.deblur.{name}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0, result


# ---------------------------------------------------------------------------------------------
# fourier


@given(
    arrays(np.float64, st.tuples(st.integers(1, 7), st.integers(1, 7)), elements=floats),
    st.integers(0, 6),
    st.integers(0, 6),
)
def test_psf2otf_otf2psf_round_trip(k, extra_h, extra_w):
    shape = (k.shape[0] + extra_h, k.shape[1] + extra_w)
    np.testing.assert_allclose(otf2psf(psf2otf(k, shape), k.shape), k, atol=1e-12)


def test_psf2otf_centres_the_kernel_like_matlab():
    k = np.zeros((3, 5))
    k[1, 2] = 1.0  # the centre (kh // 2, kw // 2)
    np.testing.assert_allclose(psf2otf(k, (8, 9)), np.ones((8, 9)), atol=1e-12)


def test_convolve_circular_is_a_true_convolution():
    rng = np.random.default_rng(0)
    x, k = rng.random((12, 10)), rng.random((3, 5))
    expected = scipy.ndimage.convolve(x, k, mode="wrap")
    np.testing.assert_allclose(convolve_circular(x, k), expected, atol=1e-12)


@pytest.mark.parametrize(
    "n, expected", [(1, 1), (11, 11), (17, 18), (97, 98), (121, 125), (143, 144), (281, 288)]
)
def test_opt_fft_size_values(n, expected):
    assert opt_fft_size(n) == expected


@given(st.integers(1, 3000))
def test_opt_fft_size_is_the_smallest_friendly_size(n):
    def friendly(m):
        for p in (2, 3, 5, 7):
            while m % p == 0:
                m //= p
        return m in (1, 11, 13)

    m = opt_fft_size(n)
    assert m >= n and friendly(m)
    assert not any(friendly(j) for j in range(n, m))


@given(small_images, st.data())
def test_grad_circ_adjoint(x, data):
    h = data.draw(arrays(np.float64, x.shape, elements=floats))
    v = data.draw(arrays(np.float64, x.shape, elements=floats))
    gh, gv = grad_circ(x)
    lhs = np.sum(gh * h) + np.sum(gv * v)  # <D x, (h, v)>
    rhs = np.sum(x * grad_circ_adjoint(h, v))  # <x, D^T (h, v)>
    assert abs(lhs - rhs) <= 1e-9 * (1 + abs(lhs))


def test_grad_otf_energy_is_the_symbol_of_dtd():
    rng = np.random.default_rng(1)
    x = rng.random((6, 7))
    dtd = grad_circ_adjoint(*grad_circ(x))
    via_fft = np.real(np.fft.ifft2(grad_otf_energy(x.shape) * np.fft.fft2(x)))
    np.testing.assert_allclose(via_fft, dtd, atol=1e-12)


def test_leading_axes_are_a_batch():
    """The fast twin adds a batch axis: a stack must equal the stacked per-image results."""
    rng = np.random.default_rng(2)
    y = rng.random((2, 20, 24))
    stacked = np.stack([wrap_pad(im, (5, 5)) for im in y])
    np.testing.assert_allclose(wrap_pad(y, (5, 5)), stacked, atol=1e-12)
    k = motion_kernel(5, np.random.default_rng(0))
    out = ringing_artifacts_removal(y, k)
    np.testing.assert_allclose(out[1], ringing_artifacts_removal(y[1], k), atol=1e-12)


# ---------------------------------------------------------------------------------------------
# boundary


@pytest.mark.parametrize("variant, bound", [("liu_jia", 0.07), ("release", 0.13)])
def test_wrap_boundary_liu_crop_and_circular_smoothness(variant, bound):
    # a ramp: a jump of 1 across the vertical wrap and 0.5 across the horizontal one
    yy, xx = np.mgrid[:30, :40]
    img = yy / 29 + 0.5 * xx / 39
    out = wrap_boundary_liu(img, (45, 54), variant=variant)
    assert out.shape == (45, 54)
    np.testing.assert_array_equal(out[:30, :40], img)
    # every step, including the one across the wrap, stays small (no jump of 1 or 0.5); the
    # release's A sits one row off against the corner C, which doubles the largest step
    jumps_v = np.abs(out - np.roll(out, -1, axis=0)).max()
    jumps_h = np.abs(out - np.roll(out, -1, axis=1)).max()
    assert jumps_v < bound and jumps_h < bound, (jumps_v, jumps_h)


def test_wrap_boundary_release_quirks_by_hand():
    """Cho's code as released (alpha = 1): A's first row repeats the image's last row; its side
    columns run from the last row's value to the first row's with weights (i-1)/(H_w-1), so
    the first interpolated value repeats the edge too; its last solved row is dropped."""
    rng = np.random.default_rng(5)
    img = rng.random((6, 7))
    hw = 4
    out = wrap_boundary_liu(img, (6 + hw, 9), variant="release")
    np.testing.assert_array_equal(out[6, :7], img[-1])  # A(1, :) = the bordered row
    # side column of A: rows 1..hw of r_A with weights 0, 1/3, 2/3, 1; out holds rows 0..hw-1
    t = np.arange(hw) / (hw - 1)
    side = (1 - t) * img[-1, 0] + t * img[0, 0]
    np.testing.assert_allclose(out[7:10, 0], side[:3], atol=1e-15)
    liu = wrap_boundary_liu(img, (6 + hw, 9), variant="liu_jia")
    t = np.arange(1, hw + 1) / (hw + 1)
    np.testing.assert_allclose(liu[6:10, 0], (1 - t) * img[-1, 0] + t * img[0, 0], atol=1e-15)
    with pytest.raises(ValueError, match="boundary must be one of"):
        wrap_boundary_liu(img, (8, 9), variant="cho")


def test_solve_min_laplacian_is_harmonic():
    rng = np.random.default_rng(3)
    b = rng.random((9, 11))
    u = solve_min_laplacian(b)
    lap = u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:] - 4 * u[1:-1, 1:-1]
    np.testing.assert_allclose(lap, 0.0, atol=1e-12)
    np.testing.assert_array_equal(u[0], b[0])
    np.testing.assert_array_equal(u[:, -1], b[:, -1])


# ---------------------------------------------------------------------------------------------
# latent step: closed forms and per-pixel threshold rules


def test_latent_solvers_invert_an_exact_circular_blur_as_lambda_goes_to_zero():
    x = shapes_image(32, np.random.default_rng(4))
    y = convolve_circular(x, K_INVERTIBLE)  # exactly circular, no noise
    numer, dk, dg = fft_data_terms(y, K_INVERTIBLE)
    zero = np.zeros_like(x)
    np.testing.assert_allclose(solve_latent_fft(numer, dk, dg, zero, zero, 0.0), x, atol=1e-10)
    np.testing.assert_allclose(l0_deblur_whole(y, K_INVERTIBLE, 1e-9, 1e-9), x, atol=1e-6)
    np.testing.assert_allclose(unnatural_l0_deblur(y, K_INVERTIBLE, 1e-9), x, atol=1e-6)
    np.testing.assert_allclose(deblurring_adm_aniso(y, K_INVERTIBLE, 1e-9), x, atol=1e-6)


def test_solve_latent_fft_is_the_minimiser():
    """Eq. (11): the gradient of the quadratic energy vanishes at the FFT solution."""
    rng = np.random.default_rng(5)
    y, u, h, v = rng.random((4, 10, 12))
    k, mu, beta = motion_kernel(5, rng), 0.7, 0.3
    numer, dk, dg = fft_data_terms(y, k)
    x = solve_latent_fft(numer, dk, dg, h, v, mu, u, beta)
    kt = k[::-1, ::-1]  # adjoint of the circular convolution
    gx, gy = grad_circ(x)
    grad = (
        convolve_circular(convolve_circular(x, k) - y, kt)
        + beta * (x - u)
        + mu * grad_circ_adjoint(gx - h, gy - v)
    )
    np.testing.assert_allclose(grad, 0.0, atol=1e-10)


@given(small_images, st.floats(1e-4, 1.0), positive)
def test_threshold_intensity_minimises_per_pixel(s, lam, beta):
    u = threshold_intensity(s, lam, beta)
    energy_u = beta * (u - s) ** 2 + lam * (u != 0)
    energy_best = np.minimum(beta * s**2, lam)  # u = 0 or u = s
    assert np.all(energy_u <= energy_best + 1e-12)
    assert np.all((u == 0) | (u == s))


@given(small_images, st.data(), st.floats(1e-4, 1.0), positive)
def test_threshold_gradient_minimises_per_pixel(h, data, lam, mu):
    v = data.draw(arrays(np.float64, h.shape, elements=floats))
    th, tv = threshold_gradient(h, v, lam, mu)
    energy = mu * ((th - h) ** 2 + (tv - v) ** 2) + lam * ((th != 0) | (tv != 0))
    assert np.all(energy <= np.minimum(mu * (h**2 + v**2), lam) + 1e-12)
    kept = (th == h) & (tv == v)
    zeroed = (th == 0) & (tv == 0)
    assert np.all(kept | zeroed)


@given(small_images, st.data(), st.floats(1e-3, 1.0))
def test_threshold_phi0_is_the_variational_l_step(h, data, eps):
    v = data.draw(arrays(np.float64, h.shape, elements=floats))
    lh, lv = threshold_phi0(h, v, eps)
    # l = argmin (1/eps^2)|g - l|^2 + [l != 0]
    energy = ((lh - h) ** 2 + (lv - v) ** 2) / eps**2 + ((lh != 0) | (lv != 0))
    assert np.all(energy <= np.minimum((h**2 + v**2) / eps**2, 1.0) + 1e-9)
    # and it equals Pan's rule with lambda / mu = eps^2
    gh, gv = threshold_gradient(h, v, 1.0, 1.0 / eps**2)
    np.testing.assert_array_equal(lh, gh)
    np.testing.assert_array_equal(lv, gv)


@given(small_images, st.floats(0.0, 1.0))
def test_soft_threshold_is_the_l1_prox(z, t):
    w = soft_threshold(z, t)
    # optimality: |w - z| <= t, and w - z = -t sign(w) where w != 0
    assert np.all(np.abs(w - z) <= t + 1e-12)
    nz = w != 0
    np.testing.assert_allclose((w - z)[nz], -t * np.sign(w[nz]), atol=1e-12)


def test_l0_restoration_keeps_a_piecewise_constant_image():
    x = shapes_image(40, np.random.default_rng(6))
    np.testing.assert_allclose(l0_restoration(x, delta_kernel((3, 3)), 1e-6), x, atol=1e-3)
    # a larger λ flattens the weakest edges only
    assert psnr(l0_restoration(x, delta_kernel((3, 3)), 1e-3), x) > 35


# ---------------------------------------------------------------------------------------------
# kernel step


def test_valid_gradients_match_matlab_conv2_valid():
    rng = np.random.default_rng(7)
    x = rng.random((9, 11))
    px, py = valid_gradients(x)
    np.testing.assert_allclose(px, scipy.signal.convolve2d(x, [[-1, 1], [0, 0]], "valid"))
    np.testing.assert_allclose(py, scipy.signal.convolve2d(x, [[-1, 0], [1, 0]], "valid"))


def test_estimate_threshold_histc_semantics():
    # 4 orientation bins with 10 pixels each at pm = 0.5 (a grid point of 0:6e-5:2)
    angles = np.array([np.pi / 8, 3 * np.pi / 8, -np.pi / 8, -3 * np.pi / 8])
    r = np.sqrt(0.5)
    px = np.repeat(r * np.cos(angles), 10)[None]
    py = np.repeat(r * np.sin(angles), 10)[None]
    t = estimate_threshold(px, py, kernel_size=0)  # th = max(20 * 0, 10) = 10 pixels per bin
    assert abs(t - 0.5) <= 6e-5
    # magnitudes above the last edge (2) are not counted by histc
    t_big = estimate_threshold(3 * px, 3 * py, kernel_size=0)
    assert t_big == 0.0


def test_threshold_pxpy_decays_a_given_threshold_and_never_zeroes_everything():
    x = np.zeros((10, 10))
    x[:, 5:] = 0.1  # |grad|^2 = 0.01 on one column
    px, py, t = threshold_pxpy(x, 3, 1.0)  # 1.0 would zero everything: 0.81 ** n until not
    assert np.count_nonzero(px) == 9
    assert t <= 0.01 / 1.1 + 1e-12


@pytest.mark.parametrize("solver", [estimate_psf_cg, estimate_psf_fft])
def test_kernel_solvers_recover_a_kernel_from_the_sharp_image(solver):
    rng = np.random.default_rng(8)
    x = shapes_image(48, rng)
    k = motion_kernel(9, rng)
    px, py = valid_gradients(x)
    bx, by = valid_gradients(convolve_circular(x, k))
    k_est = solver(bx, by, px, py, 1e-4, (9, 9))
    assert kernel_similarity(k_est, k) > 0.97
    assert np.all(k_est >= 0) and abs(k_est.sum() - 1) < 1e-12


def test_prune_kernel_removes_light_8_connected_components():
    k = np.zeros((7, 7))
    k[1, 1], k[2, 2] = 0.4, 0.5  # diagonal neighbours: one 8-connected component
    k[5, 5] = 0.05  # isolated, mass < 0.1
    out = prune_kernel(k)
    assert out[5, 5] == 0 and out[1, 1] > 0 and out[2, 2] > 0
    assert abs(out.sum() - 1) < 1e-12


@st.composite
def _off_centre_blobs(draw):
    """A 9x9 kernel whose mass (> 0) lies in a blob of at most 5x5 placed anywhere: the integer
    shift that centres it loses no mass (the blob spans at most 4 pixels from its centroid)."""
    bh, bw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    blob = draw(arrays(np.float64, (bh, bw), elements=st.floats(0.0, 1.0)))
    blob[draw(st.integers(0, bh - 1)), draw(st.integers(0, bw - 1))] += 0.5  # never all zero
    k = np.zeros((9, 9))
    i, j = draw(st.integers(0, 9 - bh)), draw(st.integers(0, 9 - bw))
    k[i : i + bh, j : j + bw] = blob
    return k


@given(_off_centre_blobs())
def test_adjust_psf_center_centres_the_centroid(k):
    out = adjust_psf_center(k)
    assert np.all(out >= 0) and abs(out.sum() - 1) < 1e-12
    # centred: the centroid within half a pixel of the centre pixel on both axes
    assert np.all(_centroid_offset(out) <= 0.5 + 1e-9)
    # by an integer shift of the whole kernel, nothing else: out is k / sum(k) moved
    (r0, c0), (r1, c1) = np.argwhere(k > 0)[0], np.argwhere(out > 0)[0]
    np.testing.assert_allclose(out, np.roll(k / k.sum(), (r1 - r0, c1 - c0), axis=(0, 1)),
                               rtol=1e-12, atol=1e-15)


def test_adjust_psf_center_moves_an_off_centre_kernel():
    """A no-op would keep the centroid where it was: 3 pixels off on both axes here."""
    k = np.zeros((9, 9))
    k[0:3, 0:2] = [[0.1, 0.2], [0.3, 0.1], [0.2, 0.1]]
    assert np.all(_centroid_offset(k) > 2.5)
    assert np.all(_centroid_offset(adjust_psf_center(k)) <= 0.5)


def test_threshold_kernel_and_fix_kernel_size():
    k = motion_kernel(9, np.random.default_rng(9))
    t = threshold_kernel(k, 20)
    assert np.all((t == 0) | (k >= k.max() / 20)) and abs(t.sum() - 1) < 1e-12
    assert fix_kernel_size(k, (11, 7)).shape == (11, 7)
    assert abs(fix_kernel_size(k, (11, 11)).sum() - k.sum()) < 1e-12  # padding keeps mass


# ---------------------------------------------------------------------------------------------
# pyramid


def test_scale_schedule_matches_the_spec():
    assert [k for _, k in scale_schedule(25)] == [7, 9, 13, 19, 25]
    factors = [f for f, _ in scale_schedule(25)]
    np.testing.assert_allclose(factors, [math.sqrt(0.5) ** s for s in (4, 3, 2, 1, 0)])
    assert scale_schedule(5) == [(1.0, 5)]


def test_downsample_and_resize():
    y = np.ones((50, 60))
    d = downsample_image(y, 0.5)
    assert d.shape == (23, 28)
    # the trimmed pre-filter is not renormalised (as downSmpImC): a constant shrinks slightly
    assert 0.95 < d.mean() < 1.0 and np.ptp(d) < 1e-12
    k = init_kernel(7)
    r = resize_kernel(k, math.sqrt(2), (9, 9))
    assert r.shape == (9, 9) and np.all(r >= 0) and abs(r.sum() - 1) < 1e-12


# ---------------------------------------------------------------------------------------------
# non-blind step


def test_bilateral_filter_keeps_constants_and_edges():
    np.testing.assert_allclose(bilateral_filter(np.full((12, 12), 0.3)), 0.3, atol=1e-12)
    step = np.zeros((16, 16))
    step[:, 8:] = 1.0
    np.testing.assert_allclose(bilateral_filter(step), step, atol=1e-6)


def test_ringing_artifacts_removal_with_the_true_kernel_sharpens():
    x = shapes_image(64, np.random.default_rng(10))
    k = motion_kernel(9, np.random.default_rng(11))
    y = blur(x, k, 0.005, np.random.default_rng(12))
    out = ringing_artifacts_removal(y, k)
    assert psnr(out, x) > psnr(y, x) + 6


# ---------------------------------------------------------------------------------------------
# drivers: validity, recovery, input errors


def test_text_driver_recovers_shapes():
    """(A) on a piecewise-constant image: 11-px camera shake, noise 0.01, authors' defaults."""
    x = shapes_image(96, np.random.default_rng(0))
    k = motion_kernel(11, np.random.default_rng(3))
    y = blur(x, k, 0.01, np.random.default_rng(0))
    latent, k_est = deblur_text_l0(y, 13)
    _assert_valid_kernel(k_est, 13)
    assert kernel_similarity(k_est, k) >= 0.8
    reference = ringing_artifacts_removal(y, k)  # the same final step with the true kernel
    assert psnr_upto_shift(latent, x, **SHIFT) >= psnr_upto_shift(reference, x, **SHIFT) - 2.0


def test_natural_driver_recovers_shapes():
    """(B) on the same data; the true-kernel reference is the same TV-L2 step (λ_tv = 2/2e3)."""
    x = shapes_image(96, np.random.default_rng(0))
    k = motion_kernel(11, np.random.default_rng(3))
    y = blur(x, k, 0.01, np.random.default_rng(0))
    latent, k_est = deblur_natural_l0(y, 13)
    _assert_valid_kernel(k_est, 13)
    assert kernel_similarity(k_est, k) >= 0.8
    reference = deconv_tv_l2(y, k, 2.0 / 2e3)
    assert psnr_upto_shift(latent, x, **SHIFT) >= psnr_upto_shift(reference, x, **SHIFT) - 2.0


def test_text_driver_recovers_glyphs():
    """(A) on black glyph strokes on white.

    At 96 px the default λ = 4e-3 decays to 1e-3 at the finest scale, too weak a prior for so
    few strokes; λ = 1e-2 and 10 iterations per scale make the recovery reliable here.
    """
    x = glyph_image(96, np.random.default_rng(1))
    k = motion_kernel(11, np.random.default_rng(2))
    y = blur(x, k, 0.01, np.random.default_rng(0))
    latent, k_est = deblur_text_l0(y, 13, lambda_pixel=1e-2, lambda_grad=1e-2, n_iter=10)
    _assert_valid_kernel(k_est, 13)
    assert kernel_similarity(k_est, k) >= 0.8
    reference = ringing_artifacts_removal(y, k)
    assert psnr_upto_shift(latent, x, **SHIFT) >= psnr_upto_shift(reference, x, **SHIFT) - 2.0


def test_text_driver_leaves_a_sharp_image_sharp():
    """A sharp input converges to a delta kernel and comes back unharmed (> 30 dB).

    A single scale (kernel_size 5) with 20 alternations: from the authors' 2-pixel start kernel
    the 5 default alternations per scale do not always reach the delta (docs/deblur.md).
    """
    x = shapes_image(96, np.random.default_rng(0))
    latent, k_est = deblur_text_l0(x, 5, n_iter=20)
    _assert_valid_kernel(k_est, 5)
    assert psnr_upto_shift(latent, x, **SHIFT) > 30.0


@pytest.mark.xfail(strict=True, reason="known limitation, see docs/deblur.md: Xu's restarted "
                   "half-quadratic latent step smooths a sharp input's edges, so the kernel "
                   "fit stays a 2-3 px blob (about 25-29 dB)")
def test_natural_driver_leaves_a_sharp_image_sharp():
    x = shapes_image(96, np.random.default_rng(0))
    latent, _ = deblur_natural_l0(x, 5, n_iter=20)
    assert psnr_upto_shift(latent, x, **SHIFT) > 30.0


def test_drivers_accept_colour_and_estimate_on_luma():
    rng = np.random.default_rng(13)
    grey = shapes_image(48, rng)
    rgb = np.stack([grey, 0.8 * grey + 0.1, grey**2])  # (3, H, W)
    k = motion_kernel(7, rng)
    y = blur(rgb, k, 0.0, rng)
    latent, k_est = deblur_natural_l0(y, 7)
    assert latent.shape == (3, 48, 48)
    k_luma, _ = estimate_kernel_natural(rgb_to_luma(y), 7)
    np.testing.assert_array_equal(k_est, k_luma)
    # final deconvolution per channel with that kernel
    np.testing.assert_allclose(latent[1], deconv_tv_l2(y[1], k_est, 1e-3), atol=1e-12)


def test_drivers_are_deterministic_and_handle_a_constant_image():
    y = np.full((40, 40), 0.5)
    for driver in (deblur_text_l0, deblur_natural_l0):
        latent, k = driver(y, 7)
        _assert_valid_kernel(k, 7)
        np.testing.assert_allclose(latent, 0.5, atol=1e-6)
    rng = np.random.default_rng(14)
    y = blur(shapes_image(40, rng), motion_kernel(7, rng), 0.01, rng)
    a, b = deblur_natural_l0(y, 7), deblur_natural_l0(y, 7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("driver", [deblur_text_l0, deblur_natural_l0])
@pytest.mark.parametrize(
    "y, kernel_size, message",
    [
        (np.zeros((32, 32)), 8, "kernel_size must be odd, got 8"),
        (np.zeros((32, 32)), 1, "kernel_size must be at least 3, got 1"),
        (np.zeros((32, 32)), 0, "kernel_size must be a positive integer, got 0"),
        (np.zeros((20, 40)), 21, "kernel_size 21 is larger than the 20x40 image"),
        (np.zeros((20, 20)), 19, "kernel_size 19 is too large for the 20x20 image"),
        (np.full((32, 32), np.nan), 5, "y contains 1024 NaN or inf values"),
        (np.pad(np.zeros((31, 32)), ((0, 1), (0, 0)), constant_values=np.inf), 5,
         "y contains 32 NaN or inf values"),
        (np.zeros(32), 5, "y must have 2 or 3 dimensions, got shape (32,)"),
        (np.zeros((1, 3, 32, 32)), 5, "y must have 2 or 3 dimensions"),
        (np.zeros((2, 32, 32)), 5, "y must be (H, W) or (C, H, W) with C in (1, 3)"),
    ],
)
def test_bad_input_raises_a_clear_value_error(driver, y, kernel_size, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        driver(y, kernel_size)


def test_values_outside_the_unit_range_are_accepted():
    rng = np.random.default_rng(15)
    y = 3.0 * blur(shapes_image(40, rng), motion_kernel(7, rng), 0.01, rng) - 1.0
    latent, k = deblur_natural_l0(y, 7)
    assert np.all(np.isfinite(latent))
    _assert_valid_kernel(k, 7)


def test_scale_loop_returns_decayed_lambdas():
    y = blur(shapes_image(40, np.random.default_rng(16)), K_INVERTIBLE, 0.0, np.random.default_rng(0))
    _, lp, lg, s = blind_deconv_scale_text(y, init_kernel(5), 4e-3, 0.0, 0.01, n_iter=2)
    assert lp == pytest.approx(4e-3 / 1.1**2) and lg == 0.0 and s.shape == y.shape


# ---------------------------------------------------------------------------------------------
# evaluation helpers


def test_kernel_similarity_is_shift_invariant_and_bounded():
    k = motion_kernel(9, np.random.default_rng(17))
    moved = np.zeros((13, 13))
    moved[3:12, 1:10] = k  # k shifted off-centre on a larger support
    assert kernel_similarity(moved, k) == pytest.approx(1.0)
    assert kernel_similarity(k, moved) == pytest.approx(1.0)
    assert 0.0 <= kernel_similarity(delta_kernel((9, 9)), k) < 1.0


def test_ssd_upto_shift_finds_sub_pixel_shifts():
    yy, xx = np.mgrid[:40, :40]
    x = np.sin(xx / 4.0) + np.cos(yy / 5.0)  # smooth, so bilinear shifts are near exact
    shifted = np.sin((xx + 1.0) / 4.0) + np.cos((yy - 0.5) / 5.0)  # x moved by (0.5, -1)
    assert ssd_upto_shift(shifted, x, border=6, max_shift=2, step=0.5) < 1e-2
    assert ssd_upto_shift(shifted, x, border=6, max_shift=2, step=0.5) < 0.01 * np.sum(
        (shifted - x)[6:-6, 6:-6] ** 2
    )
    assert error_ratio(x + 0.02, x + 0.01, x, border=6, max_shift=1, step=1.0) == pytest.approx(4)
    assert psnr(x, x) == float("inf")


@pytest.mark.parametrize("keep_zero", [False, True])
def test_lambda_from_threshold_is_the_releases(monkeypatch, keep_zero):
    """blind_deconv.m (text release, line 77): at the coarsest scale, when 0 < threshold < λ_g/10,
    λ_g = threshold and then λ_p = λ_g, even from λ_p = 0 (unless asked to keep it at 0)."""
    import sharpvid.reference.deblur.text as text

    seen = []
    real = text.blind_deconv_scale_text

    def spy(ys, k, lp, lg, threshold, **kw):
        seen.append((lp, lg, threshold))
        return real(ys, k, lp, lg, threshold, **kw)

    monkeypatch.setattr(text, "blind_deconv_scale_text", spy)
    rng = np.random.default_rng(4)
    y = convolve_circular(glyph_image(96, rng), motion_kernel(9, rng))  # threshold 0.0258
    text.estimate_kernel_text(y, 9, lambda_pixel=0.0, lambda_grad=1.0, n_iter=1,
                              keep_zero_lambda_pixel=keep_zero)
    lp, lg, threshold = seen[0]
    assert 0 < threshold < 0.1 and lg == threshold
    assert lp == (0.0 if keep_zero else threshold)
