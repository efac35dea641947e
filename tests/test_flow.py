"""The optical flow (:mod:`sharpvid.reference.flow`) and its fast twin: known answers (zero flow,
integer and sub-pixel translations, a rotation, a displacement only the pyramid can reach, a
constant-velocity sequence), one-line errors, and the twin against the oracle (one iteration and
the parts under hypothesis, the whole coarse-to-fine loop on fixed seeds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sharpvid.fast.flow as FF
import sharpvid.reference.flow as RF
from equivalence import Twin, check_same_error, check_twin

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------ textures with known motion
def texture(h: int, w: int, *, dx: float = 0.0, dy: float = 0.0, angle: float = 0.0,
            seed: int = 0, fmin: float = 0.0, fmax: float = 0.35) -> np.ndarray:
    """A smooth random texture ``(1, h, w)`` in about [-1, 1], sampled at every pixel moved by
    (-dx, -dy) and rotated by ``-angle`` (radians) about the centre: the frame that the texture
    becomes when it moves by (dx, dy), or turns by ``angle``.  A sum of sinusoids, so any
    sub-pixel motion is exact.  Each sinusoid's frequency is within [fmin, fmax] radians per
    pixel along x and along y (0.35: a period of 18 pixels or more)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    c, s = np.cos(angle), np.sin(angle)
    xr = c * (x - cx) + s * (y - cy) + cx - dx
    yr = -s * (x - cx) + c * (y - cy) + cy - dy
    out = np.zeros((h, w))
    for _ in range(12):
        fx, fy = rng.uniform(fmin, fmax, 2) * rng.choice([-1, 1], 2)
        out += np.cos(fx * xr + fy * yr + rng.uniform(0, 2 * np.pi))
    return (out / 4)[None]


def epe(v: np.ndarray, true: np.ndarray, border: int) -> float:
    """Mean end-point error ||v - true|| over the pixels ``border`` or more from the edge."""
    d = (v - true)[..., border:-border, border:-border]
    return float(np.sqrt((d ** 2).sum(axis=-3)).mean())


def _both(fn_name, *args, **kwargs):
    """The oracle's and the twin's result (float64) of the same call."""
    ref = getattr(RF, fn_name)(*args, **kwargs)
    fast = getattr(FF, fn_name)(*(torch.as_tensor(a) for a in args), **kwargs)
    return ref, fast.numpy()


# ------------------------------------------------------------------ known answers
def test_identical_frames_give_zero_flow_and_the_last_frame_back():
    frame = np.concatenate([texture(20, 24, seed=s) for s in range(3)])  # (3, 20, 24)
    for v in _both("optical_flow", frame, frame):
        assert np.array_equal(v, np.zeros((2, 20, 24)))
    clip = np.stack([frame, frame, frame])                                # (3, 3, 20, 24)
    for pred in _both("flow_extrapolate", clip, 2):
        np.testing.assert_array_equal(pred, np.stack([frame, frame]))


@pytest.mark.parametrize("dx, dy, bound", [(1.0, 0.0, 0.001), (-2.0, 3.0, 0.002),
                                          (0.5, -0.25, 0.04), (1.3, 0.7, 0.04)])
def test_a_translation_is_recovered(dx, dy, bound):
    """i0 is the texture moved by (dx, dy), so each of its pixels came from (-dx, -dy) in i1: the
    flow from i0 to i1 is (-dx, -dy) everywhere (mean EPE within ``bound`` pixels, 12 pixels or
    more from the border, where the texture came from outside the frame).  Whole pixels are found
    to a thousandth; a fraction of a pixel to a few hundredths (measured 0.034 at (0.5, -0.25),
    0.021 at (0.3, 0)), the bias of bilinear interpolation, whose average of two neighbours is a
    slightly blurred copy of the texture between them (the median flow is within 0.005)."""
    i1, i0 = texture(48, 56), texture(48, 56, dx=dx, dy=dy)
    true = np.stack([np.full((48, 56), -dx), np.full((48, 56), -dy)])
    for v in _both("optical_flow", i0, i1):
        assert epe(v, true, border=12) < bound


