"""The ablation's tables, a leaf module: what :mod:`sharpvid.fast.ablate` writes (``ablation.md``,
``ablation.csv``) and :mod:`sharpvid.fast.report` shows (``report.html``) from the same rows, so
neither imports the other.  Means with 95 % intervals over seeds and videos, bold only where
separated, each variant's paired difference from ``gdl`` and from each baseline (copy-last-frame,
optical-flow extrapolation), and the critics' accuracy."""

from __future__ import annotations

import csv
import io
import math

import numpy as np

from sharpvid.fast.imageio import table_number

#: The columns of the ablation table (seed convention, as the README's demo table):
#: column -> header.
TABLE_COLUMNS = {"psnr_seed": "PSNR", "psnr_seed_moving": "PSNR moving",
                 "sharp_seed": "sharpness", "sharp_seed_moving": "sharpness moving",
                 "ssim_seed": "SSIM"}

#: The baselines of every evaluation (:data:`sharpvid.fast.evaluate.BASELINES`, weakest first)
#: and their rows' labels; a baseline an older evaluation did not score gets no row.
BASELINE_LABELS = {"copy_last": "copy last frame", "flow_extrap": "flow extrapolation"}

#: The paper's value of every switch a variant may set (what the others get).
PAPER_SWITCHES = {"discriminators": 1, "blur_detector": False, "blur_detector_fakes": False,
                  "adv_aggregate": "mean", "label_smoothing": False, "g_activation": "",
                  "d_activation": "", "adv_region": "frame"}


def critic_accuracy(records: list[dict], steps: int, tail: float = 0.2) -> dict[str, dict]:
    """How well each critic told real from fake (the blur detector: sharp from blurred) over the
    last ``tail`` of training: ``{critic prefix: {"acc_real", "acc_fake", "loss"}}``, means over
    ``records`` (a run's ``metrics.jsonl``, :func:`sharpvid.fast.report.read_log`) of
    the logged ``PREFIX/acc_real``, ``PREFIX/acc_fake`` and ``PREFIX/loss`` of the steps after
    ``(1 - tail) * steps``.  A critic at chance (accuracies near 0.5, or 1 and 0; loss near
    8 ln 2 for 4 scales) has given G no signal yet: its variant's differences are not its doing."""
    records = [r for r in records
               if r.get("kind", "train") == "train" and r["step"] > (1 - tail) * steps]
    out: dict[str, dict] = {}
    for r in records:
        for key, value in r.items():
            prefix, _, name = key.partition("/")
            if name in ("acc_real", "acc_fake", "loss") and prefix.startswith("d") \
                    and isinstance(value, (int, float)):
                out.setdefault(prefix, {}).setdefault(name, []).append(float(value))
    return {prefix: {k: sum(v) / len(v) for k, v in values.items()}
            for prefix, values in out.items()}


#: What the critics' accuracy column means (ablation.md and report.html say it in these words).
CRITICS_NOTE = ("Critics' accuracy: the mean over the last 20 % of training of each critic's "
                "share of real (sharp) and of generated (blurred) samples it classified right; "
                "near 0.5 (or 1 and 0) it is at chance and has given G no signal yet.")


def describe_critics(critics: dict[str, dict]) -> str:
    """``"d: real 0.52 / fake 0.49"`` per critic, or ``"-"`` without one."""
    names = {"d": "D", "d_blur": "D2 (blur)"}
    return "; ".join(f"{names.get(k, k.replace('d_', 'D '))}: real {v['acc_real']:.2f} / fake "
                     f"{v['acc_fake']:.2f}" for k, v in critics.items()
                     if "acc_real" in v and "acc_fake" in v) or "-"


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


def interval(values) -> tuple[float, float]:
    """The mean of ``values`` and the half-width of its 95 % interval (Student's t over the
    values, NaN skipped); the half-width is NaN with fewer than two values or an infinite one
    (a seed-convention score of identical frames)."""
    from scipy import stats

    x = np.asarray([v for v in values if v == v], dtype=np.float64)
    if x.size == 0:
        return math.nan, math.nan
    mean = float(x.mean())  # inf when a value is (scores are finite or +inf)
    if x.size < 2 or not np.isfinite(x).all():
        return mean, math.nan
    return mean, float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))


