"""Tests of sharpvid.reference.networks: the multi-scale G and D of Mathieu, Couprie & LeCun 2016.

Hand-computed layers, closed-form outputs of zeroed networks, shapes of every named
configuration, batching properties, the recursion of ``predict_frames``, clear errors, and a
cross-check against torch layers built with the twin's ``state_dict`` names.
"""

import dataclasses
import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import expit

import sharpvid.reference.networks as networks
from sharpvid.reference.networks import (
    CONFIGS,
    NetworkConfig,
    _activation,
    _conv2d,
    _linear,
    _max_pool2x2,
    discriminator_forward,
    discriminator_weight_shapes,
    generator_forward,
    generator_weight_shapes,
    get_config,
    init_discriminator_weights,
    init_generator_weights,
    predict_frames,
)
from sharpvid.reference.pyramid import frame_pyramid, upsample

TINY = get_config("tiny")


def _clip(rng, *shape):
    """Uniform frames in [-1, 1]."""
    return np.random.default_rng(rng).uniform(-1.0, 1.0, shape)


def _zero_except_last_bias(shapes, bias_of_scale):
    """All weights zero except the bias of each scale's last layer, set to ``bias_of_scale(k)``."""
    weights = {name: np.zeros(shape) for name, shape in shapes.items()}
    last = {}
    for name in shapes:
        if name.endswith(".bias"):
            last[int(name.split(".")[1])] = name  # the last bias of each scale wins
    for k, name in last.items():
        weights[name] = np.broadcast_to(bias_of_scale(k), shapes[name]).astype(float)
    return weights


# --- building blocks, hand-computed ---------------------------------------------------------


def test_conv2d_is_cross_correlation_by_hand():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]
    w = np.array([[[[1.0, 2.0], [0.0, 0.0]]]])  # y[i,j] = x[i,j] + 2 x[i,j+1] + b
    y = _conv2d(x, w, np.array([0.5]), padding=0)
    expected = np.array([[1 + 2 * 2, 2 + 2 * 3], [4 + 2 * 5, 5 + 2 * 6]]) + 0.5
    np.testing.assert_array_equal(y, expected[None, None])


def test_conv2d_same_padding_and_channels_by_hand():
    # 3x3 box of ones with zero padding 1 on a 2x2 image: every output sees the whole image.
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]], [[[0.0, 0.0], [0.0, 1.0]]]])  # (2, 1, 2, 2)
    w = np.stack([np.ones((1, 3, 3)), -np.ones((1, 3, 3))])  # (2 out, 1 in, 3, 3)
    y = _conv2d(x, w, np.array([0.0, 1.0]), padding=1)
    assert y.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(y[0, 0], np.full((2, 2), 1 + 2 + 3 + 4))
    np.testing.assert_array_equal(y[0, 1], np.full((2, 2), -10 + 1))
    np.testing.assert_array_equal(y[1, 0], np.full((2, 2), 1.0))


def test_conv2d_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 7, 6)), rng.normal(size=(4, 3, 5, 3)), rng.normal(size=4)
    for padding in (0, 1):
        expected = torch.nn.functional.conv2d(
            torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding=padding
        ).numpy()
        np.testing.assert_allclose(_conv2d(x, w, b, padding=padding), expected, rtol=1e-12)


def test_max_pool_by_hand_floor():
    x = np.array([[1.0, 5.0, 2.0, 0.0, 9.0],
                  [3.0, 4.0, 8.0, 1.0, 9.0],
                  [9.0, 9.0, 9.0, 9.0, 9.0]])[None, None]  # 3x5: last row and column dropped
    np.testing.assert_array_equal(_max_pool2x2(x), [[[[5.0, 8.0]]]])


def test_linear_by_hand():
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 0.0], [2.0, -1.0], [0.0, 3.0]])  # (out=3, in=2)
    b = np.array([0.5, 0.0, -1.0])
    np.testing.assert_array_equal(_linear(x, w, b), [[1 + 0.5, 2 - 2, 6 - 1]])


