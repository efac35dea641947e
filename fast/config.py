"""Everything a training run depends on: one typed, commented dataclass (:class:`TrainConfig`).

A run's config is a named TOML file (``fast/configs/{tiny,demo,paper,...}.toml``) or any TOML/JSON
path, then ``--key=value`` overrides; unknown keys and wrong types are one-line
:class:`ConfigError` s.  The resolved config is written beside the checkpoints as
``config.json`` and read back by ``--resume``, ``sharpvid evaluate`` and ``sharpvid predict``.

Every field names the paper's value and where the authors' Lua code (coupriec) and the TF
reimplementation (dyelax) differ; the defaults are the paper's (Mathieu et al. 2016, Sec. 3,
and the values the TF README quotes from the authors).

Network overrides: ``[net]`` in TOML, ``--net.FIELD=VALUE`` on the command line, any
:class:`sharpvid.reference.networks.NetworkConfig` field (``in_frames`` and ``patch_size`` come from
``m`` and ``patch``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from sharpvid.fast.devices import FAST_MATH_SETTINGS
from sharpvid.reference.networks import CONFIGS, NetworkConfig, get_config

CONFIG_DIR = Path(__file__).with_name("configs")
_OPTIMIZERS = ("sgd", "adam")
_SCHEDULES = ("constant", "exponential", "linear")


class ConfigError(ValueError):
    """A config that cannot be used: the message is one line naming the key or file."""


@dataclass
class TrainConfig:
    """One training run.  Defaults: the paper's adversarial model (Mathieu et al. 2016)."""

    # --- data ----------------------------------------------------------------------------------
    # Training clips: a folder written by `sharpvid prepare`, or a source spec (synthetic[:...],
    # samples[:names], ucf101:ROOT, a video file or frame folder), sampled on the fly.
    data: str = "synthetic"
    # Frames LO:HI of each video of `data` (indices or fractions, e.g. "0:0.8"), to hold the
    # rest apart for validation/testing; "" = all.  Ignored for prepared folders.
    frame_range: str = ""
    # Held-out clips for the validation pass: a prepared folder or a source spec; "" = none.
    val_data: str = ""
    # Frames LO:HI of each video of `val_data` ("" = all).
    val_frame_range: str = ""
    # m, input frames (paper 4, authors nInputFrames=4, TF HIST_LEN=4).
    m: int = 4
    # n, frames predicted per clip in training; later ones recursively from earlier predictions
    # (paper: 1 in training, 2 recursively at test time).
    n: int = 1
    # Side of the square training patch (32 in the paper, the authors' trainer and TF); it fixes
    # D's FC sizes.
    patch: int = 32
    # Share of training clips cut from a source without the motion test (TF keep 5 %: 0.05):
    # static patches teach G to leave still areas alone.  Prepared folders were filtered when
    # prepared (sharpvid prepare); this applies to sources sampled while training.
    keep_static: float = 0.05
    # Share of each training batch replaced by still clips: one frame of the clip repeated m + n
    # times (a camera and scene that do not move; the target is the last input).  Motion-filtered
    # clips teach G and a conditional D that a real next frame has moved; these teach both that
    # still inputs are followed by the same frame.  0 = off (paper, authors, TF).
    still_clips: float = 0.0
    # Clips per batch, per process (paper: 4, 8 for adversarial; authors 8; TF 8).  D and G each
    # take their own batch every step (Algorithm 1: "M new samples").
    batch: int = 8
    # Processes preparing batches ahead (0 = in the training process).
    workers: int = 0
    # CPU threads of this process (torch.set_num_threads); 0 = torch's default (all cores).
    # Several training processes on one machine: cores / processes each, or they oversubscribe.
    threads: int = 0

    # --- networks ------------------------------------------------------------------------------
    # Architecture table: paper | tf | authors_small | tiny (sharpvid.reference.networks.CONFIGS).
    network: str = "paper"
    # NetworkConfig fields to replace, e.g. {activation = "leaky_relu"}.
    net: dict = field(default_factory=dict)
    # GAN stabiliser: the activation of G and of D ("relu" as in the paper, or "leaky_relu" with
    # slope net.leaky_slope, 0.2 by default); "" = the network config's (relu everywhere).
    g_activation: str = ""
    d_activation: str = ""
    # The networks' speed switch (sharpvid.fast.devices.resolve_fast_math): "auto" = bf16 autocast +
    # channels_last convolutions where the device computes bf16 natively (CUDA from Ampere; a
    # CPU with AVX512-BF16 or AMX), float32 elsewhere (emulated bf16 is slower); "on" = the
    # same, with a one-line notice on a CPU without native bf16; "off" = float32 everywhere.
    # true/false mean on/off.  The pyramids, losses and metrics stay float32.
    fast_math: bool | str = "auto"
    # torch.compile the generator and discriminator steps (mode below); off by default.
    compile: bool = False
    # torch.compile mode: "default", "reduce-overhead" (CUDA graphs) or "max-autotune".
    compile_mode: str = "default"

    # --- losses (Eq. 6) ------------------------------------------------------------------------
    # λ_adv (paper 0.05; authors' trainer advweight 0.01; TF 0.05).  0 trains G alone, no D.
    lam_adv: float = 0.05
    # λ_ℓp (paper 1).
    lam_lp: float = 1.0
    # λ_gdl (paper 1; the authors' released trainer has no GDL term: 0).
    lam_gdl: float = 1.0
    # p of the ℓp loss (paper 1 or 2; 2 here, the authors' MSE).
    p: float = 2.0
    # α of the GDL (paper 1).
    alpha: float = 1.0
    # λ_perc of the VGG19 perceptual loss on the finest predicted frame (beyond the paper; 0 = off).
    lam_perc: float = 0.0
    # Its layers and weights, [[name, w], ...]: SRGAN's "VGG54" (relu5_4) by default.
    perc_layers: tuple[tuple[str, float], ...] = (("relu5_4", 1.0),)
    # torchvision's ImageNet VGG19 checkpoint (vgg19-dcbb9e9d.pth), given by you: nothing is
    # downloaded.  Needed when lam_perc > 0.
    vgg19_weights: str = ""
    # --- several discriminators (beyond the paper) ------------------------------------------
    # Real/fake multi-scale discriminators (the paper: 1; GMAN: several, each its own init).
    discriminators: int = 1
    # The seed's blur detector D2: a multi-scale D trained to call real frames sharp (1) and
    # blurred real frames blurry (0); G is rewarded when D2 calls its frames sharp.
    blur_detector: bool = False
    # D2's blur: "gaussian" (5x5, variance 5: the seed's), "median" or "bilateral".
    blur: str = "gaussian"
    blur_size: int = 5
    blur_variance: float = 5.0
    # D2 also calls G's frames blurry (the seed's "next step").
    blur_detector_fakes: bool = False
    # Initialise only D2 from this checkpoint (`sharpvid pretrain-blur-detector --out DIR`, or a
    # run with a blur detector): G and the other critics start as usual.  "" = no.
    init_d2: str = ""
    # Keep D2 as loaded: not updated in the D step (G is still judged by it).
    freeze_d2: bool = False
    # G's adversarial term over the critics: "mean" (the seed), "max", or "gman" (softmax-weighted,
    # temperature gman_lambda; Durugkar et al. 2017).
    adv_aggregate: str = "mean"
    gman_lambda: float = 1.0
    # GAN stabiliser (Salimans et al. 2016; the seed): D's targets drawn per sample and step,
    # real from U(real_label_range), fake from U(fake_label_range), instead of 1 and 0.  The
    # default is one-sided (Salimans et al.: fakes stay 0) and within [0, 1]; the seed's ranges,
    # real [0.7, 1.2] and fake [0, 0.3], are selectable but warned about: BCE with a target
    # above 1 is unbounded below, so it rewards D for saturating.  Each bound lies in [0, 1.5].
    label_smoothing: bool = False
    real_label_range: tuple[float, float] = (0.7, 1.0)
    fake_label_range: tuple[float, float] = (0.0, 0.0)
    # λ_adv grows linearly from 0 to lam_adv over the first adv_warmup steps (0 = from the start).
    adv_warmup: int = 0
    # Where G's adversarial term may change G (beyond the paper): "frame" (the paper: every
    # pixel) or "moving": its gradient reaches only the pixels where the real next frame differs
    # from the real last input frame by more than adv_region_threshold (in [-1, 1] units; the
    # evaluation's moving mask, per scale), so the adversary cannot paint texture on still areas,
    # which l_p + GDL alone keep.  The critics still judge, and are trained on, whole frames.
    adv_region: str = "frame"
    adv_region_threshold: float = 0.05
    # Spectral normalisation of every critic's layers (Miyato et al. 2018; beyond the paper):
    # each weight divided by its largest singular value, estimated by one power iteration a step.
    d_spectral_norm: bool = False
    # Instance noise (Sønderby et al. 2017; beyond the paper): Gaussian noise of this σ (pixels in
    # [-1, 1]) on every frame the real/fake critics judge, real and generated, in the D and the G
    # step; σ falls linearly to 0 over instance_noise_steps (0 = over the whole run).  0 = off.
    instance_noise: float = 0.0
    instance_noise_steps: int = 0

    # --- optimisers and schedules --------------------------------------------------------------
    # G: "sgd" (paper: ρ_G from 0.04 down to 0.005) or "adam" (TF: Adam 4e-5).
    g_optimizer: str = "sgd"
    g_lr: float = 0.04
    # The rate at the last step; "exponential" decays geometrically from g_lr to it.
    g_lr_final: float = 0.005
    # constant | exponential | linear (the paper: "reduced over time", shape unstated).
    g_lr_schedule: str = "exponential"
    # SGD momentum (paper and authors: plain SGD, 0).
    g_momentum: float = 0.0
    # D: "sgd" (paper ρ_D = 0.02, authors 0.02, TF SGD 0.02) or "adam".
    d_optimizer: str = "sgd"
    d_lr: float = 0.02
    d_lr_final: float = 0.02
    d_lr_schedule: str = "constant"
    d_momentum: float = 0.0
    # G's Adam betas (TF: TensorFlow's defaults 0.9, 0.999).
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    # The critics' Adam betas (GAN practice since DCGAN: β1 = 0.5 for D).
    d_adam_beta1: float = 0.9
    d_adam_beta2: float = 0.999
    # Clip each network's gradient norm to this before the update; 0 = no clipping (paper).
    grad_clip: float = 0.0

    # --- run -----------------------------------------------------------------------------------
    # Training steps (one D update and one G update each); the authors ran 1M.
    steps: int = 1_000_000
    seed: int = 0
    # "auto" (CUDA when present), "cpu", "cuda" or "cuda:K".
    device: str = "auto"
    # Log the loss terms every N steps (a device->host copy happens every step for the
    # non-finite guard; logging only decides what is written).
    log_every: int = 10
    # Picture grid (input_m | generated | ground truth per scale) and GIF every N steps; 0 = never.
    sample_every: int = 1000
    # Validation pass on held-out clips every N steps (needs val_data); 0 = never.
    val_every: int = 1000
    # Held-out clips evaluated per validation pass.
    val_clips: int = 64
    # Checkpoint every N steps (and at the end, on Ctrl-C / SIGTERM).
    checkpoint_every: int = 1000
    # Checkpoints kept (the newest K).
    keep_checkpoints: int = 3
    # Non-finite guard: after this many bad steps in a row, restore the last checkpoint ...
    nan_patience: int = 3
    # ... with every learning rate multiplied by this (again at each further restore) ...
    nan_lr_factor: float = 0.5
    # ... and give up (one-line error; the checkpoints stay) after this many restores in a row.
    nan_max_restores: int = 5
    # Also append every logged value to TensorBoard (needs the `tensorboard` extra).
    tensorboard: bool = True

    # ------------------------------------------------------------------------------------------
    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> "TrainConfig":
        """One-line :class:`ConfigError` for any value out of range; returns self."""
        for key, lo in (("m", 1), ("n", 1), ("patch", 1), ("batch", 1), ("steps", 0),
                        ("workers", 0), ("threads", 0), ("seed", 0), ("log_every", 1),
                        ("sample_every", 0),
                        ("val_every", 0), ("val_clips", 1), ("checkpoint_every", 1),
                        ("keep_checkpoints", 1), ("nan_patience", 1),
                        ("nan_max_restores", 0), ("adv_warmup", 0),
                        ("instance_noise_steps", 0)):
            if getattr(self, key) < lo:
                raise ConfigError(f"{key} must be >= {lo}, got {getattr(self, key)!r}")
        for key in ("lam_adv", "lam_lp", "lam_gdl", "lam_perc", "g_momentum", "d_momentum",
                    "grad_clip", "instance_noise", "adv_region_threshold"):
            if not 0 <= getattr(self, key) < math.inf:
                raise ConfigError(f"{key} must be a finite number >= 0, got {getattr(self, key)!r}")
        for key in ("p", "alpha", "g_lr", "g_lr_final", "d_lr", "d_lr_final"):
            if not 0 < getattr(self, key) < math.inf:
                raise ConfigError(f"{key} must be a finite number > 0, got {getattr(self, key)!r}")
        for key in ("keep_static", "still_clips"):
            if not 0 <= getattr(self, key) <= 1:
                raise ConfigError(f"{key} must be in [0, 1], got {getattr(self, key)!r}")
        if not 0 < self.nan_lr_factor <= 1:
            raise ConfigError(f"nan_lr_factor must be in (0, 1], got {self.nan_lr_factor!r}")
        for key in ("adam_beta1", "adam_beta2", "d_adam_beta1", "d_adam_beta2"):
            if not 0 <= getattr(self, key) < 1:
                raise ConfigError(f"{key} must be in [0, 1), got {getattr(self, key)!r}")
        for key, allowed in (("g_optimizer", _OPTIMIZERS), ("d_optimizer", _OPTIMIZERS),
                             ("g_lr_schedule", _SCHEDULES), ("d_lr_schedule", _SCHEDULES),
                             ("compile_mode", ("default", "reduce-overhead", "max-autotune")),
                             ("network", tuple(sorted(CONFIGS))),
                             ("adv_region", ("frame", "moving"))):
            if getattr(self, key) not in allowed:
                raise ConfigError(f"{key} must be one of {allowed}, got {getattr(self, key)!r}")
        if self.lam_perc > 0:
            from sharpvid.reference.perceptual import VGG19_LAYERS

            if not self.perc_layers:
                raise ConfigError("perc_layers must name at least one VGG19 layer")
            for name, weight in self.perc_layers:
                if name not in VGG19_LAYERS or not 0 <= weight < math.inf:
                    raise ConfigError(f"perc_layers: {[name, weight]} must be [a VGG19 layer "
                                      f"such as 'relu5_4', a finite weight >= 0]")
        if self.discriminators < 0:
            raise ConfigError(f"discriminators must be >= 0, got {self.discriminators!r}")
        if self.lam_adv > 0 and self.discriminators == 0 and not self.blur_detector:
            raise ConfigError("lam_adv > 0 needs a critic: discriminators >= 1 or blur_detector")
        if (self.init_d2 or self.freeze_d2) and not (self.blur_detector and self.adversarial):
            raise ConfigError("init_d2 / freeze_d2 need the blur detector: blur_detector=true "
                              "and lam_adv > 0")
        if self.blur not in ("gaussian", "median", "bilateral"):
            raise ConfigError(f"blur must be 'gaussian', 'median' or 'bilateral', got {self.blur!r}")
        if self.blur_size < 1 or self.blur_size % 2 == 0:
            raise ConfigError(f"blur_size must be an odd size >= 1, got {self.blur_size!r}")
        if not 0 < self.blur_variance < math.inf:
            raise ConfigError(f"blur_variance must be a finite number > 0, got {self.blur_variance!r}")
        if self.adv_aggregate not in ("mean", "max", "gman"):
            raise ConfigError(f"adv_aggregate must be 'mean', 'max' or 'gman', "
                              f"got {self.adv_aggregate!r}")
        if not 0 <= self.gman_lambda < math.inf:
            raise ConfigError(f"gman_lambda must be a finite number >= 0, got {self.gman_lambda!r}")
        for key in ("g_activation", "d_activation"):
            if getattr(self, key) not in ("", "relu", "leaky_relu"):
                raise ConfigError(f"{key} must be '', 'relu' or 'leaky_relu', "
                                  f"got {getattr(self, key)!r}")
        for key in ("real_label_range", "fake_label_range"):
            low, high = getattr(self, key)
            if not (0 <= low <= high <= 1.5):
                raise ConfigError(f"{key} must be [low, high] with 0 <= low <= high <= 1.5, "
                                  f"got {list(getattr(self, key))}")
        if isinstance(self.fast_math, bool):
            self.fast_math = "on" if self.fast_math else "off"
        self.fast_math = {"true": "on", "false": "off"}.get(self.fast_math, self.fast_math)
        if self.fast_math not in FAST_MATH_SETTINGS:
            raise ConfigError(f"fast_math must be one of {FAST_MATH_SETTINGS} (or true/false), "
                              f"got {self.fast_math!r}")
        if not self.data:
            raise ConfigError("data must name a source or a prepared folder, got ''")
        self.network_config()  # the architecture must be valid for this m and patch
        return self

    @property
    def adversarial(self) -> bool:
        """Whether a discriminator is trained (λ_adv > 0)."""
        return self.lam_adv > 0

    def network_config(self) -> NetworkConfig:
        """The architecture: ``get_config(network, in_frames=m, patch_size=patch, **net)``."""
        net = dict(self.net)
        for key in ("in_frames", "patch_size"):
            if key in net:
                raise ConfigError(f"net.{key} is set by "
                                  f"{'m' if key == 'in_frames' else 'patch'}; set that instead")
        try:
            return get_config(self.network, in_frames=self.m, patch_size=self.patch, **net)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"network {self.network!r}: {exc}") from None

    def generator_config(self) -> NetworkConfig:
        """G's architecture: :meth:`network_config` with ``g_activation``."""
        net = self.network_config()
        return dataclasses.replace(net, activation=self.g_activation) if self.g_activation else net

    def discriminator_config(self) -> NetworkConfig:
        """D's architecture: :meth:`network_config` with ``d_activation``."""
        net = self.network_config()
        return dataclasses.replace(net, activation=self.d_activation) if self.d_activation else net

    def to_dict(self) -> dict:
        def plain(v):
            return [plain(x) for x in v] if isinstance(v, (tuple, list)) else v

        return {k: plain(v) for k, v in dataclasses.asdict(self).items()}