def _values(seed_runs: list[dict], method: str, column: str, j: int) -> list[float]:
    """Every (seed, video) value of ``column`` for predicted frame ``j``."""
    return [video["values"][method][column][j] for run in seed_runs for video in run["videos"]]


def summary_rows(variants: list[dict], n: int) -> list[dict]:
    """One row per (frame, method): the baselines first (:data:`BASELINE_LABELS`: copy-last,
    then flow extrapolation; the same frames for every variant: from the first variant's first
    seed; one its evaluation did not score is left out), then each variant's model and, when
    deblurred, model + deblurring.  Each row: ``frame``, ``variant`` (the baseline's name for a
    baseline), ``method``, ``label``, ``means`` (column -> the mean over seeds of each seed's mean
    over videos), ``ci`` (column -> half-width of the 95 % interval over every seed and video),
    ``values`` (how many), ``videos``, ``moving`` (videos with moving pixels)."""
    rows = []
    for j in range(n):
        entries = [(variants[0], b, label) for b, label in BASELINE_LABELS.items()
                   if b in variants[0]["metrics"]["methods"]]
        for v in variants:
            entries.append((v, "model", v["name"]))
            if "model+deblur" in v["metrics"]["methods"]:
                entries.append((v, "model+deblur", f"{v['name']} + deblur"))
        for v, method, label in entries:
            baseline = method in BASELINE_LABELS
            seeds = v["seeds"][:1] if baseline else v["seeds"]
            counts = v["metrics"]["counts"][method]
            columns = v["metrics"]["means"][method]
            means = {c: float(np.mean([run["means"][method][c][j] for run in seeds]))
                     for c in columns}
            ci = {c: interval(_values(seeds, method, c, j))[1] for c in columns}
            rows.append({"frame": j + 1, "variant": method if baseline else v["name"],
                         "method": method, "label": label, "means": means,
                         "ci": ci, "values": len(seeds) * len(seeds[0]["videos"]),
                         "videos": counts["psnr_seed"][j], "moving": counts["psnr_seed_moving"][j]})
    return rows


def differences(variants: list[dict], n: int, reference: str = "gdl") -> list[dict]:
    """Each variant's model minus ``reference``, paired by seed and video: per frame and table
    column, the mean difference over the (seed, video) pairs and its 95 % interval.

    ``reference``: a variant's name (its model: each *other* variant's seed ``s`` on video ``v``
    minus the reference's seed ``s`` on video ``v``; empty without that variant), or a baseline of
    :data:`BASELINE_LABELS` (each variant's seed-``s`` evaluation of ``v`` minus the baseline's
    value in that same evaluation; a variant whose evaluation did not score it is left out)."""
    baseline = reference in BASELINE_LABELS
    ref = None if baseline else next((v for v in variants if v["name"] == reference), None)
    if ref is None and not baseline:
        return []
    out = []
    for j in range(n):
        for v in variants:
            if v is ref or (baseline and reference not in v["metrics"]["methods"]):
                continue
            means, ci = {}, {}
            for c in TABLE_COLUMNS:
                theirs = (_values(v["seeds"], reference, c, j) if baseline
                          else _values(ref["seeds"], "model", c, j))
                pairs = [a - b for a, b in zip(_values(v["seeds"], "model", c, j), theirs,
                                               strict=True)]
                means[c], ci[c] = interval(pairs)
            out.append({"frame": j + 1, "variant": v["name"], "reference": reference,
                        "means": means, "ci": ci})
    return out


def baseline_differences(variants: list[dict], n: int) -> list[dict]:
    """:func:`differences` from every baseline of :data:`BASELINE_LABELS` in turn (copy-last's
    rows, then flow extrapolation's)."""
    return [d for b in BASELINE_LABELS for d in differences(variants, n, reference=b)]


def _digits(column: str) -> int:
    return 3 if column.startswith("ssim") else 2


