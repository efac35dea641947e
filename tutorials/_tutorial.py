"""What every tutorial shares: its size (full for a reader, small for the test suite), where it
writes its figures, and how it saves them (Pillow, through :mod:`sharpvid.fast.figures`).

A tutorial runs as ``python tutorials/NN_name.py`` from the project root (or anywhere: it finds
the project by this file's path), or as a notebook made by ``make notebooks`` (jupytext), which
sits beside the scripts in ``tutorials/`` so that ``import _tutorial`` works there too.  Two environment variables change it:

- ``SHARPVID_TUTORIAL_SMALL=1``: small sizes and few steps, so the test suite runs each in
  seconds (``tests/test_tutorials.py`` sets it);
- ``SHARPVID_TUTORIAL_OUT=DIR``: where figures go (default ``tutorial-output/``), each tutorial in
  its own sub-folder ``DIR/NN_name/``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: True when the test suite runs the tutorial: small sizes, few steps.
SMALL = os.environ.get("SHARPVID_TUTORIAL_SMALL", "") not in ("", "0")


def size(full, small):
    """``full`` for a reader, ``small`` under the test suite."""
    return small if SMALL else full


def output_dir(name: str) -> Path:
    """The tutorial's own figure folder, created: ``$SHARPVID_TUTORIAL_OUT/<name>/``, ``name``
    being the tutorial's file stem (``"01_why_l2_blurs"``)."""
    base = Path(os.environ.get("SHARPVID_TUTORIAL_OUT", "tutorial-output"))
    out = base / Path(name).stem
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_figure(out: Path, name: str, image) -> Path:
    """Save ``image`` as ``out/name.png`` and print where it went.

    ``image``: uint8 ``(H, W)`` or ``(H, W, 3)`` as it is, or float in [-1, 1] (the models' pixel
    range; clipped): ``(H, W)``, ``(C, H, W)`` with C = 1 or 3, or a torch tensor of those.
    """
    import numpy as np

    from sharpvid.fast import figures

    if hasattr(image, "detach"):
        image = image.detach().cpu().numpy()
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = figures.to_uint8(arr[None] if arr.ndim == 2 else arr)
    path = out / f"{name}.png"
    figures.save_png(path, arr)
    print(f"figure: {path}")
    return path
