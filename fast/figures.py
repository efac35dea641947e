"""The pictures that training, evaluation and prediction write: labelled grids and GIFs; and
:func:`line_chart`, curves (training losses) drawn with Pillow alone (no matplotlib).

Every grid and GIF function here takes model-space images (torch tensors or NumPy arrays in
[-1, 1], ``(C, H, W)`` or ``(B, C, H, W)``, grey C = 1 or colour C = 3) and returns 8-bit RGB
arrays ``(H, W, 3)``; :func:`save_png` and :func:`save_gif` write them atomically (a temporary
file in the same folder, renamed into place) and turn any write failure into a one-line
:class:`sharpvid.fast.imageio.ImageError` naming the file.

Grid layout (:func:`scale_grid`, :func:`comparison_grid`)
------------------------------------------------------
One row per sample (the first ``max_rows``), one column per named image, under a header row of
labels drawn with PIL's default font::

    +-----------+--+-----------+--+-- ...
    | label_0   |  | label_1   |  |        header: black text on white, HEADER_PAD px around
    +-----------+--+-----------+--+-- ...
    |            SEP px of white (SEPARATOR)
    | image     |  | image     |  |        row 0
    |            SEP px of white
    | image     |  | image     |  |        row 1 ...

A column is as wide as its images, or as its label where the label is wider (small training
patches); the images are then centred in the column.  Separators are ``SEP = 2`` pixels of
white between columns and between rows (the header counts as a row); there is no outer border.

Convention
----------
- 8-bit: ``round((x + 1) / 2 * 255)`` after clipping to [-1, 1] (``np.round``: halves to even,
  which never happens for values that came from 8-bit frames), the inverse of the authors'
  ``x * 2 / 255 - 1``; NaN becomes mid-grey (x = 0).
- Upscaling (the coarse scales of :func:`scale_grid`): nearest neighbour, pixel ``i`` of the
  output takes pixel ``floor(i * h / H)`` of the input, as ``F.interpolate(mode="nearest")``.
- Predicted frames in a GIF get a 2-pixel red border (:func:`gif_frames`), the convention of
  the authors' result pages.
- GIF frames are written one by one with their own palette (256 colours, the first in the
  global colour table, the others in local ones): Pillow's ``save_all`` would merge identical
  consecutive frames (a still input video), and a figure must keep every frame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from sharpvid.fast.imageio import ImageError, atomic_write

#: Width of the white lines between grid cells, in pixels.
SEP = 2
#: White: separators and the header's background.
SEPARATOR = (255, 255, 255)
#: Pixels of white around a header label.
HEADER_PAD = 2
#: The colour and width of the border marking a predicted frame.
RED = (255, 0, 0)
BORDER = 2


# ---------------------------------------------------------------------------------------------
# Pixels
# ---------------------------------------------------------------------------------------------


def _as_float(x, name: str, ndim: int) -> np.ndarray:
    """A tensor or array as float64 NumPy with ``ndim`` dimensions and C in (1, 3)."""
    if hasattr(x, "detach"):  # a torch tensor, on any device, in any float dtype
        x = x.detach().cpu().double().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != ndim or arr.shape[-3] not in (1, 3):
        want = "(C, H, W)" if ndim == 3 else "(B, C, H, W)"
        raise ValueError(f"{name} must be {want} with C = 1 or 3, got shape {arr.shape}")
    return arr


def to_bytes(x) -> np.ndarray:
    """Model pixels (a tensor or array in [-1, 1], any shape) as uint8 of the same shape, by the
    8-bit convention of the module docstring (clipped, NaN mid-grey)."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().double().numpy()
    arr = np.clip(np.nan_to_num(np.asarray(x, dtype=np.float64), nan=0.0), -1.0, 1.0)
    return np.round((arr + 1.0) / 2.0 * 255.0).astype(np.uint8)


def _u8(arr: np.ndarray) -> np.ndarray:
    """float ``(..., C, H, W)`` in [-1, 1] -> uint8 ``(..., H, W, 3)``."""
    u8 = np.moveaxis(to_bytes(arr), -3, -1)  # (..., H, W, C)
    return np.repeat(u8, 3, axis=-1) if u8.shape[-1] == 1 else u8