# ---------------------------------------------------------------------------------------------
# Types: what a key accepts, from the annotations
# ---------------------------------------------------------------------------------------------


def field_types(cls=TrainConfig) -> dict[str, type]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "None")


def _coerce(key: str, value, tp, *, from_text: bool):
    """``value`` as type ``tp`` (bool, int, float, str, dict, tuples, Optional), or ConfigError."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if type(None) in args and (value is None or (from_text and str(value).lower() == "none")):
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(key, value, arg, from_text=from_text)
            except ConfigError as exc:
                errors.append(exc)
        raise errors[0]
    if origin in (tuple, list) or tp in (tuple, list):
        if from_text:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(f"{key} must be a list such as [1, 2], got {value!r}") from None
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        args = typing.get_args(tp)
        if args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{key} must be a list of {len(args)} values, "
                                  f"got {list(value)!r}")
            return tuple(_coerce(key, v, a, from_text=False) for v, a in zip(value, args))
        inner = args[0] if args else None
        return tuple(v if inner is None else _coerce(key, v, inner, from_text=False) for v in value)
    if tp is bool:
        if from_text and isinstance(value, str) and value.lower() in ("true", "false", "1", "0",
                                                                       "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if isinstance(value, bool):
            return value
    elif tp is int:
        if from_text:
            try:
                return int(str(value).replace("_", ""))
            except ValueError:
                pass
        elif isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if from_text:
            try:
                return float(value)
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is dict:
        if isinstance(value, dict):
            return dict(value)
    else:  # pragma: no cover - a field type this module does not know
        raise ConfigError(f"{key}: unsupported field type {tp!r}")
    raise ConfigError(f"{key} must be {_type_name(tp)}, got {value!r}")


def _unknown(key: str, known) -> ConfigError:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"unknown config key {key!r}{hint}")


#: Each NetworkConfig field's type for parsing, from its annotations (tuples as ``tuple``).
_NET_TYPES = {name: typing.get_origin(tp) or tp
              for name, tp in field_types(NetworkConfig).items()}


def _net_overrides(values: dict, *, from_text: bool, where: str = "net") -> dict:
    out = {}
    for key, value in values.items():
        if key not in _NET_TYPES:
            raise _unknown(f"{where}.{key}", [f"{where}.{k}" for k in _NET_TYPES])
        tp = _NET_TYPES[key]
        if tp is tuple and from_text:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                raise ConfigError(f"{where}.{key} must be a JSON list, got {value!r}") from None
            if not isinstance(value, list):
                raise ConfigError(f"{where}.{key} must be a list, got {value!r}")
            out[key] = value
        elif tp is tuple:
            if not isinstance(value, (list, tuple)):
                raise ConfigError(f"{where}.{key} must be a list, got {value!r}")
            out[key] = value
        else:
            out[key] = _coerce(f"{where}.{key}", value, tp, from_text=from_text)
    return out


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def named_configs() -> list[str]:
    """The names of the shipped configs (``fast/configs/*.toml``)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


def _read_file(spec: str | Path) -> tuple[dict, str]:
    """A config name or file -> (its table, where it came from)."""
    path = Path(spec)
    if not path.suffix and not path.exists():
        path = CONFIG_DIR / f"{spec}.toml"
        if not path.is_file():
            raise ConfigError(f"unknown config {str(spec)!r}; shipped configs are "
                              f"{named_configs()}, or give a .toml/.json path")
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    try:
        table = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'} "
                          f"({str(exc).splitlines()[0]})") from None
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: a config must be a table of keys")
    return table, str(path)


def config_from_dict(table: dict, where: str = "config") -> TrainConfig:
    """A :class:`TrainConfig` from a dict (a TOML/JSON table); unknown keys and wrong types are
    one-line errors naming ``where`` and the key."""
    types_ = field_types()
    kwargs = {}
    for key, value in table.items():
        if key not in types_:
            raise ConfigError(f"{where}: {_unknown(key, types_)}")
        try:
            if key == "net":
                if not isinstance(value, dict):
                    raise ConfigError(f"net must be a table of NetworkConfig fields, got {value!r}")
                kwargs[key] = _net_overrides(value, from_text=False)
            else:
                kwargs[key] = _coerce(key, value, types_[key], from_text=False)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    try:
        return TrainConfig(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def parse_overrides(items: list[str]) -> dict:
    """``["key=value", "net.activation=leaky_relu", ...]`` -> a typed dict of overrides."""
    types_ = field_types()
    out: dict = {}
    for item in items:
        text = item[2:] if item.startswith("--") else item
        if "=" not in text:
            raise ConfigError(f"override {item!r} must be --key=value")
        key, value = text.split("=", 1)
        key = key.replace("-", "_")
        if key.startswith("net."):
            out.setdefault("net", {}).update(_net_overrides({key[4:]: value}, from_text=True))
        elif key not in types_:
            raise _unknown(key, types_)
        else:
            out[key] = _coerce(key, value, types_[key], from_text=True)
    return out


def load_config(spec: str | Path = "paper", overrides: list[str] | dict | None = None
                ) -> TrainConfig:
    """The config named ``spec`` (or at that path), with ``overrides`` applied and validated.

    Examples
    --------
    >>> load_config("tiny", ["steps=3", "net.activation=leaky_relu"]).steps
    3
    >>> load_config("tiny", ["stpes=3"])
    Traceback (most recent call last):
    ...
    sharpvid.fast.config.ConfigError: unknown config key 'stpes'; did you mean 'steps'?
    """
    table, where = _read_file(spec)
    base = config_from_dict(table, where)
    if not overrides:
        return base
    changes = parse_overrides(list(overrides)) if not isinstance(overrides, dict) else overrides
    return with_overrides(base, changes)


def with_overrides(cfg: TrainConfig, changes: dict) -> TrainConfig:
    """``cfg`` with ``changes`` (``net`` merged key by key), validated."""
    values = cfg.to_dict()
    for key, value in changes.items():
        if key == "net":
            values["net"] = {**values["net"], **value}
        else:
            values[key] = value
    return config_from_dict(values, "overrides")


def save_config(cfg: TrainConfig, path: Path) -> None:
    """The resolved config as JSON (read back by :func:`read_config`), written atomically."""
    from sharpvid.fast.imageio import atomic_write

    text = json.dumps(cfg.to_dict(), indent=2, sort_keys=False) + "\n"
    atomic_write(Path(path), lambda tmp: Path(tmp).write_text(text))


def read_config(path: Path) -> TrainConfig:
    """A config written by :func:`save_config`."""
    table, where = _read_file(Path(path))
    return config_from_dict(table, where)
