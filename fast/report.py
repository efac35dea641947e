"""The pictures and the HTML page of ``sharpvid ablate`` (:mod:`sharpvid.fast.ablate`).

Written into the ablation's folder, beside ``report.html`` (which links them by relative path,
so the folder can be copied or served as it is; no JavaScript, nothing from the network):

- ``grid-<clip>.png``: the same test frame(s) across variants: input m | each variant's
  prediction | flow extrapolation (the baseline) | ground truth, one row per predicted frame;
- ``gifs/<clip>-<variant>.gif``: the clip animated, ground truth | the variant (inputs, then its
  predictions with the authors' red border) | the variant deblurred, so that the rows of the page
  compare the variants by eye; ``gifs/<clip>-flow_extrap.gif`` the same for flow extrapolation;
- ``plots/*.png``: the training curves of every variant (``metrics.jsonl``) on one axis per
  quantity, with matplotlib (the ``plots`` extra); without it the page says how to get them.

Crop (``crop``)
---------------
Sharpness is judged at full resolution, so the pictures are a ``crop x crop`` window of the frame
(the whole frame when smaller) where the first predicted frame moves most: the window with the
most pixels of :func:`sharpvid.fast.metrics.moving_mask`'s area (|target - last input| > 0.05 in
[-1, 1] units in some channel), the first such window in row-major order on ties.
"""

from __future__ import annotations

import html
import json
import sys
from pathlib import Path

import numpy as np

from sharpvid.fast import figures
from sharpvid.fast.imageio import atomic_write, safe_stem

#: The training curves plotted: file stem -> (title, y label, the metrics.jsonl keys to draw).
#: A key ending in ``/loss`` matches every critic (``d/loss``, ``d_d1/loss``, ``d_blur/loss``).
PLOTS = {
    "g_lp": ("ℓp term on training patches (Eq. 1)", "g/lp", ("g/lp",)),
    "g_gdl": ("gradient difference term (Eq. 5)", "g/gdl", ("g/gdl",)),
    "g_adv": ("G's adversarial term (Eq. 4, aggregated over critics)", "g/adv", ("g/adv",)),
    "g_perc": ("perceptual term (VGG19)", "g/perc", ("g/perc",)),
    "d_loss": ("critics' losses (Eq. 3)", "loss", ("/loss",)),
    "d_acc": ("critics' accuracy on real and on fake samples (0.5: chance)", "accuracy",
              ("/acc_real", "/acc_fake")),
    "val_psnr_moving": ("validation PSNR, moving area (dB)", "dB", ("psnr_seed_moving",)),
    "val_psnr": ("validation PSNR, whole frame (dB)", "dB", ("psnr_seed",)),
    "val_sharpness": ("validation sharpness (dB)", "dB", ("sharp_seed",)),
}
PLOTS_HINT = ("matplotlib is not installed, so there are no loss curves here: pip install "
              "'sharpvid[plots]' (or make test), then rerun the same sharpvid ablate command "
              "(it reuses the trained variants and only redraws)")


# ---------------------------------------------------------------------------------------------
# Pictures
# ---------------------------------------------------------------------------------------------


def crop_window(inputs: np.ndarray, targets: np.ndarray, crop: int,
                threshold: float = 0.05) -> tuple[int, int, int, int]:
    """``(top, left, height, width)`` of the ``crop x crop`` window (clipped to the frame) with
    the most moving pixels of the first predicted frame; uint8 ``(T, C, H, W)`` clips."""
    _, _, h, w = targets.shape
    ch, cw = (h, w) if crop <= 0 else (min(crop, h), min(crop, w))
    diff = np.abs(targets[0].astype(np.int16) - inputs[-1].astype(np.int16)).max(axis=0)
    moving = (diff / 127.5 > threshold).astype(np.int64)  # (H, W), model units
    table = np.zeros((h + 1, w + 1), np.int64)
    table[1:, 1:] = moving.cumsum(0).cumsum(1)
    counts = (table[ch:, cw:] - table[:-ch, cw:] - table[ch:, :-cw] + table[:-ch, :-cw])
    top, left = np.unravel_index(int(np.argmax(counts)), counts.shape)
    return int(top), int(left), ch, cw


def _model(u8: np.ndarray, window) -> np.ndarray:
    """uint8 ``(..., C, H, W)`` -> float in [-1, 1], cropped to ``window``."""
    top, left, ch, cw = window
    return u8[..., top:top + ch, left:left + cw].astype(np.float64) / 127.5 - 1.0


def _rgb(frames: np.ndarray) -> np.ndarray:
    """Float ``(T, C, H, W)`` frames as colour (grey repeated), so that marked and unmarked
    frames of one animation stack."""
    return np.repeat(frames, 3, axis=1) if frames.shape[1] == 1 else frames.copy()