def to_uint8(x) -> np.ndarray:
    """One model image in [-1, 1] as 8-bit RGB.

    Parameters
    ----------
    x : torch.Tensor or np.ndarray
        ``(C, H, W)``, C = 1 (grey, repeated to three channels) or 3, in [-1, 1]; values outside
        are clipped.

    Returns
    -------
    np.ndarray
        uint8 ``(H, W, 3)``: ``round((x + 1) / 2 * 255)``.

    Examples
    --------
    >>> to_uint8(np.array([[[-1.0, 0.0, 1.0, 2.0]]]))[0].tolist()
    [[0, 0, 0], [128, 128, 128], [255, 255, 255], [255, 255, 255]]
    """
    return _u8(_as_float(x, "x", 3))


def _resize_nearest(images: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 ``(B, h, w, 3)`` -> ``(B, height, width, 3)``, nearest neighbour (see Convention)."""
    h, w = images.shape[1:3]
    rows = (np.arange(height) * h) // height
    cols = (np.arange(width) * w) // width
    return images[:, rows][:, :, cols]


# ---------------------------------------------------------------------------------------------
# Grids
# ---------------------------------------------------------------------------------------------


def _font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's own font at 11 px (at its default 10 px a space is nearly invisible: "blurred y"
    reads "blurredy"); the bitmap font where Pillow is older than 10.1 or lacks FreeType."""
    try:
        return ImageFont.load_default(size=11)
    except (TypeError, ImportError, OSError):
        return ImageFont.load_default()


def _label_width(font, label: str) -> int:
    left, _, right, _ = font.getbbox(label)
    return int(np.ceil(right - left))


def _header_height(font) -> int:
    bottom = font.getbbox("Agjy_0")[3]  # ascenders and descenders: one height for all
    return int(np.ceil(bottom)) + 2 * HEADER_PAD


def _check_rows(max_rows: int) -> int:
    if isinstance(max_rows, bool) or int(max_rows) != max_rows or max_rows < 1:
        raise ValueError(f"max_rows must be an integer >= 1, got {max_rows!r}")
    return int(max_rows)


def _grid(labels: Sequence[str], columns: Sequence[np.ndarray]) -> np.ndarray:
    """Lay out uint8 ``(rows, H, W, 3)`` columns of one size under their labels (module doc)."""
    font = _font()
    rows, height, width = columns[0].shape[:3]
    widths = [max(width, _label_width(font, label) + 2 * HEADER_PAD) for label in labels]
    header = _header_height(font)
    total_w = sum(widths) + SEP * (len(widths) - 1)
    total_h = header + rows * (SEP + height)
    grid = np.empty((total_h, total_w, 3), np.uint8)
    grid[:] = SEPARATOR
    x0 = 0
    for cell_w, images in zip(widths, columns):
        left = x0 + (cell_w - width) // 2  # centred in a column widened by its label
        for r in range(rows):
            top = header + SEP + r * (height + SEP)
            grid[top : top + height, left : left + width] = images[r]
        x0 += cell_w + SEP
    canvas = Image.fromarray(grid)
    draw = ImageDraw.Draw(canvas)
    x0 = 0
    for label, cell_w in zip(labels, widths):
        lo, _, hi, _ = font.getbbox(label)
        draw.text((x0 + (cell_w - (hi - lo)) // 2 - lo, HEADER_PAD), label, fill=(0, 0, 0),
                  font=font)
        x0 += cell_w + SEP
    return np.asarray(canvas).copy()


def scale_grid(x_last, preds: Sequence, targets: Sequence, *, max_rows: int = 4) -> np.ndarray:
    """The training figure: last input, then each scale's prediction beside its ground truth.

    Columns ``input_m | gen_0 | gt_0 | gen_1 | gt_1 | ... | gen_{N-1} | gt_{N-1}``, scales in
    the lists' order, **coarse to fine**: ``gen_0`` is the coarsest scale, ``gen_{N-1}`` the full
    resolution prediction.  Every image is upscaled with nearest neighbour to the finest size
    (so a coarse scale shows its real pixels as blocks).  Layout: the module docstring.

    Parameters
    ----------
    x_last : torch.Tensor or np.ndarray
        The last input frame :math:`X^m`, ``(B, C, H, W)`` in [-1, 1].
    preds, targets : sequence of torch.Tensor or np.ndarray
        :math:`\\hat Y_k` and :math:`Y_k` for k = 0 .. N-1 (coarse to fine), each
        ``(B, C, H_k, W_k)`` in [-1, 1].
    max_rows : int
        The first ``max_rows`` samples are drawn, one per row.

    Returns
    -------
    np.ndarray
        uint8 ``(height, width, 3)``.

    Examples
    --------
    >>> import torch
    >>> ys = [torch.zeros(8, 3, s, s) for s in (4, 8, 16, 32)]
    >>> grid = scale_grid(torch.zeros(8, 3, 32, 32), ys, ys)
    >>> grid.dtype, grid.shape[0] > 4 * 32, grid.shape[1] >= 9 * 32 + 8 * SEP
    (dtype('uint8'), True, True)
    """
    max_rows = _check_rows(max_rows)
    if len(preds) != len(targets) or not preds:
        raise ValueError(f"preds and targets must be non-empty lists of the same length, got "
                         f"{len(preds)} and {len(targets)}")
    x = _as_float(x_last, "x_last", 4)
    ys_hat = [_as_float(p, f"preds[{k}]", 4) for k, p in enumerate(preds)]
    ys = [_as_float(t, f"targets[{k}]", 4) for k, t in enumerate(targets)]
    for k, (p, t) in enumerate(zip(ys_hat, ys)):
        if p.shape[-2:] != t.shape[-2:]:
            raise ValueError(f"scale {k}: preds {p.shape} and targets {t.shape} differ in size")
    rows = min(max_rows, x.shape[0], *(p.shape[0] for p in ys_hat), *(t.shape[0] for t in ys))
    height, width = ys_hat[-1].shape[-2:]
    labels, columns = ["input_m"], [x[:rows]]
    for k, (p, t) in enumerate(zip(ys_hat, ys)):
        labels += [f"gen_{k}", f"gt_{k}"]
        columns += [p[:rows], t[:rows]]
    return _grid(labels, [_resize_nearest(_u8(c), height, width) for c in columns])


def comparison_grid(columns: Mapping[str, object], *, max_rows: int = 4) -> np.ndarray:
    """Named images side by side: one row per sample, one labelled column per name, in order.

    Parameters
    ----------
    columns : mapping of str to torch.Tensor or np.ndarray
        e.g. ``{"input_4": x, "generated": y_hat, "deblurred": z, "ground truth": y}``, each
        ``(B, C, H, W)`` in [-1, 1], all of one size ``H x W`` (grey and colour may mix).
    max_rows : int
        The first ``max_rows`` samples are drawn.

    Returns
    -------
    np.ndarray
        uint8 ``(height, width, 3)``; layout in the module docstring.

    Examples
    --------
    >>> grid = comparison_grid({"a": np.zeros((2, 3, 40, 40)), "b": np.ones((2, 1, 40, 40))})
    >>> grid.shape == (_header_height(_font()) + 2 * (SEP + 40), 2 * 40 + SEP, 3)
    True
    """
    max_rows = _check_rows(max_rows)
    if not columns:
        raise ValueError("columns must name at least one image batch")
    arrays = {name: _as_float(v, f"columns[{name!r}]", 4) for name, v in columns.items()}
    sizes = {name: a.shape[-2:] for name, a in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError("comparison_grid needs images of one size, got "
                         + ", ".join(f"{n}: {h}x{w}" for n, (h, w) in sizes.items()))
    rows = min(max_rows, *(a.shape[0] for a in arrays.values()))
    return _grid(list(arrays), [_u8(a[:rows]) for a in arrays.values()])


# ---------------------------------------------------------------------------------------------
# Line charts (training curves; no matplotlib)
# ---------------------------------------------------------------------------------------------

#: The series colours of :func:`line_chart`, in order (Tableau's ten; further series get hues
#: spread by the golden ratio).
PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207))
#: Light grey of the grid lines at the ticks.
GRID = (225, 225, 225)


def _series_colours(n: int) -> list[tuple[int, int, int]]:
    """``n`` distinct colours: :data:`PALETTE`, then hues spread by the golden ratio."""
    import colorsys

    colours = list(PALETTE[:n])
    i = 0
    while len(colours) < n:
        hue = (0.11 + i * 0.618033988749895) % 1.0
        rgb = tuple(int(round(c * 255)) for c in colorsys.hsv_to_rgb(hue, 0.85, 0.75))
        if rgb not in colours and rgb not in (GRID, (0, 0, 0), (255, 255, 255)):
            colours.append(rgb)
        i += 1
    return colours


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """At least two round values within [lo, hi], 1, 2 or 5 times a power of ten apart: the
    narrowest such spacing that gives at most about ``count`` ticks, or a narrower one when
    that gives fewer than two."""
    raw = (hi - lo) / max(count - 1, 1)
    power = 10.0 ** np.floor(np.log10(raw))
    steps = sorted({m * power * f for m in (1, 2, 5) for f in (0.1, 1, 10)}, reverse=True)
    # the narrowest spacing >= raw first, then narrower ones while there are too few ticks
    for step in [min(s for s in steps if s >= raw)] + [s for s in steps if s < raw]:
        first = np.ceil(lo / step - 1e-9) * step
        n = int(np.floor((hi - first) / step + 1e-9)) + 1
        # round away the float noise of k * step (0.30000000000000004)
        digits = max(0, int(-np.floor(np.log10(step))) + 1)
        ticks = sorted({float(round(t, digits)) + 0.0 for t in first + step * np.arange(
            min(max(n, 0), 50))})
        if len(ticks) >= 2:
            return ticks
    return [lo, hi]  # a range at the limit of float resolution: its two ends


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Ticks for a log axis spanning ``10**lo .. 10**hi``: decades, else 1-2-5 within decades,
    else round values of the linear range."""
    for mantissas in ((1,), (1, 2, 5)):
        ticks = [m * 10.0 ** e for e in range(int(np.floor(lo)) - 1, int(np.ceil(hi)) + 1)
                 for m in mantissas]
        ticks = [t for t in ticks if lo - 1e-9 <= np.log10(t) <= hi + 1e-9]
        if len(ticks) >= 2:
            return ticks
    return _nice_ticks(10.0 ** lo, 10.0 ** hi, 3)


def _chart_font() -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at 12 px where it scales (FreeType, Pillow >= 10.1), else its
    bitmap font."""
    try:
        return ImageFont.load_default(size=12)
    except (TypeError, ImportError, OSError):
        return _font()


def _tick_label(value: float) -> str:
    return f"{value:.6g}"


def line_chart(series: Mapping[str, tuple], *, title: str = "", xlabel: str = "",
               ylabel: str = "", width: int = 640, height: int = 400,
               log_y: bool = False) -> np.ndarray:
    """Curves drawn with Pillow: axes with tick labels, grid lines, a legend, one colour a series.

    Parameters
    ----------
    series : mapping of str to (xs, ys)
        Label -> the x and y values of one curve, 1-D, of one length (lists, arrays, tensors).
        Points where x or y is NaN or ±inf (or y <= 0 with ``log_y``) are skipped: the line
        breaks there, as matplotlib draws it, and a point left alone is drawn as a dot.
    title, xlabel, ylabel : str
        Drawn above the plot, under the x axis and (rotated) left of the y axis.
    width, height : int
        Size of the picture in pixels (at least 160 x 120).
    log_y : bool
        Logarithmic y axis (loss curves spanning decades).

    Returns
    -------
    np.ndarray
        uint8 ``(height, width, 3)``, white background.  Series colours are :data:`PALETTE` in
        order (Tableau's ten), then further distinct hues.  The axes span the finite points of
        every series, with 4 % headroom on y; a constant series gets a unit-wide range.

    Raises
    ------
    ValueError
        No series, a series that is not two 1-D sequences of one non-zero length, no finite
        point to draw, or a size below 160 x 120.

    Examples
    --------
    >>> steps = np.arange(1, 101)
    >>> img = line_chart({"g/total": (steps, 2 / steps), "d/loss": (steps, 1 + 0 * steps)},
    ...                  title="losses", xlabel="step", log_y=True)
    >>> img.shape, img.dtype
    ((400, 640, 3), dtype('uint8'))
    >>> bool((img == PALETTE[0]).all(-1).any()), bool((img == PALETTE[1]).all(-1).any())
    (True, True)
    """
    if isinstance(width, bool) or isinstance(height, bool) or int(width) != width \
            or int(height) != height or width < 160 or height < 120:
        raise ValueError(f"width and height must be integers of at least 160 and 120, got "
                         f"{width!r} x {height!r}")
    width, height = int(width), int(height)
    if not isinstance(series, Mapping) or not series:
        raise ValueError("series must map at least one label to (xs, ys)")
    curves = []
    for label, pair in series.items():
        try:
            xs, ys = pair
        except (TypeError, ValueError):
            raise ValueError(f"series[{label!r}] must be a pair (xs, ys)") from None
        xs, ys = (np.asarray(v.detach().cpu() if hasattr(v, "detach") else v, dtype=np.float64)
                  for v in (xs, ys))
        if xs.ndim != 1 or ys.ndim != 1 or len(xs) != len(ys) or len(xs) == 0:
            raise ValueError(f"series[{label!r}]: xs and ys must be 1-D of one non-zero length, "
                             f"got shapes {xs.shape} and {ys.shape}")
        ok = np.isfinite(xs) & np.isfinite(ys)
        if log_y:
            ok &= ys > 0
        curves.append((str(label), xs, ys, ok))
    if not any(ok.any() for *_, ok in curves):
        raise ValueError("series have no finite point to draw" + (" (log_y needs y > 0)"
                                                                  if log_y else ""))

    # data ranges
    all_x = np.concatenate([xs[ok] for _, xs, _, ok in curves])
    all_y = np.concatenate([ys[ok] for _, _, ys, ok in curves])
    fy = np.log10 if log_y else (lambda v: v)
    x_lo, x_hi = float(all_x.min()), float(all_x.max())
    y_lo, y_hi = float(fy(all_y).min()), float(fy(all_y).max())
    if x_hi == x_lo:
        x_lo, x_hi = x_lo - 0.5, x_hi + 0.5
    if y_hi == y_lo:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    pad = 0.04 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    x_ticks = _nice_ticks(x_lo, x_hi)
    y_ticks = _log_ticks(y_lo, y_hi) if log_y else _nice_ticks(y_lo, y_hi)

    # layout: title on top; y label and tick labels on the left; x tick labels and label below
    font = _chart_font()
    text_h = _header_height(font) - 2 * HEADER_PAD
    left = 8 + (text_h + 6 if ylabel else 0) + max(_label_width(font, _tick_label(t))
                                                   for t in y_ticks) + 6
    top = 8 + (text_h + 8 if title else 0)
    right = 16 + _label_width(font, _tick_label(x_ticks[-1])) // 2
    bottom = 8 + text_h + 6 + (text_h + 6 if xlabel else 0)
    x0, x1, y0, y1 = left, width - right, top, height - bottom
    if x1 - x0 < 40 or y1 - y0 < 40:
        raise ValueError(f"a {width} x {height} picture leaves no room for the plot")

    def px(x):
        return x0 + (np.asarray(x) - x_lo) / (x_hi - x_lo) * (x1 - x0)

    def py(y):
        return y1 - (fy(np.asarray(y)) - y_lo) / (y_hi - y_lo) * (y1 - y0)

    canvas = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    black = (0, 0, 0)
    for t in x_ticks:  # grid, tick marks, tick labels
        u = int(round(float(px(t))))
        draw.line([(u, y0), (u, y1)], fill=GRID)
        draw.line([(u, y1), (u, y1 + 4)], fill=black)
        w = _label_width(font, _tick_label(t))
        draw.text((u - w // 2, y1 + 6), _tick_label(t), fill=black, font=font)
    for t in y_ticks:
        v = int(round(float(py(t))))
        draw.line([(x0, v), (x1, v)], fill=GRID)
        draw.line([(x0 - 4, v), (x0, v)], fill=black)
        w = _label_width(font, _tick_label(t))
        draw.text((x0 - 6 - w, v - text_h // 2 - 1), _tick_label(t), fill=black, font=font)
    draw.rectangle([x0, y0, x1, y1], outline=black)
    if title:
        draw.text(((width - _label_width(font, title)) // 2, 6), title, fill=black, font=font)
    if xlabel:
        draw.text(((x0 + x1 - _label_width(font, xlabel)) // 2, y1 + 8 + text_h + 4), xlabel,
                  fill=black, font=font)
    if ylabel:  # drawn horizontally on its own strip, then turned a quarter left
        strip = Image.new("RGB", (_label_width(font, ylabel) + 4, text_h + 4), (255, 255, 255))
        ImageDraw.Draw(strip).text((2, 1), ylabel, fill=black, font=font)
        strip = strip.rotate(90, expand=True)
        canvas.paste(strip, (6, max(0, (y0 + y1 - strip.height) // 2)))

    colours = _series_colours(len(curves))
    for (label, xs, ys, ok), colour in zip(curves, colours):
        u, v = px(np.where(ok, xs, x_lo)), py(np.where(ok, ys, 1.0 if log_y else y_lo))
        run: list[tuple[float, float]] = []
        for i in range(len(xs) + 1):  # lines through runs of good points, gaps elsewhere
            if i < len(xs) and ok[i]:
                run.append((float(u[i]), float(v[i])))
                continue
            if len(run) == 1:
                (a, b), = run
                draw.ellipse([a - 2, b - 2, a + 2, b + 2], fill=colour)
            elif run:
                draw.line(run, fill=colour, width=2, joint="curve")
            run = []

    # legend: top right inside the plot, one row per series
    row = text_h + 6
    legend_w = 34 + max(_label_width(font, label) for label, *_ in curves)
    lx1, ly0 = x1 - 8, y0 + 8
    lx0, ly1 = lx1 - legend_w - 8, ly0 + row * len(curves) + 6
    draw.rectangle([lx0, ly0, lx1, ly1], fill=(255, 255, 255), outline=(160, 160, 160))
    for i, ((label, *_), colour) in enumerate(zip(curves, colours)):
        cy = ly0 + 4 + i * row + row // 2
        draw.line([(lx0 + 6, cy), (lx0 + 28, cy)], fill=colour, width=3)
        draw.text((lx0 + 34, cy - text_h // 2 - 1), label, fill=black, font=font)
    return np.asarray(canvas).copy()


# ---------------------------------------------------------------------------------------------
# GIFs
# ---------------------------------------------------------------------------------------------


def gif_frames(inputs, predictions, *, mark: bool = True) -> list[np.ndarray]:
    """The frames of an inputs-then-predictions animation.

    Parameters
    ----------
    inputs : torch.Tensor or np.ndarray
        ``(T_in, C, H, W)`` in [-1, 1]: the observed frames.
    predictions : torch.Tensor or np.ndarray
        ``(T_out, C, H, W)`` in [-1, 1]: the predicted frames that follow.
    mark : bool
        Draw a ``BORDER`` = 2 pixel red border on each predicted frame (the authors' convention).

    Returns
    -------
    list of np.ndarray
        ``T_in + T_out`` uint8 ``(H, W, 3)`` frames.

    Examples
    --------
    >>> frames = gif_frames(np.zeros((4, 1, 8, 8)), np.zeros((2, 1, 8, 8)))
    >>> len(frames), frames[0][0, 0].tolist(), frames[4][0, 0].tolist(), frames[4][3, 3].tolist()
    (6, [128, 128, 128], [255, 0, 0], [128, 128, 128])
    """
    x = _u8(_as_float(inputs, "inputs", 4))
    y = _u8(_as_float(predictions, "predictions", 4))
    if x.shape[1:] != y.shape[1:]:
        raise ValueError(f"inputs {x.shape[1:3]} and predictions {y.shape[1:3]} differ in size")
    if mark:
        y[:, :BORDER], y[:, -BORDER:] = RED, RED
        y[:, :, :BORDER], y[:, :, -BORDER:] = RED, RED
    return [*x, *y]


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _pil_image(path: Path, image: np.ndarray) -> Image.Image:
    arr = np.asarray(image)
    if arr.ndim == 3 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8 or not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] == 3)):
        raise ImageError(f"{path}: expected uint8 (H, W) or (H, W, 3), got {arr.dtype} "
                         f"{np.shape(image)}")
    return Image.fromarray(np.ascontiguousarray(arr))


def save_png(path: str | os.PathLike, image_u8: np.ndarray) -> None:
    """Write a uint8 ``(H, W, 3)`` (or grey ``(H, W)``) image as PNG, atomically.

    Raises
    ------
    sharpvid.fast.imageio.ImageError
        One line naming the file: a wrong array, or the write failed (no space, no permission,
        a file where a folder should be).
    """
    path = Path(path)
    img = _pil_image(path, image_u8)
    try:
        atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))
    except OSError as exc:
        raise ImageError(f"{path}: cannot write ({exc.strerror or exc})") from None


def _gif_bytes(frames: Sequence[Image.Image], duration_ms: int, loop: int | None) -> bytes:
    """An animated GIF with every frame kept (see Convention), each quantised on its own."""
    from PIL import GifImagePlugin

    paletted = [f.convert("P", palette=Image.Palette.ADAPTIVE, colors=256) for f in frames]
    info = {} if loop is None else {"loop": int(loop)}
    header, _ = GifImagePlugin.getheader(paletted[0], None, info)
    chunks = list(header)
    for i, frame in enumerate(paletted):
        chunks += GifImagePlugin.getdata(frame, (0, 0), duration=int(duration_ms),
                                         include_color_table=i > 0)
    chunks.append(b";")
    return b"".join(chunks)


def save_gif(path: str | os.PathLike, frames: Sequence[np.ndarray], *, duration_ms: int = 250,
             loop: int | None = 0) -> None:
    """Write uint8 ``(H, W, 3)`` frames as an animated GIF, atomically, every frame kept.

    Parameters
    ----------
    path : path
    frames : sequence of np.ndarray
        uint8 ``(H, W, 3)`` (or grey ``(H, W)``) frames of one size, e.g. :func:`gif_frames`.
    duration_ms : int
        Display time of each frame; GIF counts hundredths of a second, so it is rounded down to
        a multiple of 10 ms (at least 10).
    loop : int or None
        0 loops forever (the default); k plays k + 1 times; None writes no loop block (once).

    Raises
    ------
    sharpvid.fast.imageio.ImageError
        One line naming the file.
    """
    path = Path(path)
    if not frames:
        raise ImageError(f"{path}: no frames to write")
    if isinstance(duration_ms, bool) or int(duration_ms) != duration_ms or duration_ms < 10:
        raise ValueError(f"duration_ms must be an integer >= 10 (GIF counts hundredths of a "
                         f"second), got {duration_ms!r}")
    images = [_pil_image(path, f).convert("RGB") for f in frames]
    if len({img.size for img in images}) > 1:
        raise ImageError(f"{path}: frames differ in size: {sorted({img.size for img in images})}")
    data = _gif_bytes(images, int(duration_ms), loop)
    try:
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
    except OSError as exc:
        raise ImageError(f"{path}: cannot write ({exc.strerror or exc})") from None