@pytest.mark.parametrize("degrees, bound", [(1.0, 0.1), (3.0, 0.25)])
def test_a_rotation_is_recovered(degrees, bound):
    """A turn about the centre (3 degrees: up to 1.2 pixels at the corners): the flow of each
    pixel is where the rotation took it from.  Measured mean EPE 0.08 at 1 degree and 0.22 at 3:
    Lucas–Kanade takes the flow as constant over its 15x15 window, and the texture-weighted
    centre of a window is not its middle, so a flow that turns within the window is read a
    little off (a translation has no such error)."""
    h, w, angle = 48, 48, np.deg2rad(degrees)
    i1, i0 = texture(h, w), texture(h, w, angle=angle)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = (h - 1) / 2, (w - 1) / 2
    c, s = np.cos(angle), np.sin(angle)  # i0(x) = i1(R (x - centre) + centre)
    true = np.stack([c * (x - cx) + s * (y - cy) + cx - x, -s * (x - cx) + c * (y - cy) + cy - y])
    for v in _both("optical_flow", i0, i1):
        assert epe(v, true, border=8) < bound


def test_the_pyramid_reaches_a_displacement_the_finest_level_cannot():
    """16 pixels, on a texture of periods 42-78 pixels (so its halvings keep it): one level
    stops off by pixels (the linearisation reaches a fraction of a period), the default pyramid
    (3 levels at 96x96) finds it to a few hundredths."""
    kwargs = dict(seed=3, fmin=0.08, fmax=0.15)
    i1, i0 = texture(96, 96, **kwargs), texture(96, 96, dx=16.0, **kwargs)
    true = np.stack([np.full((96, 96), -16.0), np.zeros((96, 96))])
    assert epe(RF.optical_flow(i0, i1, levels=1), true, border=20) > 1  # measured 1.53
    for v in _both("optical_flow", i0, i1):
        assert epe(v, true, border=20) < 0.1


def test_the_flow_direction_is_the_warps():
    """warp(i1, optical_flow(i0, i1)) gives i0 back (the module's Convention)."""
    from sharpvid.reference.pyramid import warp

    i1, i0 = texture(40, 40), texture(40, 40, dx=1.5, dy=-0.5)
    v = RF.optical_flow(i0, i1)
    inner = (slice(None), slice(6, -6), slice(6, -6))
    error = np.abs(warp(i1, v) - i0)[inner]  # measured: mean 0.008, max 0.023
    assert error.mean() < 0.01 and error.max() < 0.03
    assert np.abs(i1 - i0)[inner].mean() > 0.1  # unwarped: 0.15


def test_constant_velocity_is_extrapolated_recursively():
    """A texture moving 1.5 pixels right and 0.5 down each frame: the next two frames are
    predicted, recursively, to within a small error; copying the last frame is far off."""
    frames = np.stack([texture(48, 48, dx=1.5 * t, dy=0.5 * t, seed=5) for t in range(6)])
    inputs, truth = frames[:4], frames[4:]
    inner = (slice(None), slice(None), slice(8, -8), slice(8, -8))
    for pred in _both("flow_extrapolate", inputs, 2):
        err = np.abs(pred - truth)[inner].mean(axis=(1, 2, 3))
        copy = np.abs(inputs[-1:] - truth)[inner].mean(axis=(1, 2, 3))
        assert (err < 0.02).all() and (err < copy / 10).all(), (err, copy)


def test_extrapolation_moves_colour_frames_and_batches_like_single_clips():
    """RGB frames move by the flow of their luma; a batch is the clips one by one."""
    rgb = np.stack([np.concatenate([texture(24, 32, dx=t, seed=s) for s in range(3)])
                    for t in range(3)])                   # (3, 3, 24, 32): moving right
    batch = np.stack([rgb, rgb[:, ::-1], rgb[::-1]])      # (3, 3, 3, 24, 32)
    whole = FF.flow_extrapolate(torch.as_tensor(batch), 2)
    for b in range(3):
        alone = FF.flow_extrapolate(torch.as_tensor(batch[b]), 2)
        torch.testing.assert_close(whole[b], alone, rtol=1e-9, atol=1e-10)
    ref = RF.flow_extrapolate(batch, 2)
    np.testing.assert_allclose(whole.numpy(), ref, rtol=1e-7, atol=1e-8)