def _marked(frames: np.ndarray) -> np.ndarray:
    """Float ``(T, C, H, W)`` frames as colour with the red border of a predicted frame."""
    out = _rgb(frames)
    b = figures.BORDER
    red = np.array([1.0, -1.0, -1.0])[:, None, None]  # (C, 1, 1), broadcast over each edge
    out[:, :, :b], out[:, :, -b:] = red, red
    out[:, :, :, :b], out[:, :, :, -b:] = red, red
    return out


#: The grid's column and the GIF's row of the flow-extrapolation baseline.
FLOW_LABEL = "flow extrapolation"


def write_pictures(variants: list[dict], out: Path, *, crop: int = 256) -> list[dict]:
    """The grid PNG of every picture clip and a GIF per clip and variant, and one of flow
    extrapolation (from the first variant's evaluation: the same frames for all; left out when
    its samples have none, as an older evaluation's); returns, per clip, ``name``, ``grid``
    (relative path), ``gifs`` (variant or :data:`FLOW_LABEL` -> relative path), ``window``."""
    clips = []
    count = min(len(v["samples"]) for v in variants)
    taken: set[str] = set()
    for i in range(count):
        first = variants[0]["samples"][i]
        stem = safe_stem(first["name"], "clip")
        while stem in taken:
            stem += "_"
        taken.add(stem)
        inputs, targets = first["inputs"], first["targets"]
        window = crop_window(inputs, targets, crop)
        m, n = len(inputs), len(targets)
        x, y = _model(inputs, window), _model(targets, window)
        columns = {f"input {m}": np.repeat(x[-1:], n, axis=0)}
        for v in variants:
            columns[v["name"]] = _model(v["samples"][i]["model"], window)
        flow = _model(first["flow_extrap"], window) if "flow_extrap" in first else None
        if flow is not None:
            columns[FLOW_LABEL] = flow
        columns["ground truth"] = y
        grid_rel = f"grid-{stem}.png"
        figures.save_png(out / grid_rel, figures.comparison_grid(columns, max_rows=n))
        truth = np.concatenate([x, y])
        gifs = {}
        animated = [(v["name"], safe_stem(v["name"], "clip"), v["samples"][i]) for v in variants]
        if flow is not None:  # not a variant's name: "flow_extrap" is no variant
            animated.append((FLOW_LABEL, "flow_extrap", {"model": first["flow_extrap"]}))
        for name, file_stem, s in animated:
            panels = {"ground truth": truth,
                      name: np.concatenate([_rgb(x), _marked(_model(s["model"], window))])}
            if "model+deblur" in s:
                panels[f"{name} + deblur"] = np.concatenate(
                    [_rgb(x), _marked(_model(s["model+deblur"], window))])
            frames = [figures.comparison_grid({k: p[t:t + 1] for k, p in panels.items()},
                                              max_rows=1) for t in range(m + n)]
            rel = f"gifs/{stem}-{file_stem}.gif"
            figures.save_gif(out / rel, frames, duration_ms=250)
            gifs[name] = rel
        clips.append({"name": first["name"], "grid": grid_rel, "gifs": gifs, "window": window})
    return clips


# ---------------------------------------------------------------------------------------------
# Curves
# ---------------------------------------------------------------------------------------------


def read_log(path: Path) -> list[dict]:
    """The records of a run's ``metrics.jsonl``; a damaged line is skipped, and of a step logged
    twice (replayed after a guard restore) the last record is kept."""
    records: dict[tuple, dict] = {}
    if not path.is_file():
        return []
    for line in path.read_text().splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "step" in rec:
            records[(rec.get("kind", "train"), rec["step"])] = rec
    return sorted(records.values(), key=lambda r: r["step"])


def _series(records: list[dict], kind: str, key: str) -> dict[str, tuple[list, list]]:
    """``label -> (steps, values)`` of ``key`` (every critic's for a ``/loss`` key)."""
    out: dict[str, tuple[list, list]] = {}
    for r in records:
        if r.get("kind", "train") != kind:
            continue
        for k, value in r.items():
            hit = k.endswith(key) and "/" in k if key.startswith("/") else k == key
            if hit and isinstance(value, (int, float)) and not isinstance(value, bool):
                xs, ys = out.setdefault(k, ([], []))
                xs.append(r["step"])
                ys.append(float(value))
    return out


#: The baselines' validation curves (training logs ``KEY_copy_last``, ``KEY_flow_extrap``):
#: key suffix -> (label, line style); drawn in black, from the first log that has them.
BASELINE_CURVES = {"_copy_last": ("copy last frame", ":"), "_flow_extrap": ("flow extrapolation",
                                                                             "-.")}


