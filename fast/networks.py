"""Fast twin of :mod:`sharpvid.reference.networks`: the multi-scale G and D of Mathieu et al. 2016.

Mathieu, Couprie & LeCun, "Deep multi-scale video prediction beyond mean square error",
ICLR 2016, arXiv:1511.05440 (Sec. 2.1, Eqs. 3-4).  The equations, the architecture tables
(:class:`NetworkConfig`, :data:`CONFIGS`, :func:`get_config`, imported from the oracle, never
copied), the weight names (``scales.{k}.convs.{i}.weight`` ...) and every convention (frame-major
channels, zero "same" padding in G, valid convolutions in D, floor max-pool, channel-major
flatten, the residual-then-tanh rule) are the oracle's; see its module docstring.

The functions (:func:`generator_forward`, :func:`discriminator_forward`, :func:`predict_frames`)
take the oracle's arguments in the oracle's order; :class:`MultiScaleGenerator` and
:class:`MultiScaleDiscriminator` are thin ``nn.Module`` wrappers that hold the weights under the
same names (``model.state_dict()`` keys ==
:func:`sharpvid.reference.networks.generator_weight_shapes` keys) and call the same code.  One set
of weights runs in both::

    model.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})  # or
    load_reference_weights(model, weights)            # numpy -> module, with the oracle's checks
    weights = to_reference_weights(model)             # module -> float64 numpy, for the oracle

Differences from the oracle
---------------------------
- torch tensors (NumPy arrays are accepted), batched, on any device, differentiable.  The
  functions compute in the input's dtype and device (NumPy input: float64 on the CPU); the modules
  compute in their parameters' dtype and return the input's dtype.
- Unbatched discriminator outputs are 0-dim tensors rather than NumPy scalars.
- Options the oracle does not have, all keyword-only and off by default:

  * ``pad=True`` (generator, :func:`predict_frames`): sizes not divisible by ``2^(N-1)`` are
    replicate-padded at the bottom/right to the next multiple and every output is cropped back
    (scale k to ``ceil(H / 2^(N-1-k))`` x ``ceil(W / 2^(N-1-k))``).  Without it the twin raises
    the oracle's error.
  * ``logits=True`` (discriminator): the pre-sigmoid scores, for
    ``binary_cross_entropy_with_logits`` (the oracle returns probabilities only;
    ``sigmoid(logits)`` is its output).
  * ``fast_math`` (the one speed switch): ``True`` or a :class:`sharpvid.fast.devices.FastMath`
    plan. ``True`` puts the activations and the conv weights in ``channels_last`` and runs the
    convolutions and FC layers under ``torch.autocast(device, dtype=torch.bfloat16)`` on the input's
    device, CUDA or CPU; a plan may ask for channels_last alone (float32, which
    ``benchmarks/bench_train.py`` measures as ``float32-cl``). The pyramids, each scale's output
    (the Laplacian sum or copy step, tanh, the logits) and the returned tensors stay in the input
    dtype. For float64 input it is a no-op. Which plan a device gets is decided once, in
    :func:`sharpvid.fast.devices.resolve_fast_math`, not here.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils import parametrize

from sharpvid.fast._tensors import _as_tensor
from sharpvid.fast.devices import OFF, ON, FastMath
from sharpvid.fast.flow import _warp, downsample_flow, optical_flow, upsample_flow
from sharpvid.fast.pyramid import copy_step, frame_pyramid, laplacian_step, shrink, upsample, warp
import sharpvid.reference.networks as _ref
from sharpvid.reference._checks import (_check_divisible, _check_image, _check_ndim,
                                        _check_positive_int)
from sharpvid.reference.networks import (
    CONFIGS,
    NetworkConfig,
    _check_config,
    _d_in_channels,
    _g_in_channels,
    _g_out_channels,
    _scale_side,
    discriminator_weight_shapes,
    generator_weight_shapes,
    get_config,
)

__all__ = [
    "CONFIGS",
    "MultiScaleDiscriminator",
    "MultiScaleGenerator",
    "NetworkConfig",
    "discriminator_forward",
    "generator_forward",
    "get_config",
    "input_flows",
    "load_reference_weights",
    "predict_frames",
    "to_reference_weights",
]

Weights = dict[str, torch.Tensor]


# ---------------------------------------------------------------------------------------------
# Checks (the oracle's messages, on tensors) and the speed switch
# ---------------------------------------------------------------------------------------------


def _check_weights(weights, shapes, name: str, like: torch.Tensor) -> Weights:
    """The oracle's weight checks and messages, on tensors of ``like``'s dtype and device."""

    def convert(value, label):
        return _as_tensor(value, label, like=like).to(device=like.device, dtype=like.dtype)

    return _ref._check_weights(weights, shapes, name, convert=convert)


def _check_clip(x, config: NetworkConfig, name: str = "x", like=None) -> tuple[torch.Tensor, bool]:
    """The oracle's clip check and messages: a ``(B, m, C, H, W)`` tensor, and batched?"""
    return _ref._check_clip(
        x, config, name, convert=lambda value, label: _as_tensor(value, label, like=like)
    )


