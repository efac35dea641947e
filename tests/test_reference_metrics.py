"""The oracle's metrics: hand-computed values, conventions, masks, batches, and SSIM and PSNR
against an independent implementation (scikit-image's, a test extra)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sharpvid.reference import metrics
from strategies import PIXELS, frame_pairs


def test_psnr_by_hand():
    y = np.zeros((1, 2, 2))
    y_hat = np.array([[[0.2, 0.2], [0.0, 0.0]]])
    # MSE = (0.04 + 0.04) / 4 = 0.02 -> 10 log10(2² / 0.02) = 10 log10(200)
    assert metrics.psnr(y_hat, y) == pytest.approx(10 * np.log10(200))
    # data range 1 (the TF scale): 10 log10(1² / 0.02)
    assert metrics.psnr(y_hat, y, data_range=1.0) == pytest.approx(10 * np.log10(50))
    # authors: 10 log10(255² / (128² · 0.02))
    assert metrics.psnr(y_hat, y, convention="authors") == pytest.approx(
        10 * np.log10(255**2 / (128**2 * 0.02))
    )


def test_identical_frames_are_inf_not_nan():
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 8, 8))
    assert np.all(np.isinf(metrics.psnr(x, x)))
    assert np.all(np.isinf(metrics.sharpness_difference(x, x)))
    assert np.allclose(metrics.ssim(x, x, convention="authors"), 1.0)
    # the authors cap at 10 log10(255² / 1e-4)
    assert metrics.psnr(x[0], x[0], convention="authors") == pytest.approx(
        10 * np.log10(255**2 / 1e-4)
    )


def test_sharpness_seed_by_hand():
    y = np.array([[0.0, 1.0], [1.0, 1.0]])
    y_hat = np.zeros((2, 2))
    # one pixel (1,1) has both gradients: ∇i Y = |Y11 − Y01| = 0, ∇j Y = |Y11 − Y10| = 0 -> 0
    assert np.isinf(metrics.sharpness_difference(y_hat, y))
    y = np.array([[0.0, 0.0], [0.0, 1.0]])
    # ∇i Y = |1 − 0| = 1, ∇j Y = |1 − 0| = 1 -> |2 − 0| = 2 over N = 1 -> 10 log10(4 / 2)
    assert metrics.sharpness_difference(y_hat, y) == pytest.approx(10 * np.log10(2))
    # on a data range of 1: 10 log10(1 / 2)
    assert metrics.sharpness_difference(y_hat, y, data_range=1.0) == pytest.approx(10 * np.log10(0.5))


def test_sharpness_authors_by_hand():
    y = np.zeros((1, 3, 3))
    y[0, 1, 1] = 0.5
    y_hat = np.zeros((1, 3, 3))
    # interior pixel (1,1) only: ∇i Y = |Y11 − Y01| = .5, ∇j Y = |Y11 − Y10| = .5 ; Ŷ gives 0, 0
    # per direction |0 − .5| + |0 − .5| = 1 ; / (C H W = 9) ; × 128² ; 10 log10(255² / ·)
    expected = 10 * np.log10(255**2 / (128**2 * 1.0 / 9))
    assert metrics.sharpness_difference(y_hat, y, convention="authors") == pytest.approx(expected)


def test_sharpness_seed_differs_from_authors_sum_before_difference():
    # seed: |(∇i Y + ∇j Y) − (∇i Ŷ + ∇j Ŷ)| can cancel; authors' per-direction terms cannot
    y = np.array([[0.0, 0.0], [1.0, 1.0]])  # at (1,1): ∇i = 1, ∇j = 0
    y_hat = np.array([[0.0, 1.0], [0.0, 1.0]])  # at (1,1): ∇i = 0, ∇j = 1
    assert np.isinf(metrics.sharpness_difference(y_hat, y))


def test_ssim_by_hand_constant_frames():
    # constant frames a, b: σ = 0, SSIM = (2 μa μb + C1) / (μa² + μb² + C1)
    a = np.full((11, 11), -1.0)  # -> 0 on 0..255
    b = np.full((11, 11), 1.0)   # -> 255
    c1 = (0.01 * 255) ** 2
    expected = c1 / (255**2 + c1)
    assert metrics.ssim(a, b) == pytest.approx(expected)


# ------------------------------------------------------- SSIM against scikit-image (independent)
def _skimage_ssim(y_hat, y, convention, mask=None):
    """Wang et al.'s SSIM by scikit-image on the BT.601 luma mapped to 0-255, per the conventions.

    scikit-image filters the whole image (reflect mode) and averages the map with a border of
    ``(win_size - 1) // 2 = 5`` cropped: exactly the windows that lie inside the image, the seed's
    ``valid`` positions.  The authors' ``full`` convolution is the valid one over the frames padded
    with 10 zeros (0 on the 0-255 scale) on every side.
    """
    from skimage.metrics import structural_similarity

    def luma255(x):  # (C, H, W) on [-1, 1] -> (H, W) on [0, 255]; the weights written out here
        y_ = x[0] if x.shape[0] == 1 else 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]
        return (y_ + 1.0) * 127.5

    a, b = luma255(y_hat), luma255(y)
    if convention == "authors":
        a, b = np.pad(a, 10), np.pad(b, 10)
        mask = None if mask is None else np.pad(mask, 10)
    kwargs = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255.0,
                  K1=0.01, K2=0.03)
    if mask is None:
        return structural_similarity(a, b, **kwargs)
    _, ssim_map = structural_similarity(a, b, full=True, **kwargs)
    inside = ssim_map[5:-5, 5:-5][mask[5:-5, 5:-5]]
    return inside.mean() if inside.size else np.nan


@st.composite
def _textured_pairs(draw, channels=(1, 3)):
    """Two non-constant frames, 11-16 pixels a side: a random frame and a noisy, scaled copy
    (SSIM near 1, where C2 and the window matter most) or an independent one (SSIM near 0)."""
    c = draw(st.sampled_from(channels))
    shape = (c, draw(st.integers(11, 16)), draw(st.integers(11, 16)))
    a = draw(hnp.arrays(np.float64, shape, elements=PIXELS))
    noise = draw(hnp.arrays(np.float64, shape, elements=PIXELS))
    scale = draw(st.sampled_from([0.0, 0.05, 0.5, 1.0]))
    b = np.clip(0.8 * a + scale * noise, -1, 1) if draw(st.booleans()) else noise
    return a, b


@given(_textured_pairs(), st.sampled_from(["seed", "authors"]))
def test_ssim_equals_scikit_image(pair, convention):
    a, b = pair
    expected = _skimage_ssim(a, b, convention)
    assert metrics.ssim(a, b, convention=convention) == pytest.approx(expected, rel=1e-9, abs=1e-12)


@given(_textured_pairs(channels=(1,)), st.sampled_from(["seed", "authors"]), st.data())
def test_masked_ssim_equals_scikit_image(pair, convention, data):
    a, b = pair
    mask = data.draw(hnp.arrays(bool, a.shape[-2:]))
    expected = _skimage_ssim(a, b, convention, mask=mask)
    got = metrics.ssim(a, b, mask=mask, convention=convention)
    if np.isnan(expected):  # no centre pixel selected
        assert np.isnan(got)
    else:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_ssim_of_textured_frames_is_not_the_constant_case():
    """Textured frames exercise the structure term: SSIM well below 1, and far apart for
    unrelated frames (the authors' zero padding lifts both)."""
    rng = np.random.default_rng(3)
    a = rng.uniform(-1, 1, (1, 16, 16))
    close, far = np.clip(a + 0.1 * rng.uniform(-1, 1, a.shape), -1, 1), rng.uniform(-1, 1, a.shape)
    for convention in ("seed", "authors"):
        near_one = metrics.ssim(a, close, convention=convention)
        near_zero = metrics.ssim(a, far, convention=convention)
        assert near_one == pytest.approx(_skimage_ssim(a, close, convention), rel=1e-9)
        assert near_zero == pytest.approx(_skimage_ssim(a, far, convention), rel=1e-9)
        assert 0.5 < near_one < 0.999 and near_zero < near_one - 0.3


@given(frame_pairs(min_side=2, max_side=9))
def test_psnr_equals_scikit_image(pair):
    from skimage.metrics import peak_signal_noise_ratio

    a, b = pair
    with np.errstate(divide="ignore"):  # scikit-image's inf for identical frames
        expected = peak_signal_noise_ratio(b, a, data_range=2.0)
    # the default data range is the [-1, 1] frames' 2
    assert metrics.psnr(a, b) == pytest.approx(expected, rel=1e-9)


def test_ssim_luma_uses_bt601():
    x = np.zeros((3, 12, 12))
    x[0] = 1.0  # pure red: Y = 0.299
    assert np.allclose(metrics.rgb_to_luma(x), 0.299)


def test_ssim_data_min_offsets_matter():
    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 1, (2, 1, 16, 16))
    v01 = metrics.ssim(a, b, data_range=1.0, data_min=0.0)
    v_centred = metrics.ssim(2 * a - 1, 2 * b - 1)  # the same pixels on [-1, 1]
    assert v01 == pytest.approx(v_centred)