def baseline_curves(logs: list[list[dict]], key: str) -> dict[str, tuple[list, list]]:
    """``label -> (steps, values)`` of each baseline of :data:`BASELINE_CURVES` for the
    validation quantity ``key`` (``psnr_seed``, ...), from the first of ``logs`` that logged it
    (the baselines learn nothing: every run's are the same); a baseline no log has (an older
    run's, before flow extrapolation) is left out."""
    out = {}
    for suffix, (label, _) in BASELINE_CURVES.items():
        for records in logs:
            series = _series(records, "val", key + suffix).get(key + suffix)
            if series:
                out[label] = series
                break
    return out


def write_plots(variants: list[dict], out: Path) -> list[tuple[str, str]] | None:
    """``plots/<stem>.png`` for every quantity of :data:`PLOTS` some variant logged (``log``: its
    run's records, :func:`read_log`); ``None`` when matplotlib is not installed.  Returns
    ``(title, relative path)`` pairs."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    logs = {v["name"]: v["log"] for v in variants}
    written = []
    for stem, (title, ylabel, keys) in PLOTS.items():
        kind = "val" if stem.startswith("val") else "train"
        fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
        drawn = False
        for k, (name, records) in enumerate(logs.items()):
            colour = f"C{k % 10}"
            for key in keys:
                for label, (xs, ys) in _series(records, kind, key).items():
                    shown = (name if label == key else f"{name} {label}" if stem == "d_acc"
                             else f"{name} {label.split('/')[0]}")
                    ax.plot(xs, ys, color=colour, label=shown, marker="o" if len(xs) <= 20
                            else None, markersize=3,
                            linestyle="-" if label in (key, "d/loss", "d/acc_real") else "--")
                    drawn = True
        if stem == "d_acc" and drawn:
            ax.axhline(0.5, color="black", linestyle=":", linewidth=1, label="chance")
        if kind == "val" and drawn:
            styles = dict(BASELINE_CURVES.values())
            for label, (xs, ys) in baseline_curves(list(logs.values()), keys[0]).items():
                ax.plot(xs, ys, color="black", linestyle=styles[label],
                        marker="o" if len(xs) <= 20 else None, markersize=3, label=label)
        if not drawn:
            plt.close(fig)
            continue
        ax.set_title(title)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        rel = f"plots/{stem}.png"
        (out / "plots").mkdir(parents=True, exist_ok=True)
        atomic_write(out / rel, lambda tmp: fig.savefig(tmp, format="png"))
        plt.close(fig)
        written.append((title, rel))
    return written


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------

STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 80em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
td.best { font-weight: bold; background: #eef6ee; }
code, pre { background: #f4f4f4; padding: 0.1em 0.3em; }
pre { padding: 0.6em; overflow-x: auto; }
img { image-rendering: pixelated; }
.note { color: #555; }
"""


def _e(x) -> str:
    return html.escape(str(x))


