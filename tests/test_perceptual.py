"""sharpvid.fast.perceptual computes sharpvid.reference.perceptual: the VGG19 perceptual loss, with
shared weights.

One registry of cases (layers, input shapes) drives one generic check through the project's
harness (:func:`equivalence.check_twin`: both raise or both return, then dtype, shape, values
against the dtype-keyed tolerance table).  Every case runs the oracle once and compares four fast
paths against it: the functional features, the ``VGG19Features`` module loaded with the same
weights, and the loss through each.  Frames are drawn by hypothesis; weights are the oracle's
random init from a hypothesis-drawn seed, scaled to He's variance so that the feature maps keep
their scale through 16 layers (with torch's default rule they shrink about 6x per layer and a
comparison at relu5_4 against the table's atol would be vacuous).  No pretrained weights are
needed or fetched: ``load_vgg19_weights`` is tested on small generated checkpoint files.
"""

from __future__ import annotations

import doctest
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import sharpvid.fast.perceptual as Fp
import sharpvid.reference.perceptual as R
from equivalence import Twin, check_same_error, check_twin, compares_values
from strategies import PIXELS, frame_pairs, frames

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False



pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


SEEDS = st.integers(0, 2**32 - 1)
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
#: examples per equivalence case: 3 in CI (a relu5_4 oracle pass costs ~0.2 s), 20 thorough
FEW = max(3, settings.default.max_examples // 10)

#: torchvision's ``vgg19().state_dict()`` feature keys (its classifier.* keys aside).
TORCHVISION_KEYS = [
    f"features.{i}.{p}"
    for i in (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
    for p in ("weight", "bias")
]


def _he_weights(upto: str, seed: int, dtype: torch.dtype) -> dict:
    """Oracle init scaled by √6 (variance 2 / fan_in, He's), rounded to ``dtype``, float64."""
    w = R.init_vgg19_weights(upto, np.random.default_rng(seed))
    return {k: torch.from_numpy(v * np.sqrt(6.0)).to(dtype).double().numpy() for k, v in w.items()}


# ------------------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class Case:
    """Some layers of VGG19 on some frame shapes."""

    id: str
    layers: tuple  # (layer, weight) pairs
    shapes: tuple  # the frame shapes ``(..., C, H, W)`` hypothesis picks from


CASES = [
    # odd sizes, grey frames, an unbatched frame and a (B, T, C, H, W) clip
    Case("relu1_2", (("relu1_2", 1.0),), ((2, 3, 5, 7), (1, 1, 4, 4), (3, 6, 6), (1, 2, 3, 4, 4))),
    Case("relu2_2", (("relu2_2", 1.0),), ((2, 3, 8, 8), (1, 1, 9, 6))),
    Case("relu3_4", (("relu3_4", 1.0),), ((2, 3, 8, 8), (1, 1, 10, 9))),
    # SRGAN's VGG54: a 16x16 frame is 1x1 in block 5; 20x20 floors 5 -> 2 at pool3.  The
    # weight 1e5 brings the loss to O(1): at 1x1 only the centre tap of each zero-padded 3x3
    # kernel sees data (a ninth of He's variance per conv), so the unweighted loss with random
    # weights is ~1e-6, under float32's atol; the feature maps themselves are ~1e-2.
    Case("relu5_4", (("relu5_4", 1e5),), ((2, 3, 16, 16), (1, 1, 20, 20))),
    Case("weighted-mix", (("relu1_2", 0.25), ("relu2_2", 1.0), ("relu3_4", 0.5),
                          ("relu5_4", 1e5)), ((1, 3, 16, 16),)),
]

_MODULES: dict = {}


def _module(names: tuple, dtype: torch.dtype) -> Fp.VGG19Features:
    """One module per (layers, dtype), reloaded for every example (building one costs more)."""
    key = (names, dtype)
    if key not in _MODULES:
        _MODULES[key] = Fp.VGG19Features(names, dtype=dtype)
    return _MODULES[key]


def _twin(case: Case, dtype: torch.dtype) -> Twin:
    names = tuple(name for name, _ in case.layers)

    def ref(w, y_hat, y):
        feats = R.vgg19_features(w, R.imagenet_normalise(y_hat), names)
        loss = R.perceptual_loss(w, y_hat, y, case.layers)
        return [*feats.values(), *feats.values(), loss, loss]

    def fast(w, y_hat, y):
        module = _module(names, dtype)
        module.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})  # cast to dtype
        with torch.no_grad():
            feats = Fp.vgg19_features(w, Fp.imagenet_normalise(y_hat), names)
            mod_feats = module(Fp.imagenet_normalise(y_hat))
            assert list(feats) == list(mod_feats) == list(names)
            return [*feats.values(), *mod_feats.values(),
                    Fp.perceptual_loss(w, y_hat, y, case.layers),
                    Fp.perceptual_loss(module, y_hat, y, case.layers)]

    return Twin(case.id, ref, fast, inputs=None)


