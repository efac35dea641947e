"""Frames on disk: 8-bit PNG/JPEG in, 8-bit PNG out, written atomically.

Everything the command line reads or writes goes through here, so a bad file always gives the
same one-line :class:`ImageError` naming it, and an interrupted run never leaves a half-written
output (each file is written to a temporary name in its folder, then renamed into place).

Pixels: :func:`read_image` returns float32 in [0, 1], shape ``(C, H, W)`` with C = 1 (grey) or
3 (colour); :func:`to_model` / :func:`from_model` map [0, 1] to the models' [-1, 1] and back.
"""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm")


class ImageError(Exception):
    """A file that cannot be read or written as an image; the message names the file."""


def find_images(paths: Iterable[str | os.PathLike]) -> tuple[list[Path], list[str]]:
    """Expand files and folders (sorted, non-recursive) into image files.

    Returns ``(images, problems)``: a missing path or a folder with no image is a problem
    message, not an exception, so a command can report it and go on with the rest.
    """
    images, problems = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                problems.append(f"{path}: folder has no image files ({', '.join(IMAGE_SUFFIXES)})")
            images.extend(found)
        elif path.is_file():
            images.append(path)
        else:
            problems.append(f"{path}: no such file or folder")
    return images, problems


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as float32 ``(C, H, W)`` in [0, 1]; C = 1 for grey, 3 for colour."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                arr = np.asarray(img, dtype=np.float32) / 65535.0
                return np.clip(arr, 0.0, 1.0)[None]
            if img.mode not in ("L", "RGB"):
                img = img.convert("L" if img.mode in ("1", "LA", "F") else "RGB")
            arr = np.asarray(img, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise ImageError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        reason = str(exc).split("\n")[0] or type(exc).__name__
        raise ImageError(f"{path}: cannot read as an image ({reason})") from None
    return arr[None] if arr.ndim == 2 else np.ascontiguousarray(arr.transpose(2, 0, 1))


def safe_stem(name: str, fallback: str = "file") -> str:
    """``name`` as a file-name stem: every run of other characters than letters, digits, ``.``,
    ``_`` and ``-`` becomes ``_``; ``fallback`` when nothing is left."""
    import re

    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or fallback


def table_number(x: float, digits: int | None = None) -> str:
    """A number for a Markdown table: ``-`` for NaN, ``inf`` / ``-inf``, else ``digits``
    decimals (default: 4 below 10 in magnitude, as SSIM, else 2, as dB)."""
    if math.isnan(x):
        return "-"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if digits is None:
        digits = 4 if abs(x) < 10 else 2
    return f"{x:.{digits}f}"


def strict_json(x):
    """Strict JSON: NaN -> null, +-inf -> "inf" / "-inf"."""
    if isinstance(x, float):
        if math.isnan(x):
            return None
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
    if isinstance(x, dict):
        return {k: strict_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [strict_json(v) for v in x]
    return x


def from_strict_json(x):
    """Inverse of :func:`strict_json`: null -> NaN, "inf" -> inf."""
    if x is None:
        return math.nan
    if isinstance(x, str) and x in ("inf", "-inf"):
        return float(x)
    if isinstance(x, dict):
        return {k: from_strict_json(v) for k, v in x.items()}
    if isinstance(x, list):
        return [from_strict_json(v) for v in x]
    return x


def atomic_write(path: Path, write) -> None:
    """Call ``write(tmp_path)``, then rename the finished file over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~process_umask())  # mkstemp's 0600 would hide the file from other users
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def process_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write float ``(C, H, W)`` or ``(H, W)`` in [0, 1] (clipped) as an 8-bit image, atomically."""
    path = Path(path)
    arr = np.asarray(image, dtype=np.float64)
    if arr.ndim == 3:
        if arr.shape[0] not in (1, 3):
            raise ImageError(f"{path}: cannot write {arr.shape[0]} channels (1 or 3)")
        arr = arr[0] if arr.shape[0] == 1 else arr.transpose(1, 2, 0)
    if arr.ndim != 2 and arr.ndim != 3:
        raise ImageError(f"{path}: cannot write an array of shape {np.shape(image)} as an image")
    u8 = np.round(np.clip(np.nan_to_num(arr), 0.0, 1.0) * 255.0).astype(np.uint8)
    fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    try:
        atomic_write(path, lambda tmp: Image.fromarray(u8).save(tmp, format=fmt))
    except OSError as exc:
        raise ImageError(f"{path}: cannot write ({exc.strerror or exc})") from None


def to_model(x: np.ndarray) -> np.ndarray:
    """[0, 1] -> the models' [-1, 1] (the authors' ``x * 2 / 255 - 1`` on 8-bit values)."""
    return np.asarray(x) * 2.0 - 1.0


def from_model(x: np.ndarray) -> np.ndarray:
    """The models' [-1, 1] -> [0, 1]."""
    return (np.asarray(x) + 1.0) / 2.0


def kernel_to_image(kernel: np.ndarray) -> np.ndarray:
    """A blur kernel scaled for viewing: ``k / max(k)`` as a grey image in [0, 1]."""
    k = np.asarray(kernel, dtype=np.float64)
    peak = k.max()
    return k / peak if peak > 0 else k


class Progress:
    """A one-line progress display on stderr (updated in place on a terminal): done/total, and
    with ``unit`` the rate (``unit``/s) and the time left."""

    def __init__(self, total: int, label: str, stream=None, *, unit: str | None = None,
                 done: int = 0, every: float = 0.0):
        self.total, self.label, self.done, self.unit = total, label, done, unit
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.every, self._start, self._first, self._shown = every, time.monotonic(), done, 0.0

    def line(self, what: str = "") -> str:
        text = f"{self.label} {self.done}/{self.total}"
        if self.unit:
            elapsed = time.monotonic() - self._start
            rate = (self.done - self._first) / elapsed if elapsed > 0 else 0.0
            left = (self.total - self.done) / rate if rate > 0 else float("nan")
            eta = time.strftime("%H:%M:%S", time.gmtime(left)) if left == left else "--:--:--"
            text += f" {rate:,.0f} {self.unit}/s ETA {eta}"
        return f"{text} {what}".rstrip()

    def step(self, what: str = "", n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.done < self.total and now - self._shown < self.every:
            return  # throttled: at most one line every `every` seconds, and the last
        self._shown = now
        line = self.line(what)
        if self.tty:
            self.stream.write("\r" + line[:120].ljust(120))
            if self.done >= self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
