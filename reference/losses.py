"""The training losses of Mathieu, Couprie & LeCun 2016, "Deep multi-scale video prediction beyond
mean square error", ICLR 2016, arXiv:1511.05440 (Sec. 2-3), and the GAN label-smoothing stabiliser.

- Eq. (1)  ℓp loss              :func:`lp_loss`
- Eq. (5)  gradient difference  :func:`gdl_loss`
- L_bce                          :func:`bce`
- Eq. (3)  L_adv^D               :func:`discriminator_loss`
- Eq. (4)  L_adv^G               :func:`generator_adversarial_loss`
- Eq. (6)  combined G loss       :func:`combined_generator_loss`
- label smoothing (Salimans et al. 2016; "ganhacks")  :func:`smoothed_labels`
- several discriminators: mean, max or GMAN's softmax-weighted mean (Durugkar, Gemp & Mahadevan,
  "Generative Multi-Adversarial Networks", ICLR 2017)  :func:`aggregate_adversarial`

Convention
----------
Every loss is a **mean** over the elements (or terms) it sums in the paper's notation.  The authors'
Torch criteria (``MSECriterion``, ``BCECriterion``, their ``GDLCriterion``) average by default, and
the paper's λ values (λ_adv = 0.05, λ_ℓp = 1, λ_gdl = 1) are the ones those averages were trained
with.  The TF reimplementation sums (``reduce_sum``) instead, and writes BCE with log10; with sums,
its λ values weight the terms differently.  The per-scale terms are summed over scales (paper);
the TF reimplementation averages ℓp over scales.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from sharpvid.reference._checks import _as_float, _check_image, _check_same_shape

#: BCE keeps p and 1 - p >= BCE_EPS inside the logs so log(0) never occurs (as Torch's BCECriterion).
BCE_EPS = 1e-12


def lp_loss(y_hat: np.ndarray, y: np.ndarray, p: float = 2) -> float:
    """Eq. (1): the ℓp loss :math:`\\mathcal L_p = \\|\\hat Y - Y\\|_p^p`, mean over elements.

    Parameters
    ----------
    y_hat : ndarray  — :math:`\\hat Y = G(X)`, any shape
    y : ndarray      — :math:`Y`, the same shape
    p : float        — p in Eq. (1); the paper uses 1 or 2

    Returns
    -------
    float
        :math:`\\frac1N\\sum_i |\\hat Y_i - Y_i|^p`

    Examples
    --------
    >>> lp_loss(np.array([0.0, 1.0]), np.array([1.0, 1.0]), p=2)
    0.5
    """
    y_hat, y = _as_float(y_hat, "y_hat"), _as_float(y, "y")
    _check_same_shape(y_hat, y)
    if not p > 0:
        raise ValueError(f"p must be positive, got {p!r}")
    return float(np.mean(np.abs(y_hat - y) ** p))


def _abs_gradients(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """|x_{i,j} - x_{i-1,j}| (rows) and |x_{i,j-1} - x_{i,j}| (columns), no wrap-around."""
    return np.abs(np.diff(x, axis=-2)), np.abs(np.diff(x, axis=-1))


def gdl_loss(y_hat: np.ndarray, y: np.ndarray, alpha: float = 1) -> float:
    """Eq. (5): the gradient difference loss, mean over the terms that exist.

    Parameters
    ----------
    y_hat : ndarray, shape ``(..., H, W)``  — :math:`\\hat Y`
    y : ndarray, the same shape             — :math:`Y`
    alpha : float                            — α in Eq. (5) (the paper uses 1)

    Returns
    -------
    float

    Notes
    -----
    .. math::
        \\mathcal L_{gdl} = \\sum_{i,j} \\big| |Y_{i,j}-Y_{i-1,j}| - |\\hat Y_{i,j}-\\hat Y_{i-1,j}| \\big|^α
                          + \\big| |Y_{i,j-1}-Y_{i,j}| - |\\hat Y_{i,j-1}-\\hat Y_{i,j}| \\big|^α

    Convention: differences are taken only between pixels that both exist (no wrap, no padding),
    so an ``H x W`` image has ``(H-1)W`` vertical and ``H(W-1)`` horizontal terms; the loss is
    the sum of both groups divided by their total count.  The TF reimplementation pads and sums.

    Examples
    --------
    >>> gdl_loss(np.array([[0.0, 0.0]]), np.array([[0.0, 1.0]]))  # one horizontal term: ||1|-0|
    1.0
    """
    y_hat, y = _as_float(y_hat, "y_hat"), _as_float(y, "y")
    _check_same_shape(y_hat, y)
    _check_image(y, "y")
    if y.shape[-2] < 2 and y.shape[-1] < 2:
        raise ValueError(f"gdl_loss needs at least 2 pixels along H or W, got shape {y.shape}")
    gi_y, gj_y = _abs_gradients(y)
    gi_hat, gj_hat = _abs_gradients(y_hat)
    terms_i = np.abs(gi_y - gi_hat) ** alpha  # (..., H-1, W)
    terms_j = np.abs(gj_y - gj_hat) ** alpha  # (..., H, W-1)
    return float((terms_i.sum() + terms_j.sum()) / (terms_i.size + terms_j.size))


def bce(p: np.ndarray, target) -> float:
    """L_bce: binary cross-entropy with the natural log, mean over elements.

    Parameters
    ----------
    p : ndarray       — predicted probabilities in [0, 1]
    target : ndarray or float  — labels in [0, 1] (soft labels allowed), broadcast to ``p``

    Returns
    -------
    float
        :math:`-\\frac1N\\sum_i t_i\\log p_i + (1-t_i)\\log(1-p_i)`

    Convention: ``p`` and ``1 - p`` are each kept >= ``BCE_EPS`` inside the logs, so a confident
    wrong answer costs about 27.6 nats instead of infinity (and the rule holds in float32 too).  Torch's BCECriterion also clips (at 1e-12);
    the TF reimplementation uses log10 and clips D's output to [0.1, 0.9].

    Examples
    --------
    >>> round(bce(np.array([0.5]), 1.0), 6)  # log 2
    0.693147
    """
    p = _as_float(p, "p")
    t = np.broadcast_to(_as_float(target, "target"), p.shape)
    # log p and log(1 − p), each argument kept >= BCE_EPS
    log_p = np.log(np.maximum(p, BCE_EPS))
    log_1mp = np.log(np.maximum(1.0 - p, BCE_EPS))
    return float(np.mean(-(t * log_p + (1.0 - t) * log_1mp)))


def discriminator_loss(
    d_real: Sequence[np.ndarray], d_fake: Sequence[np.ndarray], real_target=1.0, fake_target=0.0
) -> float:
    """Eq. (3): :math:`\\mathcal L^D_{adv} = \\sum_k L_{bce}(D_k(X_k,Y_k),1) + L_{bce}(D_k(X_k,G_k(X)),0)`.

    Parameters
    ----------
    d_real : sequence of ndarray  — :math:`D_k(X_k, Y_k)`, one entry per scale k
    d_fake : sequence of ndarray  — :math:`D_k(X_k, G_k(X))`, one entry per scale k
    real_target, fake_target : float or ndarray
        The labels (1 and 0 in the paper; arrays from :func:`smoothed_labels` for smoothing).

    Examples
    --------
    >>> round(discriminator_loss([np.array([0.5])], [np.array([0.5])]), 6)  # 2 log 2
    1.386294
    """
    if len(d_real) != len(d_fake) or len(d_real) == 0:
        raise ValueError(
            f"d_real and d_fake need one entry per scale, got {len(d_real)} and {len(d_fake)}"
        )
    return float(sum(bce(r, real_target) + bce(f, fake_target) for r, f in zip(d_real, d_fake)))


def generator_adversarial_loss(d_fake: Sequence[np.ndarray]) -> float:
    """Eq. (4): :math:`\\mathcal L^G_{adv} = \\sum_k L_{bce}(D_k(X_k, G_k(X)), 1)`.

    Examples
    --------
    >>> round(generator_adversarial_loss([np.array([0.5]), np.array([1.0])]), 6)
    0.693147
    """
    if len(d_fake) == 0:
        raise ValueError("d_fake needs one entry per scale, got none")
    return float(sum(bce(f, 1.0) for f in d_fake))


def combined_generator_loss(
    y_hat: Sequence[np.ndarray],
    y: Sequence[np.ndarray],
    d_fake: Sequence[np.ndarray] | None = None,
    *,
    lam_adv: float = 0.05,
    lam_lp: float = 1.0,
    lam_gdl: float = 1.0,
    p: float = 2,
    alpha: float = 1,
) -> float:
    """Eq. (6): :math:`\\mathcal L = λ_{adv}\\mathcal L^G_{adv} + λ_{ℓp}\\mathcal L_p + λ_{gdl}\\mathcal L_{gdl}`.

    The ℓp and GDL terms are summed over the scales (paper, Sec. 3); the adversarial term already
    sums over scales (Eq. 4).

    Parameters
    ----------
    y_hat : sequence of ndarray  — :math:`\\hat Y_k = G_k(X)`, one per scale (coarse to fine)
    y : sequence of ndarray      — :math:`Y_k`, the targets at the same scales
    d_fake : sequence of ndarray or None
        :math:`D_k(X_k, G_k(X))`; ``None`` trains without the adversarial term (λ_adv ignored).
    lam_adv, lam_lp, lam_gdl : float  — λ_adv = 0.05, λ_ℓp = 1, λ_gdl = 1 (paper)
    p : float      — p of the ℓp loss (2)
    alpha : float  — α of the GDL (1)

    Examples
    --------
    >>> combined_generator_loss([np.zeros((2, 2))], [np.ones((2, 2))])  # ℓ2 = 1, GDL = 0
    1.0
    """
    if len(y_hat) != len(y) or len(y) == 0:
        raise ValueError(f"y_hat and y need one entry per scale, got {len(y_hat)} and {len(y)}")
    loss_lp = sum(lp_loss(a, b, p) for a, b in zip(y_hat, y))
    loss_gdl = sum(gdl_loss(a, b, alpha) for a, b in zip(y_hat, y))
    loss = lam_lp * loss_lp + lam_gdl * loss_gdl
    if d_fake is not None:
        loss += lam_adv * generator_adversarial_loss(d_fake)
    return float(loss)


def smoothed_labels(
    shape,
    real: bool,
    rng=None,
    *,
    real_range: tuple[float, float] = (0.7, 1.2),
    fake_range: tuple[float, float] = (0.0, 0.3),
) -> np.ndarray:
    """Label smoothing: soft targets drawn uniformly from ``real_range`` or ``fake_range``.

    The seed's stabiliser (Soumith Chintala's "ganhacks", after Salimans et al. 2016): a real
    sample's label 1 becomes U(0.7, 1.2), a fake's label 0 becomes U(0.0, 0.3).

    Parameters
    ----------
    shape : int or tuple — shape of the labels, e.g. ``(B,)``
    real : bool          — draw from ``real_range`` (True) or ``fake_range`` (False)
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ndarray of float64

    Convention: labels above 1 (up to 1.2) are kept as drawn, as the seed describes; :func:`bce`
    still evaluates them (its minimum over p in [0, 1] is then at p = 1).

    Examples
    --------
    >>> labels = smoothed_labels((1000,), True, rng=0)
    >>> bool(labels.min() >= 0.7 and labels.max() <= 1.2)
    True
    """
    low, high = real_range if real else fake_range
    if not low <= high:
        raise ValueError(f"label range must be (low, high) with low <= high, got {(low, high)}")
    rng = np.random.default_rng(rng)
    return rng.uniform(low, high, size=shape)


_AGGREGATES = ("mean", "max", "gman")


def _check_aggregate(losses, mode: str, lam: float) -> None:
    """The arguments of :func:`aggregate_adversarial` (and its twin): one-line ValueErrors."""
    if mode not in _AGGREGATES:
        raise ValueError(f"mode must be one of {_AGGREGATES}, got {mode!r}")
    if len(losses) == 0:
        raise ValueError("losses needs one entry per discriminator, got none")
    if not lam >= 0:
        raise ValueError(f"lam must be >= 0, got {lam!r}")


def aggregate_adversarial(losses: Sequence[float], mode: str = "mean", lam: float = 1.0) -> float:
    """G's adversarial loss against several discriminators, from its loss against each.

    With :math:`L_i = \\mathcal L^G_{adv}(D_i)` (Eq. 4 against discriminator i of I):

    .. math::  \\text{mean}: \\frac1I\\sum_i L_i \\qquad \\text{max}: \\max_i L_i \\qquad
               \\text{gman}: \\sum_i w_i L_i,\\; w = \\mathrm{softmax}(λ L)

    GMAN's soft discriminator (Durugkar et al. 2017, Sec. 3.1): λ = 0 is the mean, λ → ∞ the max
    (the discriminator G fools least weighs most).  The seed averages (``mean``).

    Parameters
    ----------
    losses : sequence of float  — :math:`L_i`, one per discriminator
    mode : {"mean", "max", "gman"}
    lam : float  — λ, GMAN's temperature (>= 0; used by ``"gman"`` only)

    Convention: the weights :math:`w` are part of the function (a gradient flows through them in
    the torch twin), as in GMAN's objective.

    Examples
    --------
    >>> aggregate_adversarial([1.0, 3.0], "mean"), aggregate_adversarial([1.0, 3.0], "max")
    (2.0, 3.0)
    >>> round(aggregate_adversarial([1.0, 3.0], "gman", lam=0.0), 6)
    2.0
    """
    _check_aggregate(losses, mode, lam)
    values = np.asarray([float(v) for v in losses], dtype=np.float64)  # (I,)
    if mode == "mean":
        return float(values.mean())
    if mode == "max":
        return float(values.max())
    z = lam * values
    w = np.exp(z - z.max())  # softmax(λ L), shifted for range
    w /= w.sum()
    return float((w * values).sum())