@st.composite
def _frame_pair(draw, shapes):
    """Two frames of one drawn shape; the edge regime: constant frames, or y_hat == y."""
    shape = draw(st.sampled_from(shapes))
    regime = draw(st.sampled_from(["normal", "normal", "constant", "equal"]))
    if regime == "constant":
        v = draw(st.sampled_from([-1.0, 0.0, 1.0]))
        return np.full(shape, v), draw(hnp.arrays(np.float64, shape, elements=PIXELS))
    y_hat = draw(hnp.arrays(np.float64, shape, elements=PIXELS))
    if regime == "equal":
        return y_hat, y_hat.copy()
    return y_hat, draw(hnp.arrays(np.float64, shape, elements=PIXELS))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
@DTYPES
@settings(max_examples=FEW)
@given(data=st.data(), seed=SEEDS)
def test_twin_matches_oracle(case, dtype, data, seed):
    y_hat, y = data.draw(_frame_pair(case.shapes))
    upto = max((name for name, _ in case.layers), key=R.VGG19_LAYERS.index)
    w = _he_weights(upto, seed, dtype)
    check_twin(_twin(case, dtype), (w, y_hat, y), {}, dtype)


@DTYPES
@compares_values(0.5)  # 2-channel frames on purpose: both must raise
@given(x=st.one_of(frames(1, 6, channels=(1, 3)), frames(1, 6, channels=(1, 2, 3), batch=True)))
def test_imagenet_normalise_matches_oracle(dtype, x):
    twin = Twin("imagenet_normalise", R.imagenet_normalise, Fp.imagenet_normalise, inputs=None)
    check_twin(twin, (x,), {}, dtype)


def test_imagenet_normalise_by_hand():
    # black -1 -> (0 - mu) / sigma; white 1 -> (1 - mu) / sigma; grey repeated to RGB
    x = np.array([-1.0, 1.0]).reshape(1, 1, 2)
    out = R.imagenet_normalise(x)
    mu, sigma = np.array(R.IMAGENET_MEAN), np.array(R.IMAGENET_STD)
    np.testing.assert_allclose(out[:, 0, 0], -mu / sigma)
    np.testing.assert_allclose(out[:, 0, 1], (1 - mu) / sigma)
    assert Fp.imagenet_normalise(torch.zeros(2, 5, 1, 4, 4)).shape == (2, 5, 3, 4, 4)


# ------------------------------------------------------------------------------ layers, names


def test_layer_names_are_torchvision_indices():
    layers = R.VGG19_LAYERS
    assert len(layers) == 37
    assert layers.index("relu5_4") == 35 and layers.index("relu2_2") == 8
    assert [i for i, n in enumerate(layers) if n.startswith("pool")] == [4, 9, 18, 27, 36]
    convs = [i for i, n in enumerate(layers) if n.startswith("conv")]
    assert convs == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
    assert all(layers[i + 1] == "relu" + layers[i][4:] for i in convs)


def test_state_dict_keys_are_torchvision_keys():
    with torch.device("meta"):  # names and shapes only
        vgg = Fp.VGG19Features()
        assert list(vgg.state_dict()) == TORCHVISION_KEYS
        assert list(R.vgg19_weight_shapes()) == TORCHVISION_KEYS
        assert {k: tuple(v.shape) for k, v in vgg.state_dict().items()} == R.vgg19_weight_shapes()
        # only the layers up to the deepest requested one are built
        assert list(Fp.VGG19Features(["relu1_1", "relu2_2"]).state_dict()) == TORCHVISION_KEYS[:8]
        assert len(Fp.VGG19Features("pool5").features) == 37
    shapes = R.vgg19_weight_shapes()
    assert shapes["features.0.weight"] == (64, 3, 3, 3)
    assert shapes["features.19.weight"] == (512, 256, 3, 3)
    assert shapes["features.34.bias"] == (512,)


