"""sharpvid's oracle: readable NumPy/SciPy code for every equation of the method.

Mathieu, Couprie & LeCun, "Deep multi-scale video prediction beyond mean square error",
ICLR 2016, arXiv:1511.05440, and the follow-up work in the project brief.

Conventions everywhere in this package:

- pixels are in [-1, 1]; a frame is ``(C, H, W)``, a clip ``(T, C, H, W)``, a batch adds a leading
  ``B``; the m input frames X and n target frames Y are stacked on the time axis.
- every public function converts its array inputs to float64 (``_checks._as_float``) so the oracle
  is the most precise computation in the project; the fast twins in :mod:`fast` are compared to it.
- clarity over speed: one equation, one function; the docstring names the paper and equation.
"""
