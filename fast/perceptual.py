"""Fast twin of :mod:`sharpvid.reference.perceptual`: the VGG19 perceptual loss (Johnson et al.
2016; SRGAN's VGG54, Ledig et al. 2017; VGG19, Simonyan & Zisserman 2015).

The equation, the layer names (:data:`VGG19_LAYERS`), the weight names and shapes
(:func:`vgg19_weight_shapes`, torchvision's ``features.{i}.weight`` / ``.bias``), the input map
and every convention are the oracle's, imported, never copied; see its module docstring.

:class:`VGG19Features` is the frozen network as an ``nn.Module`` (its ``state_dict`` is
torchvision's, cut at the deepest requested layer); :func:`load_vgg19_weights` reads the
pretrained weights from a torchvision checkpoint file, which sharpvid never downloads::

    vgg = VGG19Features(["relu5_4"], weights=load_vgg19_weights("vgg19-dcbb9e9d.pth")).to(device)
    loss = perceptual_loss(vgg, y_hat, y)            # SRGAN's VGG54, differentiable in y_hat

Differences from the oracle
---------------------------
- torch tensors (NumPy arrays are accepted), batched, on any device, differentiable.  The
  functions compute in the input's dtype and device (NumPy input: float64 on the CPU), the
  weights cast to them; :class:`VGG19Features` computes in its parameters' dtype and returns the
  input's dtype.  :func:`perceptual_loss` returns a 0-dim tensor.
- :func:`perceptual_loss` also takes a :class:`VGG19Features` in place of the weights.
- :func:`load_vgg19_weights` and :class:`PerceptualError` have no oracle counterpart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from sharpvid.fast._tensors import _as_tensor
import sharpvid.reference.perceptual as _ref
from sharpvid.reference._checks import _check_same_shape
from sharpvid.reference.perceptual import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG19_LAYERS,
    _check_frames,
    _check_layer_names,
    _check_layer_weights,
    _check_size,
    _layer_index,
    vgg19_weight_shapes,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PerceptualError",
    "VGG19Features",
    "VGG19_LAYERS",
    "imagenet_normalise",
    "load_vgg19_weights",
    "perceptual_loss",
    "vgg19_features",
    "vgg19_weight_shapes",
]

Weights = dict[str, torch.Tensor]

#: torchvision's published ImageNet VGG19 checkpoint (``VGG19_Weights.IMAGENET1K_V1``).
VGG19_CHECKPOINT = "vgg19-dcbb9e9d.pth"
VGG19_CHECKPOINT_URL = "https://download.pytorch.org/models/" + VGG19_CHECKPOINT


class PerceptualError(ValueError):
    """A VGG19 weights file that is missing, unreadable or not a torchvision VGG19 state dict."""


# ---------------------------------------------------------------------------------------------
# Checks (the oracle's messages, on tensors)
# ---------------------------------------------------------------------------------------------


def _check_vgg19_weights(weights, upto: str, like: torch.Tensor) -> Weights:
    """The oracle's weight checks and messages, on tensors of ``like``'s dtype and device."""

    def convert(value, label):
        return _as_tensor(value, label, like=like).to(device=like.device, dtype=like.dtype)

    return _ref._check_vgg19_weights(weights, upto, convert=convert)


# ---------------------------------------------------------------------------------------------
# The equations
# ---------------------------------------------------------------------------------------------


def imagenet_normalise(x) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.perceptual.imagenet_normalise` (ν)."""
    x = _as_tensor(x, "x")
    _check_frames(x, "x", (1, 3))
    if x.shape[-3] == 1:  # grey -> RGB
        x = x.expand(*x.shape[:-3], 3, *x.shape[-2:])
    mu = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device)[:, None, None]
    sigma = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device)[:, None, None]
    # ((x + 1) / 2 - \mu_c) / \sigma_c
    return ((x + 1.0) / 2.0 - mu) / sigma