def _plan(fast_math: bool | FastMath, t: torch.Tensor) -> FastMath:
    """What the switch does for input ``t``: ``True`` -> bf16 autocast + channels_last,
    ``False`` -> nothing, a plan as given; nothing for float64 input (the oracle's checks)."""
    plan = (ON if fast_math else OFF) if isinstance(fast_math, bool) else fast_math
    return OFF if t.dtype == torch.float64 else plan


def _autocast(plan: FastMath, t: torch.Tensor):
    """bf16 autocast on ``t``'s device when the plan asks for it, else nothing."""
    if plan.bf16:
        return torch.autocast(t.device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _layout(t: torch.Tensor, fast: bool) -> torch.Tensor:
    """A 4-D tensor in channels_last when ``fast``, unchanged otherwise."""
    return t.contiguous(memory_format=torch.channels_last) if fast and t.ndim == 4 else t


def _activation(x: torch.Tensor, kind: str, slope: float) -> torch.Tensor:
    """Twin of ``sharpvid.reference.networks._activation``: ReLU or leaky ReLU (``x if x >= 0 else a
    x``)."""
    return F.relu(x) if kind == "relu" else F.leaky_relu(x, float(slope))


# ---------------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------------


def _g_convs(weights: Weights, h_k: torch.Tensor, k: int, config: NetworkConfig,
             plan: FastMath) -> torch.Tensor:
    """Twin of ``sharpvid.reference.networks._g_convs``: G'_k's conv stack, under bf16 autocast
    when ``plan`` asks (only the convs: the pyramid and the sums stay in the input dtype)."""
    n_convs = len(config.g_kernels[k])
    with _autocast(plan, h_k):
        for i, size in enumerate(config.g_kernels[k]):
            prefix = f"scales.{k}.convs.{i}"
            h_k = F.conv2d(h_k, weights[prefix + ".weight"], weights[prefix + ".bias"],
                           padding=(size - 1) // 2)
            if i < n_convs - 1:  # no activation after the last conv: G'_k is a residual
                h_k = _activation(h_k, config.activation, config.leaky_slope)
    return h_k


def input_flows(x) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.networks.input_flows`: the m - 1 flows ``(B, m - 1,
    2, H, W)`` between consecutive input frames ``(B, m, C, H, W)``.

    Differences: one batched :func:`sharpvid.fast.flow.optical_flow` call for all pairs, without
    autograd (the flows are an input, not learned).
    """
    x = _as_tensor(x, "x")
    _check_ndim(x, "x", (5,))
    with torch.no_grad():
        return optical_flow(x[:, 1:], x[:, :-1])  # v_t = flow(F_t, F_{t-1}), t = 2..m


def _flow_scale(weights: Weights, x_k: torch.Tensor, flows_k: torch.Tensor, coarse, k: int,
                config: NetworkConfig, plan: FastMath):
    """Twin of ``sharpvid.reference.networks._flow_scale``: the flow path at one scale,
    :math:`(\\hat Y_k, B_k, c_k)`.

    Differences: the warps are :func:`sharpvid.fast.flow._warp` (``grid_sample``, as
    :func:`sharpvid.fast.flow.flow_extrapolate`: an untrained G equals that baseline bit for bit;
    the oracle's positions up to float rounding); the convs as ``plan`` says.
    """
    b, m, c, h, w = x_k.shape
    chained = coarse is not None and config.residual
    corr = (upsample_flow(coarse[2], (h, w)) if chained
            else x_k.new_zeros(b, 2, h, w))  # 2u(c_{k-1})
    v_k = flows_k[:, -1]  # the constant-velocity flow at this scale
    inputs = [x_k.reshape(b, m * c, h, w)]  # [X_k, u_k(\hat Y_{k-1}), V_k, W(F_k, v_k + 2u(c))]
    if coarse is not None:
        inputs.append(upsample(coarse[0], 2, config.upsample_mode))
    inputs += [flows_k.reshape(b, 2 * (m - 1), h, w), _warp(x_k[:, -1], v_k + corr)]
    h_k = _layout(torch.cat(inputs, dim=1), plan.channels_last)
    out = _g_convs(weights, h_k, k, config, plan).to(x_k.dtype)
    delta_y, corr = out[:, :c], corr + out[:, c:]  # \Delta Y_k; c_k = 2u(c_{k-1}) + \Delta v_k
    base = _warp(x_k[:, -1], v_k + corr)  # B_k = W(F_k, v_k + c_k)
    y_k = copy_step(base, delta_y, y_coarse=coarse[0] if chained else None,
                    last_coarse=coarse[1] if chained else None, factor=2,
                    mode=config.upsample_mode)
    return y_k, base, corr


def _generator_scale(
    weights: Weights, x_k: torch.Tensor, y_coarse, k: int, config: NetworkConfig,
    plan: FastMath, last_coarse=None,
) -> torch.Tensor:
    """Twin of ``sharpvid.reference.networks._generator_scale``: Sec. 2.1, one scale, ``(B, C, H_k,
    W_k)``.

    Differences: channels_last activations and/or a bf16 conv stack as ``plan`` says.
    """
    b, m, c, h, w = x_k.shape
    # frame-major channels, (B, m C, H_k, W_k)
    h_k = _layout(x_k.reshape(b, m * c, h, w), plan.channels_last)
    if y_coarse is not None:
        # [X_k, u_k(\hat Y_{k-1})], (B, m C + C, H_k, W_k)
        h_k = torch.cat([h_k, upsample(y_coarse, 2, config.upsample_mode)], dim=1)
    h_k = _g_convs(weights, h_k, k, config, plan).to(x_k.dtype)
    if config.output in ("copy", "warp"):
        base = x_k[:, -1]  # F_k
        if config.output == "warp" and k == config.n_scales - 1:  # F moved by the flow v
            h_k, base = h_k[:, :c], warp(base, shrink(h_k[:, c:], config.flow_deadzone))
        # \hat Y_k = clip(F_k + u_k(\hat Y_{k-1} - F_{k-1}) + G'_k(...), -1, 1), F_k or W(F_k, v)
        coarse = y_coarse is not None and config.residual
        return copy_step(base, h_k, y_coarse=y_coarse if coarse else None,
                         last_coarse=last_coarse if coarse else None, factor=2,
                         mode=config.upsample_mode)
    if y_coarse is None or not config.residual:
        return torch.tanh(h_k)  # \hat Y_k = tanh(G'_k(...))
    # \hat Y_k = tanh(u_k(\hat Y_{k-1}) + G'_k(...))
    return laplacian_step(y_coarse, h_k, factor=2, mode=config.upsample_mode)


def _run_generator(
    weights: Weights, x: torch.Tensor, config: NetworkConfig, *, pad: bool, plan: FastMath,
    out_dtype: torch.dtype,
) -> list[torch.Tensor]:
    """Size checks, optional pad, the scales coarse to fine, crop; ``x`` is ``(B, m, C, H, W)``."""
    n = config.n_scales
    factor = 2 ** (n - 1)
    _check_image(x, "x", min_size=1 if pad else factor)
    h, w = x.shape[-2:]
    if pad:  # replicate the last row/column up to the next multiple of 2^(N-1)
        ph, pw = -h % factor, -w % factor
        if ph or pw:
            b, m, c = x.shape[:3]
            x = F.pad(x.reshape(b, m * c, h, w), (0, pw, 0, ph), mode="replicate")
            x = x.reshape(b, m, c, h + ph, w + pw)
    else:
        _check_divisible(x, factor, "x")
    x_pyramid = frame_pyramid(x, n)  # X_k, (B, m, C, H_k, W_k)
    preds: list[torch.Tensor] = []
    if config.output == "flow":
        flows = input_flows(x)  # (B, m - 1, 2, H, W), at full resolution, no autograd
        coarse = None  # (\hat Y_{k-1}, B_{k-1}, c_{k-1})
        for k in range(n):
            coarse = _flow_scale(weights, x_pyramid[k], downsample_flow(flows, 2 ** (n - 1 - k)),
                                 coarse, k, config, plan)
            preds.append(coarse[0])
    else:
        for k in range(n):
            y_coarse = preds[-1] if k > 0 else None
            last_coarse = x_pyramid[k - 1][:, -1] if k > 0 else None  # F_{k-1}
            preds.append(_generator_scale(weights, x_pyramid[k], y_coarse, k, config, plan,
                                          last_coarse))
    if pad:  # scale k covers ceil(H / 2^(N-1-k)) rows of the unpadded frame
        sizes = [(math.ceil(h / 2 ** (n - 1 - k)), math.ceil(w / 2 ** (n - 1 - k)))
                 for k in range(n)]
        preds = [p[..., :hk, :wk] for p, (hk, wk) in zip(preds, sizes)]
    return [p.to(out_dtype) for p in preds]


def generator_forward(
    weights: Mapping[str, torch.Tensor], x, config: NetworkConfig, *, pad: bool = False,
    fast_math: bool | FastMath = False,
) -> list[torch.Tensor]:
    """Fast twin of :func:`sharpvid.reference.networks.generator_forward` (Sec. 2.1).

    Differences: torch tensors in the dtype and on the device of ``x`` (weights are cast to
    them); ``pad=True`` replicate-pads sizes not divisible by ``2^(N-1)`` at the bottom/right and
    crops every output back (scale k to ``ceil(H / 2^(N-1-k))``); ``fast_math`` is the module
    docstring's speed switch.

    Examples
    --------
    >>> from sharpvid.reference.networks import init_generator_weights
    >>> cfg = get_config("tiny")
    >>> w = init_generator_weights(cfg, rng=0)
    >>> [tuple(p.shape) for p in generator_forward(w, torch.zeros(1, 4, 3, 20, 12), cfg, pad=True)]
    [(1, 3, 3, 2), (1, 3, 5, 3), (1, 3, 10, 6), (1, 3, 20, 12)]
    """
    config = _check_config(config)
    x = _as_tensor(x, "x")
    weights = _check_weights(weights, generator_weight_shapes(config), "generator", like=x)
    x, batched = _check_clip(x, config)
    plan = _plan(fast_math, x)
    if plan.channels_last:
        weights = {k: _layout(v, True) for k, v in weights.items()}
    preds = _run_generator(weights, x, config, pad=pad, plan=plan, out_dtype=x.dtype)
    return preds if batched else [p[0] for p in preds]


def recursion(predict_next: Callable[[torch.Tensor], list[torch.Tensor]], window: torch.Tensor,
              n: int) -> Iterator[tuple[torch.Tensor, list[torch.Tensor]]]:
    """The authors' recursion (:func:`sharpvid.reference.networks.predict_frames`): ``(window,
    pyramid)`` for each of n future frames, ``pyramid = predict_next(window)`` (coarse to fine)
    and each frame's finest prediction sliding into the next window.  Prediction keeps the
    finest frames (:func:`predict_frames`), training every window and scale
    (:func:`sharpvid.fast.training.objectives.rollout`)."""
    for j in range(n):  # a loop over future frames only: each needs the previous one
        pyramid = predict_next(window)
        yield window, pyramid
        if j + 1 < n:
            window = torch.cat([window[:, 1:], pyramid[-1][:, None]], dim=1)  # slide by one frame


def _run_predict(weights: Weights, window: torch.Tensor, n: int, config: NetworkConfig, *,
                 pad: bool, plan: FastMath) -> torch.Tensor:
    """:func:`recursion` of the generator on a checked ``(B, m, C, H, W)`` window: the finest
    frames ``(B, n, C, H, W)``."""
    def predict_next(w):
        return _run_generator(weights, w, config, pad=pad, plan=plan, out_dtype=w.dtype)

    return torch.stack([pyr[-1] for _, pyr in recursion(predict_next, window, n)], dim=1)


def predict_frames(
    weights: Mapping[str, torch.Tensor], x, n: int, config: NetworkConfig, *, pad: bool = False,
    fast_math: bool | FastMath = False,
) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.networks.predict_frames` (the authors' recursion).

    Differences: as :func:`generator_forward` (dtype/device of ``x``, ``pad``, ``fast_math``);
    the weights are checked once, not at every step.

    Examples
    --------
    >>> from sharpvid.reference.networks import init_generator_weights
    >>> cfg = get_config("tiny")
    >>> tuple(predict_frames(init_generator_weights(cfg, rng=0), torch.zeros(4, 3, 16, 16), 2,
    ...                      cfg).shape)
    (2, 3, 16, 16)
    """
    config = _check_config(config)
    n = _check_positive_int(n, "n")
    window, batched = _check_clip(x, config)  # (B, m, C, H, W)
    weights = _check_weights(weights, generator_weight_shapes(config), "generator", like=window)
    plan = _plan(fast_math, window)
    if plan.channels_last:
        weights = {k: _layout(v, True) for k, v in weights.items()}
    out = _run_predict(weights, window, n, config, pad=pad, plan=plan)
    return out if batched else out[0]


# ---------------------------------------------------------------------------------------------
# Discriminator
# ---------------------------------------------------------------------------------------------


def _discriminator_scale(
    weights: Weights, x_k, y_k: torch.Tensor, k: int, config: NetworkConfig, plan: FastMath
) -> torch.Tensor:
    """Twin of ``sharpvid.reference.networks._discriminator_scale``, before the sigmoid: logits
    ``(B,)``."""
    b = y_k.shape[0]
    h = y_k
    if x_k is not None:
        if config.d_input == "change":
            y_k = y_k - x_k[:, -1]  # Y_k - X_k^{(m)}
        h = torch.cat([x_k.reshape(b, -1, *y_k.shape[-2:]), y_k], dim=1)  # [X_k, Y_k]
    h = _layout(h, plan.channels_last)
    for i in range(len(config.d_kernels[k])):
        prefix = f"scales.{k}.convs.{i}"
        h = F.conv2d(h, weights[prefix + ".weight"], weights[prefix + ".bias"])
        h = _activation(h, config.activation, config.leaky_slope)
    if config.d_pool[k]:
        h = F.max_pool2d(h, 2)  # 2x2, stride 2, floor
    h = h.flatten(1)  # channel-major (C, H, W) whatever the memory format
    n_fc = len(config.d_fc[k])
    for j in range(n_fc):
        prefix = f"scales.{k}.fcs.{j}"
        h = F.linear(h, weights[prefix + ".weight"], weights[prefix + ".bias"])
        if j < n_fc - 1:
            h = _activation(h, config.activation, config.leaky_slope)
    return h[:, 0]  # the sigmoid's argument, (B,)


def _check_discriminator_inputs(x, ys, config: NetworkConfig, like=None):
    """The oracle's checks of ``discriminator_forward``: X pyramid (or Nones), ys, batched?"""
    n, c, p = config.n_scales, config.channels, config.patch_size
    if isinstance(ys, (np.ndarray, torch.Tensor)) or not isinstance(ys, Sequence) or len(ys) != n:
        raise ValueError(f"ys must be a list of n_scales={n} arrays, coarse to fine")
    ys = [_as_tensor(y, f"ys[{k}]", like=like) for k, y in enumerate(ys)]
    _check_ndim(ys[-1], f"ys[{n - 1}]", (3, 4))
    batched = ys[-1].ndim == 4
    ys = ys if batched else [y[None] for y in ys]
    b = ys[-1].shape[0]
    for k, y in enumerate(ys):
        s = _scale_side(config, k)
        if tuple(y.shape) != (b, c, s, s):
            raise ValueError(
                f"ys[{k}] must have shape {(b, c, s, s) if batched else (c, s, s)} "
                f"(patch_size={p}: D's FC layers fix the size), "
                f"got {tuple(y.shape) if batched else tuple(y.shape[1:])}"
            )
    x_pyramid: list = [None] * n
    if config.conditional_d:
        if x is None:
            raise ValueError("x (the input frames) is required by a conditional discriminator")
        x = _as_tensor(x, "x", like=like if like is not None else ys[-1])
        xb, x_batched = _check_clip(x, config)
        expected = (b, config.in_frames, c, p, p) if batched else (config.in_frames, c, p, p)
        if x_batched != batched or xb.shape[0] != b or tuple(xb.shape[-2:]) != (p, p):
            raise ValueError(
                f"x must have shape {expected} to match ys (patch_size={p}), "
                f"got {tuple(x.shape)}"
            )
        x_pyramid = frame_pyramid(xb, n)  # X_k, (B, m, C, s_k, s_k)
    return x_pyramid, ys, batched


def _run_discriminator(weights: Weights, x_pyramid, ys, config: NetworkConfig, *, logits: bool,
                       plan: FastMath, dtype: torch.dtype, out_dtype: torch.dtype) -> list:
    """D_k at every scale in ``dtype``; logits or probabilities in ``out_dtype``."""
    with _autocast(plan, ys[-1]):  # D's layers only: the pyramids come in already built
        scores = [
            _discriminator_scale(weights, None if x_pyramid[k] is None else x_pyramid[k].to(dtype),
                                 ys[k].to(dtype), k, config, plan)
            for k in range(config.n_scales)
        ]
    scores = [s.to(out_dtype) for s in scores]
    return scores if logits else [torch.sigmoid(s) for s in scores]  # sigma, (B,)


def _promoted(tensors) -> torch.dtype:
    """The promoted floating dtype of the given tensors (Nones skipped)."""
    dtype = None
    for t in tensors:
        if t is not None:
            dtype = t.dtype if dtype is None else torch.promote_types(dtype, t.dtype)
    return dtype


def discriminator_forward(
    weights: Mapping[str, torch.Tensor], x, ys: Sequence, config: NetworkConfig, *,
    logits: bool = False, fast_math: bool | FastMath = False,
) -> list[torch.Tensor]:
    """Fast twin of :func:`sharpvid.reference.networks.discriminator_forward` (Eqs. 3-4).

    Differences: torch tensors in the promoted dtype of ``ys`` and ``x``, on the device of
    ``ys[-1]``; unbatched input gives 0-dim tensors; ``logits=True`` returns the pre-sigmoid
    scores (``sigmoid`` of them is the oracle's output) for a stable BCE-with-logits;
    ``fast_math`` is the module docstring's speed switch.

    Examples
    --------
    >>> from sharpvid.reference.networks import init_discriminator_weights
    >>> from sharpvid.fast.pyramid import frame_pyramid
    >>> cfg = get_config("tiny")
    >>> w = init_discriminator_weights(cfg, rng=0)
    >>> d = discriminator_forward(w, torch.zeros(2, 4, 3, 32, 32),
    ...                           frame_pyramid(torch.zeros(2, 3, 32, 32), 4), cfg)
    >>> [tuple(p.shape) for p in d]
    [(2,), (2,), (2,), (2,)]
    """
    config = _check_config(config)
    last = ys[-1] if isinstance(ys, Sequence) and len(ys) else None
    # weights go to the dtype/device of ys[-1] (NumPy input: float64 on the CPU)
    like = (last if isinstance(last, torch.Tensor) and last.is_floating_point()
            else torch.zeros((), dtype=torch.float64))
    weights = _check_weights(weights, discriminator_weight_shapes(config), "discriminator",
                             like=like)
    x_pyramid, ys, batched = _check_discriminator_inputs(x, ys, config, like=like)
    dtype = _promoted([*ys, *(x_pyramid if config.conditional_d else [])])
    weights = {k: v.to(dtype) for k, v in weights.items()}
    plan = _plan(fast_math, ys[-1])
    if plan.channels_last:
        weights = {k: _layout(v, True) for k, v in weights.items()}
    out = _run_discriminator(weights, x_pyramid, ys, config, logits=logits, plan=plan,
                             dtype=dtype, out_dtype=dtype)
    return out if batched else [s[0] for s in out]


# ---------------------------------------------------------------------------------------------
# Modules: the weights under the oracle's names, for training
# ---------------------------------------------------------------------------------------------


class _Scale(nn.Module):
    """One scale's layers: ``convs`` (and ``fcs`` for D), named as the oracle's weights."""

    def __init__(self, convs: Sequence[nn.Module], fcs: Sequence[nn.Module] = ()):
        super().__init__()
        self.convs = nn.ModuleList(convs)
        if fcs:
            self.fcs = nn.ModuleList(fcs)


class _Twin(nn.Module):
    """Shared by G and D: the config, the ``fast_math`` switch, the weights as a dict."""

    def __init__(self, config: NetworkConfig, fast_math: bool | FastMath):
        super().__init__()
        self.config = _check_config(config)
        self.fast_math = fast_math
        self.scales = nn.ModuleList()

    def _weights(self) -> Weights:
        """Every layer's weight and bias under the oracle's names; a parametrised weight (a
        spectral-normalised critic's) as its parametrisation computes it."""
        return {f"{name}.{attr}": getattr(module, attr)
                for name, module in self.named_modules()
                if isinstance(module, (nn.Conv2d, nn.Linear)) for attr in ("weight", "bias")}

    def _anchor(self) -> torch.Tensor:
        """The first conv's weight as stored, for its dtype, device and layout (a parametrised
        weight's original: reading the computed one would run a spectral norm's power iteration
        once more per read)."""
        conv = self.scales[0].convs[0]
        if parametrize.is_parametrized(conv, "weight"):
            return conv.parametrizations.weight.original
        return conv.weight

    def _prepare(self, t: torch.Tensor) -> FastMath:
        """What ``fast_math`` does for ``t``; for channels_last, the conv weights are put in it.

        Done once, in place (the Parameter objects are kept, so an optimizer built earlier
        still holds them).  Call ``model.to(memory_format=torch.channels_last)`` yourself before
        wrapping the model in DDP or ``torch.compile``.
        """
        plan = OFF if self._anchor().dtype == torch.float64 else _plan(self.fast_math, t)
        if plan.channels_last and not self._anchor().is_contiguous(
                memory_format=torch.channels_last):
            self.to(memory_format=torch.channels_last)
        return plan


class MultiScaleGenerator(_Twin):
    """Fast twin of :func:`sharpvid.reference.networks.generator_forward` as an ``nn.Module`` (Sec.
    2.1).

    ``state_dict()`` keys and shapes are
    :func:`sharpvid.reference.networks.generator_weight_shapes`; the layers are ``nn.Conv2d`` with
    torch's default init (the oracle's
    :func:`~sharpvid.reference.networks.init_generator_weights` rule), except with
    ``output="copy"``, ``"warp"`` or ``"flow"``, where the last conv of every scale starts at zero
    (no change, no flow, no flow correction), so that an untrained G predicts exactly the last
    input frame (copy-last-frame) or, with ``"flow"``, exactly
    :func:`sharpvid.fast.flow.flow_extrapolate` (flow extrapolation).

    Parameters
    ----------
    config : NetworkConfig
    fast_math : bool or sharpvid.fast.devices.FastMath
        The speed switch (also an attribute; module docstring): ``True`` = channels_last + bf16
        autocast on the input's device; the outputs stay in the input dtype.

    Differences from the oracle: computes in the parameters' dtype and returns the input's;
    ``forward(x, pad=True)`` pads-then-crops sizes not divisible by ``2^(N-1)`` (see
    :func:`generator_forward`).

    Examples
    --------
    >>> g = MultiScaleGenerator(get_config("tiny"))
    >>> [tuple(p.shape) for p in g(torch.zeros(2, 4, 3, 32, 32))]
    [(2, 3, 4, 4), (2, 3, 8, 8), (2, 3, 16, 16), (2, 3, 32, 32)]
    """

    def __init__(self, config: NetworkConfig, *, fast_math: bool | FastMath = False):
        super().__init__(config, fast_math)
        config = self.config
        for k in range(config.n_scales):
            chans = (_g_in_channels(config, k), *config.g_fmaps[k], _g_out_channels(config, k))
            self.scales.append(_Scale([
                nn.Conv2d(chans[i], chans[i + 1], size, padding=(size - 1) // 2)
                for i, size in enumerate(config.g_kernels[k])
            ]))
            if config.output != "paper":  # G'_k = 0 at every scale: untrained, G copies the frame
                nn.init.zeros_(self.scales[k].convs[-1].weight)
                nn.init.zeros_(self.scales[k].convs[-1].bias)

    def forward(self, x, *, pad: bool = False) -> list[torch.Tensor]:
        """:math:`\\hat Y_0, \\dots, \\hat Y_{N-1}` for ``x`` ``(B, m, C, H, W)`` (or unbatched)."""
        anchor = self._anchor()
        x, batched = _check_clip(x, self.config, like=anchor)
        plan = self._prepare(x)
        preds = _run_generator(self._weights(), x.to(anchor.dtype), self.config, pad=pad,
                               plan=plan, out_dtype=x.dtype)
        return preds if batched else [p[0] for p in preds]

    def predict(self, x, n: int, *, pad: bool = False) -> torch.Tensor:
        """Fast twin of :func:`sharpvid.reference.networks.predict_frames`: n future frames,
        recursively.

        Returns ``(B, n, C, H, W)`` (or ``(n, C, H, W)``) in the input dtype.
        """
        n = _check_positive_int(n, "n")
        anchor = self._anchor()
        window, batched = _check_clip(x, self.config, like=anchor)
        plan = self._prepare(window)
        out = _run_predict(self._weights(), window.to(anchor.dtype), n, self.config, pad=pad,
                           plan=plan).to(window.dtype)
        return out if batched else out[0]


class MultiScaleDiscriminator(_Twin):
    """Fast twin of :func:`sharpvid.reference.networks.discriminator_forward` as an ``nn.Module``.

    ``state_dict()`` keys and shapes are
    :func:`sharpvid.reference.networks.discriminator_weight_shapes` (``nn.Conv2d`` then
    ``nn.Linear`` per scale, torch's default init).

    Parameters
    ----------
    config : NetworkConfig
    fast_math : bool or sharpvid.fast.devices.FastMath
        The speed switch, as in :class:`MultiScaleGenerator`.

    Differences from the oracle: computes in the parameters' dtype and returns the promoted
    dtype of ``ys`` (and ``x``); ``forward(x, ys, logits=True)`` returns the pre-sigmoid scores,
    for ``F.binary_cross_entropy_with_logits`` (numerically stable where the probabilities
    saturate); unbatched input gives 0-dim tensors.

    Examples
    --------
    >>> d = MultiScaleDiscriminator(get_config("tiny"))
    >>> probs = d(torch.zeros(2, 4, 3, 32, 32), frame_pyramid(torch.zeros(2, 3, 32, 32), 4))
    >>> [tuple(p.shape) for p in probs]
    [(2,), (2,), (2,), (2,)]
    """

    def __init__(self, config: NetworkConfig, *, fast_math: bool | FastMath = False):
        super().__init__(config, fast_math)
        config = self.config
        shapes = discriminator_weight_shapes(config)
        for k in range(config.n_scales):
            chans = (_d_in_channels(config), *config.d_fmaps[k])
            convs = [nn.Conv2d(chans[i], chans[i + 1], size)
                     for i, size in enumerate(config.d_kernels[k])]
            fcs = [nn.Linear(*reversed(shapes[f"scales.{k}.fcs.{j}.weight"]))
                   for j in range(len(config.d_fc[k]))]
            self.scales.append(_Scale(convs, fcs))

    def forward(self, x, ys: Sequence, *, logits: bool = False) -> list[torch.Tensor]:
        """:math:`D_k(X_k, Y_k)` for every scale, ``(B,)`` each: probabilities, or logits."""
        anchor = self._anchor()
        x_pyramid, ys, batched = _check_discriminator_inputs(x, ys, self.config, like=anchor)
        out_dtype = _promoted([*ys, *(x_pyramid if self.config.conditional_d else [])])
        plan = self._prepare(ys[-1])
        out = _run_discriminator(self._weights(), x_pyramid, ys, self.config, logits=logits,
                                 plan=plan, dtype=anchor.dtype, out_dtype=out_dtype)
        return out if batched else [s[0] for s in out]

    def logits(self, x, ys: Sequence) -> list[torch.Tensor]:
        """``forward(x, ys, logits=True)``: the pre-sigmoid scores per scale, ``(B,)`` each."""
        return self.forward(x, ys, logits=True)


# ---------------------------------------------------------------------------------------------
# Moving weights between the oracle and the modules
# ---------------------------------------------------------------------------------------------


def load_reference_weights(model: _Twin, weights: Mapping) -> _Twin:
    """Copy oracle weights (dict of arrays or tensors) into ``model``, in its dtype and device.

    The oracle's key/shape checks and messages run first; equivalent to
    ``model.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})``.
    """
    shapes = (generator_weight_shapes if isinstance(model, MultiScaleGenerator)
              else discriminator_weight_shapes)(model.config)
    name = "generator" if isinstance(model, MultiScaleGenerator) else "discriminator"
    anchor = model._anchor()
    checked = _check_weights(weights, shapes, name, like=anchor)
    model.load_state_dict(checked)
    return model


def to_reference_weights(model: nn.Module) -> dict[str, np.ndarray]:
    """``model``'s weights as the oracle takes them: float64 NumPy arrays under the same names."""
    return {k: v.detach().to("cpu", torch.float64).contiguous().numpy()
            for k, v in model.state_dict().items()}
