"""The multi-scale generator G and discriminator D of Mathieu, Couprie & LeCun 2016.

Mathieu, Couprie & LeCun, "Deep multi-scale video prediction beyond mean square error",
ICLR 2016, arXiv:1511.05440: the multi-scale generator of Sec. 2.1, the multi-scale
discriminator D_k of the adversarial training (Eqs. 3-4) and the architecture table of the
experiments (its values as the TF reimplementation quotes them, not re-checked against the
paper's text).

Scale k (k = 0 coarsest, ..., N-1 finest, with s_k = H / 2^(N-1-k)) of the generator sees the m
input frames X_k at its scale and the upsampled prediction of the scale below:

.. math::  \\hat Y_0 = \\tanh G'_0(X_0), \\qquad
           \\hat Y_k = \\tanh\\big(u_k(\\hat Y_{k-1}) + G'_k(X_k, u_k(\\hat Y_{k-1}))\\big)

where G'_k is a stack of same-size convolutions with an activation between layers.  Scale k of
the discriminator gives the probability that a frame Y_k (real, or G's \\hat Y_k) is real:

.. math::  D_k(X_k, Y_k) = \\sigma\\big(\\mathrm{FC}(\\mathrm{maxpool}_{2\\times2}(
           \\mathrm{conv}_{\\mathrm{valid}}([X_k, Y_k])))\\big) \\in (0, 1)

The architecture tables are data (:class:`NetworkConfig`, :data:`CONFIGS`); the weights are plain
dicts of float64 arrays named as the ``state_dict`` of the torch twin ``sharpvid.fast.networks``:
``scales.{k}.convs.{i}.weight`` ``(out, in, kh, kw)`` and ``.bias`` ``(out,)`` for G and D, and
``scales.{k}.fcs.{j}.weight`` ``(out, in)`` and ``.bias`` for D's fully connected layers.

Convention
----------
The paper, the authors' released Lua code (coupriec/VideoPredictionICLR2016) and the TF
reimplementation (dyelax/Adversarial_Video_Generation) differ; each difference is a field of
:class:`NetworkConfig`:

- **Sizes** (``g_fmaps``, ``d_fmaps``, ``d_kernels``, ``d_fc``): the paper's architecture
  table and the TF code (configs ``"paper"``, ``"tf"``); the authors' released trainer is smaller
  (``"authors_small"``: G 16,32,16 / ... / 16,32,64,32,16, D FC 256,128,1).  The G kernels
  are the paper's everywhere.
- **Residual and tanh** (``residual``): the authors add the upsampled coarser prediction to the
  network output *before* ``tanh`` (:func:`sharpvid.reference.pyramid.laplacian_step`,
  ``out = tanh(net([X_k, u(Y_{k-1})]) + u(Y_{k-1}))``): the paper's Laplacian equation, whose
  sum has no ``tanh``, plus the authors' final ``tanh``; ``"paper"`` uses this rule.  TF only
  concatenates: ``out = tanh(net(...))``, no residual add.
- **Upsampling** (``upsample_mode``): nearest neighbour (authors) or bilinear (TF, half-pixel
  centres here, see :mod:`sharpvid.reference.pyramid`).  Downsampling of the inputs is average
  pooling everywhere here (the authors'; TF resizes bilinearly).
- **Conditional D** (``conditional_d``): the authors' D sees ``[X_k, Y_k]``, the m input frames
  then the frame, ``(m + 1) C`` channels; TF's D sees the frame only, ``C`` channels.
  ``d_input="change"`` (this project's option, the demo's) gives a conditional D
  ``[X_k, Y_k - X_k^{(m)}]``: the judged frame minus the last input frame at that scale, the
  same information in a form where a copy of the last frame is exactly zero.
- **Max-pool** (``d_pool``): the paper and TF max-pool 2x2 after the convolutions at every scale;
  the authors' trainer only at the finest scale.
- **D's FC size depends on the patch size**: the first FC layer takes
  ``fmaps * (s'/2)^2`` inputs, where ``s'`` is the side ``patch_size / 2^(N-1-k)`` after the
  valid convolutions, so D only runs at ``patch_size`` while G is fully convolutional.  That
  weight grows with the square of the patch: the paper's D4 has a 4608 x 1024 first FC layer at
  32x32 and 61952 x 1024 at 64x64, which is why the TF README's FAQ says patches larger than 32
  run out of memory.
- **Flattening** before the FC layers is channel-major ``(C, H, W)``, as torch's ``flatten(1)``
  and the Lua ``nn.View``; TF flattens ``(H, W, C)``, a permutation of the FC weights only.
- **Padding**: G's ``(k-1)/2`` zero padding (Lua ``'convp'``) equals TF ``'SAME'`` for odd
  kernels at stride 1; D's convolutions are valid.  Convolution is cross-correlation, as in
  ``torch.nn.Conv2d``.  Channels are stacked frame-major: channel ``t*C + c`` is channel c of
  input frame t, then the C channels of the coarser prediction (or of the judged frame).
- **Not part of the networks here**: TF clips D's output to [0.1, 0.9] (a loss-side choice) and
  initialises with a truncated normal (std 0.01, bias 0.1); :func:`init_generator_weights` uses
  torch's default rule, as the authors' Lua code did.
- **Recursion** (:func:`predict_frames`): the finest prediction replaces the oldest input frame
  and the pyramid is recomputed, as in the authors' evaluation script; their unused training
  variant ``getRecModel`` would instead feed each scale its own prediction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.special import expit

from sharpvid.reference._checks import (
    _as_float,
    _check_divisible,
    _check_image,
    _check_ndim,
    _check_nonnegative_number,
    _check_odd_size,
    _check_positive_int,
)
from sharpvid.reference.flow import downsample_flow, optical_flow, upsample_flow
from sharpvid.reference.pyramid import (copy_step, frame_pyramid, laplacian_step, shrink, upsample,
                                        warp)

__all__ = [
    "CONFIGS",
    "NetworkConfig",
    "discriminator_forward",
    "discriminator_weight_shapes",
    "generator_forward",
    "generator_weight_shapes",
    "get_config",
    "init_discriminator_weights",
    "init_generator_weights",
    "predict_frames",
]

Shape = tuple[int, ...]
Weights = dict[str, np.ndarray]

_ACTIVATIONS = ("relu", "leaky_relu")
_UPSAMPLE_MODES = ("nearest", "bilinear")
_OUTPUTS = ("paper", "copy", "warp", "flow")
_D_INPUTS = ("frame", "change")


# ---------------------------------------------------------------------------------------------
# Architecture tables
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture of G and D; the defaults are the paper's table (``CONFIGS["paper"]``).

    Per-scale fields are tuples ordered coarse to fine (scale 0 = 4x4 for 32x32 patches).
    Sequences are converted to tuples, so a config read back from JSON compares equal.

    Examples
    --------
    >>> NetworkConfig(activation="tanh")
    Traceback (most recent call last):
    ...
    ValueError: activation must be one of ('relu', 'leaky_relu'), got 'tanh'
    """

    # N, the number of scales: paper Sec. 2.1 (4); authors' scaleList {8, 4, 2, 1}.
    n_scales: int = 4
    # m, the number of input frames: paper 4; authors nInputFrames=4; TF HIST_LEN=4.
    in_frames: int = 4
    # C, channels per frame: 3 (RGB) everywhere.
    channels: int = 3
    # G's hidden feature maps per scale: the paper's table (TF SCALE_FMS_G minus in/out channels).
    g_fmaps: tuple[tuple[int, ...], ...] = (
        (128, 256, 128),
        (128, 256, 128),
        (128, 256, 512, 256, 128),
        (128, 256, 512, 256, 128),
    )
    # G's kernel sizes, one per conv (len(g_fmaps[k]) + 1), odd: paper = authors = TF.
    g_kernels: tuple[tuple[int, ...], ...] = (
        (3, 3, 3, 3),
        (5, 3, 3, 5),
        (5, 3, 3, 3, 3, 5),
        (7, 5, 5, 5, 5, 7),
    )
    # D's conv feature maps per scale: the paper's table (TF SCALE_CONV_FMS_D).
    d_fmaps: tuple[tuple[int, ...], ...] = (
        (64,),
        (64, 128, 128),
        (128, 256, 256),
        (128, 256, 512, 128),
    )
    # D's kernel sizes, one per conv (valid convolutions): the paper's table.
    d_kernels: tuple[tuple[int, ...], ...] = ((3,), (3, 3, 3), (5, 5, 5), (7, 7, 5, 5))
    # D's fully connected sizes per scale, ending in 1: the paper's table.
    d_fc: tuple[tuple[int, ...], ...] = (
        (512, 256, 1),
        (1024, 512, 1),
        (1024, 512, 1),
        (1024, 512, 1),
    )
    # 2x2 max-pool after D's last conv, per scale: paper and TF at every scale; authors only finest.
    d_pool: tuple[bool, ...] = (True, True, True, True)
    # Side of the square training patch (32 in all three): fixes D's first FC size.
    patch_size: int = 32
    # Activation between layers: ReLU in all three; "leaky_relu" is this project's option.
    activation: str = "relu"
    # Negative slope of "leaky_relu" (0.2, the DCGAN value); unused for "relu".
    leaky_slope: float = 0.2
    # D sees [X_k, Y_k] (True, authors' JoinTable) or Y_k only (False, TF).
    conditional_d: bool = True
    # What a conditional D judges beside X_k: "frame", Y_k itself (paper = authors), or
    # "change", Y_k minus the last input frame at that scale (this project's; the same
    # information, but a copy of the last frame is exactly 0 there, as G's copy path starts).
    d_input: str = "frame"
    # u_k: "nearest" (authors' SpatialUpSamplingNearest) or "bilinear" (TF resize_images).
    upsample_mode: str = "nearest"
    # Y_k = tanh(net + u(Y_{k-1})) (True, authors / paper's Laplacian) or tanh(net) (False, TF).
    residual: bool = True
    # What G'_k predicts: "paper" the frame (the rule above, paper = authors = TF), "copy" the
    # change from the last input frame, clipped (sharpvid.reference.pyramid.copy_step; this
    # project's), "warp" the copy path whose finest scale also predicts a flow that moves the
    # last input frame first (sharpvid.reference.pyramid.warp, then copy_step; this project's),
    # "flow" the copy path on top of optical-flow extrapolation: G sees the classical flows
    # between the input frames and corrects the constant-velocity flow and the warped frame
    # (_flow_scale; this project's: untrained, it is sharpvid.reference.flow.flow_extrapolate).
    output: str = "paper"
    # "warp" only: each flow component shrinks towards 0 by this many pixels, so moves under it
    # are no move (sharpvid.reference.pyramid.shrink; 0.5: a move under half a pixel rounds to
    # none, and still pixels are copied, never resampled by a fractional, blurring move).
    flow_deadzone: float = 0.5

    def __post_init__(self) -> None:
        """Validate every field, converting sequences to tuples; one-line ValueErrors."""
        n = _check_positive_int(self.n_scales, "n_scales")
        _check_positive_int(self.in_frames, "in_frames")
        _check_positive_int(self.channels, "channels")
        _check_positive_int(self.patch_size, "patch_size")
        for name in ("g_fmaps", "g_kernels", "d_fmaps", "d_kernels", "d_fc"):
            object.__setattr__(self, name, _per_scale_ints(getattr(self, name), name, n))
        for k in range(n):
            if len(self.g_kernels[k]) != len(self.g_fmaps[k]) + 1:
                raise ValueError(
                    f"g_kernels[{k}] needs len(g_fmaps[{k}]) + 1 = {len(self.g_fmaps[k]) + 1} "
                    f"kernel sizes (one per conv), got {len(self.g_kernels[k])}"
                )
            for size in self.g_kernels[k]:
                _check_odd_size(size, f"g_kernels[{k}] entry (same padding needs odd sizes)")
            if len(self.d_kernels[k]) != len(self.d_fmaps[k]):
                raise ValueError(
                    f"d_kernels[{k}] needs one kernel size per entry of d_fmaps[{k}] "
                    f"({len(self.d_fmaps[k])}), got {len(self.d_kernels[k])}"
                )
            if not self.d_fc[k] or self.d_fc[k][-1] != 1:
                raise ValueError(f"d_fc[{k}] must end with a 1-unit layer, got {self.d_fc[k]}")
        pool = tuple(self.d_pool) if isinstance(self.d_pool, Sequence) else self.d_pool
        if not isinstance(pool, tuple) or len(pool) != n or not all(
            isinstance(p, (bool, np.bool_)) for p in pool
        ):
            raise ValueError(f"d_pool must be {n} booleans (one per scale), got {self.d_pool!r}")
        object.__setattr__(self, "d_pool", tuple(bool(p) for p in pool))
        if self.patch_size % 2 ** (n - 1):
            raise ValueError(
                f"patch_size {self.patch_size} is not divisible by 2^(n_scales-1) = {2 ** (n - 1)}"
            )
        if self.activation not in _ACTIVATIONS:
            raise ValueError(f"activation must be one of {_ACTIVATIONS}, got {self.activation!r}")
        _check_nonnegative_number(self.leaky_slope, "leaky_slope")
        _check_nonnegative_number(self.flow_deadzone, "flow_deadzone", "pixels")
        if self.upsample_mode not in _UPSAMPLE_MODES:
            raise ValueError(
                f"upsample_mode must be one of {_UPSAMPLE_MODES}, got {self.upsample_mode!r}"
            )
        if self.output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {self.output!r}")
        if self.output == "flow" and self.in_frames < 2:
            raise ValueError(f"output='flow' needs in_frames >= 2 (two frames give the motion), "
                             f"got {self.in_frames}")
        if self.d_input not in _D_INPUTS:
            raise ValueError(f"d_input must be one of {_D_INPUTS}, got {self.d_input!r}")
        if self.d_input == "change" and not self.conditional_d:
            raise ValueError("d_input='change' needs conditional_d=True (the change is from "
                             "the last input frame, which only a conditional D sees)")
        for name in ("conditional_d", "residual"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        for k in range(n):
            _d_flat_size(self, k)  # raises if a valid conv or the pool leaves < 1 pixel


def _per_scale_ints(value, name: str, n_scales: int) -> tuple[tuple[int, ...], ...]:
    """``value`` as a tuple of ``n_scales`` tuples of positive ints, or a one-line ValueError."""
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise ValueError(f"{name} must be a sequence of per-scale sequences, got {value!r}")
    if len(value) != n_scales:
        raise ValueError(f"{name} must have n_scales={n_scales} entries, got {len(value)}")
    out = []
    for k, row in enumerate(value):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ValueError(f"{name}[{k}] must be a sequence of ints, got {row!r}")
        out.append(tuple(_check_positive_int(v, f"{name}[{k}] entry") for v in row))
    return tuple(out)


def _scale_side(config: NetworkConfig, k: int) -> int:
    """s_k, the side of scale k at the patch size: ``patch_size / 2^(N-1-k)``."""
    return config.patch_size // 2 ** (config.n_scales - 1 - k)


def _d_flat_size(config: NetworkConfig, k: int) -> int:
    """Inputs of D_k's first FC layer: fmaps x side^2 after the valid convs and the pool."""
    side = _scale_side(config, k)
    channels = config.d_fmaps[k][-1] if config.d_fmaps[k] else _d_in_channels(config)
    for size in config.d_kernels[k]:
        side -= size - 1  # a valid k x k convolution removes k-1 pixels
        if side < 1:
            raise ValueError(
                f"discriminator scale {k}: the valid {size}x{size} convolution leaves a "
                f"spatial size {side} < 1 at patch_size={config.patch_size}; "
                "use a larger patch_size or smaller d_kernels"
            )
    if config.d_pool[k]:
        side //= 2  # 2x2 max-pool, floor
        if side < 1:
            raise ValueError(
                f"discriminator scale {k}: the 2x2 max-pool leaves a spatial size < 1 at "
                f"patch_size={config.patch_size}; use a larger patch_size or smaller d_kernels"
            )
    return channels * side * side


CONFIGS: dict[str, NetworkConfig] = {
    # The paper's table, with the authors' rules for combining scales and conditioning D.
    "paper": NetworkConfig(),
    # The TF reimplementation (dyelax): paper sizes, bilinear, no residual add, unconditional D.
    "tf": NetworkConfig(conditional_d=False, upsample_mode="bilinear", residual=False),
    # The authors' released trainer (train_iclr_model.lua opt_default): 8x smaller networks.
    "authors_small": NetworkConfig(
        g_fmaps=((16, 32, 16), (16, 32, 16), (16, 32, 64, 32, 16), (16, 32, 64, 32, 16)),
        d_fmaps=((32,), (32, 32, 64), (32, 32, 64), (32, 32, 64, 128)),
        d_kernels=((3,), (3, 3, 3), (5, 5, 5), (7, 7, 5, 5)),
        d_fc=((256, 128, 1),) * 4,
        d_pool=(False, False, False, True),  # advStruct has 'maxpool' at scale [1] only
    ),
    # For CPU tests, tutorials and demos: the same structure with a handful of feature maps.
    "tiny": NetworkConfig(
        g_fmaps=((4, 8, 4),) * 4,
        g_kernels=((3, 3, 3, 3),) * 4,
        d_fmaps=((4,), (4,), (4, 8), (4, 8)),
        d_kernels=((3,), (3,), (3, 3), (3, 3)),
        d_fc=((16, 1),) * 4,
    ),
}


def get_config(name: str, **overrides) -> NetworkConfig:
    """The named configuration of :data:`CONFIGS`, with fields replaced by ``overrides``.

    Parameters
    ----------
    name : {"paper", "tf", "authors_small", "tiny"}
    **overrides
        :class:`NetworkConfig` fields to replace; the result is validated again.

    Returns
    -------
    NetworkConfig

    Examples
    --------
    >>> get_config("tiny", activation="leaky_relu").activation
    'leaky_relu'
    >>> get_config("huge")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: unknown network configuration 'huge'; choose one of ['authors_small', ...]
    """
    if name not in CONFIGS:
        raise ValueError(f"unknown network configuration {name!r}; choose one of {sorted(CONFIGS)}")
    fields = [f.name for f in dataclasses.fields(NetworkConfig)]
    for key in overrides:
        if key not in fields:
            raise ValueError(f"unknown NetworkConfig field {key!r}; fields are {fields}")
    return dataclasses.replace(CONFIGS[name], **overrides)


def _check_config(config) -> NetworkConfig:
    """Raise TypeError unless ``config`` is a :class:`NetworkConfig`."""
    if not isinstance(config, NetworkConfig):
        raise TypeError(
            f"config must be a NetworkConfig (see get_config), got {type(config).__name__}"
        )
    return config


# ---------------------------------------------------------------------------------------------
# Weights: names, shapes, initialisation, checks
# ---------------------------------------------------------------------------------------------


def _g_in_channels(config: NetworkConfig, k: int) -> int:
    """Input channels of G_k: m C frames, plus C for the upsampled coarser prediction if k > 0;
    with ``output="flow"`` also the m - 1 input flows' 2 (m - 1) and the extrapolated frame's C."""
    m, c = config.in_frames, config.channels
    flow = 2 * (m - 1) + c if config.output == "flow" else 0
    return m * c + (c if k > 0 else 0) + flow


def _g_out_channels(config: NetworkConfig, k: int) -> int:
    """Output channels of G'_k: C, plus a flow's 2 (x, y): at the finest scale with
    ``output="warp"``, at every scale with ``output="flow"`` (the flow correction)."""
    flow = (config.output == "warp" and k == config.n_scales - 1) or config.output == "flow"
    return config.channels + (2 if flow else 0)


def _d_in_channels(config: NetworkConfig) -> int:
    """Input channels of D_k: (m + 1) C if conditional (frames, then the frame), else C."""
    frames = config.in_frames * config.channels if config.conditional_d else 0
    return frames + config.channels


def generator_weight_shapes(config: NetworkConfig) -> dict[str, Shape]:
    """Names and shapes of G's weights, as the torch twin's ``state_dict``.

    Parameters
    ----------
    config : NetworkConfig

    Returns
    -------
    dict
        ``scales.{k}.convs.{i}.weight`` -> ``(out, in, kh, kw)`` and ``.bias`` -> ``(out,)``,
        coarse to fine, layer by layer; the last conv of every scale has C outputs (the finest
        C + 2 with ``output="warp"``: the change, then the flow's x and y).

    Examples
    --------
    >>> generator_weight_shapes(get_config("paper"))["scales.1.convs.0.weight"]
    (128, 15, 5, 5)
    """
    config = _check_config(config)
    shapes: dict[str, Shape] = {}
    for k in range(config.n_scales):
        chans = (_g_in_channels(config, k), *config.g_fmaps[k], _g_out_channels(config, k))
        for i, size in enumerate(config.g_kernels[k]):
            shapes[f"scales.{k}.convs.{i}.weight"] = (chans[i + 1], chans[i], size, size)
            shapes[f"scales.{k}.convs.{i}.bias"] = (chans[i + 1],)
    return shapes


def discriminator_weight_shapes(config: NetworkConfig) -> dict[str, Shape]:
    """Names and shapes of D's weights, as the torch twin's ``state_dict``.

    Parameters
    ----------
    config : NetworkConfig

    Returns
    -------
    dict
        ``scales.{k}.convs.{i}.weight`` ``(out, in, kh, kw)``, ``.bias`` ``(out,)``, then
        ``scales.{k}.fcs.{j}.weight`` ``(out, in)`` and ``.bias``; the first FC's ``in`` depends
        on ``patch_size`` (see the module's Convention).

    Examples
    --------
    >>> discriminator_weight_shapes(get_config("paper"))["scales.3.fcs.0.weight"]
    (1024, 4608)
    """
    config = _check_config(config)
    shapes: dict[str, Shape] = {}
    for k in range(config.n_scales):
        chans = (_d_in_channels(config), *config.d_fmaps[k])
        for i, size in enumerate(config.d_kernels[k]):
            shapes[f"scales.{k}.convs.{i}.weight"] = (chans[i + 1], chans[i], size, size)
            shapes[f"scales.{k}.convs.{i}.bias"] = (chans[i + 1],)
        units = (_d_flat_size(config, k), *config.d_fc[k])
        for j in range(len(config.d_fc[k])):
            shapes[f"scales.{k}.fcs.{j}.weight"] = (units[j + 1], units[j])
            shapes[f"scales.{k}.fcs.{j}.bias"] = (units[j + 1],)
    return shapes


def _init_weights(shapes: dict[str, Shape], rng) -> Weights:
    """torch's default init for Conv2d and Linear: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    ``kaiming_uniform_(a=sqrt(5))`` gives the weight bound ``gain * sqrt(3 / fan_in)`` with
    ``gain = sqrt(2 / (1 + 5))``, i.e. ``1 / sqrt(fan_in)``; the bias uses the same bound.
    """
    rng = np.random.default_rng(rng)
    weights: Weights = {}
    fan_in = 1
    for name, shape in shapes.items():
        if name.endswith(".weight"):
            fan_in = int(np.prod(shape[1:]))  # in * kh * kw, or in for a linear layer
        bound = 1.0 / np.sqrt(fan_in)  # the bias follows its weight in ``shapes``
        weights[name] = rng.uniform(-bound, bound, size=shape)
    return weights


def init_generator_weights(config: NetworkConfig, rng=None) -> Weights:
    """Random G weights with torch's default init (so statistics match the twin's).

    With ``output="copy"``, ``"warp"`` or ``"flow"`` the twin
    ``sharpvid.fast.networks.MultiScaleGenerator`` also zeroes the last conv of every scale (an
    untrained G copies the last frame, or extrapolates it along the flow); this function does
    not, so the equivalence tests exercise the copy, warp and flow rules with a non-zero G'_k.

    Parameters
    ----------
    config : NetworkConfig
    rng : None, int or numpy.random.Generator
        Passed to ``np.random.default_rng``.

    Returns
    -------
    dict of str to float64 ndarray, keys and shapes of :func:`generator_weight_shapes`

    Examples
    --------
    >>> w0 = init_generator_weights(get_config("tiny"), rng=0)["scales.0.convs.0.weight"]
    >>> w0.shape, bool(abs(w0).max() <= 1 / np.sqrt(12 * 3 * 3))  # fan_in = C_in kh kw
    ((4, 12, 3, 3), True)
    """
    return _init_weights(generator_weight_shapes(config), rng)


def init_discriminator_weights(config: NetworkConfig, rng=None) -> Weights:
    """Random D weights with torch's default init (so statistics match the twin's).

    Parameters
    ----------
    config : NetworkConfig
    rng : None, int or numpy.random.Generator
        Passed to ``np.random.default_rng``.

    Returns
    -------
    dict of str to float64 ndarray, keys and shapes of :func:`discriminator_weight_shapes`

    Examples
    --------
    >>> init_discriminator_weights(get_config("tiny"), rng=0)["scales.3.fcs.0.weight"].shape
    (16, 1568)
    """
    return _init_weights(discriminator_weight_shapes(config), rng)


def _check_weights(weights, shapes: dict[str, Shape], name: str, convert=_as_float) -> Weights:
    """Every expected key present with its shape, no unexpected key; float64 copies.

    ``convert(value, label)`` turns each weight into an array; the fast twin passes its tensor
    conversion, so both twins share these checks and messages.
    """
    if not isinstance(weights, Mapping):
        raise TypeError(f"{name} weights must be a dict of arrays, got {type(weights).__name__}")
    missing = [key for key in shapes if key not in weights]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise ValueError(f"{name} weights are missing {missing[0]!r}{more}")
    unexpected = sorted(set(weights) - set(shapes))
    if unexpected:
        raise ValueError(f"{name} weights have an unexpected key {unexpected[0]!r}")
    checked: Weights = {}
    for key, shape in shapes.items():
        array = convert(weights[key], f"{name} weight {key!r}")
        if tuple(array.shape) != shape:
            raise ValueError(
                f"{name} weight {key!r} must have shape {shape}, got {tuple(array.shape)}"
            )
        checked[key] = array
    return checked


# ---------------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------------


def _conv2d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, *, padding: int) -> np.ndarray:
    """A convolution layer, cross-correlation as ``torch.nn.Conv2d`` with stride 1.

    :math:`y_{b,o,i,j} = \\beta_o + \\sum_{c,u,v} w_{o,c,u,v}\\, x_{b,c,i+u,j+v}` on ``x`` zero
    padded by ``padding`` pixels: ``(B, C_in, H, W)`` -> ``(B, C_out, H + 2p - kh + 1, ...)``.
    """
    kh, kw = weight.shape[-2:]
    x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    if x.shape[-2] < kh or x.shape[-1] < kw:
        raise ValueError(f"a {kh}x{kw} convolution needs at least {kh}x{kw} pixels, got "
                         f"{x.shape[-2]}x{x.shape[-1]} after padding")
    # im2col as a strided view: (B, C_in, H', W', kh, kw)
    patches = sliding_window_view(x, (kh, kw), axis=(-2, -1))
    # sum over c, u, v -> (B, H', W', C_out)
    y = np.tensordot(patches, weight, axes=([1, 4, 5], [1, 2, 3]))
    return y.transpose(0, 3, 1, 2) + bias[:, None, None]  # (B, C_out, H', W')