def test_activation_relu_and_leaky_relu():
    x = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(_activation(x, "relu", 0.2), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(_activation(x, "leaky_relu", 0.2), [-0.4, 0.0, 3.0])


# --- closed forms of zeroed networks --------------------------------------------------------


@pytest.mark.parametrize("mode", ["nearest", "bilinear"])
def test_generator_with_only_biases_residual(mode):
    cfg = get_config("tiny", upsample_mode=mode)
    bias = {0: np.array([0.3, -0.2, 0.1]), 1: 0.05, 2: -0.4, 3: 0.25}
    w = _zero_except_last_bias(generator_weight_shapes(cfg), lambda k: bias[k])
    preds = generator_forward(w, _clip(0, 2, 4, 3, 16, 16), cfg)
    # \hat Y_0 = tanh(b_0), per channel
    np.testing.assert_allclose(preds[0], np.broadcast_to(np.tanh(bias[0])[:, None, None],
                                                         (2, 3, 2, 2)))
    # \hat Y_k = tanh(u(\hat Y_{k-1}) + b_k)
    for k in range(1, 4):
        np.testing.assert_allclose(preds[k], np.tanh(upsample(preds[k - 1], 2, mode) + bias[k]))


def test_generator_with_only_biases_no_residual():
    cfg = get_config("tiny", residual=False, upsample_mode="bilinear")
    w = _zero_except_last_bias(generator_weight_shapes(cfg), lambda k: 0.1 * (k + 1))
    preds = generator_forward(w, _clip(1, 4, 3, 8, 8), cfg)
    for k, p in enumerate(preds):  # TF rule: \hat Y_k = tanh(G'_k(...)) = tanh(b_k)
        np.testing.assert_allclose(p, np.full(p.shape, np.tanh(0.1 * (k + 1))))


@pytest.mark.parametrize("conditional", [True, False])
def test_discriminator_with_only_biases_is_sigmoid(conditional):
    cfg = get_config("tiny", conditional_d=conditional)
    w = _zero_except_last_bias(discriminator_weight_shapes(cfg), lambda k: k - 1.5)
    x = _clip(2, 3, 4, 3, 32, 32)
    probs = discriminator_forward(w, x, frame_pyramid(x[:, -1], 4), cfg)
    for k, p in enumerate(probs):
        np.testing.assert_allclose(p, np.full(3, expit(k - 1.5)))


# --- shapes of every named configuration ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_weight_shapes_and_init(name):
    cfg = get_config(name)
    for shapes, init in ((generator_weight_shapes(cfg), init_generator_weights),
                         (discriminator_weight_shapes(cfg), init_discriminator_weights)):
        w = init(cfg, rng=0)
        assert list(w) == list(shapes)
        assert {k: v.shape for k, v in w.items()} == shapes
        assert all(v.dtype == np.float64 for v in w.values())
    g = generator_weight_shapes(cfg)
    m_c, c = cfg.in_frames * cfg.channels, cfg.channels
    for k in range(cfg.n_scales):
        n_convs = len(cfg.g_kernels[k])
        assert g[f"scales.{k}.convs.0.weight"][1] == m_c + (c if k else 0)  # 12, then 15
        assert g[f"scales.{k}.convs.{n_convs - 1}.weight"][0] == c


def test_paper_table_sizes():
    cfg = get_config("paper")
    g, d = generator_weight_shapes(cfg), discriminator_weight_shapes(cfg)
    assert g["scales.3.convs.2.weight"] == (512, 256, 5, 5)
    assert g["scales.3.convs.5.weight"] == (3, 128, 7, 7)
    assert d["scales.0.convs.0.weight"] == (64, 15, 3, 3)  # conditional: (4 + 1) x 3 channels
    # first FC inputs: fmaps x (side after valid convs, then 2x2 pool)^2
    assert [d[f"scales.{k}.fcs.0.weight"][1] for k in range(4)] == [
        64 * 1 * 1,  # 4 -> 2 -> 1
        128 * 1 * 1,  # 8 -> 6, 4, 2 -> 1
        256 * 2 * 2,  # 16 -> 12, 8, 4 -> 2
        128 * 6 * 6,  # 32 -> 26, 20, 16, 12 -> 6
    ]
    assert d["scales.3.fcs.2.weight"] == (1, 512)
    big = discriminator_weight_shapes(get_config("paper", patch_size=64))
    assert big["scales.3.fcs.0.weight"] == (1024, 128 * 22 * 22)  # the TF FAQ's OOM


def test_authors_small_pools_only_at_the_finest_scale():
    d = discriminator_weight_shapes(get_config("authors_small"))
    assert [d[f"scales.{k}.fcs.0.weight"][1] for k in range(4)] == [
        32 * 2 * 2, 64 * 2 * 2, 64 * 4 * 4, 128 * 6 * 6
    ]


def test_conditional_vs_unconditional_channels():
    cond = discriminator_weight_shapes(get_config("tiny", conditional_d=True))
    uncond = discriminator_weight_shapes(get_config("tiny", conditional_d=False))
    for k in range(4):
        assert cond[f"scales.{k}.convs.0.weight"][1] == 15
        assert uncond[f"scales.{k}.convs.0.weight"][1] == 3


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_forward_shapes_every_config(name):
    cfg = get_config(name)
    side = 8 if name in ("paper", "tf") else 32  # the big G at the smallest size only
    x = _clip(3, 1, 4, 3, 32, 32)
    preds = generator_forward(init_generator_weights(cfg, rng=0), x[..., :side, :side], cfg)
    assert [p.shape for p in preds] == [(1, 3, side >> s, side >> s) for s in (3, 2, 1, 0)]
    assert all(np.all(np.abs(p) < 1) for p in preds)
    probs = discriminator_forward(init_discriminator_weights(cfg, rng=1), x,
                                  frame_pyramid(x[:, -1], 4), cfg)
    assert [p.shape for p in probs] == [(1,)] * 4
    assert all(np.all((p > 0) & (p < 1)) for p in probs)


def test_generator_is_fully_convolutional():
    w = init_generator_weights(TINY, rng=0)
    for h, wd in ((64, 64), (16, 24)):
        preds = generator_forward(w, _clip(4, 2, 4, 3, h, wd), TINY)
        assert [p.shape for p in preds] == [(2, 3, h // f, wd // f) for f in (8, 4, 2, 1)]


def test_init_follows_torch_default_bound():
    w = init_discriminator_weights(TINY, rng=0)["scales.3.fcs.0.weight"]  # fan_in 8 * 14 * 14
    bound = 1 / np.sqrt(1568)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    again = init_discriminator_weights(TINY, rng=0)["scales.3.fcs.0.weight"]
    np.testing.assert_array_equal(w, again)  # the same seed, the same weights


# --- batching properties --------------------------------------------------------------------


def test_unbatched_equals_batched_first():
    wg, wd = init_generator_weights(TINY, rng=0), init_discriminator_weights(TINY, rng=1)
    x = _clip(5, 2, 4, 3, 32, 32)
    batched, single = generator_forward(wg, x, TINY), generator_forward(wg, x[0], TINY)
    for b, s in zip(batched, single):
        assert s.shape == b.shape[1:]
        np.testing.assert_allclose(s, b[0], rtol=1e-12, atol=1e-14)
    ys = frame_pyramid(x[:, -1], 4)
    d_b = discriminator_forward(wd, x, ys, TINY)
    d_s = discriminator_forward(wd, x[0], [y[0] for y in ys], TINY)
    np.testing.assert_allclose([float(p) for p in d_s], [p[0] for p in d_b], rtol=1e-12)
    np.testing.assert_allclose(predict_frames(wg, x[0], 2, TINY),
                               predict_frames(wg, x, 2, TINY)[0], rtol=1e-12, atol=1e-14)


@given(
    x=st.integers(1, 3).flatmap(
        lambda b: arrays(np.float64, (b, 4, 3, 8, 16), elements=st.floats(-1, 1, width=32))
    )
)
def test_generator_batched_equals_stacked(x):
    w = init_generator_weights(TINY, rng=0)
    batched = generator_forward(w, x, TINY)
    per_sample = [generator_forward(w, xi, TINY) for xi in x]
    for k, p in enumerate(batched):
        np.testing.assert_allclose(p, np.stack([s[k] for s in per_sample]), rtol=1e-12,
                                   atol=1e-14)


@given(batch=st.integers(1, 3), seed=st.integers(0, 2**32 - 1), conditional=st.booleans())
def test_discriminator_batched_equals_stacked(batch, seed, conditional):
    cfg = get_config("tiny", conditional_d=conditional)
    w = init_discriminator_weights(cfg, rng=1)
    x = _clip(seed, batch, 4, 3, 32, 32)
    ys = frame_pyramid(_clip(seed + 1, batch, 3, 32, 32), 4)
    batched = discriminator_forward(w, x, ys, cfg)
    for i in range(batch):
        single = discriminator_forward(w, x[i], [y[i] for y in ys], cfg)
        np.testing.assert_allclose([p[i] for p in batched], single, rtol=1e-12)


# --- options ----------------------------------------------------------------------------------


def test_leaky_relu_changes_the_output():
    w = init_generator_weights(TINY, rng=0)
    x = _clip(6, 1, 4, 3, 16, 16)
    relu = generator_forward(w, x, TINY)[-1]
    leaky = generator_forward(w, x, get_config("tiny", activation="leaky_relu"))[-1]
    assert not np.allclose(relu, leaky)


def test_unconditional_discriminator_ignores_x():
    cfg = get_config("tiny", conditional_d=False)
    w = init_discriminator_weights(cfg, rng=0)
    ys = frame_pyramid(_clip(7, 2, 3, 32, 32), 4)
    a = discriminator_forward(w, None, ys, cfg)
    b = discriminator_forward(w, _clip(8, 2, 4, 3, 32, 32), ys, cfg)
    np.testing.assert_array_equal(a, b)


def test_conditional_discriminator_depends_on_x():
    w = init_discriminator_weights(TINY, rng=0)
    ys = frame_pyramid(_clip(7, 2, 3, 32, 32), 4)
    a = discriminator_forward(w, _clip(8, 2, 4, 3, 32, 32), ys, TINY)
    b = discriminator_forward(w, _clip(9, 2, 4, 3, 32, 32), ys, TINY)
    assert not np.allclose(a, b)


def test_change_discriminator_judges_the_frame_minus_the_last_input():
    # d_input="change" is the "frame" network fed Y_k - X_k^(m): a copy of the last input frame
    # reaches it as zeros, whatever the frames
    change = get_config("tiny", d_input="change")
    w = init_discriminator_weights(change, rng=0)
    x = _clip(8, 2, 4, 3, 32, 32)
    y = _clip(7, 2, 3, 32, 32)
    ours = discriminator_forward(w, x, frame_pyramid(y, 4), change)
    by_hand = discriminator_forward(w, x, frame_pyramid(y - x[:, -1], 4), TINY)
    np.testing.assert_allclose(ours, by_hand, rtol=1e-12)
    copied = discriminator_forward(w, x, frame_pyramid(x[:, -1], 4), change)
    zeros = discriminator_forward(w, x, frame_pyramid(np.zeros_like(y), 4), TINY)
    np.testing.assert_allclose(copied, zeros, rtol=1e-12)
    assert not np.allclose(ours, discriminator_forward(w, x, frame_pyramid(y, 4), TINY))


def test_predict_frames_is_the_recursion_by_hand():
    w = init_generator_weights(TINY, rng=0)
    x = _clip(10, 2, 4, 3, 16, 16)
    first = generator_forward(w, x, TINY)[-1]
    second = generator_forward(w, np.concatenate([x[:, 1:], first[:, None]], axis=1), TINY)[-1]
    out = predict_frames(w, x, 2, TINY)
    assert out.shape == (2, 2, 3, 16, 16)
    np.testing.assert_array_equal(out[:, 0], first)
    np.testing.assert_array_equal(out[:, 1], second)


# --- the torch layout the twin will load ------------------------------------------------------


def test_matches_torch_modules_with_the_twin_state_dict_names():
    torch = pytest.importorskip("torch")
    nn, F = torch.nn, torch.nn.functional
    cfg = TINY
    gen = nn.ModuleList()
    for k in range(4):
        scale, chans = nn.Module(), generator_weight_shapes(cfg)
        scale.convs = nn.ModuleList(
            nn.Conv2d(chans[f"scales.{k}.convs.{i}.weight"][1],
                      chans[f"scales.{k}.convs.{i}.weight"][0], s, padding=(s - 1) // 2)
            for i, s in enumerate(cfg.g_kernels[k]))
        gen.append(scale)
    disc = nn.ModuleList()
    d_shapes = discriminator_weight_shapes(cfg)
    for k in range(4):
        scale = nn.Module()
        scale.convs = nn.ModuleList(
            nn.Conv2d(d_shapes[f"scales.{k}.convs.{i}.weight"][1],
                      d_shapes[f"scales.{k}.convs.{i}.weight"][0], s)
            for i, s in enumerate(cfg.d_kernels[k]))
        scale.fcs = nn.ModuleList(
            nn.Linear(*reversed(d_shapes[f"scales.{k}.fcs.{j}.weight"]))
            for j in range(len(cfg.d_fc[k])))
        disc.append(scale)
    wg, wd = init_generator_weights(cfg, rng=0), init_discriminator_weights(cfg, rng=1)
    # the twin holds an nn.ModuleList `scales`; strict loading checks every name and shape
    for modules, weights in ((gen, wg), (disc, wd)):
        holder = nn.Module()
        holder.scales = modules
        holder.double().load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})

    x = _clip(11, 2, 4, 3, 32, 32)
    xs = [torch.from_numpy(p).flatten(1, 2) for p in frame_pyramid(x, 4)]  # (B, mC, s, s)
    y, preds = None, []
    for k in range(4):
        up = None if y is None else F.interpolate(y, scale_factor=2, mode="nearest")
        h = xs[k] if up is None else torch.cat([xs[k], up], 1)
        for i, conv in enumerate(gen[k].convs):
            h = conv(h) if i == len(gen[k].convs) - 1 else F.relu(conv(h))
        y = torch.tanh(h if up is None else h + up)
        preds.append(y)
    ours = generator_forward(wg, x, cfg)
    for p, q in zip(ours, preds):
        np.testing.assert_allclose(p, q.detach().numpy(), rtol=1e-10, atol=1e-12)

    probs = []
    for k in range(4):
        h = torch.cat([xs[k], preds[k]], 1)
        for conv in disc[k].convs:
            h = F.relu(conv(h))
        h = F.max_pool2d(h, 2).flatten(1)
        for j, fc in enumerate(disc[k].fcs):
            h = fc(h) if j == len(disc[k].fcs) - 1 else F.relu(fc(h))
        probs.append(torch.sigmoid(h[:, 0]))
    ours_d = discriminator_forward(wd, x, ours, cfg)
    for p, q in zip(ours_d, probs):
        np.testing.assert_allclose(p, q.detach().numpy(), rtol=1e-10, atol=1e-12)


# --- errors ---------------------------------------------------------------------------------


def test_bad_config_name_and_field():
    with pytest.raises(ValueError, match="unknown network configuration 'huge'"):
        get_config("huge")
    with pytest.raises(ValueError, match="unknown NetworkConfig field 'n_scale'"):
        get_config("tiny", n_scale=3)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"n_scales": 3}, "g_fmaps must have n_scales=3 entries"),
        ({"g_kernels": ((3, 3, 3),) * 4}, r"g_kernels\[0\] needs len\(g_fmaps\[0\]\) \+ 1 = 4"),
        ({"g_kernels": ((3, 4, 3, 3),) * 4}, "must be odd"),
        ({"d_fc": ((16, 2),) * 4}, r"d_fc\[0\] must end with a 1-unit layer"),
        ({"d_kernels": ((3,), (3, 3), (3, 3), (3, 3))}, r"d_kernels\[1\] needs one kernel"),
        ({"d_pool": (True,) * 3}, "d_pool must be 4 booleans"),
        ({"patch_size": 36}, "not divisible by 2"),
        ({"patch_size": 16}, "discriminator scale 0: the valid 3x3 convolution leaves"),
        ({"activation": "tanh"}, "activation must be one of"),
        ({"upsample_mode": "cubic"}, "upsample_mode must be one of"),
        ({"leaky_slope": -0.1}, "leaky_slope must be"),
        ({"flow_deadzone": -0.5}, r"flow_deadzone must be a finite number >= 0 \(pixels\)"),
        ({"flow_deadzone": float("nan")}, "flow_deadzone must be"),
        ({"output": "optical_flow"}, "output must be one of"),
        ({"output": "flow", "in_frames": 1}, "output='flow' needs in_frames >= 2"),
        ({"d_input": "residual"}, "d_input must be one of"),
        ({"d_input": "change", "conditional_d": False}, "d_input='change' needs conditional_d"),
        ({"residual": "yes"}, "residual must be a bool"),
    ],
)
def test_invalid_configs_raise(overrides, message):
    with pytest.raises(ValueError, match=message):
        get_config("tiny", **overrides)


