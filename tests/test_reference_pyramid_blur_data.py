"""The oracle's pyramid, blurs and clip selection: values by hand and properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sharpvid.reference import blur, data, pyramid
from strategies import frames


# ---------------------------------------------------------------- pyramid
def test_downsample_by_hand():
    x = np.array([[1.0, 3.0, 5.0], [3.0, 5.0, 7.0], [9.0, 9.0, 9.0]])
    # one 2x2 block: (1 + 3 + 3 + 5) / 4 = 3 ; the third row/column is dropped (floor)
    assert pyramid.downsample(x, 2).tolist() == [[3.0]]


def test_upsample_bilinear_by_hand():
    # half-pixel centres: outputs sit at source coordinates -0.25, 0.25, 0.75, 1.25 -> clamped
    out = pyramid.upsample(np.array([[0.0, 1.0]]), 2, "bilinear")
    assert out[0].tolist() == pytest.approx([0.0, 0.25, 0.75, 1.0])


def test_laplacian_step_by_hand():
    coarse = np.array([[0.5]])
    residual = np.array([[0.0, 0.1], [-0.1, 0.2]])
    # tanh(0.5 + r) for each of the 4 pixels
    assert pyramid.laplacian_step(coarse, residual) == pytest.approx(np.tanh(0.5 + residual))
    assert pyramid.laplacian_step(coarse, residual, squash=False) == pytest.approx(0.5 + residual)


@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))
def test_pyramid_shapes(n_scales, a, b):
    s = 2 ** (n_scales - 1)
    x = np.zeros((2, 3, a * s, b * s))
    levels = pyramid.frame_pyramid(x, n_scales)
    assert [lv.shape for lv in levels] == [(2, 3, a * 2**k, b * 2**k) for k in range(n_scales)]


@given(frames(max_side=6, batch=True), st.sampled_from([1, 2, 3]))
def test_downsample_of_nearest_upsample_is_identity(x, factor):
    np.testing.assert_allclose(pyramid.downsample(pyramid.upsample(x, factor), factor), x)


@given(frames(max_side=6), st.sampled_from(["nearest", "bilinear"]))
def test_upsample_preserves_constants_and_flips(x, mode):
    c = np.full_like(x, 0.3)
    np.testing.assert_allclose(pyramid.upsample(c, 2, mode), 0.3)
    # flip equivariance
    np.testing.assert_allclose(
        pyramid.upsample(x[..., ::-1], 2, mode), pyramid.upsample(x, 2, mode)[..., ::-1], atol=1e-12
    )


def test_pyramid_bad_input():
    with pytest.raises(ValueError, match="mode"):
        pyramid.upsample(np.zeros((2, 2)), 2, "cubic")
    with pytest.raises(ValueError, match="positive integer"):
        pyramid.downsample(np.zeros((2, 2)), 0)
    with pytest.raises(ValueError, match="at least 4x4"):
        pyramid.downsample(np.zeros((2, 2)), 4)
    with pytest.raises(ValueError, match="upsampled shape"):
        pyramid.laplacian_step(np.zeros((2, 2)), np.zeros((3, 3)))


# ---------------------------------------------------------------- blur
def test_gaussian_kernel_by_hand():
    k = blur.gaussian_kernel(3, variance=1.0)
    # entries ∝ exp(-(u² + v²) / 2): centre 1, edge e^-0.5, corner e^-1
    e = np.exp(-0.5)
    z = 1 + 4 * e + 4 * e**2
    assert k[1, 1] == pytest.approx(1 / z)
    assert k[0, 1] == pytest.approx(e / z)
    assert k[0, 0] == pytest.approx(e**2 / z)


def test_gaussian_blur_mirror_border_by_hand():
    x = np.array([[0.0, 0.0, 1.0]])
    # 1x3 image, 3x3 kernel: the mirrored rows are the row itself, so each output is the
    # horizontal 1-D Gaussian applied to [.., 0, 0, 1, 0(mirror of col 1), ..]
    k = blur.gaussian_kernel(3, 1.0).sum(axis=0)  # row weights after summing the vertical taps
    out = blur.gaussian_blur(np.repeat(x, 3, axis=0), size=3, variance=1.0)
    assert out[1, 2] == pytest.approx(k[0] * 0 + k[1] * 1 + k[2] * 0)  # mirror: col 3 -> col 1 = 0
    assert out[1, 1] == pytest.approx(k[2] * 1)


@given(frames(min_side=3, max_side=8, batch=True), st.floats(-1, 1))
def test_blurs_preserve_constants(x, c):
    const = np.full_like(x, c)
    for f in (blur.gaussian_blur, blur.median_blur, blur.bilateral_blur):
        np.testing.assert_allclose(f(const), c, atol=1e-12)


@given(frames(min_side=3, max_side=8, batch=True))
def test_blurs_batched_equals_stacked_and_flip_equivariant(x):
    for f in (blur.gaussian_blur, blur.median_blur, blur.bilateral_blur):
        out = f(x)
        assert out.shape == x.shape
        np.testing.assert_allclose(out, np.stack([f(s) for s in x]), atol=1e-12)
        np.testing.assert_allclose(f(x[..., ::-1, :]), out[..., ::-1, :], atol=1e-12)


def test_bilateral_keeps_an_edge_gaussian_does_not():
    x = np.zeros((9, 9))
    x[:, 5:] = 1.0
    g = blur.gaussian_blur(x)
    b = blur.bilateral_blur(x, size=5, sigma_space=1.5, sigma_color=0.1)
    assert np.abs(b - x).max() < 1e-6 < np.abs(g - x).max()


def test_blur_bad_input():
    with pytest.raises(ValueError, match="odd"):
        blur.gaussian_kernel(4)
    with pytest.raises(ValueError, match="variance"):
        blur.gaussian_kernel(5, 0.0)
    with pytest.raises(ValueError, match="at least 3x3"):
        blur.gaussian_blur(np.zeros((2, 2)))


# ---------------------------------------------------------------- data
def test_motion_by_hand():
    clip = np.zeros((3, 1, 2, 2))
    clip[1] = 0.5  # pair 1: 4 pixels · 0.25 = 1 ; pair 2: the same -> 2 in all
    assert data.has_enough_motion(clip, 1.9)
    assert not data.has_enough_motion(clip, 2.0)
    assert data.has_enough_motion(np.stack([clip, clip * 0]), 1.0).tolist() == [True, False]


@given(st.integers(0, 2**32 - 1))
def test_sample_patch_clip_picks_the_moving_region(seed):
    rng = np.random.default_rng(seed)
    video = np.zeros((6, 3, 48, 48))
    # only the top-left 20x20 corner flickers; every crop that overlaps it moves
    video[::2, :, :20, :20] = 1.0
    clip = data.sample_patch_clip(video, size=16, rng=rng, threshold=10.0, keep_anyway=0.0)
    assert clip.shape == (5, 3, 16, 16)
    assert data.has_enough_motion(clip, 10.0)


def test_sample_patch_clip_static_video_returns_last_try_and_keep_anyway():
    video = np.zeros((5, 1, 32, 32))
    clip = data.sample_patch_clip(video, size=8, rng=0, threshold=1.0, max_tries=3)
    assert clip.shape == (5, 1, 8, 8) and not data.has_enough_motion(clip, 1.0)
    # keep_anyway=1 returns the very first candidate
    rng = np.random.default_rng(5)
    rng.random()
    t, i, j = (rng.integers(0, n, size=4)[0] for n in (1, 25, 25))
    video = np.random.default_rng(1).uniform(-1, 1, (5, 1, 32, 32))
    clip = data.sample_patch_clip(video, size=8, rng=5, threshold=1e9, max_tries=4, keep_anyway=1.0)
    np.testing.assert_array_equal(clip, video[t : t + 5, :, i : i + 8, j : j + 8])


def test_data_bad_input():
    with pytest.raises(ValueError, match="too small"):
        data.sample_patch_clip(np.zeros((4, 3, 40, 40)))
    with pytest.raises(ValueError, match="dimensions"):
        data.has_enough_motion(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="at least 2 frames"):
        data.has_enough_motion(np.zeros((1, 3, 4, 4)))


# ---------------------------------------------------------------- scene cuts
def test_frame_differences_by_hand():
    # frames of one pixel, values 0, 0.5, -0.5, -0.5: |0.5 - 0| = 0.5, |-0.5 - 0.5| = 1, 0
    video = np.array([0.0, 0.5, -0.5, -0.5]).reshape(4, 1, 1, 1)
    assert data.frame_differences(video).tolist() == [0.5, 1.0, 0.0]
    # two channels of two pixels: mean over C, H, W of |(1, 1, 0, 0) - 0| = 0.5
    video = np.zeros((2, 2, 1, 2))
    video[1, 0] = 1.0
    assert data.frame_differences(video).tolist() == [0.5]


def test_scene_cuts_by_hand():
    # d = [0.1, 0.1, 0.9, 0.1, 0.1]: at the jump (frame 3) the neighbours' lower median within
    # w = 2 is median(0.1, 0.1, 0.1, 0.1) = 0.1, and 0.9 > 3 * 0.1 and 0.9 > 0.2: a cut
    values = np.cumsum([0.0, 0.1, 0.1, 0.9, 0.1, 0.1])
    video = values.reshape(6, 1, 1, 1)
    assert np.flatnonzero(data.scene_cuts(video, window=2)).tolist() == [3]
    # the same jump among fast motion (every d = 0.6 elsewhere): 0.9 < 3 * 0.6, no cut
    fast = np.cumsum([0.0, 0.6, 0.6, 0.9, 0.6, 0.6]).reshape(6, 1, 1, 1)
    assert not data.scene_cuts(fast, window=2).any()
    # a small jump in slow footage: 0.15 > 3 * 0.01 but 0.15 < threshold 0.2, no cut
    slow = np.cumsum([0.0, 0.01, 0.01, 0.15, 0.01, 0.01]).reshape(6, 1, 1, 1)
    assert not data.scene_cuts(slow, window=2).any()
    assert data.scene_cuts(slow, threshold=0.1, window=2).tolist() == [False] * 3 + [True] + [False] * 2


def test_scene_cuts_lower_median_and_batches():
    # d = [0.3, 0.9, 0.4]: frame 2's neighbours within w = 1 are 0.3 and 0.4; the lower median
    # is 0.3 and 0.9 > 2.8 * 0.3 = 0.84: a cut (NumPy's median, 0.35, would give 0.98: none);
    # frames 1 and 3 each have the single neighbour 0.9
    video = np.cumsum([0.0, 0.3, 0.9, 0.4]).reshape(4, 1, 1, 1)
    assert data.scene_cuts(video, ratio=2.8, window=1).tolist() == [False, False, True, False]
    batch = np.stack([video, video[::-1]])
    for b in range(2):
        assert data.scene_cuts(batch, ratio=2.8, window=1)[b].tolist() == \
            data.scene_cuts(batch[b], ratio=2.8, window=1).tolist()


def test_scene_cuts_bad_input():
    with pytest.raises(ValueError, match="at least 2 frames"):
        data.frame_differences(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="window must be a positive integer"):
        data.scene_cuts(np.zeros((3, 1, 2, 2)), window=0)
