"""One step of Algorithm 1 (Mathieu, Couprie & LeCun 2016), to be read top to bottom.

:func:`train_step` sets the step's learning rates, runs the **D step** (Eq. 3) on M clips with
G fixed, then the **G step** (Eq. 6) on M new clips with the critics fixed.  Each ends in
:func:`update`: one backward, the gradient norms (clipped to ``grad_clip``), one read-back of
the logged values (averaged over ranks), and the optimiser steps only when every value is
finite (else the update is skipped and the bad names returned: :mod:`sharpvid.fast.training.guard`).

``run`` is the :class:`sharpvid.fast.training.loop.Trainer` (what a step reads: ``cfg``, ``g``,
``g_train``, ``g_opt``, ``critics``, ``vgg``, ``dist``, ``device``, ``step_no``, ``guard``).
With n = 1 the logged ``g/total`` and ``d/loss`` are exactly
:func:`sharpvid.reference.losses.combined_generator_loss` and
:func:`sharpvid.reference.losses.discriminator_loss` on the same batch, weights and labels (tested).
"""

from __future__ import annotations

import torch
from torch import nn

from sharpvid.fast.losses import aggregate_adversarial, generator_adversarial_loss
from sharpvid.fast.training.critics import critic_batch, critic_loss, frozen, instance_noise, labels
from sharpvid.fast.training.data import split_clip
from sharpvid.fast.training.dist import Dist
from sharpvid.fast.training.guard import nonfinite
from sharpvid.fast.training.objectives import (Rollout, adversarial_region, adversarial_weight,
                                               gdl_term, lp_term, mean_over_frames,
                                               perceptual_term, rollout)
from sharpvid.fast.training.optim import clip_grad_norm, scheduled_lr, set_lr


def train_step(run, next_clip) -> dict:
    """One step (D then G) at ``run.step_no``; ``next_clip()`` gives a batch ``(M, m + n, C, H,
    W)``.  Returns the step's values, with ``bad`` (the non-finite names) when there are any."""
    cfg, s = run.cfg, run.step_no
    lr_g = run.guard.lr_scale * scheduled_lr(cfg.g_lr_schedule, cfg.g_lr, cfg.g_lr_final, s,
                                             cfg.steps)
    lr_d = run.guard.lr_scale * scheduled_lr(cfg.d_lr_schedule, cfg.d_lr, cfg.d_lr_final, s,
                                             cfg.steps)
    set_lr(run.g_opt, lr_g)
    for critic in run.critics:
        set_lr(critic.optimizer, lr_d)
    values, bad = {"step": s + 1, "lr/g": lr_g}, []
    if run.critics:
        values["lr/d"] = lr_d
        d_values, d_bad = discriminator_step(run, next_clip())
        values.update(d_values)
        bad += d_bad
    g_values, g_bad, run.last_rollout = generator_step(run, next_clip())
    values.update(g_values)
    bad += g_bad
    return {**values, "bad": bad} if bad else values


def discriminator_step(run, clip: torch.Tensor) -> tuple[dict[str, float], list[str]]:
    """Eq. (3): every critic not frozen, on M clips, G fixed.  The critics' losses are summed
    for one backward: each only reaches its own weights."""
    cfg, trained = run.cfg, [c for c in run.critics if not c.frozen]
    if not trained:  # the only critic is a frozen D2: nothing to update
        return {}, []
    x, y = split_clip(clip, cfg.m)
    with torch.no_grad():
        fake = rollout(run.g, x, y, run.n_scales)  # \hat Y = G(X), G fixed
    n, b, s = y.shape[1], y.shape[0], run.step_no
    values: dict[str, torch.Tensor] = {}
    for c in trained:
        windows, frames, negatives = critic_batch(c, fake, cfg)  # real frames, then negatives
        scores = c.scores(windows, instance_noise(c, frames, cfg, s),
                          training=True)  # logits per scale, ((1 + negatives) n B,)
        real_t, fake_t = labels(cfg, run.dist.rank, s, b, negatives * b, run.device)
        # Eq. (3): Σ_k L_bce(D_k(X, Y_k), 1) + L_bce(D_k(X, G_k(X)), 0), mean over frames
        loss, acc_real, acc_fake = critic_loss(scores, n, b, real_t, fake_t)
        values.update({f"{c.prefix}/loss": loss, f"{c.prefix}/acc_real": acc_real,
                       f"{c.prefix}/acc_fake": acc_fake})
    total = sum(values[f"{c.prefix}/loss"] for c in trained)
    return update(total, [(c.prefix, c.module, c.optimizer) for c in trained], values,
                  grad_clip=cfg.grad_clip, dist=run.dist)