# ------------------------------------------------------------------ one-line errors
@pytest.mark.parametrize("call", [
    ("optical_flow", (np.zeros((1, 8, 8)), np.zeros((1, 8, 9))), {}),           # sizes differ
    ("optical_flow", (np.zeros((2, 8, 8)), np.zeros((2, 8, 8))), {}),           # 2 channels
    ("optical_flow", (np.full((1, 8, 8), np.nan), np.zeros((1, 8, 8))), {}),    # NaN frame
    ("optical_flow", (np.zeros((1, 8, 8)), np.zeros((1, 8, 8))), dict(lam=0.0)),
    ("optical_flow", (np.zeros((1, 1, 8)), np.zeros((1, 1, 8))), {}),           # 1 row
    ("flow_extrapolate", (np.zeros((1, 1, 8, 8)), 1), {}),                      # a single frame
    ("flow_extrapolate", (np.zeros((2, 1, 8, 8)), 0), {}),                      # n = 0
    ("lucas_kanade_step", (np.zeros((8, 8)), np.zeros((8, 8)), np.zeros((2, 8, 9))), {}),
    ("upsample_flow", (np.zeros((2, 4, 4)), (10, 8)), {}),
    ("window_mean", (np.zeros((4, 4)), 0), {}),
])
def test_bad_input_is_one_line_and_the_same_in_both(call):
    name, args, kwargs = call
    check_same_error(lambda: getattr(RF, name)(*args, **kwargs),
                     [lambda: getattr(FF, name)(*(torch.as_tensor(a) if isinstance(a, np.ndarray)
                                                  else a for a in args), **kwargs)],
                     one_line=True)


# ------------------------------------------------------------------ twin against the oracle
_PIXELS = st.floats(-1.0, 1.0, allow_nan=False, width=64)


@st.composite
def _images(draw, lead=((), (2,)), min_side=2, max_side=12):
    shape = draw(st.sampled_from(lead)) + (draw(st.integers(min_side, max_side)),
                                           draw(st.integers(min_side, max_side)))
    return draw(hnp.arrays(np.float64, shape, elements=_PIXELS))


def _gradient_inputs(regime):
    return _images().map(lambda i: ((i,), {}))


def _window_inputs(regime):
    return st.tuples(_images(), st.integers(1, 9)).map(lambda a: ((a[0], a[1]), {}))


@st.composite
def _step_inputs(draw):
    """A smooth image pair (a real texture, so the 2x2 systems are well posed) and a flow."""
    h, w = draw(st.integers(4, 14)), draw(st.integers(4, 14))
    seed = draw(st.integers(0, 2 ** 16))
    i1 = texture(h, w, seed=seed)[0]
    i0 = texture(h, w, dx=draw(st.floats(-2, 2)), dy=draw(st.floats(-2, 2)), seed=seed)[0]
    v = draw(hnp.arrays(np.float64, (2, h, w), elements=st.floats(-3, 3, width=32)))
    kwargs = dict(radius=draw(st.integers(1, 3)), lam=draw(st.sampled_from([1e-4, 1e-2, 1.0])))
    return (i0, i1, v), kwargs


def _upsample_inputs(regime):
    @st.composite
    def build(draw):
        v = draw(hnp.arrays(np.float64, (2, draw(st.integers(1, 6)), draw(st.integers(1, 6))),
                            elements=st.floats(-5, 5, width=32)))
        shape = (2 * v.shape[-2] + draw(st.integers(0, 1)), 2 * v.shape[-1] + draw(st.integers(0, 1)))
        return (v, shape), {}

    return build()