@given(frame_pairs(min_side=3, max_side=9, batch=True))
def test_batched_equals_stacked(pair):
    a, b = pair
    for convention in ("seed", "authors"):
        for metric in (metrics.psnr, metrics.sharpness_difference):
            batched = metric(a, b, convention=convention)
            stacked = [metric(x, y, convention=convention) for x, y in zip(a, b)]
            np.testing.assert_allclose(batched, stacked)
    batched = metrics.ssim(a, b, convention="authors")
    np.testing.assert_allclose(batched, [metrics.ssim(x, y, convention="authors") for x, y in zip(a, b)])


@given(frame_pairs(min_side=12, max_side=14))
def test_full_mask_equals_no_mask_and_bounds(pair):
    a, b = pair
    full = np.ones(a.shape[-2:], bool)
    assert metrics.psnr(a, b, mask=full) == pytest.approx(metrics.psnr(a, b))
    assert metrics.sharpness_difference(a, b, mask=full) == pytest.approx(
        metrics.sharpness_difference(a, b)
    )
    assert metrics.sharpness_difference(a, b, mask=full, convention="authors") == pytest.approx(
        metrics.sharpness_difference(a, b, convention="authors")
    )
    assert metrics.ssim(a, b, mask=full) == pytest.approx(metrics.ssim(a, b))
    assert -1.0 <= metrics.ssim(a, b) <= 1.0


