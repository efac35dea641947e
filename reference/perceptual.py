"""The VGG19 perceptual (feature reconstruction) loss.

- Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
  Super-Resolution", ECCV 2016, arXiv:1603.08155: the feature reconstruction loss, the squared,
  size-normalised distance between the feature maps of a fixed, pretrained network (VGG16
  there; VGG19 here, as in SRGAN).
- Ledig et al., "Photo-Realistic Single Image Super-Resolution Using a Generative Adversarial
  Network" (SRGAN), CVPR 2017, arXiv:1609.04802: the "VGG54" content loss, the feature map
  :math:`\\phi_{5,4}` of the 4th convolution (after its ReLU) before the 5th max-pool of VGG19,
  ``relu5_4`` here, the default layer.
- Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition",
  ICLR 2015, arXiv:1409.1556: VGG19 (configuration E), whose feature layers are
  :math:`\\phi`.

With :math:`\\phi_l` the VGG19 feature map at layer l and weights :math:`w_l`:

.. math::  \\mathcal L_{perc}(\\hat Y, Y) = \\sum_l w_l \\,
           \\frac{1}{N_l} \\big\\| \\phi_l(\\nu(\\hat Y)) - \\phi_l(\\nu(Y)) \\big\\|_2^2

where :math:`N_l = B C_l H_l W_l` is the number of elements of the feature map (a mean) and
:math:`\\nu` maps frames in [-1, 1] to the network's input, ImageNet-normalised RGB:
:math:`\\nu(x)_c = ((x_c + 1)/2 - \\mu_c) / \\sigma_c`.

- :data:`VGG19_LAYERS`              the layer names, ``VGG19_LAYERS[i]`` is ``features[i]``
- :func:`vgg19_weight_shapes`       parameter names and shapes up to a layer
- :func:`init_vgg19_weights`        random weights (tests; real ones come from torchvision)
- :func:`imagenet_normalise`        :math:`\\nu`
- :func:`vgg19_features`            :math:`\\phi_l` for the requested layers
- :func:`perceptual_loss`           :math:`\\mathcal L_{perc}`

The feature layers are torchvision's ``vgg19().features``: 16 convolutions 3x3 (zero padding 1,
stride 1), each followed by a ReLU, and a 2x2 max-pool (stride 2) after each of the 5 blocks;
channels 64, 64 | 128, 128 | 256 x4 | 512 x4 | 512 x4.  The weights are dicts of float64 arrays
named as torchvision's state dict, ``features.{i}.weight`` ``(out, in, 3, 3)`` and
``features.{i}.bias`` ``(out,)``, with torchvision's module indices i (0, 2, 5, 7, 10, ..., 34),
so a torchvision VGG19 checkpoint runs here unchanged.  Only the layers up to the deepest
requested one run, and only their weights are needed.

Convention
----------
- **Normalisation**: :math:`\\mathcal L_{perc}` is a mean over all elements of each feature
  map (batch, channels, rows, columns), Johnson et al.'s :math:`1/(C_j H_j W_j)` averaged over
  the batch.  SRGAN's formula normalises by :math:`W_{i,j} H_{i,j}` only; read with the
  channels summed, that is :math:`C_l` (512 at VGG54) times the mean here.  A layer weight
  :math:`w_l` expresses any such rescaling.
- **Input**: torchvision's weights expect RGB in [0, 1] normalised by the ImageNet mean
  (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).  The original Caffe release of VGG (the
  one Johnson et al.'s Torch code loads) expects BGR in [0, 255] minus the mean pixel, and its
  weights are not torchvision's: only torchvision's layout and input rule are supported here.
  Grey frames (C = 1) are repeated to 3 channels.
- **Pooling** floors (an odd last row or column is dropped), as torch's ``MaxPool2d`` default
  (``ceil_mode=False``): an input needs at least :math:`2^p` pixels per side for a layer after
  p pools (16 for ``relu5_4``, 32 for ``pool5``).
- **Convolution** is cross-correlation with zero padding, as ``torch.nn.Conv2d``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sharpvid.reference._checks import _as_float, _check_same_shape
from sharpvid.reference.networks import (_activation, _check_weights, _conv2d, _init_weights,
                                         _max_pool2x2)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VGG19_LAYERS",
    "imagenet_normalise",
    "init_vgg19_weights",
    "perceptual_loss",
    "vgg19_features",
    "vgg19_weight_shapes",
]

Shape = tuple[int, ...]
Weights = dict[str, np.ndarray]

#: The ImageNet channel mean and standard deviation (RGB) torchvision's VGG19 weights expect.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# VGG19 (configuration E): output channels of the convolutions, block by block.
_BLOCKS = ((64, 64), (128, 128), (256, 256, 256, 256), (512, 512, 512, 512), (512, 512, 512, 512))


def _layer_table() -> tuple[tuple[str, ...], dict[int, tuple[int, int]]]:
    """The names of ``features[0..36]`` and, per convolution index, its (in, out) channels."""
    names: list[str] = []
    convs: dict[int, tuple[int, int]] = {}
    c_in = 3
    for b, widths in enumerate(_BLOCKS, start=1):
        for j, c_out in enumerate(widths, start=1):
            convs[len(names)] = (c_in, c_out)
            names += [f"conv{b}_{j}", f"relu{b}_{j}"]
            c_in = c_out
        names.append(f"pool{b}")
    return tuple(names), convs


#: The 37 layer names in order: ``VGG19_LAYERS[i]`` is torchvision's ``vgg19().features[i]``
#: (``conv{b}_{j}``, its ``relu{b}_{j}``, and ``pool{b}`` closing block b).
VGG19_LAYERS, _CONVS = _layer_table()


# ---------------------------------------------------------------------------------------------
# Checks shared with the fast twin
# ---------------------------------------------------------------------------------------------


def _layer_index(name) -> int:
    """The index i of ``features[i]`` for a layer name, or a one-line ValueError."""
    if not isinstance(name, str) or name not in VGG19_LAYERS:
        raise ValueError(
            f"unknown VGG19 layer {name!r}; layers are conv1_1, relu1_1, ..., relu5_4, pool5 "
            f"(e.g. 'relu2_2', 'relu5_4')"
        )
    return VGG19_LAYERS.index(name)


def _check_layer_names(layers) -> tuple[str, ...]:
    """A layer name or a non-empty sequence of them -> a tuple of distinct names, in order."""
    if isinstance(layers, str):
        layers = (layers,)
    if not isinstance(layers, Sequence) or len(layers) == 0:
        raise ValueError(f"layers must be a VGG19 layer name or a non-empty list of them, "
                         f"got {layers!r}")
    for name in layers:
        _layer_index(name)
    return tuple(dict.fromkeys(layers))


def _check_layer_weights(layers) -> tuple[tuple[str, float], ...]:
    """A layer name (weight 1) or a non-empty sequence of (layer, w_l >= 0) pairs."""
    if isinstance(layers, str):
        layers = ((layers, 1.0),)
    if not isinstance(layers, Sequence) or len(layers) == 0:
        raise ValueError(f"layers must be a non-empty list of (layer, weight) pairs, "
                         f"got {layers!r}")
    pairs = []
    for pair in layers:
        if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise ValueError(f"layers must be (layer, weight) pairs, got {pair!r}")
        name, weight = pair
        _layer_index(name)
        if isinstance(weight, bool) or not isinstance(weight, (int, float, np.integer,
                                                               np.floating)) or not (
            np.isfinite(weight) and weight >= 0
        ):
            raise ValueError(f"the weight of layer {name!r} must be a finite number >= 0, "
                             f"got {weight!r}")
        pairs.append((name, float(weight)))
    return tuple(pairs)


def _check_vgg19_weights(weights, upto: str, convert=_as_float) -> Weights:
    """The weights ``features[0..upto]`` need, checked and converted; deeper VGG19 feature
    weights (a whole checkpoint) are allowed and ignored, any other key is an error.

    ``convert(value, label)`` makes each array (the fast twin passes its tensor conversion).
    """
    if not isinstance(weights, Mapping):
        raise TypeError(f"vgg19 weights must be a dict of arrays, got {type(weights).__name__}")
    every = vgg19_weight_shapes("pool5")
    unexpected = sorted(set(weights) - set(every))
    if unexpected:
        raise ValueError(f"vgg19 weights have an unexpected key {unexpected[0]!r} "
                         "(keys are features.{i}.weight / .bias)")
    shapes = vgg19_weight_shapes(upto)
    return _check_weights({k: v for k, v in weights.items() if k in shapes}, shapes, "vgg19",
                          convert=convert)


def _check_frames(x, name: str, channels: tuple[int, ...]) -> None:
    """``x`` is ``(..., C, H, W)`` with C in ``channels``."""
    if x.ndim < 3 or x.shape[-3] not in channels:
        which = " or ".join(str(c) for c in channels)
        raise ValueError(f"{name} must have shape (..., C, H, W) with C = {which}, "
                         f"got {tuple(x.shape)}")


def _check_size(x, index: int, name: str = "x") -> None:
    """H, W large enough that ``features[index]`` has at least one pixel (floor pooling)."""
    pools = sum(VGG19_LAYERS[i].startswith("pool") for i in range(index + 1))
    h, w = x.shape[-2], x.shape[-1]
    if min(h, w) < 2**pools:
        raise ValueError(
            f"{name} of size {h}x{w} is too small for VGG19 layer {VGG19_LAYERS[index]!r} "
            f"(after {pools} 2x2 max-pools): it needs at least {2**pools}x{2**pools} pixels"
        )


# ---------------------------------------------------------------------------------------------
# Weights
# ---------------------------------------------------------------------------------------------


def vgg19_weight_shapes(upto: str = "relu5_4") -> dict[str, Shape]:
    """Names and shapes of the VGG19 feature weights ``features[0..upto]`` need.

    Parameters
    ----------
    upto : str
        The deepest layer (a name of :data:`VGG19_LAYERS`).

    Returns
    -------
    dict
        ``features.{i}.weight`` -> ``(out, in, 3, 3)`` and ``features.{i}.bias`` -> ``(out,)``
        for every convolution ``features[i]`` with i up to ``upto``'s index, in order;
        torchvision's state dict names.

    Examples
    --------
    >>> vgg19_weight_shapes("relu2_1")  # doctest: +NORMALIZE_WHITESPACE
    {'features.0.weight': (64, 3, 3, 3), 'features.0.bias': (64,),
     'features.2.weight': (64, 64, 3, 3), 'features.2.bias': (64,),
     'features.5.weight': (128, 64, 3, 3), 'features.5.bias': (128,)}
    >>> len(vgg19_weight_shapes())  # 16 convolutions, weight and bias
    32
    """
    last = _layer_index(upto)
    shapes: dict[str, Shape] = {}
    for i, (c_in, c_out) in _CONVS.items():
        if i <= last:
            shapes[f"features.{i}.weight"] = (c_out, c_in, 3, 3)
            shapes[f"features.{i}.bias"] = (c_out,)
    return shapes


def init_vgg19_weights(upto: str = "relu5_4", rng=None) -> Weights:
    """Random VGG19 feature weights with torch's default ``Conv2d`` init, for tests.

    :math:`U(-1/\\sqrt{\\mathrm{fan\\_in}}, 1/\\sqrt{\\mathrm{fan\\_in}})` for weights and biases,
    the rule of :func:`sharpvid.reference.networks.init_generator_weights` (a meaningful loss needs
    the pretrained weights, see ``sharpvid.fast.perceptual.load_vgg19_weights``).

    Parameters
    ----------
    upto : str
        The deepest layer the weights serve.
    rng : None, int or numpy.random.Generator
        Passed to ``np.random.default_rng``.

    Returns
    -------
    dict of str to float64 ndarray, keys and shapes of :func:`vgg19_weight_shapes`

    Examples
    --------
    >>> w = init_vgg19_weights("relu1_1", rng=0)
    >>> w["features.0.weight"].shape, bool(abs(w["features.0.weight"]).max() <= 1 / np.sqrt(27))
    ((64, 3, 3, 3), True)
    """
    return _init_weights(vgg19_weight_shapes(upto), rng)


# ---------------------------------------------------------------------------------------------
# The equations
# ---------------------------------------------------------------------------------------------


def imagenet_normalise(x) -> np.ndarray:
    """ν: frames in [-1, 1] to ImageNet-normalised RGB, the input of torchvision's VGG19.

    Parameters
    ----------
    x : array, shape ``(..., C, H, W)``, C = 1 (grey, repeated to RGB) or 3 (RGB)

    Returns
    -------
    ndarray, shape ``(..., 3, H, W)``
        :math:`\\nu(x)_c = ((x_c + 1)/2 - \\mu_c) / \\sigma_c` with :data:`IMAGENET_MEAN` μ and
        :data:`IMAGENET_STD` σ.

    Examples
    --------
    >>> imagenet_normalise(np.ones((1, 1, 1))).ravel().round(4)  # white
    array([2.2489, 2.4286, 2.64  ])
    """
    x = _as_float(x, "x")
    _check_frames(x, "x", (1, 3))
    if x.shape[-3] == 1:  # grey -> RGB
        x = np.repeat(x, 3, axis=-3)
    mu = np.array(IMAGENET_MEAN)[:, None, None]  # (3, 1, 1)
    sigma = np.array(IMAGENET_STD)[:, None, None]
    # ((x + 1) / 2 - \mu_c) / \sigma_c
    return ((x + 1.0) / 2.0 - mu) / sigma


def vgg19_features(weights: Mapping[str, np.ndarray], x, layers) -> dict[str, np.ndarray]:
    """:math:`\\phi_l(x)`: VGG19's feature maps at the requested layers.

    Runs ``features[0]``, ``features[1]``, ... up to the deepest requested layer: conv 3x3
    (padding 1), ReLU, and a 2x2 max-pool (floor) closing each block.

    Parameters
    ----------
    weights : dict of str to array
        ``features.{i}.weight`` / ``.bias`` up to the deepest layer (:func:`vgg19_weight_shapes`);
        the weights of deeper layers may be present and are not used.
    x : array, shape ``(..., 3, H, W)``
        The network's input: ImageNet-normalised RGB (:func:`imagenet_normalise`), at least
        :math:`2^p` pixels per side for a layer after p pools.
    layers : str or sequence of str
        Names from :data:`VGG19_LAYERS`, e.g. ``["relu2_2", "relu5_4"]``.

    Returns
    -------
    dict of str to ndarray
        Layer name -> feature map ``(..., C_l, H_l, W_l)``, in the order requested.

    Examples
    --------
    >>> w = init_vgg19_weights("relu2_2", rng=0)
    >>> feats = vgg19_features(w, np.zeros((2, 3, 9, 8)), ["relu1_2", "relu2_2"])
    >>> {name: f.shape for name, f in feats.items()}
    {'relu1_2': (2, 64, 9, 8), 'relu2_2': (2, 128, 4, 4)}
    >>> vgg19_features(w, np.zeros((3, 3, 5)), "pool2")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x of size 3x5 is too small for VGG19 layer 'pool2' (after 2 ...): it needs ...
    """
    names = _check_layer_names(layers)
    last = max(_layer_index(name) for name in names)
    weights = _check_vgg19_weights(weights, VGG19_LAYERS[last])
    x = _as_float(x, "x")
    _check_frames(x, "x", (3,))
    _check_size(x, last)
    lead = x.shape[:-3]
    h = x.reshape(-1, *x.shape[-3:])  # (B, 3, H, W)
    out: dict[str, np.ndarray] = {}
    for i in range(last + 1):
        name = VGG19_LAYERS[i]
        if name.startswith("conv"):  # 3x3, zero padding 1: (B, C_out, H, W)
            h = _conv2d(h, weights[f"features.{i}.weight"], weights[f"features.{i}.bias"],
                        padding=1)
        elif name.startswith("relu"):
            h = _activation(h, "relu", 0.0)
        else:  # 2x2 max-pool, floor: (B, C, H // 2, W // 2)
            h = _max_pool2x2(h)
        if name in names:
            out[name] = h.reshape(*lead, *h.shape[1:])
    return {name: out[name] for name in names}


def perceptual_loss(
    weights: Mapping[str, np.ndarray], y_hat, y, layers=(("relu5_4", 1.0),)
) -> float:
    """:math:`\\mathcal L_{perc} = \\sum_l w_l \\, \\mathrm{mean}((\\phi_l(\\nu(\\hat Y)) -
    \\phi_l(\\nu(Y)))^2)`, the VGG19 feature reconstruction loss.

    Parameters
    ----------
    weights : dict of str to array
        VGG19 feature weights up to the deepest layer (pretrained ones for a meaningful loss).
    y_hat : array, shape ``(..., C, H, W)``  — :math:`\\hat Y` in [-1, 1], C = 1 or 3
    y : array, the same shape                — :math:`Y`
    layers : str or sequence of (str, float)
        The (layer l, weight :math:`w_l \\ge 0`) pairs; the default is SRGAN's VGG54,
        ``relu5_4`` with weight 1.  A single name means weight 1.

    Returns
    -------
    float

    Notes
    -----
    .. math::  \\mathcal L_{perc} = \\sum_l \\frac{w_l}{N_l}
               \\big\\| \\phi_l(\\nu(\\hat Y)) - \\phi_l(\\nu(Y)) \\big\\|_2^2

    with :math:`N_l` the number of elements of :math:`\\phi_l` and :math:`\\nu` the
    :func:`imagenet_normalise` map.

    Examples
    --------
    >>> w = init_vgg19_weights("relu2_2", rng=0)
    >>> y = np.zeros((1, 1, 8, 8))
    >>> perceptual_loss(w, y, y, [("relu1_2", 0.5), ("relu2_2", 1.0)])
    0.0
    >>> perceptual_loss(w, y + 0.5, y, "relu2_2") > 0
    True
    """
    pairs = _check_layer_weights(layers)
    names = tuple(dict.fromkeys(name for name, _ in pairs))
    y_hat, y = _as_float(y_hat, "y_hat"), _as_float(y, "y")
    _check_same_shape(y_hat, y)
    _check_frames(y_hat, "y_hat", (1, 3))
    phi_hat = vgg19_features(weights, imagenet_normalise(y_hat), names)  # \phi_l(\nu(\hat Y))
    phi = vgg19_features(weights, imagenet_normalise(y), names)  # \phi_l(\nu(Y))
    # \sum_l w_l mean((\phi_l(\hat Y) - \phi_l(Y))^2)
    return float(sum(w_l * np.mean((phi_hat[name] - phi[name]) ** 2) for name, w_l in pairs))
