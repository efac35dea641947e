"""Training backpropagates through these losses: their gradients are checked numerically
(``torch.autograd.gradcheck``, float64, small shapes), plus fast-path specifics."""

import numpy as np
import pytest
import torch

from sharpvid.fast import losses


def _rand(*shape, seed=0, low=-1.0, high=1.0):
    g = torch.Generator().manual_seed(seed)
    return (low + (high - low) * torch.rand(*shape, generator=g, dtype=torch.float64)).requires_grad_()


@pytest.mark.parametrize("p", [1.5, 2])
def test_gradcheck_lp(p):
    y = _rand(2, 3, 4, 4, seed=1).detach()
    assert torch.autograd.gradcheck(lambda a: losses.lp_loss(a, y, p), (_rand(2, 3, 4, 4),))


@pytest.mark.parametrize("alpha", [1, 2])
def test_gradcheck_gdl(alpha):
    y = _rand(2, 3, 5, 4, seed=2).detach()
    assert torch.autograd.gradcheck(lambda a: losses.gdl_loss(a, y, alpha), (_rand(2, 3, 5, 4),))


def test_gradcheck_bce():
    target = torch.tensor([1.0, 0.0, 0.8, 0.2], dtype=torch.float64)
    p = _rand(4, low=0.05, high=0.95)
    assert torch.autograd.gradcheck(lambda q: losses.bce(q, target), (p,))


def test_gradcheck_combined():
    ys = [_rand(1, 3, 2, 2, seed=3).detach(), _rand(1, 3, 4, 4, seed=4).detach()]

    def loss(a0, a1, d0, d1):
        return losses.combined_generator_loss([a0, a1], ys, [d0, d1])

    inputs = (_rand(1, 3, 2, 2, seed=5), _rand(1, 3, 4, 4, seed=6),
              _rand(1, low=0.1, high=0.9, seed=7), _rand(1, low=0.1, high=0.9, seed=8))
    assert torch.autograd.gradcheck(loss, inputs)


def test_losses_keep_dtype_and_accept_numpy():
    a = np.zeros((1, 3, 4, 4), dtype=np.float32)
    out = losses.lp_loss(a, a + 1)
    assert out.dtype == torch.float32 and float(out) == 1.0
    assert losses.bce(torch.tensor([0.5], dtype=torch.float64), 1.0).dtype == torch.float64


def test_bce_is_finite_at_saturation_in_float32():
    p = torch.tensor([0.0, 1.0], dtype=torch.float32)
    assert torch.isfinite(losses.bce(p, torch.tensor([1.0, 0.0])))


def test_smoothed_labels_torch_generator_and_numpy_match_oracle():
    from sharpvid.reference.losses import smoothed_labels as ref_labels

    np.testing.assert_allclose(
        losses.smoothed_labels((5,), False, rng=7, dtype=torch.float64).numpy(),
        ref_labels((5,), False, rng=7),
    )
    g = torch.Generator().manual_seed(0)
    labels = losses.smoothed_labels((1000,), True, rng=g)
    assert labels.dtype == torch.float32 and 0.7 <= labels.min() and labels.max() <= 1.2


def test_gradcheck_warp():
    """The warp path backpropagates through the sampler into the frame and the flow (moves of
    up to 2.5 pixels, some reading from outside the frame, where the clamped position has no
    gradient in the flow, numerically too)."""
    from sharpvid.fast.pyramid import warp

    frame, flow = _rand(2, 3, 5, 6, seed=7), _rand(2, 2, 5, 6, seed=8, low=-2.5, high=2.5)
    assert torch.autograd.gradcheck(warp, (frame, flow))


def test_the_flow_dead_zone_passes_the_gradient_straight_through():
    from sharpvid.fast.pyramid import shrink

    v = torch.tensor([-2.0, -0.3, 0.0, 0.2, 1.25], dtype=torch.float64, requires_grad=True)
    out = shrink(v, 0.5)
    assert torch.equal(out.detach(), torch.tensor([-1.5, 0.0, 0.0, 0.0, 0.75], dtype=torch.float64))
    (out * torch.arange(5.0, dtype=torch.float64)).sum().backward()
    assert torch.equal(v.grad, torch.arange(5.0, dtype=torch.float64))  # inside the zone too


