"""sharpvid.fast.networks computes sharpvid.reference.networks: G, D and the recursion, with shared
weights.

One registry of cases (configuration, network, input size) drives one generic check through the
project's harness (:func:`equivalence.check_twin`: both raise or both return, then dtype, shape,
values against the dtype-keyed tolerance table).  Every case runs the oracle once and compares two
fast paths against it: the functional twin and the ``nn.Module`` loaded with the same weights.
Weights use the oracle's init (torch's default rule), seeded by hypothesis for the cheap cases and
fixed for the big ones; network inputs are uniform in [-1, 1] from that seed (10^4 pixels are too
many to draw element by element), with one test on hypothesis-drawn frames at a small size.
"""

from __future__ import annotations

import dataclasses
import doctest
from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.special import expit

import sharpvid.fast.networks as Fn
from sharpvid.fast.devices import OFF, FastMath
import sharpvid.reference.networks as R
from equivalence import TOLERANCES, Twin, check_same_error, check_twin
from strategies import PIXELS

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

TINY = R.get_config("tiny")


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py
SEEDS = st.integers(0, 2**32 - 1)
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])


# ------------------------------------------------------------------------------ the registry


@dataclass(frozen=True)
class Case:
    """One configuration of one network against the oracle."""

    id: str
    config: R.NetworkConfig
    net: str  # "G" (generator_forward), "D" (discriminator_forward) or "predict" (predict_frames)
    hw: tuple[int, int] = (32, 32)  # G's input size; D runs at config.patch_size
    batch: int | None = 2  # None: unbatched input
    x_none: bool = False  # D only: pass x=None (unconditional D)
    heavy: bool = False  # one fixed seed instead of hypothesis draws
    #: dtype -> (rtol, atol) replacing the table's entry; each use says why
    tolerance: dict = field(default_factory=dict)


_TF_RULES = dict(upsample_mode="bilinear", residual=False, activation="leaky_relu")
CASES = [
    # tiny, every scale, at the patch size and at a non-patch size
    Case("G-tiny-32", TINY, "G"),
    Case("G-tiny-16x24", TINY, "G", hw=(16, 24)),
    Case("G-tiny-unbatched-8x16", TINY, "G", hw=(8, 16), batch=None),
    # the TF rules (bilinear, no residual) with leaky ReLU; bilinear with the residual add
    Case("G-tiny-tf-rules-leaky", R.get_config("tiny", **_TF_RULES), "G", hw=(16, 16)),
    Case("G-tiny-bilinear-residual", R.get_config("tiny", upsample_mode="bilinear"), "G",
         hw=(16, 16)),
    # the copy path (change from the last frame, clipped), with and without the residual chain
    Case("G-tiny-copy", R.get_config("tiny", output="copy"), "G"),
    Case("G-tiny-copy-tf-rules", R.get_config("tiny", output="copy", **_TF_RULES), "G",
         hw=(16, 16)),
    Case("predict-tiny-copy", R.get_config("tiny", output="copy"), "predict", hw=(16, 16)),
    # the warp path (a flow moves the last frame, then the change), with and without the
    # residual chain
    Case("G-tiny-warp", R.get_config("tiny", output="warp"), "G"),
    Case("G-tiny-warp-tf-rules", R.get_config("tiny", output="warp", **_TF_RULES), "G",
         hw=(16, 16)),
    Case("predict-tiny-warp", R.get_config("tiny", output="warp"), "predict", hw=(16, 16)),
    # the flow path (classical flows in, a flow correction and a change out, at every scale),
    # with and without the coarse-to-fine chain; bilinear as the demo runs it
    Case("G-tiny-flow", R.get_config("tiny", output="flow", upsample_mode="bilinear"), "G",
         hw=(16, 24)),
    Case("G-tiny-flow-tf-rules", R.get_config("tiny", output="flow", **_TF_RULES), "G",
         hw=(16, 16)),
    Case("predict-tiny-flow", R.get_config("tiny", output="flow"), "predict", hw=(16, 16)),
    Case("predict-tiny", TINY, "predict", hw=(16, 16)),
    Case("predict-tiny-unbatched", TINY, "predict", hw=(8, 8), batch=None),
    Case("D-tiny-conditional", TINY, "D"),
    Case("D-tiny-unconditional-leaky-x-none",
         R.get_config("tiny", conditional_d=False, activation="leaky_relu"), "D", x_none=True),
    Case("D-tiny-unbatched", TINY, "D", batch=None),
    # D judges the change from the last input frame
    Case("D-tiny-change", R.get_config("tiny", d_input="change"), "D"),
    Case("D-tiny-change-unbatched", R.get_config("tiny", d_input="change"), "D", batch=None),
    # the named configurations, at sizes cheap on the CPU
    Case("G-authors_small-32", R.get_config("authors_small"), "G", heavy=True),
    Case("D-authors_small", R.get_config("authors_small"), "D", heavy=True),  # pools at 32 only
    Case("G-paper-8", R.get_config("paper"), "G", hw=(8, 8), batch=1, heavy=True),
    Case("G-tf-8", R.get_config("tf"), "G", hw=(8, 8), batch=1, heavy=True),
    Case("D-paper", R.get_config("paper"), "D", batch=1, heavy=True),
    Case("D-tf", R.get_config("tf"), "D", batch=1, heavy=True),
]
CHEAP = [c for c in CASES if not c.heavy]
HEAVY = [c for c in CASES if c.heavy]