def _run(weights: Weights, x: torch.Tensor, names: tuple[str, ...]) -> dict[str, torch.Tensor]:
    """``features[0..deepest]`` on a checked ``(..., 3, H, W)`` ``x``; the requested maps."""
    last = max(_layer_index(name) for name in names)
    _check_frames(x, "x", (3,))
    _check_size(x, last)
    lead = x.shape[:-3]
    h = x.reshape(-1, *x.shape[-3:])  # (B, 3, H, W)
    out: dict[str, torch.Tensor] = {}
    for i in range(last + 1):
        name = VGG19_LAYERS[i]
        if name.startswith("conv"):  # 3x3, zero padding 1
            h = F.conv2d(h, weights[f"features.{i}.weight"], weights[f"features.{i}.bias"],
                         padding=1)
        elif name.startswith("relu"):
            h = F.relu(h)
        else:  # 2x2 max-pool, floor
            h = F.max_pool2d(h, 2)
        if name in names:
            out[name] = h.reshape(*lead, *h.shape[1:])
    return {name: out[name] for name in names}


def vgg19_features(weights: Mapping[str, torch.Tensor], x, layers) -> dict[str, torch.Tensor]:
    """Fast twin of :func:`sharpvid.reference.perceptual.vgg19_features` (:math:`\\phi_l`).

    Differences: torch tensors in the dtype and on the device of ``x`` (weights cast to them).

    Examples
    --------
    >>> from sharpvid.reference.perceptual import init_vgg19_weights
    >>> feats = vgg19_features(init_vgg19_weights("pool1", rng=0), torch.zeros(2, 3, 8, 8),
    ...                        ["relu1_1", "pool1"])
    >>> {name: tuple(f.shape) for name, f in feats.items()}
    {'relu1_1': (2, 64, 8, 8), 'pool1': (2, 64, 4, 4)}
    """
    names = _check_layer_names(layers)
    last = max(_layer_index(name) for name in names)
    x = _as_tensor(x, "x")
    weights = _check_vgg19_weights(weights, VGG19_LAYERS[last], like=x)
    return _run(weights, x, names)


def perceptual_loss(weights_or_module, y_hat, y, layers=(("relu5_4", 1.0),)) -> torch.Tensor:
    """Fast twin of :func:`sharpvid.reference.perceptual.perceptual_loss` (:math:`\\mathcal
    L_{perc}`).

    Differences: a 0-dim tensor in the promoted dtype of ``y_hat`` and ``y``, on their device,
    differentiable in both (the weights get no gradient through a :class:`VGG19Features`);
    ``weights_or_module`` may be a :class:`VGG19Features` built at least up to the deepest
    layer (it then computes in its parameters' dtype).

    Examples
    --------
    >>> vgg = VGG19Features(["relu2_2"])
    >>> y_hat = torch.zeros(1, 3, 8, 8, requires_grad=True)
    >>> loss = perceptual_loss(vgg, y_hat, torch.ones(1, 3, 8, 8), [("relu2_2", 1.0)])
    >>> loss.backward(); tuple(y_hat.grad.shape), vgg.features[0].weight.grad is None
    ((1, 3, 8, 8), True)
    """
    pairs = _check_layer_weights(layers)
    names = tuple(dict.fromkeys(name for name, _ in pairs))
    last = max(_layer_index(name) for name in names)
    y_hat, y = _as_tensor(y_hat, "y_hat"), _as_tensor(y, "y")
    _check_same_shape(y_hat, y)
    _check_frames(y_hat, "y_hat", (1, 3))
    dtype = torch.promote_types(y_hat.dtype, y.dtype)
    x_hat, x = imagenet_normalise(y_hat), imagenet_normalise(y)  # \nu(\hat Y), \nu(Y)
    if isinstance(weights_or_module, VGG19Features):
        vgg = weights_or_module
        if last > vgg.last:
            raise ValueError(f"this VGG19Features is built up to {VGG19_LAYERS[vgg.last]!r}; "
                             f"layer {VGG19_LAYERS[last]!r} needs a deeper one")
        weights, compute = vgg._weights(), vgg._anchor().dtype
    else:
        like = torch.zeros((), dtype=dtype, device=y_hat.device)
        weights = _check_vgg19_weights(weights_or_module, VGG19_LAYERS[last], like=like)
        compute = dtype
    # two passes rather than one on [\hat Y, Y]: the backward then skips the target's half
    phi_hat = _run(weights, x_hat.to(compute), names)  # \phi_l(\nu(\hat Y))
    phi = _run(weights, x.to(compute), names)  # \phi_l(\nu(Y))
    # \sum_l w_l mean((\phi_l(\hat Y) - \phi_l(Y))^2)
    loss = sum(w_l * (phi_hat[name] - phi[name]).square().mean() for name, w_l in pairs)
    return loss.to(dtype)