def test_gdl_on_one_row_or_one_column():
    """An H x 1 or 1 x W image has terms along one axis only (and 1 x 1 none: an error)."""
    column, row = torch.tensor([[0.0], [1.0]]), torch.tensor([[0.0, 1.0]])
    assert losses.gdl_loss(torch.zeros(2, 1), column).item() == 1.0  # one vertical term: |1 - 0|
    assert losses.gdl_loss(torch.zeros(1, 2), row).item() == 1.0
    with pytest.raises(ValueError, match="at least 2 pixels"):
        losses.gdl_loss(torch.zeros(1, 1), torch.zeros(1, 1))


def test_smoothed_labels_of_an_empty_range_are_its_value():
    assert torch.equal(losses.smoothed_labels(3, True, real_range=(1.0, 1.0)), torch.ones(3))
    g = torch.Generator().manual_seed(0)
    assert torch.equal(losses.smoothed_labels(3, False, g, fake_range=(0.0, 0.0)), torch.zeros(3))


def test_scales_of_different_sizes_are_each_averaged():
    """D's outputs of different sizes per scale (the stacked path needs equal ones): the mean of
    each scale, summed over scales, as the oracle's Eq. (4)."""
    from sharpvid.reference import losses as ref

    d_fake = [np.array([0.2, 0.6]), np.array([0.9, 0.5, 0.3])]
    expected = ref.generator_adversarial_loss(d_fake)
    got = losses.generator_adversarial_loss([torch.tensor(d, dtype=torch.float64) for d in d_fake])
    assert got.item() == pytest.approx(expected, rel=1e-12)
    logits = [torch.tensor(np.log(d / (1 - d)), dtype=torch.float64) for d in d_fake]
    assert losses.generator_adversarial_loss(logits, logits=True).item() == pytest.approx(expected)


_HALF = np.full(1, 0.5)


@pytest.mark.parametrize("name, args, kwargs", [
    ("lp_loss", (np.zeros(3), np.zeros(3)), {"p": 0}),
    ("discriminator_loss", ([_HALF], []), {}),
    ("discriminator_loss", ([_HALF, _HALF], [_HALF]), {}),
    ("generator_adversarial_loss", ([],), {}),
    ("combined_generator_loss", ([np.zeros((2, 2))], [np.zeros((2, 2))] * 2), {}),
    ("combined_generator_loss", ([], []), {}),
], ids=["p=0", "no fake scale", "scales differ", "no scale", "y_hat and y differ", "empty"])
def test_bad_input_is_the_oracles_error(name, args, kwargs):
    """The twin rejects what the oracle rejects, with the same one-line message."""
    from equivalence import check_same_error
    from sharpvid.reference import losses as ref

    def tensors(v):  # arrays, and lists of them, as float64 tensors
        return [tensors(x) for x in v] if isinstance(v, list) else torch.as_tensor(v)

    fast_args = [tensors(a) for a in args]
    check_same_error(lambda: getattr(ref, name)(*args, **kwargs),
                     [lambda: getattr(losses, name)(*fast_args, **kwargs)], one_line=True)


@pytest.mark.gpu
def test_smoothed_labels_go_to_the_device_asked_for():
    """Drawn by a CPU generator, delivered on ``device`` (not the generator's)."""
    labels = losses.smoothed_labels(3, True, torch.Generator(), device="cuda")
    assert labels.device.type == "cuda"


def test_bilinear_upsampling_backpropagates_after_an_inference_call_of_the_same_size():
    """The interpolation matrices are cached per size: one first made under
    ``torch.inference_mode`` (evaluation, prediction) must still serve a training step's
    backward pass at that size (it raised "Inference tensors cannot be saved for backward")."""
    from sharpvid.fast.pyramid import upsample

    with torch.inference_mode():
        upsample(torch.zeros(1, 1, 7, 5, dtype=torch.float64), 2, "bilinear")  # sizes 7, 5 first
    x = _rand(1, 1, 7, 5)
    assert torch.autograd.gradcheck(lambda a: upsample(a, 2, "bilinear"), (x,))
