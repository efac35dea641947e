# %% [markdown]
# # 01: Why the ℓ2 loss blurs, and what the gradient difference loss changes
#
# Mathieu et al. observe that a network trained with the ℓ2 loss to predict the next frame of
# a video makes blurry predictions. This tutorial shows why with numbers you can check by hand,
# then compares three image losses of the paper (ℓ1, ℓ2 and the gradient difference loss, GDL)
# on a few small images.
#
# You will learn:
#
# - why the ℓ2-best prediction of an uncertain pixel is the mean of its possible values, and
#   the ℓ1-best is a median;
# - how this turns an edge that may move left or right into a blurred double edge;
# - what the gradient difference loss (Eq. 5) rewards, where it prefers a sharp frame to a
#   blurred one, and where it does not;
# - that the NumPy oracle (`reference/`) and the PyTorch twin (`fast/`) of each loss agree.
#
# Pixels are in [-1, 1], as everywhere in sharpvid. Run it with
# `python tutorials/01_why_l2_blurs.py`; the figures go to `tutorial-output/01_why_l2_blurs/`.
#
# **References**
#
# - M. Mathieu, C. Couprie, Y. LeCun, "Deep multi-scale video prediction beyond mean square
#   error", ICLR 2016, [arXiv:1511.05440](https://arxiv.org/abs/1511.05440): Sec. 2.2-3,
#   Eqs. 1, 5 and 6.

# %%
import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from _tutorial import output_dir, save_figure, size

import sharpvid.fast.losses
import sharpvid.reference.losses
from sharpvid import fast, reference  # the modules above, by their short names
from sharpvid.fast.figures import comparison_grid
from sharpvid.reference.blur import gaussian_blur

OUT = output_dir("01_why_l2_blurs")  # by name: a notebook knows no file path
np.set_printoptions(precision=3, suppress=True, linewidth=100)


def t(x):
    """A NumPy array as a float64 torch tensor, for the fast twins."""
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def zoom(frames, k=3):
    """Frames ``(..., H, W)`` with every pixel repeated k x k times, for the figures."""
    return np.repeat(np.repeat(frames, k, axis=-2), k, axis=-1)


# %% [markdown]
# ## 1. One uncertain pixel
#
# The ℓp loss of Eq. 1, $\mathcal L_p(\hat Y, Y) = \|\hat Y - Y\|_p^p$, is implemented by
# `sharpvid.reference.losses.lp_loss` as a **mean** over the pixels, $\frac1N\sum_i|\hat Y_i -
# Y_i|^p$.
#
# Take one pixel whose next value is -1 or +1 with probability 1/2 each (an edge that may land
# on it or not). A network that sees the same input many times cannot know which one comes, so
# the best it can do is the constant $c$ that minimises the **expected** loss
#
# $$E\,|c - Y|^p = \tfrac12 |c + 1|^p + \tfrac12 |c - 1|^p .$$
#
# With the two outcomes in an array, `lp_loss(c, outcomes, p)` is exactly this average. We scan
# a grid of constants and look for the smallest expected loss.

# %%
constants = np.linspace(-1.5, 1.5, size(301, 61))  # steps of 0.01 (0.05 in the quick run)
outcomes = np.array([-1.0, 1.0])  # equally likely


def expected_lp(c, outcomes, p):
    """E|c - Y|^p with Y uniform over ``outcomes``: Eq. 1, mean over the outcomes."""
    return reference.losses.lp_loss(np.full_like(outcomes, c), outcomes, p=p)