# ---------------------------------------------------------------------------------------------
# The module: the frozen network under torchvision's names
# ---------------------------------------------------------------------------------------------


class VGG19Features(nn.Module):
    """Fast twin of :func:`sharpvid.reference.perceptual.vgg19_features` as a frozen ``nn.Module``.

    ``features`` is torchvision's ``vgg19().features`` cut after the deepest requested layer, so
    ``state_dict()`` keys are torchvision's (``features.{i}.weight`` / ``.bias``,
    :func:`vgg19_weight_shapes`) and ``forward(x)`` returns ``{layer: feature map}``.

    Parameters
    ----------
    layers : str or sequence of str
        The layers ``forward`` returns (:data:`VGG19_LAYERS` names); the default is SRGAN's VGG54.
    weights : dict of str to tensor or array, optional
        Loaded with the oracle's checks (deeper VGG19 weights are ignored), e.g. from
        :func:`load_vgg19_weights`; without them the layers keep torch's default random init.
    dtype, device
        Of the parameters (``torch.nn.Conv2d``'s factory arguments).

    Differences from the oracle: frozen (every parameter has ``requires_grad=False``; always in
    eval mode, ``train()`` is a no-op); computes in its parameters' dtype and returns the
    input's dtype; gradients flow to the input.

    Examples
    --------
    >>> vgg = VGG19Features(["relu1_2", "relu2_1"])
    >>> list(vgg.state_dict())  # doctest: +NORMALIZE_WHITESPACE
    ['features.0.weight', 'features.0.bias', 'features.2.weight', 'features.2.bias',
     'features.5.weight', 'features.5.bias']
    >>> {name: tuple(f.shape) for name, f in vgg(torch.zeros(1, 3, 6, 6)).items()}
    {'relu1_2': (1, 64, 6, 6), 'relu2_1': (1, 128, 3, 3)}
    """

    def __init__(self, layers=("relu5_4",), weights: Mapping | None = None, *, dtype=None,
                 device=None):
        super().__init__()
        self.layers = _check_layer_names(layers)
        #: index of the deepest layer built, ``features[last]``
        self.last = max(_layer_index(name) for name in self.layers)
        modules: list[nn.Module] = []
        for i, name in enumerate(VGG19_LAYERS[: self.last + 1]):  # torchvision's indices
            if name.startswith("conv"):
                c_in, c_out = _ref._CONVS[i]
                modules.append(nn.Conv2d(c_in, c_out, 3, padding=1, dtype=dtype, device=device))
            elif name.startswith("relu"):
                modules.append(nn.ReLU())
            else:
                modules.append(nn.MaxPool2d(2, 2))
        self.features = nn.Sequential(*modules)
        if weights is not None:
            anchor = self._anchor()
            self.load_state_dict(_check_vgg19_weights(weights, VGG19_LAYERS[self.last],
                                                      like=anchor))
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> VGG19Features:
        """Stay in eval mode: a loss network is never trained (``model.train()`` is safe)."""
        return super().train(False)

    def _anchor(self) -> torch.Tensor:
        return self.features[0].weight

    def _weights(self) -> Weights:
        return dict(self.named_parameters())

    def forward(self, x) -> dict[str, torch.Tensor]:
        """:math:`\\phi_l(x)` for the module's layers, ``{layer: (..., C_l, H_l, W_l)}``.

        ``x`` is ImageNet-normalised RGB ``(..., 3, H, W)``; the maps are in its dtype.
        """
        anchor = self._anchor()
        x = _as_tensor(x, "x", like=anchor)
        out = _run(self._weights(), x.to(anchor.dtype), self.layers)
        return {name: f.to(x.dtype) for name, f in out.items()}


