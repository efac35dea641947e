"""The oracle's losses: hand-computed values, properties, and the ℓ2-blurs claim."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharpvid.reference import losses
from strategies import frame_pairs, frames


def test_lp_loss_by_hand():
    y_hat = np.array([[0.0, 0.5], [1.0, -1.0]])
    y = np.array([[1.0, 0.5], [0.0, 1.0]])
    # |diffs| = 1, 0, 1, 2 -> ℓ2: (1 + 0 + 1 + 4) / 4 = 1.5 ; ℓ1: (1 + 0 + 1 + 2) / 4 = 1.0
    assert losses.lp_loss(y_hat, y, p=2) == pytest.approx(1.5)
    assert losses.lp_loss(y_hat, y, p=1) == pytest.approx(1.0)


def test_defaults_are_the_papers():
    """ℓ2 (p = 2) and λ_adv = 0.05, λ_ℓp = λ_gdl = 1 when not given (each default by hand)."""
    y_hat = np.array([[0.0, 0.5], [1.0, -1.0]])
    y = np.array([[1.0, 0.5], [0.0, 1.0]])
    assert losses.lp_loss(y_hat, y) == pytest.approx(1.5)  # (1 + 0 + 1 + 4) / 4
    flat, zero = [np.full((2, 2), 0.5)], [np.zeros((2, 2))]
    d_fake = [np.array([0.5])]
    # ℓ2 0.25 + GDL 0 + 0.05 · log 2
    assert losses.combined_generator_loss(flat, zero, d_fake) == pytest.approx(0.25 + 0.05 * np.log(2))
    # p = 2, α = 1 inside Eq. (6): Y = [0, 1, 3], Ŷ = 0 -> ℓ2 (0 + 1 + 9) / 3, GDL (1 + 2) / 2
    row = [np.array([[0.0, 1.0, 3.0]])]
    assert losses.combined_generator_loss([np.zeros((1, 3))], row) == pytest.approx(10 / 3 + 1.5)


def test_bce_clip_by_hand():
    """A confident wrong answer costs -log(1e-12) = 27.631 nats (Torch's clip), not more."""
    assert losses.bce(np.array([0.0]), 1.0) == pytest.approx(27.631021115928547)
    assert losses.bce(np.array([1.0]), 0.0) == pytest.approx(27.631021115928547)


def test_gdl_by_hand():
    y = np.array([[0.0, 1.0], [0.0, 0.0]])
    y_hat = np.zeros((2, 2))
    # vertical terms (i): |Y10-Y00| = 0, |Y11-Y01| = 1; Ŷ gives 0 -> | 0 - 0 |, | 1 - 0 |
    # horizontal terms (j): |Y00-Y01| = 1, |Y10-Y11| = 0 -> | 1 - 0 |, | 0 - 0 |
    # sum = 2 over 4 terms
    assert losses.gdl_loss(y_hat, y, alpha=1) == pytest.approx(0.5)
    # α = 2 squares each term: still 1s and 0s
    assert losses.gdl_loss(y_hat, y, alpha=2) == pytest.approx(0.5)
    # 1x3 row: only horizontal terms; Y = [0, 1, 3] -> |∇Y| = 1, 2 ; Ŷ = [0, 0, 0] -> mean(1, 2)
    assert losses.gdl_loss(np.zeros((1, 3)), np.array([[0.0, 1.0, 3.0]])) == pytest.approx(1.5)
    # 2x1 column: one vertical term |1 - 0|
    assert losses.gdl_loss(np.zeros((2, 1)), np.array([[0.0], [1.0]])) == pytest.approx(1.0)


def test_gdl_ignores_gradient_sign():
    # GDL compares gradient magnitudes: an edge flipped in polarity costs nothing
    y = np.array([[0.0, 1.0]])
    assert losses.gdl_loss(-y, y) == 0.0


def test_bce_by_hand():
    # −(1·log 0.8) = 0.22314 ; −(log(1 − 0.2)) for target 0 is the same
    assert losses.bce(np.array([0.8]), 1.0) == pytest.approx(-np.log(0.8))
    assert losses.bce(np.array([0.2]), 0.0) == pytest.approx(-np.log(0.8))
    # soft label 0.5 on p = 0.5: −(0.5 log .5 + 0.5 log .5) = log 2
    assert losses.bce(np.array([0.5]), np.array([0.5])) == pytest.approx(np.log(2))
    # clipped, finite at p = 0 with target 1
    assert losses.bce(np.array([0.0]), 1.0) == pytest.approx(-np.log(losses.BCE_EPS))


def test_adversarial_losses_by_hand():
    d_real = [np.array([0.9, 0.8]), np.array([0.5, 0.5])]
    d_fake = [np.array([0.1, 0.2]), np.array([0.5, 0.5])]
    # scale 1: real −(log .9 + log .8)/2, fake −(log .9 + log .8)/2 ; scale 2: log 2 + log 2
    per = -(np.log(0.9) + np.log(0.8)) / 2
    assert losses.discriminator_loss(d_real, d_fake) == pytest.approx(2 * per + 2 * np.log(2))
    # generator: −(log .1 + log .2)/2 + log 2
    expected_g = -(np.log(0.1) + np.log(0.2)) / 2 + np.log(2)
    assert losses.generator_adversarial_loss(d_fake) == pytest.approx(expected_g)


def test_combined_loss_by_hand():
    y = [np.zeros((2, 2)), np.zeros((4, 4))]
    y_hat = [np.full((2, 2), 0.5), np.zeros((4, 4))]
    d_fake = [np.array([0.5]), np.array([0.5])]
    # ℓ2: 0.25 + 0 ; GDL: 0 (constant images) ; adv: 2 log 2
    total = losses.combined_generator_loss(y_hat, y, d_fake, lam_adv=0.05, lam_lp=1, lam_gdl=1)
    assert total == pytest.approx(0.25 + 0.05 * 2 * np.log(2))
    assert losses.combined_generator_loss(y_hat, y) == pytest.approx(0.25)
    assert losses.combined_generator_loss(y_hat, y, lam_lp=4.0) == pytest.approx(1.0)


@given(frame_pairs())
def test_losses_nonnegative_and_zero_iff_equal(pair):
    a, b = pair
    for loss in (losses.lp_loss, losses.gdl_loss):
        assert loss(a, b) >= 0
        assert loss(a, a) == 0
    if not np.array_equal(a, b):
        assert losses.lp_loss(a, b) > 0


@given(frames(), st.floats(-0.5, 0.5))
def test_gdl_invariant_to_constant(x, c):
    y = np.clip(x * 0.5, -0.5, 0.5)
    y_hat = y[::-1].copy()
    assert losses.gdl_loss(y_hat + c, y) == pytest.approx(losses.gdl_loss(y_hat, y), abs=1e-12)


@given(st.integers(1, 20), st.booleans())
def test_smoothed_labels_ranges(n, real):
    labels = losses.smoothed_labels((n,), real, rng=n)
    low, high = (0.7, 1.2) if real else (0.0, 0.3)
    assert labels.shape == (n,)
    assert np.all((labels >= low) & (labels <= high))


def test_smoothed_labels_of_an_empty_range_are_its_value():
    """low == high is a range (hard labels through the smoothing path), not an error."""
    assert np.array_equal(losses.smoothed_labels(3, True, real_range=(1.0, 1.0)), np.ones(3))


def test_aggregate_adversarial_by_hand():
    # GMAN, w = softmax(λ L): λ = 0.5 on L = (1, 3) -> w ∝ (e^0.5, e^1.5)
    expected = (np.exp(0.5) + 3 * np.exp(1.5)) / (np.exp(0.5) + np.exp(1.5))
    assert losses.aggregate_adversarial([1.0, 3.0], "gman", lam=0.5) == pytest.approx(expected)
    # λ L of 1000 (e^1000 overflows): w = (1, e^-1) / (1 + e^-1) -> 1000 - 1 / (e + 1)
    big = losses.aggregate_adversarial([1000.0, 999.0], "gman", lam=1.0)
    assert big == pytest.approx(1000 - 1 / (np.e + 1))
    # a spread of 1000 (e^1000 overflows whichever end is the reference): w = (1, e^-1000)
    assert losses.aggregate_adversarial([1000.0, 0.0], "gman", lam=1.0) == pytest.approx(1000.0)
    assert losses.aggregate_adversarial([2.0, 1.0, 4.0], "max") == 4.0
    assert losses.aggregate_adversarial([2.0, 1.0, 4.0]) == pytest.approx(7 / 3)  # mean by default


def test_smoothed_labels_reproducible():
    a = losses.smoothed_labels((4,), True, rng=3)
    assert np.array_equal(a, losses.smoothed_labels((4,), True, rng=3))


def test_l2_blurs_between_modes_l1_picks_a_mode():
    """The paper's claim: with two equally likely values v1, v2 for a pixel, the constant that
    minimises the expected ℓ2 loss is their mean (a value that never occurs), while ℓ1 is
    minimised by a mode (here any point between them, and the modes themselves are minimisers)."""
    v1, v2 = -0.8, 0.6
    outcomes = np.array([v1, v2])
    candidates = np.linspace(-1, 1, 2001)

    def expected(p, c):  # E[ |c − v|^p ] over the two equally likely outcomes
        return np.mean([losses.lp_loss(np.full(2, c), outcomes, p=p)])

    l2 = np.array([expected(2, c) for c in candidates])
    l1 = np.array([expected(1, c) for c in candidates])
    best_l2 = candidates[np.argmin(l2)]
    assert best_l2 == pytest.approx((v1 + v2) / 2, abs=1e-3)
    # the mean is strictly better than either mode under ℓ2 ...
    assert expected(2, (v1 + v2) / 2) < expected(2, v1)
    # ... while under ℓ1 the modes are as good as the mean (flat between them), never worse
    assert expected(1, v1) == pytest.approx(expected(1, (v1 + v2) / 2))
    assert l1.min() == pytest.approx(expected(1, v1))
    # with unequal odds (70/30) ℓ1 picks the likelier mode exactly; ℓ2 still averages
    weights = np.array([0.7, 0.3])
    l1_w = [np.sum(weights * np.abs(c - outcomes)) for c in candidates]
    l2_w = [np.sum(weights * (c - outcomes) ** 2) for c in candidates]
    assert candidates[np.argmin(l1_w)] == pytest.approx(v1, abs=1e-3)
    assert candidates[np.argmin(l2_w)] == pytest.approx(0.7 * v1 + 0.3 * v2, abs=1e-3)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: losses.lp_loss(np.zeros(3), np.zeros(4)), "same shape"),
        (lambda: losses.lp_loss(np.zeros(3), np.zeros(3), p=0), "p must be positive"),
        (lambda: losses.gdl_loss(np.zeros((1, 1)), np.zeros((1, 1))), "at least 2 pixels"),
        (lambda: losses.discriminator_loss([np.ones(1)], []), "one entry per scale"),
        (lambda: losses.combined_generator_loss([], []), "one entry per scale"),
        (lambda: losses.smoothed_labels(3, True, real_range=(1, 0)), "low <= high"),
    ],
)
def test_bad_input_clear_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()