def _inputs(case: Case, seed: int):
    """``(weights, *args)`` for the case: oracle weights and inputs in [-1, 1], float64."""
    rng = np.random.default_rng(seed)
    cfg = case.config
    lead = () if case.batch is None else (case.batch,)
    m, c = cfg.in_frames, cfg.channels
    if case.net == "D":
        p = cfg.patch_size
        w = R.init_discriminator_weights(cfg, rng)
        x = rng.uniform(-1, 1, lead + (m, c, p, p))
        ys = R.frame_pyramid(rng.uniform(-1, 1, lead + (c, p, p)), cfg.n_scales)
        return w, (None if case.x_none else x), ys
    w = R.init_generator_weights(cfg, rng)
    return w, rng.uniform(-1, 1, lead + (m, c) + case.hw)


def _rounded(weights: dict, dtype: torch.dtype) -> dict:
    """Weights rounded to ``dtype`` (kept float64) so the oracle sees what the twin sees."""
    return {k: torch.from_numpy(v).to(dtype).double().numpy() for k, v in weights.items()}


def _twin(case: Case, dtype, device, *, fast_math: bool | FastMath = False) -> Twin:
    """The oracle once, twice over; the functional twin and the loaded module against it."""
    cfg = case.config
    kw = dict(fast_math=fast_math)
    if case.net == "D":
        module = Fn.MultiScaleDiscriminator(cfg, fast_math=fast_math).to(device, dtype)

        def ref(w, x, ys):
            out = R.discriminator_forward(w, x, ys, cfg)
            return [out, out]

        def fast(w, x, ys):
            with torch.no_grad():
                return [Fn.discriminator_forward(w, x, ys, cfg, **kw),
                        Fn.load_reference_weights(module, w)(x, ys)]
    else:
        module = Fn.MultiScaleGenerator(cfg, fast_math=fast_math).to(device, dtype)
        if case.net == "G":
            ref_fn, fast_fn = R.generator_forward, Fn.generator_forward
            mod_fn = module.forward
        else:
            ref_fn = lambda w, x, cfg: R.predict_frames(w, x, 2, cfg)  # noqa: E731
            fast_fn = lambda w, x, cfg, **k: Fn.predict_frames(w, x, 2, cfg, **k)  # noqa: E731
            mod_fn = lambda x: module.predict(x, 2)  # noqa: E731

        def ref(w, x):
            out = ref_fn(w, x, cfg)
            return [out, out]

        def fast(w, x):
            with torch.no_grad():
                Fn.load_reference_weights(module, w)
                return [fast_fn(w, x, cfg, **kw), mod_fn(x)]

    return Twin(case.id, ref, fast, inputs=None, tolerance=case.tolerance)


def _check_case(case: Case, seed: int, dtype, device="cpu", **kw) -> None:
    w, *args = _inputs(case, seed)
    check_twin(_twin(case, dtype, device, **kw), (_rounded(w, dtype), *args), {}, dtype, device)


@pytest.mark.parametrize("case", CHEAP, ids=[c.id for c in CHEAP])
@DTYPES
@given(seed=SEEDS)
def test_twin_matches_oracle(case, dtype, seed):
    _check_case(case, seed, dtype)


