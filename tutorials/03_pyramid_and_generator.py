# %% [markdown]
# # 03: The image pyramid and the multi-scale generator
#
# The generator of the paper predicts the next frame coarse to fine: first a tiny version of
# it, then versions twice as large, each refining the one below. This tutorial builds the
# pieces one at a time, with small numbers you can check, and then runs one forward pass of
# the generator.
#
# You will learn:
#
# - how frames are shrunk (average pooling) and enlarged (nearest neighbour, or bilinear as in
#   the TF reimplementation) between scales;
# - the pyramid of inputs and targets, and how each scale adds detail to the upsampled
#   prediction of the scale below;
# - the generator's weights, scale by scale, and what each scale predicts;
# - that the same weights in the PyTorch generator (`sharpvid.fast.networks`) give the oracle's
#   prediction (`sharpvid.reference.networks`).
#
# The generator here is untrained: its predictions show the shapes and the data flow, not a
# good forecast. Run it with `python tutorials/03_pyramid_and_generator.py`; figures go to
# `tutorial-output/03_pyramid_and_generator/`.
#
# **References**
#
# - M. Mathieu, C. Couprie, Y. LeCun, "Deep multi-scale video prediction beyond mean square
#   error", ICLR 2016, [arXiv:1511.05440](https://arxiv.org/abs/1511.05440): Sec. 2.1
#   (multi-scale network) and the architecture table of the experiments. How the authors' code
#   and the TF reimplementation differ from the paper (upsampling, residual, sizes) is in the
#   module docstrings of `reference/pyramid.py` and `reference/networks.py`.

# %%
import numpy as np
import torch

from _tutorial import output_dir, save_figure, size

import sharpvid.fast.networks
import sharpvid.fast.pyramid
import sharpvid.reference.networks
import sharpvid.reference.pyramid
from sharpvid import fast, reference  # the modules above, by their short names
from sharpvid.fast.figures import comparison_grid, scale_grid
from sharpvid.fast.video.synthetic import synthetic_video

OUT = output_dir("03_pyramid_and_generator")  # by name: a notebook knows no file path
np.set_printoptions(precision=3, suppress=True, linewidth=100)
torch.manual_seed(0)


def t(x):
    """A NumPy array as a float64 torch tensor, for the fast twins."""
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


# %% [markdown]
# ## 1. Shrinking: average pooling
#
# Scale $k$ sees the frames shrunk by $2^{N-1-k}$ ($N = 4$ scales; with 32x32 training patches:
# 4x4, 8x8, 16x16, 32x32). The shrinking $d$ is average pooling over non-overlapping blocks,
# as in the authors' code: `sharpvid.reference.pyramid.downsample`.

# %%
x = np.arange(16.0).reshape(4, 4)
print("x:\n", x)
small = reference.pyramid.downsample(x, 2)
print("downsample(x, 2), each value the mean of a 2x2 block:\n", small)
assert small[0, 0] == np.mean([0, 1, 4, 5])
np.testing.assert_allclose(fast.pyramid.downsample(t(x), 2).numpy(), small, rtol=1e-12)
print("fast.pyramid.downsample agrees")

# %% [markdown]
# ## 2. Enlarging: nearest neighbour or bilinear
#
# The upsampling $u_k$ doubles the size of the coarser prediction so that it can be combined
# with scale $k$: `sharpvid.reference.pyramid.upsample`. The authors repeat each pixel (nearest
# neighbour); the TF reimplementation interpolates bilinearly (`mode="bilinear"`, computed
# here with half-pixel centres and clamped edges, see the module's Convention).

# %%
coarse = np.array([[-1.0, 1.0],
                   [0.0, 0.5]])
nearest = reference.pyramid.upsample(coarse, 2)
bilinear = reference.pyramid.upsample(coarse, 2, mode="bilinear")
print("nearest:\n", nearest)
print("bilinear:\n", bilinear)
for mode, ref in (("nearest", nearest), ("bilinear", bilinear)):
    np.testing.assert_allclose(fast.pyramid.upsample(t(coarse), 2, mode=mode).numpy(), ref,
                               rtol=1e-12, atol=1e-15)