def test_config_lists_become_tuples():
    cfg = dataclasses.replace(TINY, g_fmaps=[list(f) for f in TINY.g_fmaps],
                              d_pool=list(TINY.d_pool))
    assert cfg == TINY
    assert NetworkConfig() == CONFIGS["paper"]


def test_bad_inputs_raise():
    wg = init_generator_weights(TINY, rng=0)
    x = _clip(12, 1, 4, 3, 32, 32)
    with pytest.raises(ValueError, match="not divisible by the factor 8"):
        generator_forward(wg, x[..., :20, :20], TINY)
    with pytest.raises(ValueError, match=r"x must have shape \(B, m=4, C=3, H, W\)"):
        generator_forward(wg, x[:, :3], TINY)
    with pytest.raises(ValueError, match="x must have 4 or 5 dimensions"):
        generator_forward(wg, x[0, 0], TINY)
    missing = {k: v for k, v in wg.items() if k != "scales.2.convs.1.bias"}
    with pytest.raises(ValueError, match="generator weights are missing 'scales.2.convs.1.bias'"):
        generator_forward(missing, x, TINY)
    bad = dict(wg, **{"scales.0.convs.0.weight": np.zeros((4, 12, 5, 5))})
    with pytest.raises(ValueError, match=r"'scales.0.convs.0.weight' must have shape \(4, 12, 3"):
        generator_forward(bad, x, TINY)
    with pytest.raises(ValueError, match="unexpected key 'scales.4.convs.0.weight'"):
        generator_forward(dict(wg, **{"scales.4.convs.0.weight": 0}), x, TINY)
    with pytest.raises(ValueError, match="discriminator weights are missing"):
        discriminator_forward(wg, x, frame_pyramid(x[:, -1], 4), TINY)
    with pytest.raises(TypeError, match="config must be a NetworkConfig"):
        generator_forward(wg, x, "tiny")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        predict_frames(wg, x, 0, TINY)


def test_discriminator_bad_inputs_raise():
    wd = init_discriminator_weights(TINY, rng=1)
    x = _clip(13, 2, 4, 3, 64, 64)
    with pytest.raises(ValueError, match=r"ys\[0\] must have shape \(2, 3, 4, 4\).*patch_size=32"):
        discriminator_forward(wd, x, frame_pyramid(x[:, -1], 4), TINY)
    ys = frame_pyramid(x[:, -1, :, :32, :32], 4)
    with pytest.raises(ValueError, match=r"x must have shape \(2, 4, 3, 32, 32\)"):
        discriminator_forward(wd, x, ys, TINY)
    with pytest.raises(ValueError, match="x .* is required by a conditional discriminator"):
        discriminator_forward(wd, None, ys, TINY)
    with pytest.raises(ValueError, match="ys must be a list of n_scales=4 arrays"):
        discriminator_forward(wd, x[..., :32, :32], ys[1:], TINY)


def test_doctests():
    result = doctest.testmod(networks, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