@pytest.mark.parametrize("case", HEAVY, ids=[c.id for c in HEAVY])
@DTYPES
def test_twin_matches_oracle_big_configs(case, dtype):
    _check_case(case, 0, dtype)


@DTYPES
@given(
    x=st.one_of(
        hnp.arrays(np.float64, st.sampled_from([(1, 4, 3, 8, 8), (2, 4, 3, 8, 16)]),
                   elements=PIXELS),
        # edge regime: constant clips (a static, uniform scene), -1 and 1 included
        st.builds(lambda v: np.full((1, 4, 3, 8, 8), v), st.sampled_from([-1.0, 0.0, 1.0])),
    ),
    seed=SEEDS,
)
def test_generator_on_drawn_frames(dtype, x, seed):
    w = R.init_generator_weights(TINY, seed)
    twin = Twin("G-tiny-drawn", lambda w, x: R.generator_forward(w, x, TINY),
                lambda w, x: Fn.generator_forward(w, x, TINY), inputs=None)
    check_twin(twin, (_rounded(w, dtype), x), {}, dtype)


# ------------------------------------------------------------------------------ names, weights


@pytest.mark.parametrize("name", sorted(R.CONFIGS))
def test_state_dict_names_are_the_oracle_weight_names(name):
    cfg = R.get_config(name)
    with torch.device("meta"):  # no memory, no init: names and shapes only
        g, d = Fn.MultiScaleGenerator(cfg), Fn.MultiScaleDiscriminator(cfg)
    for module, shapes in ((g, R.generator_weight_shapes(cfg)),
                           (d, R.discriminator_weight_shapes(cfg))):
        state = module.state_dict()
        assert list(state) == list(shapes)
        assert {k: tuple(v.shape) for k, v in state.items()} == shapes