l2 = np.array([expected_lp(c, outcomes, 2) for c in constants])
l1 = np.array([expected_lp(c, outcomes, 1) for c in constants])
print("c        :", constants[:: len(constants) // 6])
print("E l2 loss:", l2[:: len(constants) // 6])
print("E l1 loss:", l1[:: len(constants) // 6])
best_l2 = constants[np.argmin(l2)]
ties_l1 = constants[np.isclose(l1, l1.min())]
print(f"l2-best constant: {best_l2:+.2f}  (the mean of -1 and +1)")
print(f"l1-best constants: every c in [{ties_l1.min():+.2f}, {ties_l1.max():+.2f}]  "
      f"(all medians of a 50/50 outcome)")
assert abs(best_l2) < 1e-9 and np.isclose(ties_l1.min(), -1) and np.isclose(ties_l1.max(), 1)

# %% [markdown]
# The ℓ2-best value is 0, the mean: a grey that **never occurs**. ℓ1 is flat on [-1, 1]:
# with even odds every value between the two outcomes is a median, so ℓ1 has no preference.
#
# Make the odds uneven (+1 with probability 0.7). Ten equally likely outcomes, seven of them +1,
# give the same expectation:

# %%
uneven = np.array([-1.0] * 3 + [1.0] * 7)
l2_uneven = np.array([expected_lp(c, uneven, 2) for c in constants])
l1_uneven = np.array([expected_lp(c, uneven, 1) for c in constants])
print(f"P(+1) = 0.7: l2-best c = {constants[np.argmin(l2_uneven)]:+.2f} (mean 0.4), "
      f"l1-best c = {constants[np.argmin(l1_uneven)]:+.2f} (median +1)")
assert np.isclose(constants[np.argmin(l2_uneven)], 0.4)
assert np.isclose(constants[np.argmin(l1_uneven)], 1.0)

# %% [markdown]
# ℓ2 still answers with a value in between (0.4), ℓ1 with the likelier of the two real
# outcomes. In general, ℓ2's minimiser is the mean of the possible futures and ℓ1's is a
# median.
#
# **Oracle and twin.** `sharpvid.fast.losses.lp_loss` is the PyTorch twin of
# `sharpvid.reference.losses.lp_loss` (the one used in training, on tensors, differentiable). On
# every constant of the grid they give the same number:

# %%
twin_l2 = [fast.losses.lp_loss(t(np.full(2, c)), t(outcomes), p=2).item() for c in constants]
twin_l1 = [fast.losses.lp_loss(t(np.full(2, c)), t(outcomes), p=1).item() for c in constants]
np.testing.assert_allclose(twin_l2, l2, rtol=1e-12, atol=1e-12)
np.testing.assert_allclose(twin_l1, l1, rtol=1e-12, atol=1e-12)
gap = max(np.abs(np.subtract(twin_l2, l2)).max(), np.abs(np.subtract(twin_l1, l1)).max())
print(f"lp_loss: oracle and twin agree on {2 * len(constants)} values (largest gap {gap:.1e})")

# %% [markdown]
# A picture of the two expected losses over $c$ (drawn with Pillow; matplotlib is not needed):


# %%
def line_plot(xs, curves, width=420, height=260, pad=36):
    """A minimal line plot: ``curves`` maps a label to (ys, RGB colour); returns uint8 (H, W, 3)."""
    img = Image.new("RGB", (width, height), "white")
    draw, font = ImageDraw.Draw(img), ImageFont.load_default()
    y_max = max(float(np.max(ys)) for ys, _ in curves.values())
    x0, x1, y0, y1 = pad, width - 10, height - pad, 10  # plot box, y grows downwards

    def px(x, y):
        return (x0 + (x - xs[0]) / (xs[-1] - xs[0]) * (x1 - x0), y0 - y / y_max * (y0 - y1))

    draw.rectangle([x0, y1, x1, y0], outline="black")
    for tick in (-1.0, 0.0, 1.0):
        x, _ = px(tick, 0)
        draw.line([x, y0, x, y0 + 4], fill="black")
        draw.text((x - 6, y0 + 6), f"{tick:+.0f}", fill="black", font=font)
    draw.text(((x0 + x1) / 2 - 40, height - 16), "prediction c", fill="black", font=font)
    draw.text((4, y1), f"{y_max:.1f}", fill="black", font=font)
    draw.text((4, y0 - 10), "0", fill="black", font=font)
    for row, (label, (ys, colour)) in enumerate(curves.items()):
        draw.line([px(x, y) for x, y in zip(xs, ys)], fill=colour, width=2)
        draw.text((px(-0.9, 0)[0], y1 + 6 + 14 * row), label, fill=colour, font=font)
    return np.asarray(img)


save_figure(OUT, "bimodal_pixel_losses", line_plot(constants, {
    "E l2 loss, smallest at the mean c = 0": (l2, (200, 30, 30)),
    "E l1 loss, flat on [-1, 1]": (l1, (30, 60, 200)),
}))

# %% [markdown]
# ## 2. An edge that may move left or right
#
# Now a whole frame. The current frame has a vertical edge (dark -1 on the left, bright +1 on
# the right). In the next frame the edge has moved, and the input does not say which way. Every
# pixel between the possible positions is one of those uncertain pixels, so the ℓ2-best frame
# is the per-pixel **mean** of the possible futures and the ℓ1-best one a per-pixel **median**.
#
# Two cases: the edge moves 4 pixels left or 4 right (two futures), or it moves by -4, -2, 0, 2
# or 4 pixels (five futures), each equally likely.

# %%
H, W = 40, 80


def edge_frame(column, shape=(H, W)):
    """-1 left of ``column``, +1 from ``column`` on."""
    frame = -np.ones(shape)
    frame[:, column:] = 1.0
    return frame


now = edge_frame(W // 2)
two = np.stack([edge_frame(W // 2 + s) for s in (-4, 4)])  # (2, H, W)
five = np.stack([edge_frame(W // 2 + s) for s in (-4, -2, 0, 2, 4)])  # (5, H, W)
cols = slice(W // 2 - 6, W // 2 + 6)
print("columns      :", np.arange(W)[cols] - W // 2)
print("mean of two  :", two.mean(0)[0, cols])
print("mean of five :", five.mean(0)[0, cols])
print("median five  :", np.median(five, axis=0)[0, cols])

# %% [markdown]
# The mean of two futures is a **double edge** with a grey band between; the mean of five is a
# ramp, a **blurred** edge. The median of five is a sharp edge (the middle future). With two
# futures the median is not unique: on the band every value in [-1, 1] is one, so a sharp
# future is as good for ℓ1 as the grey band.
#
# The expected loss of a candidate frame is its ℓp loss averaged over the futures, which is
# `lp_loss` of the candidate repeated once per future against the stack of futures:

# %%


def expected(loss, candidate, futures, **kw):
    """Mean over equally likely ``futures`` of ``loss(candidate, future)``."""
    return float(np.mean([loss(candidate, f, **kw) for f in futures]))


for name, futures, candidates in (
    ("two futures", two, {"mean": two.mean(0), "future -4": two[0], "future +4": two[1]}),
    ("five futures", five, {"mean": five.mean(0), "median": np.median(five, axis=0),
                            "future -4": five[0]}),
):
    print(name)
    for label, cand in candidates.items():
        e2 = expected(reference.losses.lp_loss, cand, futures, p=2)
        e1 = expected(reference.losses.lp_loss, cand, futures, p=1)
        # the same number with one call on the stack of futures
        assert np.isclose(e2, reference.losses.lp_loss(np.broadcast_to(cand, futures.shape),
                                                       futures, p=2))
        print(f"  {label:10s} E l2 = {e2:.4f}   E l1 = {e1:.4f}")

# %% [markdown]
# With two futures, the mean halves the expected ℓ2 loss of a sharp guess, while ℓ1 scores
# them the same. With five, the mean (ramp) is ℓ2's best and the median (sharp) is ℓ1's best.
# The figure shows the current frame and the two best frames, one row per case (two futures,
# then five), enlarged 3x and drawn at 80 % contrast so that the white half stands out from
# the white lines of the grid:

# %%
grid = comparison_grid({  # (B, C, H, W) per column
    "now": 0.8 * zoom(np.stack([now, now])[:, None]),
    "l2-best, the mean": 0.8 * zoom(np.stack([two.mean(0), five.mean(0)])[:, None]),
    "l1-best, a median": 0.8 * zoom(np.stack([two[0], np.median(five, axis=0)])[:, None]),
})
save_figure(OUT, "edge_futures", grid)

# %% [markdown]
# ## 3. ℓ1, ℓ2 and the gradient difference loss on the uncertain edge
#
# The paper adds a loss on image gradients, the gradient difference loss of Eq. 5,
# implemented by `sharpvid.reference.losses.gdl_loss` (mean over the terms that exist, α = 1 by
# default):
#
# $$\mathcal L_{gdl}(\hat Y, Y) = \sum_{i,j}
#   \big||Y_{i,j}-Y_{i-1,j}| - |\hat Y_{i,j}-\hat Y_{i-1,j}|\big|^\alpha
#   + \big||Y_{i,j-1}-Y_{i,j}| - |\hat Y_{i,j-1}-\hat Y_{i,j}|\big|^\alpha .$$
#
# It compares the **magnitudes** of the gradients of the two frames at the same pixel. Back to
# the two futures (edge at -4 or +4): consider the candidates that are -1 left of both
# positions, +1 right of both, and a grey value $v$ on the band between. $v = 0$ is the mean
# (double edge); $v = \pm 1$ are the two sharp futures. For each $v$, the expected ℓ2, ℓ1, GDL
# (α = 1 and α = 2), and the paper's combined loss of Eq. 6 without its adversarial term,
# $\mathcal L_2 + \mathcal L_{gdl}$ (`sharpvid.reference.losses.combined_generator_loss` with no
# discriminator output and λ_ℓp = λ_gdl = 1):

# %%
left, right = W // 2 - 4, W // 2 + 4


def band(v):
    """The candidate with value ``v`` between the two possible edge positions."""
    frame = -np.ones((H, W))
    frame[:, left:right] = v
    frame[:, right:] = 1.0
    return frame


values = np.linspace(-1.0, 1.0, size(9, 5))
rows = []
print("    v     E l2    E l1   E gdl(a=1)  E gdl(a=2)  E (l2 + gdl)")
for v in values:
    c = band(v)
    row = [expected(reference.losses.lp_loss, c, two, p=2),
           expected(reference.losses.lp_loss, c, two, p=1),
           expected(reference.losses.gdl_loss, c, two, alpha=1),
           expected(reference.losses.gdl_loss, c, two, alpha=2),
           float(np.mean([reference.losses.combined_generator_loss([c], [f]) for f in two]))]
    rows.append(row)
    print(f"{v:+5.2f}  " + "  ".join(f"{x:9.5f}" for x in row))
rows = np.array(rows)
assert np.argmin(rows[:, 0]) == len(values) // 2  # l2: the mean
assert np.ptp(rows[:, 1]) < 1e-12 and np.ptp(rows[:, 2]) < 1e-12  # l1 and GDL(1): flat
assert np.argmin(rows[:, 4]) == len(values) // 2  # l2 + GDL: still the mean

# %% [markdown]
# What the table shows:
#
# - ℓ2 is smallest at $v = 0$: it pulls the band to the mean grey.
# - ℓ1 and GDL with α = 1 are **flat**: they do not pull towards the mean, but they do not
#   prefer a sharp future either. (For GDL: the predicted gradient magnitudes at the two
#   positions are $1+v$ and $1-v$; against the future whose edge is at -4, with true
#   magnitudes 2 and 0, the terms are $(1-v) + (1-v)$; against the other, $(1+v) + (1+v)$; the
#   average does not depend on $v$.)
# - GDL with α = 2 behaves like ℓ2, and so does the sum ℓ2 + GDL: its minimum is still the
#   mean. On a truly uncertain edge the paper's ℓ2 + GDL does not remove the blur. The third
#   term of Eq. 6, the adversarial loss (Eqs. 3-4, `04_adversarial_training.py`), does not
#   compare the prediction with one target at all: a discriminator judges whether it looks
#   like a real frame.
#
# **Oracle and twin.** `sharpvid.fast.losses.gdl_loss` and `sharpvid.fast.losses.lp_loss` give the
# same numbers on every candidate and future:

# %%
worst = 0.0
for v in values:
    for f in two:
        for p in (1, 2):
            ref = reference.losses.lp_loss(band(v), f, p=p)
            twin = fast.losses.lp_loss(t(band(v)), t(f), p=p).item()
            np.testing.assert_allclose(twin, ref, rtol=1e-12, atol=1e-12)
            worst = max(worst, abs(twin - ref))
        for alpha in (1, 2):
            ref = reference.losses.gdl_loss(band(v), f, alpha=alpha)
            twin = fast.losses.gdl_loss(t(band(v)), t(f), alpha=alpha).item()
            np.testing.assert_allclose(twin, ref, rtol=1e-12, atol=1e-12)
            worst = max(worst, abs(twin - ref))
print(f"lp_loss and gdl_loss: oracle and twin agree (largest gap {worst:.1e})")

# %% [markdown]
# ## 4. What GDL rewards: a sharp frame in the wrong place against a blurred one
#
# Uncertainty aside, a prediction can be wrong in two ways: **sharp but shifted** (the model got
# the motion a little wrong) or **blurred but in place**. Take a bright 24x24 square on a dark
# background; the truth is the square at its place, the sharp candidate is the same square
# moved 2 pixels right, and the blurred candidate is the truth through the seed's Gaussian blur
# (5x5, variance 5, `sharpvid.reference.blur.gaussian_blur`).

# %%
S = 64


def square(x0, y0=20, side=24):
    frame = -np.ones((S, S))
    frame[y0 : y0 + side, x0 : x0 + side] = 1.0
    return frame


truth = square(20)
shifted = square(22)
blurred = gaussian_blur(truth)  # 5x5, variance 5, mirrored borders


def scores(candidate, target):
    return {"l2": reference.losses.lp_loss(candidate, target, p=2),
            "l1": reference.losses.lp_loss(candidate, target, p=1),
            "gdl": reference.losses.gdl_loss(candidate, target, alpha=1)}


sq = {"sharp, shifted 2 px": scores(shifted, truth), "blurred, in place": scores(blurred, truth)}
for label, s in sq.items():
    print(f"square  {label:20s} " + "  ".join(f"{k} = {v:.4f}" for k, v in s.items()))
a, b = sq.values()
assert b["l2"] < a["l2"] and a["gdl"] < b["gdl"]  # l2 prefers the blur, GDL the sharp square

# %% [markdown]
# ℓ2 prefers the blurred square (its errors are small everywhere, and squaring makes small
# errors cheap); GDL prefers the shifted one. Why: the blur lowers the gradient magnitude along
# all four sides, while a horizontal shift moves only the two vertical sides. The top and
# bottom sides slide along themselves, so their gradient magnitudes stay where they were
# (except at their ends), and GDL, which compares magnitudes pixel by pixel, does not see that
# part of the shift. (Here ℓ1 also prefers the sharp square, narrowly.)
#
# This is not a rule for every shape. A single straight edge moved across itself keeps nothing
# in place: the shifted edge costs GDL a missing edge and an extra one, and the blur wins:

# %%
edge_truth = edge_frame(S // 2, (S, S))
edge_shifted = edge_frame(S // 2 + 2, (S, S))
ed = {"sharp, shifted 2 px": scores(edge_shifted, edge_truth),
      "blurred, in place": scores(gaussian_blur(edge_truth), edge_truth)}
for label, s in ed.items():
    print(f"edge    {label:20s} " + "  ".join(f"{k} = {v:.4f}" for k, v in s.items()))
a, b = ed.values()
assert b["gdl"] < a["gdl"]

# %% [markdown]
# The twins agree on these frames too, and the figure shows the square case:

# %%
for cand, target in ((shifted, truth), (blurred, truth), (edge_shifted, edge_truth),
                     (gaussian_blur(edge_truth), edge_truth)):
    for p in (1, 2):
        np.testing.assert_allclose(fast.losses.lp_loss(t(cand), t(target), p=p).item(),
                                   reference.losses.lp_loss(cand, target, p=p), rtol=1e-12)
    np.testing.assert_allclose(fast.losses.gdl_loss(t(cand), t(target)).item(),
                               reference.losses.gdl_loss(cand, target), rtol=1e-12)
print("lp_loss and gdl_loss: oracle and twin agree on the square and edge frames")

save_figure(OUT, "sharp_vs_blurred", comparison_grid({
    "truth": zoom(truth[None, None]),
    "sharp, 2 px to the right": zoom(shifted[None, None]),
    "blurred, in place": zoom(blurred[None, None]),
}))

# %% [markdown]
# ## Summary
#
# - For an uncertain pixel, ℓ2's best prediction is the mean of the possible values and ℓ1's
#   is a median; over a frame, the mean of possible futures is a blurred or doubled edge.
# - ℓ1 and GDL (α = 1) do not pull an uncertain edge towards the mean, but neither prefers a
#   sharp future; ℓ2 + GDL still prefers the mean.
# - GDL compares gradient magnitudes pixel by pixel: it penalises blur, which lowers them
#   everywhere, and it does not see shifts that leave them in place (a side sliding along
#   itself). Whether it prefers a sharp-but-shifted frame to a blurred one depends on the shape.
# - `sharpvid.fast.losses.lp_loss` and `sharpvid.fast.losses.gdl_loss` give the oracle's numbers.
#
# Next: how predictions are scored (PSNR, sharpness), in `02_metrics.py`.