print("fast.pyramid.upsample agrees in both modes")
# averaging a nearest-upsampled frame gives the frame back: d_2(u_2(x)) = x
np.testing.assert_allclose(reference.pyramid.downsample(nearest, 2), coarse)

# %% [markdown]
# ## 3. The pyramid of a frame
#
# `sharpvid.reference.pyramid.frame_pyramid` returns the frames at every scale, coarse to fine:
# $[d_{2^{N-1}}(x), \dots, d_2(x), x]$. The inputs $X_k$ and the targets $Y_k$ of scale $k$
# are the pyramids of the input frames and of the target frame.
#
# The data: a clip of the synthetic world (`sharpvid.fast.video.synthetic`, no download), 5 frames
# of 64x64 (32x32 in the quick run), pixels mapped to [-1, 1] with the authors' `x * 2 / 255 - 1`.
# The first 4 frames are the input, the 5th the target.

# %%
S = size(64, 32)
clip = synthetic_video(seed=3, frames=5, height=S, width=S)  # uint8 (T, H, W, C)
clip = clip.astype(np.float64).transpose(0, 3, 1, 2) * 2 / 255 - 1  # (T, C, H, W) in [-1, 1]
inputs, target = clip[:4], clip[4]  # X (m=4, C, H, W), Y (C, H, W)

N = 4
targets = reference.pyramid.frame_pyramid(target, N)  # Y_0 ... Y_3
for k, y_k in enumerate(targets):
    print(f"Y_{k}: {y_k.shape}")
for ref, twin in zip(targets, fast.pyramid.frame_pyramid(t(target), N)):
    np.testing.assert_allclose(twin.numpy(), ref, rtol=1e-12, atol=1e-15)
print("fast.pyramid.frame_pyramid agrees")

# %% [markdown]
# What does each scale add? Enlarge $Y_{k-1}$ and subtract it from $Y_k$: the difference is
# the detail that scale $k$ has and the scale below lacks. The generator predicts in the same
# way, each scale adding a correction to the enlarged coarser prediction (section 4). The
# figure shows the pyramid (top row, every scale enlarged with nearest neighbour to twice the
# full size) and the detail each scale adds (bottom row, values magnified 4x; the first entry
# is $Y_0$ itself):

# %%