def test_module_is_frozen_and_passes_gradients_to_its_input():
    vgg = Fp.VGG19Features(["relu2_1"])
    assert not vgg.training and not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training
    y_hat = (torch.rand(1, 3, 6, 6) * 2 - 1).requires_grad_()
    Fp.perceptual_loss(vgg, y_hat, torch.zeros(1, 3, 6, 6), "relu2_1").backward()
    assert y_hat.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_module_computes_in_its_dtype_and_returns_the_input_dtype():
    vgg = Fp.VGG19Features(["relu1_2"])  # float32 parameters
    out = vgg(torch.zeros(1, 3, 4, 4, dtype=torch.float64))
    assert out["relu1_2"].dtype == torch.float64
    loss = Fp.perceptual_loss(vgg, np.zeros((1, 3, 4, 4)), np.ones((1, 3, 4, 4)), "relu1_2")
    assert loss.dtype == torch.float64 and loss.ndim == 0
    w = R.init_vgg19_weights("relu1_2", rng=0)
    f32 = Fp.perceptual_loss(w, torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4), "relu1_2")
    assert f32.dtype == torch.float32


def test_module_loads_the_weights_it_is_given():
    w = R.init_vgg19_weights("relu5_4", rng=1)  # deeper weights than needed are ignored
    vgg = Fp.VGG19Features(["relu1_2"], weights=w, dtype=torch.float64)
    assert list(vgg.state_dict()) == TORCHVISION_KEYS[:4]
    np.testing.assert_array_equal(vgg.features[2].weight.numpy(), w["features.2.weight"])


# ------------------------------------------------------------------------------ properties


@given(pair=frame_pairs(4, 8, batch=True), seed=st.integers(0, 3))
def test_loss_is_zero_on_equal_frames_and_nonnegative(pair, seed):
    a, b = pair
    layers = (("relu1_2", 1.0), ("relu2_2", 0.5))
    w = _he_weights("relu2_2", seed, torch.float64)
    assert R.perceptual_loss(w, a, a, layers) == 0.0
    assert float(Fp.perceptual_loss(w, a, a, layers)) == 0.0
    assert R.perceptual_loss(w, a, b, layers) >= 0.0
    assert float(Fp.perceptual_loss(w, a, b, layers)) >= 0.0


@given(pair=frame_pairs(4, 8, batch=True), seed=st.integers(0, 3),
       lam=st.lists(st.floats(0.0, 10.0), min_size=3, max_size=3))
def test_several_layers_are_the_weighted_sum_of_single_layer_losses(pair, seed, lam):
    a, b = pair
    names = ("relu1_1", "pool1", "relu2_2")
    w = _he_weights("relu2_2", seed, torch.float64)
    layers = tuple(zip(names, lam))
    for loss in (R.perceptual_loss, lambda *args: float(Fp.perceptual_loss(*args))):
        singles = sum(l_ * loss(w, a, b, ((n, 1.0),)) for n, l_ in zip(names, lam))
        assert loss(w, a, b, layers) == pytest.approx(singles, rel=1e-12, abs=1e-300)


@given(pair=frame_pairs(4, 8, batch=True))
def test_batched_loss_is_the_mean_of_per_frame_losses(pair):
    a, b = pair
    w = _he_weights("relu2_1", 0, torch.float64)
    per_frame = [float(Fp.perceptual_loss(w, a[i], b[i], "relu2_1")) for i in range(len(a))]
    assert float(Fp.perceptual_loss(w, a, b, "relu2_1")) == pytest.approx(np.mean(per_frame),
                                                                          rel=1e-12)