def best_in_column(rows: list[dict], column: str) -> set[int]:
    """Indices of the rows with the highest finite value of ``column`` (higher is better for
    every table column).  Rows with intervals (``ci``): the best only when its interval lies
    above the next best's (no overlap); otherwise none is marked."""
    values = [r["means"][column] for r in rows]
    finite = [x for x in values if math.isfinite(x)]
    if not finite:
        return set()
    top = max(finite)
    best = {i for i, x in enumerate(values) if x == top}
    if not all("ci" in r for r in rows):
        return best
    others = [i for i, x in enumerate(values) if math.isfinite(x) and i not in best]
    if not others:
        return best
    second = max(others, key=lambda i: values[i])
    lows = [values[i] - rows[i]["ci"][column] for i in best]
    high = values[second] + rows[second]["ci"][column]
    return best if all(low > high for low in lows) else set()


def cell_text(row: dict, column: str) -> str:
    """A table cell: the mean, with ``± half-width`` of its 95 % interval when there is one."""
    text = table_number(row["means"][column], _digits(column))
    half = row.get("ci", {}).get(column, math.nan)
    return f"{text} ± {table_number(half, _digits(column))}" if math.isfinite(half) else text


def markdown_table(rows: list[dict], frame: int) -> str:
    """The Markdown table of one predicted frame, the best value of each column in bold."""
    rows = [r for r in rows if r["frame"] == frame]
    head = ["variant", *TABLE_COLUMNS.values(), "videos"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    best = {c: best_in_column(rows, c) for c in TABLE_COLUMNS}
    for i, r in enumerate(rows):
        cells = [r["label"]]
        for c in TABLE_COLUMNS:
            text = cell_text(r, c)
            cells.append(f"**{text}**" if i in best[c] else text)
        cells.append(f"{r['videos']} ({r['moving']} moving)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def difference_table(diffs: list[dict], frame: int) -> str:
    """Markdown: each variant minus its reference (``gdl`` or a baseline), mean ± 95 % interval;
    bold where the interval excludes 0."""
    diffs = [d for d in diffs if d["frame"] == frame]
    head = ["variant", *TABLE_COLUMNS.values()]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for d in diffs:
        cells = [f"{d['variant']} − {d['reference']}"]
        for c in TABLE_COLUMNS:
            text = difference_text(d, c)
            cells.append(f"**{text}**" if excludes_zero(d, c) else text)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def difference_text(d: dict, column: str) -> str:
    """A difference cell: the signed mean, with ``± half-width`` when there is an interval."""
    mean, half = d["means"][column], d["ci"][column]
    return (f"{mean:+.{_digits(column)}f}" if math.isfinite(mean) else table_number(mean, 2)) + (
        f" ± {table_number(half, _digits(column))}" if math.isfinite(half) else "")


def excludes_zero(d: dict, column: str) -> bool:
    """Whether the difference's 95 % interval excludes 0 (bold in the tables)."""
    mean, half = d["means"][column], d["ci"][column]
    return math.isfinite(half) and abs(mean) > half


def table_csv(rows: list[dict]) -> str:
    """Every row and every evaluation column (:data:`sharpvid.fast.evaluate.COLUMNS`), long form."""
    from sharpvid.fast.evaluate import COLUMNS

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["frame", "variant", "method", *COLUMNS, *(f"{c}_ci95" for c in COLUMNS),
                     "values", "videos", "moving_videos"])
    for r in rows:
        writer.writerow([r["frame"], r["variant"], r["method"],
                         *(repr(float(r["means"][c])) for c in COLUMNS),
                         *(repr(float(r["ci"][c])) for c in COLUMNS), r["values"], r["videos"],
                         r["moving"]])
    return buf.getvalue()


def describe(overrides: dict) -> str:
    """The keys of :func:`variant_overrides` that say what the variant is: its non-zero weights,
    ``p`` when it sets it, and the switches that differ from the paper's."""
    keep = [(k, v) for k, v in overrides.items()
            if (k.startswith("lam_") and v) or k == "p"
            or (k in PAPER_SWITCHES and v != PAPER_SWITCHES[k]) or (k == "init_d2" and v)]
    return ", ".join(f"{k}={_text(v)}" for k, v in keep) or "-"


def _text(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if value == "" else str(value)
