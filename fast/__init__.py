"""sharpvid's fast path: PyTorch (networks, losses, metrics, training) and NumPy/CuPy (batched
array work such as deblurring), mirroring :mod:`reference` name for name.

Each function's docstring names its oracle twin and lists only the differences (batched, float32,
device).  ``tests/`` proves each twin computes the oracle's function.
"""
