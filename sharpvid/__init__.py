"""sharpvid: adversarial multi-scale video prediction (Mathieu, Couprie & LeCun, ICLR 2016) with
L0 deblurring, installed under the project's own name.

- :mod:`sharpvid.reference` (the folder ``reference/``): the NumPy/SciPy oracle, one function per
  equation.
- :mod:`sharpvid.fast` (the folder ``fast/``): its PyTorch/CuPy twins, name for name, and the
  product built on them (training, evaluation, the ``sharpvid`` command).

This folder holds only the package's root; ``pyproject.toml`` maps the two sub-packages onto
their folders, so the source tree keeps its layout and an install claims no generic name.
"""

__version__ = "0.1.0"