def test_weights_round_trip_and_load_state_dict():
    wg = R.init_generator_weights(TINY, rng=0)
    g = Fn.load_reference_weights(Fn.MultiScaleGenerator(TINY).double(), wg)
    back = Fn.to_reference_weights(g)
    assert list(back) == list(wg)
    assert all(np.array_equal(back[k], wg[k]) and back[k].dtype == np.float64 for k in wg)
    # the documented one-liner is the same thing
    g2 = Fn.MultiScaleGenerator(TINY).double()
    g2.load_state_dict({k: torch.from_numpy(v) for k, v in wg.items()})
    x = torch.rand(1, 4, 3, 16, 16, dtype=torch.float64) * 2 - 1
    for a, b in zip(g(x), g2(x)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # and the oracle runs on the module's weights
    ref = R.generator_forward(back, x.numpy(), TINY)
    for r, p in zip(ref, g(x)):
        np.testing.assert_allclose(p.detach().numpy(), r, rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ options


def test_pad_is_a_no_op_on_divisible_sizes_and_pads_then_crops_otherwise():
    w = R.init_generator_weights(TINY, rng=1)
    x = np.random.default_rng(2).uniform(-1, 1, (2, 4, 3, 20, 12))
    exact = Fn.generator_forward(w, x[..., :16, :8], TINY)
    for a, b in zip(exact, Fn.generator_forward(w, x[..., :16, :8], TINY, pad=True)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # documented convention: replicate-pad bottom/right to 24x16, crop scale k to ceil(H / 2^j)
    padded = np.pad(x, ((0, 0),) * 3 + ((0, 4), (0, 4)), mode="edge")
    ref = R.generator_forward(w, padded, TINY)
    ours = Fn.generator_forward(w, x, TINY, pad=True)
    g = Fn.load_reference_weights(Fn.MultiScaleGenerator(TINY).double(), w)
    with torch.no_grad():
        mod = g(torch.from_numpy(x), pad=True)
    sizes = [(3, 2), (5, 3), (10, 6), (20, 12)]
    for r, p, q, (h, wd) in zip(ref, ours, mod, sizes):
        assert tuple(p.shape) == (2, 3, h, wd)
        np.testing.assert_allclose(p.numpy(), r[..., :h, :wd], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(q, p)
    frames = Fn.predict_frames(w, x, 2, TINY, pad=True)
    assert tuple(frames.shape) == (2, 2, 3, 20, 12)


@pytest.mark.parametrize("conditional", [True, False])
def test_logits_are_the_sigmoid_argument(conditional):
    cfg = R.get_config("tiny", conditional_d=conditional)
    w = R.init_discriminator_weights(cfg, rng=3)
    x = np.random.default_rng(4).uniform(-1, 1, (3, 4, 3, 32, 32))
    ys = R.frame_pyramid(x[:, -1], 4)
    ref = R.discriminator_forward(w, x, ys, cfg)
    logits = Fn.discriminator_forward(w, x, ys, cfg, logits=True)
    d = Fn.load_reference_weights(Fn.MultiScaleDiscriminator(cfg).double(), w)
    with torch.no_grad():
        mod = d.logits(torch.from_numpy(x), [torch.from_numpy(y) for y in ys])
    for r, a, b in zip(ref, logits, mod):
        np.testing.assert_allclose(expit(a.numpy()), r, rtol=1e-10)
        torch.testing.assert_close(a, b)


def test_module_computes_in_its_dtype_and_returns_the_input_dtype():
    g = Fn.MultiScaleGenerator(TINY)  # float32 parameters
    out = g(torch.zeros(1, 4, 3, 16, 16, dtype=torch.float64))
    assert all(p.dtype == torch.float64 for p in out)
    d = Fn.MultiScaleDiscriminator(TINY)
    ys = Fn.frame_pyramid(torch.zeros(2, 3, 32, 32, dtype=torch.float64), 4)
    assert all(p.dtype == torch.float64 for p in d(torch.zeros(2, 4, 3, 32, 32), ys))


FAST_MATH_CASES = [c for c in CASES if c.id in {
    "G-tiny-32", "G-tiny-tf-rules-leaky", "predict-tiny", "D-tiny-conditional",
    "D-tiny-unconditional-leaky-x-none", "G-authors_small-32", "D-authors_small"}]
# bf16 autocast: the bfloat16 row of the table, on float32 in/out (measured worst case over
# these cases and seeds on CPU autocast: 0.3 of this tolerance)
BF16 = {torch.float32: TOLERANCES[torch.bfloat16]}


def _outputs(fast_math, dtype=torch.float32):
    """G's and D's outputs (logits) for one fixed input, under ``fast_math``."""
    torch.manual_seed(0)
    g = Fn.MultiScaleGenerator(TINY, fast_math=fast_math).to(dtype)
    d = Fn.MultiScaleDiscriminator(TINY, fast_math=fast_math).to(dtype)
    x = (torch.rand(2, 4, 3, 32, 32) * 2 - 1).to(dtype)
    with torch.no_grad():
        return g, d, g(x) + d(x, Fn.frame_pyramid(x[:, -1], 4), logits=True)


@pytest.mark.parametrize("case", FAST_MATH_CASES, ids=[c.id for c in FAST_MATH_CASES])
def test_cpu_fast_math_matches_oracle_in_bf16_tolerance(case):
    """The CPU's bf16 path (what `fast_math` gives a CPU with native bf16) runs in CI: emulated
    on a CPU without, the same numbers up to rounding."""
    _check_case(dataclasses.replace(case, tolerance=BF16), 0, torch.float32, fast_math=True)
    module = Fn.MultiScaleGenerator(case.config, fast_math=True)
    out = module(torch.zeros(1, 4, 3, 8, 8))
    assert all(o.dtype == torch.float32 for o in out)  # the input dtype, not bfloat16
    assert module.scales[0].convs[0].weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize("case", FAST_MATH_CASES, ids=[c.id for c in FAST_MATH_CASES])
def test_channels_last_float32_plan_matches_oracle_in_float32_tolerance(case):
    """A CPU without native bf16 gets float32 in channels_last: the float32 tolerance holds."""
    _check_case(case, 0, torch.float32, fast_math=FastMath(channels_last=True))


def test_fast_math_plans_do_what_they_say_on_the_cpu():
    _, _, plain = _outputs(False)
    g, d, bf16 = _outputs(True)
    _, _, layout = _outputs(FastMath(channels_last=True))
    # bf16 really ran: its outputs differ from float32's by more than float32 rounding ...
    assert max((a - b).abs().max().item() for a, b in zip(plain, bf16)) > 1e-4
    # ... while channels_last alone keeps float32's numbers up to summation order
    for a, b in zip(plain, layout):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
    assert all(p.dtype == torch.float32 for p in (*g.parameters(), *d.parameters()))
    # float64 input (the oracle checks) ignores the switch: exactly the plain path
    _, _, plain64 = _outputs(False, torch.float64)
    _, _, fast64 = _outputs(True, torch.float64)
    for a, b in zip(plain64, fast64):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_fast_math_off_keeps_nchw_and_the_numbers():
    g, d, plain = _outputs(False)
    _, _, off = _outputs(OFF)
    for a, b in zip(plain, off):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert all(p.is_contiguous() for p in (*g.parameters(), *d.parameters()))


# ------------------------------------------------------------------------------ errors


def _error_pairs():
    """id -> (oracle call, [fast calls]): each must raise the same exception and message."""
    wg, wd = R.init_generator_weights(TINY, rng=0), R.init_discriminator_weights(TINY, rng=1)
    x = np.random.default_rng(5).uniform(-1, 1, (2, 4, 3, 32, 32))
    ys = R.frame_pyramid(x[:, -1], 4)
    g, d = Fn.MultiScaleGenerator(TINY), Fn.MultiScaleDiscriminator(TINY)
    t = torch.from_numpy
    big = np.random.default_rng(6).uniform(-1, 1, (2, 4, 3, 64, 64))
    big_ys = R.frame_pyramid(big[:, -1], 4)

    def gen(w, xx, cfg=TINY):
        return (lambda: R.generator_forward(w, xx, cfg),
                [lambda: Fn.generator_forward(w, xx, cfg),
                 lambda: Fn.generator_forward({k: t(v) for k, v in w.items()}
                                              if isinstance(w, dict) else w, t(xx), cfg)]
                + ([lambda: g(t(xx))] if w is wg and cfg is TINY else []))

    def disc(w, xx, yy):
        return (lambda: R.discriminator_forward(w, xx, yy, TINY),
                [lambda: Fn.discriminator_forward(w, xx, yy, TINY)]
                + ([lambda: d(xx, yy)] if w is wd else []))

    missing = {k: v for k, v in wg.items() if k != "scales.2.convs.1.bias"}
    return {
        "G-wrong-ndim": gen(wg, x[0, 0]),
        "G-wrong-frames": gen(wg, x[:, :3]),
        "G-not-divisible": gen(wg, x[..., :20, :24]),
        "G-too-small": gen(wg, x[..., :4, :4]),
        "G-missing-key": gen(missing, x),
        "G-bad-shape": gen(dict(wg, **{"scales.0.convs.0.weight": np.zeros((4, 12, 5, 5))}), x),
        "G-unexpected-key": gen(dict(wg, **{"scales.4.convs.0.weight": np.zeros(1)}), x),
        "G-weights-not-a-dict": gen(list(wg.values()), x),
        "G-config-not-a-config": gen(wg, x, "tiny"),
        "predict-n-zero": (lambda: R.predict_frames(wg, x, 0, TINY),
                           [lambda: Fn.predict_frames(wg, x, 0, TINY),
                            lambda: g.predict(t(x), 0)]),
        "predict-not-divisible": (lambda: R.predict_frames(wg, x[..., :20, :20], 1, TINY),
                                  [lambda: Fn.predict_frames(wg, x[..., :20, :20], 1, TINY),
                                   lambda: g.predict(t(x[..., :20, :20]), 1)]),
        "D-wrong-patch-size": disc(wd, big, big_ys),
        "D-x-wrong-size": disc(wd, big, ys),
        "D-x-missing": disc(wd, None, ys),
        "D-ys-too-short": disc(wd, x, ys[1:]),
        "D-ys-an-array": disc(wd, x, ys[-1]),
        "D-missing-key": disc({k: v for k, v in wd.items() if "fcs.1" not in k}, x, ys),
        "D-given-G-weights": disc(wg, x, ys),
        "D-unbatched-x-batched-ys": disc(wd, x[0], ys),
    }


ERROR_IDS = sorted(_error_pairs())


@pytest.mark.parametrize("which", ERROR_IDS)
def test_both_twins_raise_the_same_error(which):
    ref_call, fast_calls = _error_pairs()[which]
    check_same_error(ref_call, fast_calls)


# ------------------------------------------------------------------------------ gradients


def test_gradients_flow_through_g_and_d():
    torch.manual_seed(0)
    g, d = Fn.MultiScaleGenerator(TINY), Fn.MultiScaleDiscriminator(TINY)
    x = torch.rand(2, 4, 3, 32, 32) * 2 - 1
    y = torch.rand(2, 3, 32, 32) * 2 - 1
    preds = g(x)
    # G's loss through D (the adversarial term) and an L2 term, D's loss on real frames
    loss = sum(s.sum() for s in d.logits(x, preds))
    loss = loss + sum(((p - t) ** 2).mean() for p, t in zip(preds, Fn.frame_pyramid(y, 4)))
    loss = loss + sum(s.sum() for s in d.logits(x, Fn.frame_pyramid(y, 4)))
    loss.backward()
    for name, p in (*g.named_parameters(), *d.named_parameters()):
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_gradcheck_float64():
    cfg = R.get_config("tiny", upsample_mode="bilinear", activation="leaky_relu")
    wg, wd = R.init_generator_weights(cfg, rng=0), R.init_discriminator_weights(cfg, rng=1)
    gen = {k: torch.from_numpy(v) for k, v in wg.items()}
    x = (torch.rand(1, 4, 3, 8, 8, dtype=torch.float64) * 2 - 1).requires_grad_()
    assert torch.autograd.gradcheck(lambda x: tuple(Fn.generator_forward(gen, x, cfg)), (x,),
                                    fast_mode=True)
    xd = torch.rand(1, 4, 3, 32, 32, dtype=torch.float64) * 2 - 1
    ys = Fn.frame_pyramid(torch.rand(1, 3, 32, 32, dtype=torch.float64) * 2 - 1, 4)
    y0, y1 = ys[0].clone().requires_grad_(), ys[1].clone().requires_grad_()

    def disc(y0, y1):  # the coarse scales only: D's input is 4x4 and 8x8 there, cheap
        return tuple(Fn.discriminator_forward(wd, xd, [y0, y1, *ys[2:]], cfg, logits=True)[:2])

    assert torch.autograd.gradcheck(disc, (y0, y1), fast_mode=True)


# ------------------------------------------------------------------------------ CUDA


GPU_CASES = [c for c in CASES if c.id in {
    "G-tiny-32", "G-tiny-16x24", "G-tiny-tf-rules-leaky", "predict-tiny", "D-tiny-conditional",
    "D-tiny-unconditional-leaky-x-none", "G-authors_small-32", "D-authors_small", "G-paper-8",
    "D-paper"}]


@pytest.mark.gpu
@pytest.mark.parametrize("case", GPU_CASES, ids=[c.id for c in GPU_CASES])
def test_twin_matches_oracle_on_cuda_float32(case):
    _check_case(case, 0, torch.float32, "cuda")


@pytest.mark.gpu
@pytest.mark.parametrize("case", GPU_CASES, ids=[c.id for c in GPU_CASES])
def test_fast_math_on_cuda_matches_oracle_in_bf16_tolerance(case):
    _check_case(dataclasses.replace(case, tolerance=BF16), 0, torch.float32, "cuda",
                fast_math=True)
    module = (Fn.MultiScaleDiscriminator if case.net == "D" else Fn.MultiScaleGenerator)(
        case.config, fast_math=True).cuda()
    assert not module.scales[0].convs[0].weight.is_contiguous(memory_format=torch.channels_last)
    if case.net == "D":
        p = case.config.patch_size
        x = torch.zeros(1, 4, 3, p, p, device="cuda")
        out = module(x, Fn.frame_pyramid(x[:, -1], case.config.n_scales))
    else:
        out = module(torch.zeros(1, 4, 3, 8, 8, device="cuda"))
    assert all(o.dtype == torch.float32 for o in out)  # the input dtype, not bfloat16
    assert module.scales[0].convs[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_doctests():
    result = doctest.testmod(Fn, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("output", ["copy", "warp"])
def test_an_untrained_copy_generator_predicts_exactly_the_last_frame(output):
    """output="copy" or "warp": the last conv of every scale starts at zero (no change, no flow),
    so G (and its recursion) is copy-last-frame at every scale before any training: no grey
    start, no colour cast."""
    from sharpvid.fast.networks import MultiScaleGenerator

    cfg = R.get_config("tiny", output=output)
    torch.manual_seed(0)
    g = MultiScaleGenerator(cfg)
    x = torch.rand(2, cfg.in_frames, 3, 16, 24) * 2 - 1
    x[0, -1, 0] = 1.0  # saturated pixels stay saturated (tanh would have pulled them in)
    preds = g(x)
    for k, pred in enumerate(preds):
        coarse = torch.from_numpy(R.frame_pyramid(x[:, -1].numpy(), cfg.n_scales)[k])
        torch.testing.assert_close(pred, coarse,
                                   rtol=0, atol=1e-6, check_dtype=False)
    assert torch.equal(preds[-1], x[:, -1])
    assert torch.equal(g.predict(x, 3), x[:, -1:].expand(-1, 3, -1, -1, -1))
    paper = MultiScaleGenerator(R.get_config("tiny"))(x)[-1]
    assert (paper - x[:, -1]).abs().max() > 0.1  # the paper's G starts elsewhere


@pytest.mark.parametrize("fast_math", [False, True], ids=["float32", "bf16-convs"])
def test_an_untrained_flow_generator_is_exactly_flow_extrapolation(fast_math):
    """output="flow": every learned output starts at zero (change and flow correction), so an
    untrained G is flow_extrap bit for bit at the finest scale and through the recursion, and at
    every coarser scale the last frame there warped by the pooled flow; the oracle the same with
    its own flow_extrapolate.  The paper's G, or a flow G with weights, is elsewhere."""
    from sharpvid.fast.flow import _warp, downsample_flow, flow_extrapolate
    from sharpvid.reference.flow import flow_extrapolate as ref_extrapolate

    cfg = R.get_config("tiny", output="flow", upsample_mode="bilinear")
    torch.manual_seed(0)
    g = Fn.MultiScaleGenerator(cfg, fast_math=fast_math)
    rng = np.random.default_rng(1)
    # a smooth scene sliding 1.5 px right and 0.5 px down per frame, inside (-1, 1)
    yy, xx = np.mgrid[0:24, 0:32]
    x = np.stack([np.stack([0.8 * np.sin((xx - 1.5 * t) / 3 + c) * np.cos((yy - 0.5 * t) / 4)
                            for c in range(3)]) for t in range(4)])[None]
    x = np.concatenate([x, rng.uniform(-0.9, 0.9, x.shape)])  # and a clip of noise
    xt = torch.tensor(x, dtype=torch.float32)
    with torch.no_grad():
        preds = g(xt)
        assert torch.equal(preds[-1], flow_extrapolate(xt, 1)[:, 0])
        assert torch.equal(g.predict(xt, 3), flow_extrapolate(xt, 3))
        v = Fn.input_flows(xt)[:, -1]
        for k, pred in enumerate(preds):
            f = 2 ** (cfg.n_scales - 1 - k)
            frame = Fn.frame_pyramid(xt[:, -1], cfg.n_scales)[k]
            assert torch.equal(pred, _warp(frame, downsample_flow(v, f))), k
    assert (preds[-1] - xt[:, -1]).abs().max() > 0.1  # it moved: not copy-last
    w = R.init_generator_weights(cfg, rng=0)
    zero = {k: (0 * a if ".convs.3." in k else a) for k, a in w.items()}  # the last convs
    np.testing.assert_array_equal(R.predict_frames(zero, x, 2, cfg), ref_extrapolate(x, 2))
    assert np.abs(R.generator_forward(w, x, cfg)[-1] - ref_extrapolate(x, 1)[:, 0]).max() > 0.1


def test_a_flow_generator_learns_its_flow_correction_from_the_first_step():
    """The zero flow correction is not a dead start: the loss's gradient reaches the last conv's
    flow channels at every scale, through the warp of the moved frame."""
    cfg = R.get_config("tiny", output="flow", upsample_mode="bilinear")
    torch.manual_seed(0)
    g = Fn.MultiScaleGenerator(cfg)
    x = torch.rand(2, 5, 3, 16, 16) * 2 - 1
    loss = sum((p - Fn.frame_pyramid(x[:, -1], cfg.n_scales)[k]).abs().mean()
               for k, p in enumerate(g(x[:, :4])))
    loss.backward()
    for scale in g.scales:
        last = scale.convs[-1]
        assert last.weight.shape[0] == 5  # the change's 3 channels, then the flow's x and y
        assert last.weight.grad[3:].abs().max() > 0 and last.weight.grad[:3].abs().max() > 0
