"""The seed's blur detector D2, pretrained alone as a sharp-vs-blurred classifier.

The seed (Akilesh B, *Towards sharper video predictions beyond traditional loss functions*) adds a
second critic to Mathieu, Couprie & LeCun 2016 (arXiv:1511.05440): a multi-scale discriminator D2
that judges one frame alone, sharp (1) or blurred (0), and rewards G when G's frames look sharp
(:class:`sharpvid.fast.training.critics.Critic`, ``kind="blur"``).  Its first step trains D2
*before* the adversarial run, on 32x32 images (10,000 CIFAR-10 images in the seed): each sharp image
is a positive, the same image blurred a negative.  ``sharpvid train --init_d2 CHECKPOINT`` then
starts from those weights.

- :func:`read_cifar10` decodes the CIFAR-10 "python version" batches; :func:`source_images` crops
  32x32 images out of any video source (:func:`sharpvid.fast.video.sources.open_source`).
- :func:`sharpvid.fast.blur.blurred` applies one of the three reference blurs per image (the
  negatives; adversarial training's D step blurs with :func:`sharpvid.fast.blur.blur`).
- :func:`pretrain_blur_detector` trains D2 with the loss of Eq. 3 (real = sharp, fake = blurred,
  :func:`sharpvid.fast.losses.discriminator_loss`, summed over scales) and the run's D optimiser,
  then measures it on held-out images (:func:`blur_accuracy`).

Convention
----------
- Images are uint8 ``(N, 3, 32, 32)`` on the host and float in [-1, 1] on the device (the authors'
  ``x * 2 / 255 - 1``, :func:`sharpvid.fast.video.clips.to_model`).
- The blurs are the training config's, as adversarial training with ``blur_detector`` applies
  them (:func:`sharpvid.fast.blur.blur` serves both): the ``blur_size`` x ``blur_size`` Gaussian of
  variance ``blur_variance`` (5x5 of variance 5 by default), median and bilateral filter (σ_space
  1.5, σ_colour 0.2 in [-1, 1] units), each chosen with probability 1/3 per sample.
- D2 calls an image sharp when the mean over scales of its probabilities is > 0.5.  The overall
  accuracy is balanced: the mean of the sharp images' accuracy and the mean of the three blurs'
  accuracies, so a detector that calls everything blurry (or sharp) scores 0.5.
- Randomness is counter-based: training step ``k`` draws its images and blurs from
  ``np.random.default_rng([seed, k])``; image ``i`` cropped from a source, from
  ``np.random.default_rng([seed, i])``.  The weights start from ``torch.manual_seed(seed)``.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from sharpvid.fast.blur import BLURS, blurred
from sharpvid.fast.video.sources import DataError

#: Side of the images D2 is pretrained on (CIFAR-10's, and the paper's training patch).
IMAGE_SIZE = 32
CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST = "test_batch"


# ---------------------------------------------------------------------------------------------
# Data: CIFAR-10 batches and crops of any video source
# ---------------------------------------------------------------------------------------------


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, bytes and NumPy arrays, nothing else (a pickle from a
    user's folder must not run code)."""

    _ALLOWED = {("numpy._core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "scalar"),
                ("numpy._core.numeric", "_frombuffer"), ("numpy", "ndarray"), ("numpy", "dtype"),
                ("_codecs", "encode")}

    def find_class(self, module, name):
        # NumPy 1 pickles name numpy.core, NumPy 2 numpy._core: check one spelling, load either
        canonical = "numpy._core" + module[10:] if module.startswith("numpy.core") else module
        if (canonical, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        try:
            return super().find_class(canonical, name)
        except (ImportError, AttributeError):
            return super().find_class(canonical.replace("numpy._core", "numpy.core", 1), name)


def _read_cifar_batch(path: Path) -> np.ndarray:
    """One CIFAR-10 batch file -> uint8 ``(N, 3, 32, 32)``, or a one-line DataError naming it."""
    if not path.is_file():
        raise DataError(f"{path}: no such CIFAR-10 batch file (the 'python version' of CIFAR-10: "
                        f"data_batch_1 ... data_batch_5, test_batch)")
    try:
        with open(path, "rb") as f:
            table = _ArraysOnly(f, encoding="bytes").load()
    except Exception as exc:  # truncated, not a pickle, a refused class ...
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: not a readable CIFAR-10 batch ({reason})") from None
    data = table.get(b"data", table.get("data")) if isinstance(table, dict) else None
    if data is None:
        raise DataError(f"{path}: not a CIFAR-10 batch (no b'data' entry)")
    data = np.asarray(data)
    if data.ndim != 2 or data.shape[1] != 3 * IMAGE_SIZE * IMAGE_SIZE or data.dtype != np.uint8:
        raise DataError(f"{path}: b'data' must be uint8 (N, 3072), got {data.dtype} {data.shape}")
    # each row: the red plane, then green, then blue, each 32 rows of 32 pixels
    return data.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE)


def read_cifar10(folder, n: int | None = None, *, split: str = "train") -> np.ndarray:
    """The first ``n`` images of CIFAR-10's python batches, uint8 ``(N, 3, 32, 32)``.

    Parameters
    ----------
    folder : path
        The folder holding ``data_batch_1`` ... ``data_batch_5`` and ``test_batch`` (pickles of a
        dict with ``b'data'``, uint8 ``(N, 3072)``: per row the 32x32 red plane, then green, then
        blue, each row-major).
    n : int, optional
        How many images (all of the split's when None); the training batches are read in order,
        only as many as needed.
    split : {"train", "test"}
        ``data_batch_*`` or ``test_batch``.

    Returns
    -------
    ndarray
        uint8 ``(N, 3, 32, 32)``, channels R, G, B.

    Raises
    ------
    DataError
        One line naming the folder or the missing or damaged file, or saying how many images
        there are when fewer than ``n``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder (give the CIFAR-10 python batches' folder, "
                        f"e.g. cifar10:data/cifar-10-batches-py)")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if n is not None and n < 1:
        raise DataError(f"asked for {n} CIFAR-10 images; give at least 1")
    names = CIFAR10_TRAIN if split == "train" else (CIFAR10_TEST,)
    parts, have = [], 0
    for name in names:
        if n is not None and have >= n:
            break
        parts.append(_read_cifar_batch(folder / name))
        have += len(parts[-1])
    if n is not None and have < n:
        raise DataError(f"{folder}: {have} images in {', '.join(names)}; asked for {n}")
    return np.concatenate(parts)[:n]


def _crops(videos, n: int, seed: int) -> np.ndarray:
    """``n`` random 32x32 crops of random frames of ``videos``; crop ``i`` from
    ``default_rng([seed, i])`` (video, frame, row, column); uint8 ``(n, 3, 32, 32)``."""
    s = IMAGE_SIZE
    for v in videos:
        if v.num_frames < 1:
            raise DataError(f"{v.source}: no frames to crop images from")
        if v.height < s or v.width < s:
            raise DataError(f"{v.source}: frames of {v.width}x{v.height} are smaller than the "
                            f"{s}x{s} images D2 is pretrained on")
    picks = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        k = int(rng.integers(len(videos)))
        v = videos[k]
        picks.append((k, int(rng.integers(v.num_frames)), int(rng.integers(v.height - s + 1)),
                      int(rng.integers(v.width - s + 1))))
    out = np.empty((n, 3, s, s), np.uint8)
    for k, v in enumerate(videos):
        mine = sorted((p[1], i, p[2], p[3]) for i, p in enumerate(picks) if p[0] == k)
        if not mine:
            continue
        small = v.num_frames * v.height * v.width * v.channels <= 1 << 28
        frames = v.read() if small else None  # small: decode once; large: only the frames drawn
        for t, i, r, c in mine:
            frame = frames[t : t + 1] if small else v.read(t, t + 1)
            if len(frame) == 0:
                raise DataError(f"{v.source}: frame {t} could not be read "
                                f"({'; '.join(v.problems) or 'the video is shorter than it said'})")
            crop = frame[0, r : r + s, c : c + s]  # (s, s, C), C = 1 or 3
            out[i] = np.repeat(crop, 3 // crop.shape[-1], axis=-1).transpose(2, 0, 1)
    return out


def source_images(spec: str, n: int, n_test: int, *, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` training and ``n_test`` held-out 32x32 crops of random frames of a video source.

    Parameters
    ----------
    spec : str
        A source spec (:func:`sharpvid.fast.video.sources.open_source`): ``synthetic[:...]``, a
        video file, a frame folder, ...
    n, n_test : int
        Training and held-out images.
    seed : int
        Crop ``i`` of each set comes from ``np.random.default_rng([seed, i])``.

    Returns
    -------
    (ndarray, ndarray, str)
        uint8 ``(n, 3, 32, 32)`` and ``(n_test, 3, 32, 32)`` (grey frames repeated to 3
        channels), and where the held-out images come from, in words.

    Notes
    -----
    The held-out images come from other videos: the last fifth of the source's videos (at least
    one) when it has two or more, else the last 20 % of the frames of its one video (at least
    one frame).
    """
    from sharpvid.fast.video.sources import open_source

    if Path(spec, "prepare.json").is_file():
        raise DataError(f"{spec}: a prepared clip folder; give the source it was prepared from "
                        f"(or cifar10:DIR)")
    source = open_source(spec)
    videos = list(source)
    if len(videos) >= 2:
        held = max(1, len(videos) // 5)
        train, test = videos[:-held], videos[-held:]
        where = f"crops of the last {held} of {len(videos)} videos"
    else:
        t = videos[0].num_frames
        if t < 2:
            raise DataError(f"{spec}: one video of {t} frame(s); held-out images need another "
                            f"video or more frames")
        cut = min(max(1, round(0.8 * t)), t - 1)
        train, test = list(source.frame_range(0, cut)), list(source.frame_range(cut, t))
        where = f"crops of the video's frames {cut}:{t}"
    return _crops(train, n, seed), _crops(test, n_test, seed), where


def load_images(data: str, n: int, n_test: int, *, seed: int = 0
                ) -> tuple[np.ndarray, np.ndarray, str]:
    """Training and held-out images of ``--data``: ``cifar10:DIR`` or a video source spec.

    CIFAR-10: the first ``n`` images of the training batches; held out, the first ``n_test`` of
    ``test_batch`` when the folder has one, else the ``n_test`` images after the first ``n``.
    Returns ``(train, test, where the held-out images came from)``.
    """
    if n < 1 or n_test < 1:
        raise DataError(f"need at least 1 training and 1 held-out image, got {n} and {n_test}")
    if data.startswith("cifar10:"):
        folder = Path(data[len("cifar10:"):] or ".")
        if folder.is_dir() and (folder / CIFAR10_TEST).exists():
            return (read_cifar10(folder, n), read_cifar10(folder, n_test, split="test"),
                    f"{folder / CIFAR10_TEST}")
        images = read_cifar10(folder, n + n_test)
        return images[:n], images[n:], f"images {n}:{n + n_test} of the training batches"
    return source_images(data, n, n_test, seed=seed)


# ---------------------------------------------------------------------------------------------
# D2: build, train, measure
# ---------------------------------------------------------------------------------------------


def build_blur_detector(cfg, device="cpu"):
    """D2 as adversarial training builds it
    (:func:`sharpvid.fast.training.critics.build_discriminator`, ``kind="blur"``), so its checkpoint
    fits such a run's D2."""
    from sharpvid.fast.training.critics import build_discriminator

    return build_discriminator(cfg, "blur", device)


def _check_images(images, what: str) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != (3, IMAGE_SIZE,
                                                                           IMAGE_SIZE):
        raise ValueError(f"{what} must be uint8 (N, 3, {IMAGE_SIZE}, {IMAGE_SIZE}), got "
                         f"{images.dtype} {images.shape}")
    if len(images) == 0:
        raise ValueError(f"{what}: no images")
    return images


@torch.no_grad()
def sharp_probabilities(d2, x: torch.Tensor) -> torch.Tensor:
    """D2's probability that each image of ``x`` ``(B, C, H, W)`` is sharp, per scale (coarse to
    fine) then the mean over scales: ``(K + 1, B)``."""
    from sharpvid.fast.pyramid import frame_pyramid

    per_scale = torch.stack(d2(None, frame_pyramid(x, d2.config.n_scales))).float()
    return torch.cat([per_scale, per_scale.mean(dim=0, keepdim=True)])


def _balanced(acc: dict[str, float]) -> float:
    return (acc["sharp"] + sum(acc[b] for b in BLURS) / len(BLURS)) / 2


@torch.no_grad()
def blur_accuracies(d2, images, cfg, *, device="cpu", batch: int = 256
                    ) -> tuple[dict[str, float], list[float]]:
    """D2's accuracy on ``images`` (uint8 ``(N, 3, 32, 32)``): sharp images called sharp, and
    each blur's images called blurry, by the mean over scales; ``overall`` is balanced (see the
    module's Convention).  Also the balanced accuracy of each scale alone, coarse to fine."""
    from sharpvid.fast.video.clips import to_model

    images = _check_images(images, "images")
    was_training = d2.training
    d2.eval()
    right = {name: 0 for name in ("sharp", *BLURS)}  # per name: (K + 1,) counts
    for lo in range(0, len(images), batch):
        x = to_model(images[lo : lo + batch], device)
        right["sharp"] += (sharp_probabilities(d2, x) > 0.5).sum(dim=1).cpu()
        for name in BLURS:
            y = blurred(x, [name] * len(x), cfg)
            right[name] += (sharp_probabilities(d2, y) <= 0.5).sum(dim=1).cpu()
    d2.train(was_training)
    rates = {k: (v / len(images)).tolist() for k, v in right.items()}
    acc = {k: v[-1] for k, v in rates.items()}
    acc["overall"] = _balanced(acc)
    by_scale = [_balanced({k: v[i] for k, v in rates.items()})
                for i in range(d2.config.n_scales)]
    return acc, by_scale


def blur_accuracy(d2, images, cfg, *, device="cpu", batch: int = 256) -> dict[str, float]:
    """The accuracies of :func:`blur_accuracies` (by the mean over scales)."""
    return blur_accuracies(d2, images, cfg, device=device, batch=batch)[0]


def pretrain_blur_detector(cfg, images_train, images_test, *, steps: int, batch: int,
                           device="cpu", seed: int = 0, progress: bool = False):
    """Train the blur detector D2 alone: sharp images 1, the same images blurred 0 (Eq. 3).

    Parameters
    ----------
    cfg : TrainConfig
        The run D2 is for: its network (``network``, ``net``, ``d_activation``; ``patch`` must be
        32), its Gaussian blur (``blur_size``, ``blur_variance``) and its D optimiser
        (``d_optimizer``, ``d_lr``, ``d_lr_final``, ``d_lr_schedule``, ``d_momentum``, Adam's
        betas, ``grad_clip``).
    images_train, images_test : ndarray
        uint8 ``(N, 3, 32, 32)``: the training images and the held-out ones.
    steps : int
        D updates; each takes ``batch`` sharp images and the same images blurred.
    batch : int
        Images per step (M); the step's batch holds 2M: M sharp and M blurred.
    device : str or torch.device
        ``"auto"``, ``"cpu"``, ``"cuda"``, ...
    seed : int
        Initial weights (``torch.manual_seed``) and the steps' draws (``default_rng([seed, k])``:
        M image indices, uniform with replacement, then one blur index each).
    progress : bool
        A progress line on stderr.

    Returns
    -------
    (MultiScaleDiscriminator, dict)
        D2 (in eval mode, on ``device``), and ``{"accuracy": {"sharp", "gaussian", "median",
        "bilateral", "overall"}, "overall_by_scale", "held_out": N_test, "steps", "batch",
        "final_loss", "skipped_steps"}``: the held-out accuracies of :func:`blur_accuracies`
        (and each scale's alone, coarse to fine) and the mean loss of the last (up to) 50 steps;
        a step with a non-finite loss or gradient norm is skipped (not applied): each step ends
        in adversarial training's D update (:func:`sharpvid.fast.training.step.update`).

    Notes
    -----
    The loss of a step is Eq. (3) with real = sharp and fake = blurred:

    .. math:: \\sum_k L_{bce}(D2_k(Y_k), 1) + L_{bce}(D2_k(\\mathrm{blur}(Y)_k), 0)

    Examples
    --------
    >>> from sharpvid.fast.config import load_config
    >>> images = np.random.default_rng(0).integers(0, 256, (8, 3, 32, 32), dtype=np.uint8)
    >>> d2, metrics = pretrain_blur_detector(load_config("tiny"), images, images, steps=2,
    ...                                      batch=4, device="cpu")
    >>> sorted(metrics["accuracy"])
    ['bilateral', 'gaussian', 'median', 'overall', 'sharp']
    """
    from sharpvid.fast.devices import resolve_device
    from sharpvid.fast.imageio import Progress
    from sharpvid.fast.pyramid import frame_pyramid
    from sharpvid.fast.training.critics import judge, make_d_optimizer
    from sharpvid.fast.training.dist import Dist
    from sharpvid.fast.training.optim import scheduled_lr, set_lr
    from sharpvid.fast.training.step import update
    from sharpvid.fast.video.clips import to_model

    if cfg.patch != IMAGE_SIZE:
        raise ValueError(f"the blur detector is pretrained on {IMAGE_SIZE}x{IMAGE_SIZE} images; "
                         f"the config's patch must be {IMAGE_SIZE}, got {cfg.patch}")
    images_train = _check_images(images_train, "images_train")
    images_test = _check_images(images_test, "images_test")
    if steps < 0 or batch < 1:
        raise ValueError(f"steps must be >= 0 and batch >= 1, got {steps} and {batch}")
    device = resolve_device(device)
    torch.manual_seed(seed)
    d2 = build_blur_detector(cfg, device)
    opt = make_d_optimizer(cfg, d2.parameters())
    bar = Progress(steps, "pretrain D2", unit="steps", every=1.0) if progress else None
    losses: list[float] = []
    skipped = 0
    d2.train()
    for k in range(steps):
        set_lr(opt, scheduled_lr(cfg.d_lr_schedule, cfg.d_lr, cfg.d_lr_final, k, steps))
        rng = np.random.default_rng([seed, k])
        idx = rng.integers(len(images_train), size=batch)
        kinds = rng.integers(len(BLURS), size=batch).tolist()
        sharp = to_model(images_train[idx], device)  # (M, 3, 32, 32)
        blurry = blurred(sharp, kinds, cfg)
        pyramid = frame_pyramid(torch.cat([sharp, blurry]), d2.config.n_scales)
        scores = d2.logits(None, pyramid)  # (2M,) per scale
        # Eq. (3): sharp -> 1, blurred -> 0, from the logits, and training's D update
        loss, acc_real, acc_fake = judge([s[:batch] for s in scores], [s[batch:] for s in scores])
        logged, bad = update(loss, [("d", d2, opt)],
                             {"d/loss": loss, "d/acc_real": acc_real, "d/acc_fake": acc_fake},
                             grad_clip=cfg.grad_clip, dist=Dist())
        if bad:
            skipped += 1
        else:
            losses.append(logged["d/loss"])
        if bar is not None:
            bar.step(f"loss {logged['d/loss']:.4g} batch acc "
                     f"{(logged['d/acc_real'] + logged['d/acc_fake']) / 2:.2f}")
    d2.eval()
    accuracy, by_scale = blur_accuracies(d2, images_test, cfg, device=device)
    tail = losses[-50:]
    metrics = {"accuracy": accuracy, "overall_by_scale": by_scale,
               "held_out": int(len(images_test)), "steps": int(steps),
               "batch": int(batch),
               "final_loss": sum(tail) / len(tail) if tail else None,
               "skipped_steps": skipped}
    return d2, metrics


def checkpoint_state(cfg, d2, pretrain: dict) -> dict:
    """What ``sharpvid train --init_d2`` reads: ``config``, ``kind = "blur-detector"``,
    ``critics = {"blur": D2's weights}`` (on the CPU) and the ``pretrain`` record; no
    generator."""
    return {"config": cfg.to_dict(), "kind": "blur-detector",
            "critics": {"blur": {k: v.detach().cpu() for k, v in d2.state_dict().items()}},
            "pretrain": pretrain}


def print_table(accuracy: dict, held_out: int, by_scale: Sequence[float] = (), file=None) -> None:
    """The held-out accuracies as a small Markdown table (on stdout by default)."""
    file = file or sys.stdout
    print(f"held-out accuracy of D2 on {held_out} images (called sharp: mean over scales of "
          f"D2's probability > 0.5)", file=file)
    print("| images | called | accuracy |\n| --- | --- | --- |", file=file)
    print(f"| sharp | sharp | {accuracy['sharp']:.3f} |", file=file)
    for name in BLURS:
        print(f"| {name} | blurry | {accuracy[name]:.3f} |", file=file)
    print(f"| overall (balanced) | | {accuracy['overall']:.3f} |", file=file)
    if by_scale:
        print("each scale alone, coarse to fine (balanced): "
              + " ".join(f"{a:.3f}" for a in by_scale), file=file)