def test_mask_restricts_mean():
    y = np.zeros((1, 4, 4))
    y_hat = np.zeros((1, 4, 4))
    y_hat[0, 0, 0] = 1.0
    mask = np.zeros((4, 4), bool)
    mask[0, :2] = True
    # MSE over the 2 masked pixels: (1 + 0) / 2 -> 10 log10(4 / 0.5)
    assert metrics.psnr(y_hat, y, mask=mask) == pytest.approx(10 * np.log10(8))
    assert np.isnan(metrics.psnr(y_hat, y, mask=np.zeros((4, 4), bool)))


def test_moving_mask():
    x_last = np.zeros((3, 2, 2))
    y = np.zeros((3, 2, 2))
    y[2, 1, 0] = 0.3  # one channel of one pixel moves
    mask = metrics.moving_mask(x_last, y, threshold=0.1)
    assert mask.tolist() == [[False, False], [True, False]]
    assert not metrics.moving_mask(x_last, y, threshold=0.3).any()


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: metrics.psnr(np.zeros((1, 2, 2)), np.zeros((1, 2, 3))), "same shape"),
        (lambda: metrics.psnr(np.zeros(3), np.zeros(3)), "image"),
        (lambda: metrics.psnr(np.zeros((2, 2)), np.zeros((2, 2)), convention="tf"), "convention"),
        (lambda: metrics.psnr(np.zeros((2, 2)), np.zeros((2, 2)), mask=np.ones(3)), "mask"),
        (lambda: metrics.ssim(np.zeros((8, 8)), np.zeros((8, 8))), "at least 11x11"),
        (lambda: metrics.ssim(np.zeros((2, 11, 11)), np.zeros((2, 11, 11))), "1 or 3 channels"),
        (lambda: metrics.moving_mask(np.zeros((2, 2)), np.zeros((2, 2)), -1), "threshold"),
    ],
)
def test_bad_input_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