def _html_table(rows: list[dict], frame: int) -> str:
    from sharpvid.fast.ablation_tables import TABLE_COLUMNS, best_in_column, cell_text

    rows = [r for r in rows if r["frame"] == frame]
    best = {c: best_in_column(rows, c) for c in TABLE_COLUMNS}
    head = "".join(f"<th>{_e(h)}</th>" for h in ["variant", *TABLE_COLUMNS.values(), "videos"])
    body = []
    for i, r in enumerate(rows):
        cells = [f"<td>{_e(r['label'])}</td>"]
        for c in TABLE_COLUMNS:
            cls = ' class="best"' if i in best[c] else ""
            cells.append(f"<td{cls}>{_e(cell_text(r, c))}</td>")
        cells.append(f"<td>{r['videos']} ({r['moving']} moving)</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html_differences(diffs: list[dict], frame: int) -> str:
    """Each variant minus its reference (a baseline or ``gdl``): mean ± 95 % interval, bold
    where the interval excludes 0."""
    from sharpvid.fast.ablation_tables import TABLE_COLUMNS, difference_text, excludes_zero

    head = "".join(f"<th>{_e(h)}</th>" for h in ["difference", *TABLE_COLUMNS.values()])
    body = []
    for d in (d for d in diffs if d["frame"] == frame):
        cells = [f"<td>{_e(d['variant'])} &minus; {_e(d['reference'])}</td>"]
        for c in TABLE_COLUMNS:
            cls = ' class="best"' if excludes_zero(d, c) else ""
            cells.append(f"<td{cls}>{_e(difference_text(d, c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def page(summary: dict, clips: list[dict], plots: list[tuple[str, str]] | None) -> str:
    """``report.html``'s text."""
    from sharpvid.fast.ablation_tables import CRITICS_NOTE, describe, describe_critics

    ev = summary["evaluation"]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>sharpvid ablation: {_e(summary['config'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>Ablation: {_e(summary['config'])}, {summary['steps']} steps per variant</h1>",
        f"<pre>{_e(summary['command'])}</pre>",
        "<p>Does each addition make the predictions sharper (sharpness up) without losing PSNR, "
        "on held-out frames? Every variant trains with the same config, data, seed and number of "
        f"steps, then is evaluated on {_e(ev['data'])}"
        + (f" frames {_e(ev['frame_range'])}" if ev.get("frame_range") else "")
        + f": {summary['videos']} videos ({_e(', '.join(summary['video_names']))}), "
        f"{summary['m']} inputs &rarr; {summary['n']} frames, the later ones predicted from the "
        "earlier predictions. Seed convention (PSNR and sharpness on a data range of 2; see "
        "docs/evaluation.md); <em>moving</em>: over the pixels that move. Higher is better in "
        "every column; the best is bold (only where its 95 % interval lies above the next "
        "best's). The baselines come first, the same frames for every variant: <em>copy last "
        "frame</em> and <em>flow extrapolation</em> (the last input moved one more step along "
        "the optical flow between the last two, at constant velocity); each variant's "
        "difference from them is paired by seed and video. Every value of every convention is in "
        '<a href="ablation.csv">ablation.csv</a> and each run\'s <code>eval/metrics.json</code>.'
        "</p>",
    ]
    for j in range(1, summary["n"] + 1):
        parts += [f"<h2>Frame {j}</h2>", _html_table(summary["rows"], j)]
        for key, what in (("baseline_differences", "the baselines"), ("differences", "gdl")):
            if summary.get(key):
                parts += [f"<p class='note'>Difference from {what} (model minus it, paired by "
                          "seed and video; bold where the 95 % interval excludes 0):</p>",
                          _html_differences(summary[key], j)]
    parts.append(f"<h2>Variants</h2><p class='note'>{html.escape(CRITICS_NOTE)}</p>"
                 "<table><tr><th>variant</th><th>what it adds</th><th>sets</th>"
                 "<th>critics' accuracy</th><th>training</th><th>train it alone</th></tr>")
    for v in summary["variants"]:
        sets = describe(v["overrides"])
        took = "-" if v["train_seconds"] is None else f"{v['train_seconds']:.0f} s"
        took += " (reused)" if v["train_status"] == "reused" else ""
        parts.append(f"<tr><td>{_e(v['name'])}</td><td>{_e(v['adds'])}</td>"
                     f"<td><code>{_e(sets)}</code></td>"
                     f"<td>{_e(describe_critics(v.get('critics', {})))}</td><td>{took}</td>"
                     f"<td><code>{_e(v['train_command'])}</code></td></tr>")
    parts.append("</table>")
    parts.append("<h2>Training curves</h2>")
    if plots is None:
        parts.append(f'<p class="note">{_e(PLOTS_HINT)}.</p>')
    elif not plots:
        parts.append('<p class="note">The runs logged nothing to plot.</p>')
    else:
        parts += [f'<figure><img src="{_e(rel)}" alt="{_e(title)}"></figure>'
                  for title, rel in plots]
    parts.append("<h2>Predictions</h2>")
    parts.append('<p class="note">A window of the frame where it moves most, at full '
                 "resolution. Grid: the last input, each variant's predicted frame(s), the "
                 "flow extrapolation and the ground truth. Animations: the inputs, then the "
                 "predictions (red border); ground truth | variant | variant deblurred, and "
                 "ground truth | flow extrapolation.</p>")
    for clip in clips:
        top, left, h, w = clip["window"]
        parts.append(f"<h3>{_e(clip['name'])} <span class='note'>({w}&times;{h} at "
                     f"x={left}, y={top})</span></h3>")
        parts.append(f'<img src="{_e(clip["grid"])}" alt="{_e(clip["name"])}: every variant">')
        parts.append("<table>")
        for name, rel in clip["gifs"].items():
            parts.append(f"<tr><td>{_e(name)}</td><td><img src=\"{_e(rel)}\" "
                         f"alt=\"{_e(clip['name'])}: {_e(name)}\"></td></tr>")
        parts.append("</table>")
    seconds = summary.get("seconds")
    parts.append(f'<p class="note">sharpvid ablate; {len(summary["variants"])} variants'
                 + (f", {seconds / 60:.1f} min this time" if seconds is not None else "")
                 + ".</p></body></html>")
    return "\n".join(parts) + "\n"


def write_report(summary: dict, variants: list[dict], out: Path, *, crop: int = 256) -> Path:
    """The pictures, the plots (when matplotlib is there) and ``report.html`` in ``out``."""
    clips = write_pictures(variants, out, crop=crop)
    plots = write_plots(variants, out)
    if plots is None:
        print(f"sharpvid: note: {PLOTS_HINT}", file=sys.stderr)
    path = out / "report.html"
    text = page(summary, clips, plots)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return path