def test_gradcheck_float64():
    w = {k: torch.from_numpy(v) for k, v in _he_weights("relu2_1", 0, torch.float64).items()}
    g = torch.Generator().manual_seed(0)
    y = torch.rand(1, 3, 4, 4, generator=g, dtype=torch.float64) * 2 - 1
    y_hat = (torch.rand(1, 3, 4, 4, generator=g, dtype=torch.float64) * 2 - 1).requires_grad_()
    layers = (("relu1_2", 0.5), ("relu2_1", 1.0))
    assert torch.autograd.gradcheck(lambda a: Fp.perceptual_loss(w, a, y, layers), (y_hat,))
    vgg = Fp.VGG19Features(["relu2_1"], weights=w, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda a: Fp.perceptual_loss(vgg, a, y, "relu2_1"), (y_hat,))


# ------------------------------------------------------------------------------ errors


def _error_pairs():
    """id -> (oracle call, [fast calls]): each must raise the same exception and message."""
    w = R.init_vgg19_weights("relu2_2", rng=0)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 3, 8, 8))
    vgg = Fp.VGG19Features(["relu2_2"], weights=w)
    t = torch.from_numpy

    def loss(ww, a, b, layers, module=True):
        return (lambda: R.perceptual_loss(ww, a, b, layers),
                [lambda: Fp.perceptual_loss(ww, a, b, layers),
                 lambda: Fp.perceptual_loss(ww if isinstance(ww, list) else
                                            {k: t(v) for k, v in ww.items()}, t(a), t(b), layers)]
                + ([lambda: Fp.perceptual_loss(vgg, t(a), t(b), layers)] if module else []))

    def feats(ww, a, layers):
        return (lambda: R.vgg19_features(ww, a, layers),
                [lambda: Fp.vgg19_features(ww, a, layers),
                 lambda: Fp.vgg19_features(ww, t(a), layers)])

    missing = {k: v for k, v in w.items() if k != "features.7.bias"}
    return {
        "unknown-layer": loss(w, x, x, [("relu6_1", 1.0)]),
        "layer-not-a-pair": loss(w, x, x, ["relu2_2"]),
        "no-layers": loss(w, x, x, []),
        "negative-weight": loss(w, x, x, [("relu2_2", -1.0)]),
        "nan-weight": loss(w, x, x, [("relu2_2", float("nan"))]),
        "shapes-differ": loss(w, x, x[..., :7], "relu2_2"),
        "two-channels": loss(w, x[:, :2], x[:, :2], "relu2_2"),
        "too-small-for-relu2_2": loss(w, x[..., :1, :3], x[..., :1, :3], "relu2_2"),
        "missing-key": loss(missing, x, x, "relu2_2", module=False),
        "unexpected-key": loss(dict(w, **{"classifier.0.weight": np.zeros(1)}), x, x, "relu1_1",
                               module=False),
        "wrong-shape": loss(dict(w, **{"features.5.weight": np.zeros((128, 64, 1, 1))}), x, x,
                            "relu2_2", module=False),
        "weights-not-a-dict": loss(list(w.values()), x, x, "relu2_2", module=False),
        "weights-too-shallow": loss(R.init_vgg19_weights("relu1_2", rng=0), x, x, "relu2_2",
                                    module=False),
        "features-of-grey": feats(w, x[:, :1], "relu2_2"),
        "features-unknown-layer": feats(w, x, ["relu1_1", "fc6"]),
        "features-2d": feats(w, x[0, 0], "relu1_1"),
    }


ERROR_IDS = sorted(_error_pairs())


@pytest.mark.parametrize("which", ERROR_IDS)
def test_both_twins_raise_the_same_error(which):
    ref_call, fast_calls = _error_pairs()[which]
    check_same_error(ref_call, fast_calls, one_line=True)


def test_module_too_shallow_for_the_requested_layer():
    vgg = Fp.VGG19Features(["relu2_2"])
    with pytest.raises(ValueError, match="built up to 'relu2_2'; layer 'relu5_4' needs a deeper"):
        Fp.perceptual_loss(vgg, torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))


# ------------------------------------------------------------------------------ checkpoint files