def generator_step(run, clip: torch.Tensor
                   ) -> tuple[dict[str, float], list[str], Rollout]:
    """Eq. (6): G on M new clips against the fixed critics.  Also returns the first predicted
    frame's rollout, detached (the pictures of ``samples/``)."""
    cfg, critics = run.cfg, run.critics
    x, y = split_clip(clip, cfg.m)
    r = rollout(run.g_train, x, y, run.n_scales)  # \hat Y_k = G_k(X), later frames recursively
    terms: dict[str, torch.Tensor] = {}
    if cfg.lam_lp > 0:
        terms["lp"] = lp_term(r, cfg.p)  # Eq. (1), summed over scales
    if cfg.lam_gdl > 0:
        terms["gdl"] = gdl_term(r, cfg.alpha)  # Eq. (5), summed over scales
    if cfg.lam_perc > 0:
        terms["perc"] = perceptual_term(r, run.vgg, cfg.perc_layers)  # the seed's VGG19 term
    # G's frames as the adversarial term sees them (adv_region "moving": its gradient reaches
    # only the moving pixels; the values are the same)
    seen = adversarial_region(r, cfg.adv_region, cfg.adv_region_threshold) if critics else []
    with frozen(critics):  # Eq. (4) against each critic: L_bce(D_k(X, G_k(X)), 1)
        adv = {c.name: mean_over_frames([
            generator_adversarial_loss(c.scores(w, instance_noise(c, p, cfg, run.step_no)),
                                       logits=True) for w, p in seen])
            for c in critics}
    if critics:  # one critic: its loss; several: mean, max or GMAN's softmax
        terms["adv"] = aggregate_adversarial(list(adv.values()), cfg.adv_aggregate,
                                             cfg.gman_lambda)
    t = dict.fromkeys(("lp", "gdl", "adv", "perc"), 0.0) | terms
    total = (cfg.lam_lp * t["lp"] + cfg.lam_gdl * t["gdl"]         # Eq. (6): λ_ℓp L_p + λ_gdl L_gdl
             + adversarial_weight(cfg, run.step_no) * t["adv"]     #   + λ_adv L^G_adv
             + cfg.lam_perc * t["perc"])                            # the seed's: + λ_perc L_perc
    values = {"g/total": total, **{f"g/{k}": v for k, v in terms.items()}}
    if len(critics) > 1:  # each critic's share, for the log (not weighted)
        values.update({f"g/adv_{name}": v for name, v in adv.items()})
    logged, bad = update(total, [("g", run.g, run.g_opt)], values, grad_clip=cfg.grad_clip,
                         dist=run.dist)
    return logged, bad, Rollout([x], [[p.detach() for p in r.preds[0]]], r.targets[:1],
                                r.real_windows[:1])


def update(loss: torch.Tensor, players: list[tuple[str, nn.Module, torch.optim.Optimizer]],
           values: dict[str, torch.Tensor], *, grad_clip: float, dist: Dist
           ) -> tuple[dict[str, float], list[str]]:
    """Backpropagate ``loss`` to each player ``(prefix, module, optimiser)``; log each one's
    gradient norm as ``<prefix>/grad_norm`` (clipped to ``grad_clip`` when > 0); read the values
    back once; step every optimiser only when all are finite.  Returns the values as floats and
    the non-finite names (then nothing was updated)."""
    for _, _, optimizer in players:
        optimizer.zero_grad(set_to_none=True)
    loss.backward()
    for prefix, module, _ in players:
        values[f"{prefix}/grad_norm"] = clip_grad_norm(module.parameters(), grad_clip)
    logged = dist.mean_to_host(values)
    bad = nonfinite(logged)
    if not bad:
        for _, _, optimizer in players:
            optimizer.step()
    return logged, bad