# ---------------------------------------------------------------------------------------------
# Pretrained weights from a torchvision checkpoint file
# ---------------------------------------------------------------------------------------------


def _shape_list(items: list[str], limit: int = 6, sep: str = ", ") -> str:
    """``a, b, c (and 3 more)``: a long list kept to one readable line."""
    more = f" (and {len(items) - limit} more)" if len(items) > limit else ""
    return sep.join(items[:limit]) + more


def load_vgg19_weights(path, upto: str = "relu5_4") -> Weights:
    """The pretrained VGG19 feature weights ``features[0..upto]`` need, from a torchvision file.

    No oracle counterpart.  Reads torchvision's ImageNet VGG19 checkpoint
    (``vgg19-dcbb9e9d.pth``, a plain state dict) with ``torch.load(path, weights_only=True)``;
    nothing is downloaded.  ``classifier.*`` and the deeper ``features.*`` tensors are ignored.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file.
    upto : str
        The deepest layer the weights must serve (:data:`VGG19_LAYERS`).

    Returns
    -------
    dict of str to tensor
        ``features.{i}.weight`` / ``.bias`` (:func:`vgg19_weight_shapes`), on the CPU, in the
        file's dtype; ready for :class:`VGG19Features` ``(weights=...)`` or :func:`perceptual_loss`.

    Raises
    ------
    PerceptualError
        One line naming the file: it does not exist (and where to get it), torch cannot read
        it, it is not a state dict, or tensors are missing or have the wrong shape (all named).
    """
    shapes = vgg19_weight_shapes(upto)
    where = os.fspath(path)
    if not os.path.exists(where):
        raise PerceptualError(
            f"VGG19 weights file {where!r} not found: the perceptual loss needs torchvision's "
            f"ImageNet VGG19 checkpoint {VGG19_CHECKPOINT} ({VGG19_CHECKPOINT_URL}, 548 MB); "
            "download it yourself, place it anywhere and pass it as --vgg19_weights FILE "
            "(sharpvid downloads nothing)"
        )
    if os.path.isdir(where):
        raise PerceptualError(f"VGG19 weights file {where!r} is a directory; pass the "
                              f"{VGG19_CHECKPOINT} file itself")
    try:
        state = torch.load(where, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load fails in many ways on a foreign file
        detail = (str(exc).strip().splitlines() or [""])[0][:160]
        if "Weights only load failed" in detail:  # torch's advice to unpickle anything: not ours
            detail = "not a torch file, or one holding more than tensors (a pickled model?)"
        detail = detail or "an empty or truncated file?"
        raise PerceptualError(
            f"VGG19 weights file {where!r} is not a checkpoint torch.load(weights_only=True) "
            f"can read ({type(exc).__name__}: {detail})"
        ) from exc
    if not isinstance(state, Mapping):
        raise PerceptualError(f"VGG19 weights file {where!r} does not hold a state dict "
                              f"(a dict of tensors) but a {type(state).__name__}")
    if not any(isinstance(k, str) and k.startswith("features.") for k in state):
        keys = _shape_list([repr(k) for k in list(state)[:3]], limit=3)
        raise PerceptualError(f"VGG19 weights file {where!r} has no 'features.*' tensors (keys "
                              f"start {keys}); expected torchvision's vgg19 state dict")
    missing = [k for k in shapes if k not in state]
    wrong = []
    for k, shape in shapes.items():
        value = state.get(k)
        if value is None:
            continue
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            what = f"a {value.dtype} tensor" if isinstance(value, torch.Tensor) else "no tensor"
            wrong.append(f"{k} is {what}")
        elif tuple(value.shape) != shape:
            wrong.append(f"{k} has shape {tuple(value.shape)}, expected {shape}")
    if missing or wrong:
        problems = []
        if missing:
            problems.append(f"missing {_shape_list(missing)}")
        if wrong:
            problems.append(_shape_list(wrong, limit=3, sep="; "))
        raise PerceptualError(
            f"VGG19 weights file {where!r} is not torchvision's vgg19 state dict up to "
            f"{upto!r}: {'; '.join(problems)}"
        )
    return {k: state[k].detach() for k in shapes}