def _max_pool2x2(x: np.ndarray) -> np.ndarray:
    """2x2 max-pooling, stride 2, floor (odd last row/column dropped): ``(B, C, H//2, W//2)``."""
    b, c, h, w = x.shape
    x = x[..., : h // 2 * 2, : w // 2 * 2]
    return x.reshape(b, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def _linear(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """A fully connected layer as ``torch.nn.Linear``: :math:`y = x W^T + \\beta`, (B, out)."""
    return x @ weight.T + bias


def _activation(x: np.ndarray, kind: str, slope: float) -> np.ndarray:
    """The non-linearity between layers: ReLU ``max(x, 0)`` or leaky ReLU ``x if x>=0 else a x``."""
    if kind == "relu":
        return np.maximum(x, 0.0)
    return np.where(x >= 0, x, slope * x)


# ---------------------------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------------------------


def _check_clip(
    x, config: NetworkConfig, name: str = "x", convert=_as_float
) -> tuple[np.ndarray, bool]:
    """``x`` as a float64 ``(B, m, C, H, W)`` batch, and whether it came batched.

    ``convert(value, name)`` makes the array (the fast twin passes its tensor conversion).
    """
    x = convert(x, name)
    _check_ndim(x, name, (4, 5))
    batched = x.ndim == 5
    xb = x if batched else x[None]
    m, c = config.in_frames, config.channels
    if tuple(xb.shape[1:3]) != (m, c):
        raise ValueError(
            f"{name} must have shape (B, m={m}, C={c}, H, W) or (m, C, H, W), "
            f"got {tuple(x.shape)}"
        )
    return xb, batched


def _g_convs(weights: Weights, h_k: np.ndarray, k: int, config: NetworkConfig) -> np.ndarray:
    """G'_k's conv stack on its input channels ``(B, ., H_k, W_k)``: an activation between the
    layers, none after the last (G'_k is a residual)."""
    n_convs = len(config.g_kernels[k])
    for i, size in enumerate(config.g_kernels[k]):
        prefix = f"scales.{k}.convs.{i}"
        h_k = _conv2d(h_k, weights[prefix + ".weight"], weights[prefix + ".bias"],
                      padding=(size - 1) // 2)
        if i < n_convs - 1:
            h_k = _activation(h_k, config.activation, config.leaky_slope)
    return h_k


def _generator_scale(
    weights: Weights, x_k: np.ndarray, y_coarse: np.ndarray | None, k: int, config: NetworkConfig,
    last_coarse: np.ndarray | None = None,
) -> np.ndarray:
    """Sec. 2.1, one scale: :math:`\\hat Y_k` from X_k and :math:`\\hat Y_{k-1}` (None at k=0).

    ``x_k`` is ``(B, m, C, s_k, s_k)``; returns ``(B, C, s_k, s_k)``.  ``last_coarse`` is F_{k-1},
    the last input frame one scale coarser (used by ``output="copy"`` and ``"warp"``).
    """
    b, m, c, h, w = x_k.shape
    h_k = x_k.reshape(b, m * c, h, w)  # frame-major channels, (B, m C, H_k, W_k)
    if y_coarse is not None:
        # [X_k, u_k(\hat Y_{k-1})], (B, m C + C, H_k, W_k)
        h_k = np.concatenate([h_k, upsample(y_coarse, 2, config.upsample_mode)], axis=1)
    h_k = _g_convs(weights, h_k, k, config)  # G'_k(X_k, u_k(\hat Y_{k-1}))
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
        return np.tanh(h_k)  # \hat Y_k = tanh(G'_k(...))
    # \hat Y_k = tanh(u_k(\hat Y_{k-1}) + G'_k(...))
    return laplacian_step(y_coarse, h_k, factor=2, mode=config.upsample_mode)


def input_flows(x: np.ndarray) -> np.ndarray:
    """The flow generator's classical input: the optical flow between consecutive input frames.

    :math:`v_t = \\mathrm{optical\\_flow}(F_t, F_{t-1})`, t = 2..m (the flow from each frame to
    the one before it, on its pixels: :func:`sharpvid.reference.flow.optical_flow` with its
    defaults); the last, :math:`v_m`, is the constant-velocity flow of
    :func:`sharpvid.reference.flow.flow_extrapolate`.  Computed, not learned: no weight
    touches it.

    Parameters
    ----------
    x : ndarray, shape ``(B, m, C, H, W)``, m >= 2

    Returns
    -------
    ndarray, shape ``(B, m - 1, 2, H, W)``
        :math:`(v_2, \\dots, v_m)`, each ``(v_x, v_y)`` in pixels.

    Examples
    --------
    >>> input_flows(np.zeros((1, 4, 3, 16, 16))).shape
    (1, 3, 2, 16, 16)
    """
    x = _as_float(x, "x")
    _check_ndim(x, "x", (5,))
    return np.stack([optical_flow(x[:, t], x[:, t - 1]) for t in range(1, x.shape[1])], axis=1)


def _flow_scale(
    weights: Weights, x_k: np.ndarray, flows_k: np.ndarray, coarse, k: int, config: NetworkConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The flow path (``output="flow"``), one scale: :math:`(\\hat Y_k, B_k, c_k)`.

    With :math:`v_k` the last input flow at scale k (the constant-velocity flow, from
    ``flows_k``), :math:`c_{k-1}` the coarser scale's flow correction and :math:`[\\Delta Y_k,
    \\Delta v_k] = G'_k(X_k, u_k(\\hat Y_{k-1}), V_k, W(F_k, v_k + 2u(c_{k-1})))`:

    .. math::  c_k = 2\\,u(c_{k-1}) + \\Delta v_k, \\qquad B_k = W(F_k, v_k + c_k), \\qquad
               \\hat Y_k = \\mathrm{clip}\\big(B_k + u_k(\\hat Y_{k-1} - B_{k-1}) + \\Delta Y_k,
               -1, 1\\big)

    (:func:`sharpvid.reference.flow.upsample_flow`, :func:`sharpvid.reference.pyramid.warp`,
    :func:`sharpvid.reference.pyramid.copy_step` with the warped frame B as its base).  With
    every :math:`G'_k = 0`, :math:`\\hat Y_k = W(F_k, v_k)`: flow extrapolation at every scale.
    ``residual=False`` drops both coarse terms (:math:`c_{k-1}` and
    :math:`\\hat Y_{k-1} - B_{k-1}`).

    ``x_k`` is ``(B, m, C, H_k, W_k)``, ``flows_k`` ``(B, m - 1, 2, H_k, W_k)``, ``coarse`` None
    (k = 0) or the coarser scale's triple.
    """
    b, m, c, h, w = x_k.shape
    chained = coarse is not None and config.residual
    corr = upsample_flow(coarse[2], (h, w)) if chained else np.zeros((b, 2, h, w))  # 2u(c_{k-1})
    v_k = flows_k[:, -1]  # the constant-velocity flow at this scale
    inputs = [x_k.reshape(b, m * c, h, w)]  # [X_k, u_k(\hat Y_{k-1}), V_k, W(F_k, v_k + 2u(c))]
    if coarse is not None:
        inputs.append(upsample(coarse[0], 2, config.upsample_mode))
    inputs += [flows_k.reshape(b, 2 * (m - 1), h, w), warp(x_k[:, -1], v_k + corr)]
    out = _g_convs(weights, np.concatenate(inputs, axis=1), k, config)
    delta_y, corr = out[:, :c], corr + out[:, c:]  # \Delta Y_k; c_k = 2u(c_{k-1}) + \Delta v_k
    base = warp(x_k[:, -1], v_k + corr)  # B_k = W(F_k, v_k + c_k)
    y_k = copy_step(base, delta_y, y_coarse=coarse[0] if chained else None,
                    last_coarse=coarse[1] if chained else None, factor=2,
                    mode=config.upsample_mode)
    return y_k, base, corr


def generator_forward(weights: Mapping[str, np.ndarray], x, config: NetworkConfig) -> list:
    """Sec. 2.1: the multi-scale generator, :math:`\\hat Y_0, \\dots, \\hat Y_{N-1}`.

    Fully convolutional: any H, W divisible by ``2^(N-1)``, not only ``patch_size``.

    Parameters
    ----------
    weights : dict of str to array
        G's weights (:func:`generator_weight_shapes`).
    x : array, shape ``(B, m, C, H, W)`` or ``(m, C, H, W)``
        The m input frames in [-1, 1]; X_k is their average-pooled pyramid.
    config : NetworkConfig

    Returns
    -------
    list of ndarray
        N predictions, coarse to fine, entry k of shape ``(B, C, H / 2^(N-1-k), W / 2^(N-1-k))``
        (no B axis for an unbatched ``x``), in (-1, 1).

    Examples
    --------
    >>> cfg = get_config("tiny")
    >>> w = init_generator_weights(cfg, rng=0)
    >>> preds = generator_forward(w, np.zeros((2, 4, 3, 32, 32)), cfg)
    >>> [p.shape for p in preds]
    [(2, 3, 4, 4), (2, 3, 8, 8), (2, 3, 16, 16), (2, 3, 32, 32)]
    """
    config = _check_config(config)
    weights = _check_weights(weights, generator_weight_shapes(config), "generator")
    x, batched = _check_clip(x, config)
    factor = 2 ** (config.n_scales - 1)
    _check_image(x, "x", min_size=factor)
    _check_divisible(x, factor, "x")
    x_pyramid = frame_pyramid(x, config.n_scales)  # X_k, (B, m, C, H_k, W_k)
    preds: list[np.ndarray] = []
    if config.output == "flow":
        flows = input_flows(x)  # (B, m - 1, 2, H, W), at full resolution
        coarse = None  # (\hat Y_{k-1}, B_{k-1}, c_{k-1})
        for k in range(config.n_scales):
            factor = 2 ** (config.n_scales - 1 - k)
            coarse = _flow_scale(weights, x_pyramid[k], downsample_flow(flows, factor), coarse,
                                 k, config)
            preds.append(coarse[0])
        return preds if batched else [p[0] for p in preds]
    for k in range(config.n_scales):
        y_coarse = preds[-1] if k > 0 else None
        last_coarse = x_pyramid[k - 1][:, -1] if k > 0 else None  # F_{k-1}
        preds.append(_generator_scale(weights, x_pyramid[k], y_coarse, k, config, last_coarse))
    return preds if batched else [p[0] for p in preds]


def predict_frames(weights: Mapping[str, np.ndarray], x, n: int, config: NetworkConfig):
    """Recursive prediction of n future frames, as in the authors' evaluation script.

    Each step predicts :math:`\\hat Y` from the last m frames, then the window slides: the oldest
    frame is dropped and the finest prediction appended.

    Parameters
    ----------
    weights : dict of str to array
        G's weights.
    x : array, shape ``(B, m, C, H, W)`` or ``(m, C, H, W)``
        The m observed frames.
    n : int
        Number of future frames.
    config : NetworkConfig

    Returns
    -------
    ndarray, shape ``(B, n, C, H, W)`` (or ``(n, C, H, W)``)
        The predictions at the finest scale, in time order.

    Examples
    --------
    >>> cfg = get_config("tiny")
    >>> predict_frames(init_generator_weights(cfg, rng=0), np.zeros((4, 3, 16, 16)), 2, cfg).shape
    (2, 3, 16, 16)
    """
    config = _check_config(config)
    n = _check_positive_int(n, "n")
    window, batched = _check_clip(x, config)  # (B, m, C, H, W)
    frames = []
    for _ in range(n):
        y_hat = generator_forward(weights, window, config)[-1]  # (B, C, H, W)
        frames.append(y_hat)
        window = np.concatenate([window[:, 1:], y_hat[:, None]], axis=1)  # slide by one frame
    out = np.stack(frames, axis=1)  # (B, n, C, H, W)
    return out if batched else out[0]


# ---------------------------------------------------------------------------------------------
# Discriminator
# ---------------------------------------------------------------------------------------------


def _discriminator_scale(
    weights: Weights, x_k: np.ndarray | None, y_k: np.ndarray, k: int, config: NetworkConfig
) -> np.ndarray:
    """Eqs. 3-4, one scale: :math:`D_k(X_k, Y_k)`, the probability that Y_k is real, ``(B,)``.

    ``x_k`` is ``(B, m, C, s_k, s_k)`` (None if unconditional), ``y_k`` ``(B, C, s_k, s_k)``.
    """
    b = y_k.shape[0]
    h = y_k
    if x_k is not None:
        if config.d_input == "change":
            y_k = y_k - x_k[:, -1]  # Y_k - X_k^{(m)}: what changed since the last input frame
        h = np.concatenate([x_k.reshape(b, -1, *y_k.shape[-2:]), y_k], axis=1)  # [X_k, Y_k]
    for i in range(len(config.d_kernels[k])):
        prefix = f"scales.{k}.convs.{i}"
        h = _conv2d(h, weights[prefix + ".weight"], weights[prefix + ".bias"], padding=0)
        h = _activation(h, config.activation, config.leaky_slope)
    if config.d_pool[k]:
        h = _max_pool2x2(h)
    h = h.reshape(b, -1)  # channel-major flatten, torch's flatten(1)
    n_fc = len(config.d_fc[k])
    for j in range(n_fc):
        prefix = f"scales.{k}.fcs.{j}"
        h = _linear(h, weights[prefix + ".weight"], weights[prefix + ".bias"])
        if j < n_fc - 1:
            h = _activation(h, config.activation, config.leaky_slope)
    return expit(h[:, 0])  # sigma, (B,)


def discriminator_forward(
    weights: Mapping[str, np.ndarray], x, ys: Sequence, config: NetworkConfig
) -> list:
    """Eqs. 3-4: the multi-scale discriminator, :math:`D_0(X_0, Y_0), \\dots, D_{N-1}`.

    Parameters
    ----------
    weights : dict of str to array
        D's weights (:func:`discriminator_weight_shapes`).
    x : array, shape ``(B, m, C, P, P)`` or ``(m, C, P, P)``, or None
        The input frames at full resolution, P = ``patch_size``; pooled to each scale here.
        Ignored (may be None) when ``config.conditional_d`` is False.
    ys : sequence of N arrays
        The judged frames per scale, coarse to fine, entry k ``(B, C, s_k, s_k)`` with
        ``s_k = P / 2^(N-1-k)``: real targets (:func:`sharpvid.reference.pyramid.frame_pyramid`) or
        the output of :func:`generator_forward`.
    config : NetworkConfig

    Returns
    -------
    list of ndarray
        N arrays of shape ``(B,)`` (floats for unbatched input): probabilities in (0, 1).

    Examples
    --------
    >>> cfg = get_config("tiny")
    >>> ys = frame_pyramid(np.zeros((2, 3, 32, 32)), 4)
    >>> w = init_discriminator_weights(cfg, rng=0)
    >>> d = discriminator_forward(w, np.zeros((2, 4, 3, 32, 32)), ys, cfg)
    >>> [p.shape for p in d]
    [(2,), (2,), (2,), (2,)]
    """
    config = _check_config(config)
    weights = _check_weights(weights, discriminator_weight_shapes(config), "discriminator")
    n, c, p = config.n_scales, config.channels, config.patch_size
    if isinstance(ys, np.ndarray) or not isinstance(ys, Sequence) or len(ys) != n:
        raise ValueError(f"ys must be a list of n_scales={n} arrays, coarse to fine")
    ys = [_as_float(y, f"ys[{k}]") for k, y in enumerate(ys)]
    _check_ndim(ys[-1], f"ys[{n - 1}]", (3, 4))
    batched = ys[-1].ndim == 4
    ys = ys if batched else [y[None] for y in ys]
    b = ys[-1].shape[0]
    for k, y in enumerate(ys):
        s = _scale_side(config, k)
        if y.shape != (b, c, s, s):
            raise ValueError(
                f"ys[{k}] must have shape {(b, c, s, s) if batched else (c, s, s)} "
                f"(patch_size={p}: D's FC layers fix the size), "
                f"got {y.shape if batched else y.shape[1:]}"
            )
    x_pyramid: list = [None] * n
    if config.conditional_d:
        if x is None:
            raise ValueError("x (the input frames) is required by a conditional discriminator")
        xb, x_batched = _check_clip(x, config)
        expected = (b, config.in_frames, c, p, p) if batched else (config.in_frames, c, p, p)
        if x_batched != batched or xb.shape[0] != b or xb.shape[-2:] != (p, p):
            raise ValueError(
                f"x must have shape {expected} to match ys (patch_size={p}), "
                f"got {tuple(np.shape(x))}"
            )
        x_pyramid = frame_pyramid(xb, n)  # X_k, (B, m, C, s_k, s_k)
    probs = [_discriminator_scale(weights, x_pyramid[k], ys[k], k, config) for k in range(n)]
    return probs if batched else [pk[0] for pk in probs]
