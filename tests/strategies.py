"""Hypothesis strategies shared by the tests: frames in [-1, 1] built on the CPU as float64."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

PIXELS = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False, width=64)


def frames(min_side: int = 2, max_side: int = 12, channels=(1, 3), batch: bool = False):
    """Frames ``(C, H, W)`` (or ``(B, C, H, W)``) with pixels in [-1, 1]."""

    @st.composite
    def build(draw):
        c = draw(st.sampled_from(channels))
        h = draw(st.integers(min_side, max_side))
        w = draw(st.integers(min_side, max_side))
        shape = (c, h, w)
        if batch:
            shape = (draw(st.integers(1, 3)),) + shape
        return draw(hnp.arrays(np.float64, shape, elements=PIXELS))

    return build()


def frame_pairs(min_side: int = 2, max_side: int = 12, channels=(1, 3), batch: bool = False):
    """Two frames of one shape."""

    @st.composite
    def build(draw):
        a = draw(frames(min_side, max_side, channels, batch))
        b = draw(hnp.arrays(np.float64, a.shape, elements=PIXELS))
        return a, b

    return build()