FLOW_TWINS = [
    Twin("image_gradient", RF.image_gradient, FF.image_gradient, _gradient_inputs),
    Twin("window_mean", RF.window_mean, FF.window_mean, _window_inputs),
    # float32: one Cramer solve divides by det(A + lam I), as small as ~lam^2 = 1e-8 where the
    # window has no texture, so float32's rounding of A is amplified there (1e-4 of the flow)
    Twin("lucas_kanade_step", RF.lucas_kanade_step, FF.lucas_kanade_step,
         lambda regime: _step_inputs(), tolerance={torch.float32: (1e-3, 1e-3)}),
    Twin("upsample_flow", RF.upsample_flow, FF.upsample_flow, _upsample_inputs),
]


@pytest.mark.parametrize("twin", FLOW_TWINS, ids=[t.name for t in FLOW_TWINS])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@given(data=st.data())
def test_flow_twin_matches_oracle(twin, dtype, data):
    args, kwargs = data.draw(twin.inputs("normal"), label="inputs")
    check_twin(twin, args, kwargs, dtype=dtype)


@pytest.mark.parametrize("seed", range(3))
def test_the_whole_flow_and_extrapolation_match_the_oracle(seed):
    """The coarse-to-fine loop on fixed seeds: real-looking moving RGB clips of odd sizes (the
    pyramid's dropped rows and columns), float64 to 1e-9, float32 to a hundredth of a pixel."""
    rng = np.random.default_rng(seed)
    h, w = rng.integers(20, 45, 2)
    dx, dy = rng.uniform(-3, 3, 2)
    clip = np.stack([np.concatenate([texture(h, w, dx=dx * t, dy=dy * t, seed=seed + 10 * c)
                                     for c in range(3)]) for t in range(3)])  # (3, 3, h, w)
    options = dict(levels=3, min_size=5, radius=3)
    v_ref = RF.optical_flow(clip[-1], clip[-2], **options)
    p_ref = RF.flow_extrapolate(clip, 2, **options)
    x = torch.as_tensor(clip)
    np.testing.assert_allclose(FF.optical_flow(x[-1], x[-2], **options).numpy(), v_ref,
                               rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(FF.flow_extrapolate(x, 2, **options).numpy(), p_ref,
                               rtol=1e-9, atol=1e-9)
    x32 = x.float()
    np.testing.assert_allclose(FF.optical_flow(x32[-1], x32[-2], **options).double().numpy(),
                               v_ref, atol=1e-2)
    np.testing.assert_allclose(FF.flow_extrapolate(x32, 2, **options).double().numpy(), p_ref,
                               atol=1e-3)


@pytest.mark.gpu
def test_the_twin_on_cuda_equals_the_cpu():
    clip = np.stack([np.concatenate([texture(40, 56, dx=1.2 * t, seed=c) for c in range(3)])
                     for t in range(4)])
    x = torch.as_tensor(clip, dtype=torch.float32)
    cpu = FF.flow_extrapolate(x, 2)
    cuda = FF.flow_extrapolate(x.cuda(), 2).cpu()
    torch.testing.assert_close(cuda, cpu, rtol=1e-4, atol=1e-4)


def test_a_batch_in_several_passes_gives_each_frame_what_it_gets_alone(monkeypatch):
    """The twin runs a large batch a few frames per pass (cache); a frame's flow does not depend
    on which frames share its pass: passes of 2 and of 1 give the one-pass numbers bit for bit,
    over two leading axes."""
    import sharpvid.fast.flow as fast_flow

    torch.manual_seed(0)
    i1 = torch.rand(2, 3, 3, 24, 32) * 2 - 1
    i0 = torch.roll(i1, shifts=(1, 2), dims=(-2, -1))
    whole = fast_flow.optical_flow(i0, i1)
    for pixels in (2 * 24 * 32, 24 * 32):
        monkeypatch.setattr(fast_flow, "CHUNK_PIXELS", pixels)
        assert torch.equal(fast_flow.optical_flow(i0, i1), whole)
    assert whole.shape == (2, 3, 2, 24, 32) and whole.abs().max() > 0.5