def to_full(img):
    """Any scale of the pyramid enlarged to 2S x 2S by repeating pixels, for the figure."""
    return reference.pyramid.upsample(img, 2 * S // img.shape[-1])


details = [targets[0]] + [targets[k] - reference.pyramid.upsample(targets[k - 1], 2)
                          for k in range(1, N)]
for k, d in enumerate(details[1:], start=1):
    print(f"scale {k}: mean |Y_{k} - u(Y_{k - 1})| = {np.abs(d).mean():.4f}")
columns = {}
for k in range(N):
    side = targets[k].shape[-1]
    top, bottom = to_full(targets[k]), to_full(details[k]) * (1 if k == 0 else 4)
    columns[f"scale {k}, {side}x{side}"] = np.stack([top, bottom])
save_figure(OUT, "pyramid", comparison_grid(columns))

# %% [markdown]
# ## 4. Combining scales
#
# Scale $k$ computes a correction $G'_k$ from its inputs and the enlarged coarser prediction,
# adds it to that prediction, and squashes the sum into (-1, 1) with tanh (the authors' code;
# the paper's equation has no tanh):
#
# $$\hat Y_k = \tanh\big(u_k(\hat Y_{k-1}) + G'_k(X_k, u_k(\hat Y_{k-1}))\big)$$
#
# implemented by `sharpvid.reference.pyramid.laplacian_step` (named after the Laplacian pyramid,
# whose levels store the detail of the previous section). On tiny numbers:

# %%
y_coarse = np.array([[0.5]])  # \hat Y_{k-1}, 1x1
correction = np.array([[0.1, -0.1],
                       [0.3, 0.0]])  # G'_k(...), 2x2
by_hand = np.tanh(0.5 + correction)
step = reference.pyramid.laplacian_step(y_coarse, correction)
print("tanh(0.5 + correction):\n", by_hand)
np.testing.assert_allclose(step, by_hand, rtol=1e-12)
np.testing.assert_allclose(fast.pyramid.laplacian_step(t(y_coarse), t(correction)).numpy(),
                           step, rtol=1e-12)
print("by hand, oracle and twin agree")
# squash=False: the paper's equation, the plain sum
print("squash=False:\n", reference.pyramid.laplacian_step(y_coarse, correction, squash=False))

# %% [markdown]
# ## 5. The generator, scale by scale
#
# `sharpvid.reference.networks.generator_forward` runs Sec. 2.1 with one set of weights per scale:
#
# $$\hat Y_0 = \tanh G'_0(X_0), \qquad
#   \hat Y_k = \tanh\big(u_k(\hat Y_{k-1}) + G'_k(X_k, u_k(\hat Y_{k-1}))\big),$$
#
# where $G'_k$ is a stack of same-size convolutions with ReLU between them. The architecture
# is data: `sharpvid.reference.networks.get_config` returns a `NetworkConfig`. The `tiny` one has
# the paper's structure with a handful of feature maps, small enough for a CPU. The first
# convolution of scale 0 reads the m = 4 input frames stacked on the channel axis
# (m C = 12 channels); at the other scales it also reads the enlarged coarser prediction
# (C = 3 more):

# %%
cfg = reference.networks.get_config("tiny")
print(f"scales N = {cfg.n_scales}, input frames m = {cfg.in_frames}, channels C = {cfg.channels}")
print(f"hidden feature maps per scale: {cfg.g_fmaps}")
print(f"kernel sizes per scale:        {cfg.g_kernels}")
print(f"upsampling {cfg.upsample_mode!r}, residual add {cfg.residual}")

shapes = reference.networks.generator_weight_shapes(cfg)
for k in range(cfg.n_scales):
    first = shapes[f"scales.{k}.convs.0.weight"]
    print(f"scale {k}: first conv weight (out, in, kh, kw) = {first}")
paper_shapes = reference.networks.generator_weight_shapes(reference.networks.get_config("paper"))
count = sum(int(np.prod(s)) for s in shapes.values())
paper = sum(int(np.prod(s)) for s in paper_shapes.values())
print(f"parameters: tiny config {count:,}; paper config {paper:,}")

# %% [markdown]
# The weights are a plain dict of arrays, drawn with torch's default initialisation rule by
# `sharpvid.reference.networks.init_generator_weights` from a seeded generator:

# %%
weights = reference.networks.init_generator_weights(cfg, rng=0)
print(list(weights)[:4], "...")

preds = reference.networks.generator_forward(weights, inputs, cfg)  # [\hat Y_0, ..., \hat Y_3]
for k, p in enumerate(preds):
    line = f"Y_hat_{k}: shape {p.shape}, values in [{p.min():+.3f}, {p.max():+.3f}]"
    if k:
        change = np.abs(p - reference.pyramid.upsample(preds[k - 1], 2)).mean()
        line += f", mean |Y_hat_{k} - u(Y_hat_{k - 1})| = {change:.3f}"
    print(line)

# %% [markdown]
# Each scale depends only on the scales below it. Change the weights of the finest scale
# only, and the three coarser predictions stay exactly the same:

# %%
changed = dict(weights)
changed["scales.3.convs.0.weight"] = weights["scales.3.convs.0.weight"] * 2
preds_changed = reference.networks.generator_forward(changed, inputs, cfg)
for k in range(cfg.n_scales):
    same = np.array_equal(preds[k], preds_changed[k])
    print(f"scale {k}: {'unchanged' if same else 'changed'}")
    assert same == (k < 3)

# %% [markdown]
# The figure shows, scale by scale, the prediction (`gen_k`) next to the target (`gt_k`),
# after the last input frame; coarse scales are enlarged with nearest neighbour. The weights
# are random, so the predictions are not expected to resemble the targets: training
# (later tutorials) is what makes them do so.

# %%
grid = scale_grid(inputs[-1][None], [p[None] for p in preds], [y[None] for y in targets])
save_figure(OUT, "generator_scales", grid)

# %% [markdown]
# ## 6. The same weights in the PyTorch generator
#
# `sharpvid.fast.networks.MultiScaleGenerator` is the twin used for training, an `nn.Module` whose
# `state_dict` keys are the oracle's weight names. `sharpvid.fast.networks.load_reference_weights`
# copies the oracle's dict into it (the same as `load_state_dict` on tensors). In float64 the
# two predictions agree to rounding; in float32 to float32 precision:

# %%
g64 = fast.networks.load_reference_weights(fast.networks.MultiScaleGenerator(cfg).double(),
                                           weights)
assert list(g64.state_dict()) == list(weights)
with torch.no_grad():
    twin64 = g64(t(inputs))
for k, (ref, tw) in enumerate(zip(preds, twin64)):
    gap = np.abs(tw.numpy() - ref).max()
    print(f"scale {k}: float64 twin, largest difference {gap:.1e}")
    np.testing.assert_allclose(tw.numpy(), ref, rtol=1e-10, atol=1e-12)

g32 = fast.networks.load_reference_weights(fast.networks.MultiScaleGenerator(cfg), weights)
with torch.no_grad():
    twin32 = g32(torch.as_tensor(inputs, dtype=torch.float32))
for k, (ref, tw) in enumerate(zip(preds, twin32)):
    gap = np.abs(tw.double().numpy() - ref).max()
    print(f"scale {k}: float32 twin, largest difference {gap:.1e}")
    np.testing.assert_allclose(tw.double().numpy(), ref, rtol=1e-4, atol=1e-5)

# the function form takes the oracle's arguments in the oracle's order
for ref, tw in zip(preds, fast.networks.generator_forward(weights, t(inputs), cfg)):
    np.testing.assert_allclose(tw.numpy(), ref, rtol=1e-10, atol=1e-12)
# and the module's weights go back to the oracle unchanged
back = fast.networks.to_reference_weights(g64)
assert all(np.array_equal(back[k], weights[k]) for k in weights)
print("fast.networks.generator_forward and to_reference_weights agree with the oracle")

# %% [markdown]
# ## 7. Any frame size
#
# The generator is made of convolutions only, so the same weights run on frames of any size
# whose sides are divisible by $2^{N-1} = 8$ (the pyramid must halve them three times), for
# example a non-square frame. (For other sizes the fast generator has `pad=True`, which pads
# and crops back; see `sharpvid.fast.networks.generator_forward`.)

# %%
wide = synthetic_video(seed=4, frames=4, height=S // 2, width=S + S // 2)
wide = wide.astype(np.float64).transpose(0, 3, 1, 2) * 2 / 255 - 1  # (4, C, S/2, 3S/2)
preds_wide = reference.networks.generator_forward(weights, wide, cfg)
print("scales:", [p.shape for p in preds_wide])
with torch.no_grad():
    for ref, tw in zip(preds_wide, g64(t(wide))):
        np.testing.assert_allclose(tw.numpy(), ref, rtol=1e-10, atol=1e-12)
print("oracle and twin agree on the non-square frame")

# %% [markdown]
# ## Summary
#
# - `sharpvid.reference.pyramid.downsample` (average pooling) and `upsample` (nearest, or bilinear)
#   move frames between scales; `frame_pyramid` gives $X_k$ and $Y_k$.
# - `sharpvid.reference.pyramid.laplacian_step`: each scale adds a correction to the enlarged
# coarser   prediction, then tanh.
# - `sharpvid.reference.networks.generator_forward` runs the scales coarse to fine with one set of
#   weights per scale; `sharpvid.fast.networks.MultiScaleGenerator` loads the same weights and gives
#   the same prediction.
