"""The oracle's metrics: hand-computed values, conventions, masks, batches."""

import numpy as np
import pytest
from hypothesis import given

from sharpvid.reference import metrics
from strategies import frame_pairs


def test_psnr_by_hand():
    y = np.zeros((1, 2, 2))
    y_hat = np.array([[[0.2, 0.2], [0.0, 0.0]]])
    # MSE = (0.04 + 0.04) / 4 = 0.02 -> 10 log10(2² / 0.02) = 10 log10(200)
    assert metrics.psnr(y_hat, y) == pytest.approx(10 * np.log10(200))
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