def _checkpoint(upto: str, seed: int = 0) -> dict:
    """A state dict in torchvision's format: float32 features.* up to ``upto``, a classifier."""
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.rand(shape, generator=g) - 0.5
             for k, shape in R.vgg19_weight_shapes(upto).items()}
    state["classifier.0.weight"] = torch.zeros(4, 8)  # the real one is 4096 x 25088
    state["classifier.0.bias"] = torch.zeros(4)
    return state


@pytest.fixture(scope="module")
def full_checkpoint(tmp_path_factory):
    """The full relu5_4 stack (80 MB), saved in the legacy format of vgg19-dcbb9e9d.pth (2017)
    and in torch.save's current zip format."""
    state = _checkpoint("pool5")
    folder = tmp_path_factory.mktemp("vgg19")
    legacy, current = folder / "legacy.pth", folder / "current.pth"
    torch.save(state, legacy, _use_new_zipfile_serialization=False)
    torch.save(state, current)
    return state, (legacy, current)


def test_load_vgg19_weights_reads_a_torchvision_checkpoint(full_checkpoint):
    state, paths = full_checkpoint
    for path in paths:
        w = Fp.load_vgg19_weights(path)
        assert list(w) == TORCHVISION_KEYS  # the classifier is not returned
        assert all(torch.equal(w[k], state[k]) for k in w)
        assert list(Fp.load_vgg19_weights(str(path), upto="relu2_2")) == TORCHVISION_KEYS[:8]
    # the loaded weights drive the module and the functional twin alike
    w = Fp.load_vgg19_weights(paths[0])
    vgg = Fp.VGG19Features(weights=w)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    torch.testing.assert_close(Fp.perceptual_loss(vgg, x, -x), Fp.perceptual_loss(w, x, -x))


def _message(path, upto="relu2_2") -> str:
    with pytest.raises(Fp.PerceptualError) as exc:
        Fp.load_vgg19_weights(path, upto=upto)
    message = str(exc.value)
    assert "\n" not in message and isinstance(exc.value, ValueError)
    return message


def test_load_vgg19_weights_errors_are_one_line(tmp_path):
    small = _checkpoint("relu2_2")
    cases = {
        "missing.pth": {k: v for k, v in small.items() if k != "features.7.bias"},
        "shape.pth": dict(small, **{"features.5.weight": torch.zeros(128, 64, 1, 1)}),
        "vgg16ish.pth": {k: v for k, v in small.items() if not k.startswith("features.7")},
    }
    for name, state in cases.items():
        torch.save(state, tmp_path / name)
    msg = _message(tmp_path / "missing.pth")
    assert "missing.pth" in msg and "missing features.7.bias" in msg
    msg = _message(tmp_path / "shape.pth")
    assert "shape.pth" in msg and "features.5.weight has shape (128, 64, 1, 1)" in msg
    assert "(128, 64, 3, 3)" in msg
    assert "features.7.weight, features.7.bias" in _message(tmp_path / "vgg16ish.pth")
    # deeper than the file holds
    assert "features.10.weight" in _message(tmp_path / "missing.pth", upto="relu3_1")
    # not a checkpoint at all, a tensor, a dict without features.*
    (tmp_path / "notes.txt").write_text("not a checkpoint\n")
    assert "not a checkpoint torch.load" in _message(tmp_path / "notes.txt")
    (tmp_path / "empty.pth").write_bytes(b"")
    assert "empty or truncated" in _message(tmp_path / "empty.pth")
    torch.save(torch.nn.Linear(2, 2), tmp_path / "pickled-model.pth")
    assert "a pickled model?" in _message(tmp_path / "pickled-model.pth")
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    assert "does not hold a state dict" in _message(tmp_path / "tensor.pth")
    torch.save({"model": {"features.0.weight": torch.zeros(1)}}, tmp_path / "nested.pth")
    assert "no 'features.*' tensors" in _message(tmp_path / "nested.pth")


def test_load_vgg19_weights_missing_path_says_where_to_get_the_file(tmp_path):
    msg = _message(tmp_path / "nowhere" / "vgg19.pth")
    assert "vgg19.pth" in msg and "not found" in msg
    assert "vgg19-dcbb9e9d.pth" in msg and "--vgg19_weights FILE" in msg
    assert "downloads nothing" in msg
    assert "is a directory" in _message(tmp_path)


def test_doctests():
    result = doctest.testmod(Fp, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
