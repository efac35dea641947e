"""``sharpvid ablate`` (:mod:`sharpvid.fast.ablate`, :mod:`sharpvid.fast.report`): what each variant
sets, the runner end to end on tiny configs (tables, pictures, report, reuse, resume, refusals) and
its one-line errors."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from sharpvid.fast import ablate, ablation_tables, cli, evaluate, report
from sharpvid.fast.config import load_config

EVAL = "synthetic:seed=1,videos=2,frames=10,height=40,width=40"
FAST = ["--steps", "3", "--batch=2", "--log_every=1", "--val_every=0", "--sample_every=0",
        "--checkpoint_every=3", "--eval-data", EVAL, "--pictures", "2", "--quiet"]


def run_cli(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([*map(str, args)])
    return status, out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------------------------------
# What a variant sets
# ---------------------------------------------------------------------------------------------


def test_every_variant_sets_every_weight_and_switch_and_validates():
    base = load_config("tiny")
    for name in ablate.VARIANTS:
        changes = ablate.variant_overrides(name, base)
        assert {"lam_adv", "lam_gdl", "lam_perc", *ablate.PAPER_SWITCHES} <= set(changes)
        if name != "adv_gdl_perc":  # the perceptual loss also needs a weights file (tested below)
            cfg = ablate.variant_config(base, name)
            assert cfg.adversarial == ("adv" in ablate.VARIANTS[name].terms)


def test_a_variant_takes_the_configs_weights_or_the_defaults():
    base = load_config("tiny", ["lam_adv=0.2", "lam_gdl=0", "label_smoothing=true",
                                "g_activation=leaky_relu"])
    adv_gdl = ablate.variant_overrides("adv_gdl", base)
    assert adv_gdl["lam_adv"] == 0.2  # the config's (non-zero)
    assert adv_gdl["lam_gdl"] == ablate.DEFAULT_WEIGHTS["lam_gdl"]  # off in the config: default
    assert adv_gdl["lam_perc"] == 0.0
    assert adv_gdl["label_smoothing"] is False and adv_gdl["g_activation"] == ""  # the paper's
    l2 = ablate.variant_overrides("l2", base)
    assert (l2["lam_adv"], l2["lam_gdl"], l2["p"]) == (0.0, 0.0, 2.0)
    stabilised = ablate.variant_overrides("stabilised", base)
    assert stabilised["label_smoothing"] and stabilised["d_activation"] == "leaky_relu"
    assert ablate.variant_overrides("gman", base)["discriminators"] == 2


def test_init_d2_is_kept_only_by_the_blur_detector_variants():
    base = load_config("tiny", ["blur_detector=true", "init_d2=pre.pt", "freeze_d2=true"])
    assert ablate.variant_overrides("two_d", base).get("init_d2", "pre.pt") == "pre.pt"
    assert ablate.variant_config(base, "two_d").init_d2 == "pre.pt"
    assert ablate.variant_config(base, "adv_gdl").init_d2 == ""
    assert ablate.variant_config(base, "l2").freeze_d2 is False


def test_parse_variants():
    assert ablate.parse_variants("l2, gdl,adv_gdl") == ["l2", "gdl", "adv_gdl"]
    for text, message in [("", "names no variant"), ("l2,adv_gd", "did you mean 'adv_gdl'"),
                          ("l2,l2", "twice")]:
        with pytest.raises(ablate.AblationError, match=message):
            ablate.parse_variants(text)


def test_describe_and_train_command():
    base = load_config("tiny", ["lam_adv=0.05"])
    assert ablate.describe(ablate.variant_overrides("two_d", base)) == \
        "lam_adv=0.05, lam_gdl=1, blur_detector=true"
    command = ablate.train_command("tiny", ["steps=3"], "l2", base, Path("o/runs/l2"))
    assert command == "sharpvid train tiny steps=3 --lam_adv=0 --lam_gdl=0 --out o/runs/l2"


def test_best_in_column_skips_nan_and_ties():
    rows = [{"means": {"c": x}} for x in (1.0, math.nan, 3.0, 3.0, -math.inf)]
    assert ablation_tables.best_in_column(rows, "c") == {2, 3}
    assert ablation_tables.best_in_column([{"means": {"c": math.nan}}], "c") == set()


def test_with_intervals_only_a_separated_best_is_bold():
    rows = [{"means": {"c": m}, "ci": {"c": h}} for m, h in ((1.0, 0.1), (2.0, 0.4), (2.5, 0.2))]
    assert ablation_tables.best_in_column(rows, "c") == set()  # 2.5 - 0.2 < 2.0 + 0.4: they overlap
    rows[1]["ci"]["c"] = 0.1
    assert ablation_tables.best_in_column(rows, "c") == {2}
    rows[2]["ci"]["c"] = math.nan  # a missing interval (one value) is not a separation
    assert ablation_tables.best_in_column(rows, "c") == set()
    assert ablation_tables.cell_text(rows[1], "c") == "2.00 ± 0.10"
    assert ablation_tables.cell_text(rows[2], "c") == "2.50"


def test_interval_is_students_t_over_finite_values():
    from scipy import stats

    x = [1.0, 2.0, 4.0, math.nan]
    mean, half = ablation_tables.interval(x)
    assert mean == pytest.approx(7 / 3)
    assert half == pytest.approx(stats.t.ppf(0.975, 2) * np.std([1, 2, 4], ddof=1) / math.sqrt(3))
    assert math.isnan(ablation_tables.interval([3.0])[1])
    assert ablation_tables.interval([1.0, math.inf])[0] == math.inf
    assert math.isnan(ablation_tables.interval([1.0, math.inf])[1])


def test_seeds_train_each_variant_k_times_and_the_tables_carry_intervals(tmp_path):
    out = tmp_path / "abl"
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "l2,gdl", "--seeds", "2",
                                  *FAST, "--deblur", "none", "--out", out)
    assert status == 0, err
    assert {p.name for p in (out / "runs").iterdir()} == {"l2", "l2-seed1", "gdl", "gdl-seed1"}
    summary = json.loads((out / "ablation.json").read_text())
    assert summary["seeds"] == 2
    model = next(r for r in summary["rows"] if r["label"] == "l2" and r["frame"] == 1)
    copy = next(r for r in summary["rows"] if r["method"] == "copy_last" and r["frame"] == 1)
    assert model["values"] == 2 * 2 and copy["values"] == 2  # 2 seeds x 2 videos; copy: videos
    assert model["ci"]["psnr_seed"] > 0
    # the mean over seeds of each seed's mean over videos
    per_seed = [json.loads((out / "runs" / d / "eval" / "metrics.json").read_text())
                for d in ("l2", "l2-seed1")]
    assert model["means"]["psnr_seed"] == pytest.approx(
        np.mean([m["means"]["model"]["psnr_seed"][0] for m in per_seed]))
    # l2's seeds differ (the seed reached the weights)
    assert per_seed[0]["means"]["model"]["psnr_seed"] != per_seed[1]["means"]["model"]["psnr_seed"]
    diff = next(d for d in summary["differences"] if d["frame"] == 1)
    assert diff["variant"] == "l2" and diff["reference"] == "gdl"
    gdl = next(r for r in summary["rows"] if r["label"] == "gdl" and r["frame"] == 1)
    assert diff["means"]["psnr_seed"] == pytest.approx(model["means"]["psnr_seed"]
                                                       - gdl["means"]["psnr_seed"])
    # the baselines: one row each, from the first variant's first seed (over the videos)
    flow = next(r for r in summary["rows"] if r["method"] == "flow_extrap" and r["frame"] == 1)
    assert flow["label"] == "flow extrapolation" and flow["values"] == 2
    assert flow["means"]["psnr_seed"] == pytest.approx(
        per_seed[0]["means"]["flow_extrap"]["psnr_seed"][0])
    assert flow["means"]["psnr_seed"] != copy["means"]["psnr_seed"]
    # each variant's model - flow_extrap, paired by (seed, video), by hand from the videos' values
    from scipy import stats

    for name, dirs in (("l2", ("l2", "l2-seed1")), ("gdl", ("gdl", "gdl-seed1"))):
        runs = [json.loads((out / "runs" / d / "eval" / "metrics.json").read_text())
                for d in dirs]
        for baseline in ("flow_extrap", "copy_last"):
            pairs = np.array([video["values"]["model"]["psnr_seed"][1]
                              - video["values"][baseline]["psnr_seed"][1]
                              for run in runs for video in run["videos"]])
            assert pairs.size == 4
            d = next(d for d in summary["baseline_differences"] if d["frame"] == 2
                     and d["variant"] == name and d["reference"] == baseline)
            assert d["means"]["psnr_seed"] == pytest.approx(pairs.mean())
            assert d["ci"]["psnr_seed"] == pytest.approx(
                stats.t.ppf(0.975, 3) * pairs.std(ddof=1) / 2)
    assert [(d["variant"], d["reference"]) for d in summary["baseline_differences"]
            if d["frame"] == 1] == [("l2", "copy_last"), ("gdl", "copy_last"),
                                    ("l2", "flow_extrap"), ("gdl", "flow_extrap")]
    md = (out / "ablation.md").read_text()
    assert "2 seed(s) per variant" in md and "Difference from `gdl`" in md and " ± " in md
    assert "l2 − gdl" in md and md.count("| flow extrapolation |") == 2
    assert "Difference from the baselines" in md
    assert md.count("| l2 − flow_extrap |") == 2 and md.count("| gdl − copy_last |") == 2
    with open(out / "ablation.csv") as f:
        header = next(csv.reader(f))
    assert "psnr_seed_ci95" in header and "values" in header
    assert "--seeds 2" in summary["command"]
    # a rerun reuses all four runs
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "l2,gdl", "--seeds", "2",
                                  *FAST[:-1], "--deblur", "none", "--out", out)
    assert status == 0, err
    assert len(re.findall(r"training reused \(\d+ s\), evaluation reused", stdout)) == 4, stdout


def test_crop_window_finds_where_the_frame_moves_most():
    inputs = np.zeros((4, 3, 30, 40), np.uint8)
    targets = np.zeros((2, 3, 30, 40), np.uint8)
    targets[0, 1, 20:24, 30:35] = 255
    top, left, h, w = report.crop_window(inputs, targets, 8)
    assert (h, w) == (8, 8) and top <= 20 and top + 8 >= 24 and left <= 30 and left + 8 >= 35
    assert report.crop_window(inputs, targets, 0) == (0, 0, 30, 40)
    assert report.crop_window(inputs, targets, 100) == (0, 0, 30, 40)


def test_read_log_keeps_the_last_record_of_a_replayed_step(tmp_path):
    log = tmp_path / "metrics.jsonl"
    log.write_text('{"step": 1, "kind": "train", "g/lp": 2}\n{"step": 2, "kind": "train", "g/lp": 9}\n'
                   'not json\n{"step": 2, "kind": "train", "g/lp": 1}\n{"step": 2, "kind": "val", '
                   '"psnr_seed": 20}\n')
    records = report.read_log(log)
    assert [(r["step"], r.get("g/lp")) for r in records if r["kind"] == "train"] == [(1, 2), (2, 1)]
    assert report._series(records, "train", "g/lp") == {"g/lp": ([1, 2], [2.0, 1.0])}


# ---------------------------------------------------------------------------------------------
# End to end
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    """``sharpvid ablate tiny --variants l2,two_d`` for 3 steps, evaluated on 2 synthetic videos."""
    out = tmp_path_factory.mktemp("ablation") / "abl"
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "l2,two_d", *FAST, "--out", out)
    assert status == 0, err
    return out, stdout


def test_ablation_writes_the_tables(ablation):
    out, stdout = ablation
    summary = json.loads((out / "ablation.json").read_text())
    assert summary["format"] == ablate.FORMAT
    assert [v["name"] for v in summary["variants"]] == ["l2", "two_d"]
    assert summary["steps"] == 3 and summary["n"] == 2 and summary["videos"] == 2
    # rows: per frame, copy-last then each variant and its deblurred prediction
    labels = [(r["frame"], r["label"]) for r in summary["rows"]]
    assert labels == [(j, lab) for j in (1, 2) for lab in
                      ("copy last frame", "flow extrapolation", "l2", "l2 + deblur", "two_d",
                       "two_d + deblur")]
    assert set(ablation_tables.BASELINE_LABELS) == set(evaluate.BASELINES)
    # the table's values are the evaluation's means, as sharpvid evaluate wrote them
    for v in ("l2", "two_d"):
        metrics = json.loads((out / "runs" / v / "eval" / "metrics.json").read_text())
        row = next(r for r in summary["rows"] if r["label"] == v and r["frame"] == 2)
        assert row["means"]["psnr_seed"] == pytest.approx(metrics["means"]["model"]["psnr_seed"][1])
        assert metrics["step"] == 3 and metrics["evaluation"]["data"] == EVAL
    md = (out / "ablation.md").read_text()
    assert md.count("| copy last frame |") == 2 and "## Frame 2" in md
    assert md.count("| flow extrapolation |") == 2 and md.count("| two_d − flow_extrap |") == 2
    assert "sharpvid ablate tiny --variants l2,two_d --steps 3" in md
    # the command names the options that differ from their defaults, and only those
    assert f"--eval-data {EVAL}" in md and "--pictures 2" in md and "--frames" not in md
    assert "blur_detector=true" in md and "sharpvid train tiny" in md
    # each critic's accuracy over the last 20 % of training, from the run's metrics.jsonl
    l2, two_d = summary["variants"]
    assert l2["critics"] == {} and set(two_d["critics"]) == {"d", "d_blur"}
    logged = [r["d_blur/acc_real"] for r in report.read_log(out / "runs" / "two_d" / "metrics.jsonl")
              if r["kind"] == "train" and r["step"] > 0.8 * 3]
    assert two_d["critics"]["d_blur"]["acc_real"] == pytest.approx(sum(logged) / len(logged))
    assert "D2 (blur): real" in md
    with open(out / "ablation.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == 12 and {r["method"] for r in table} == {"copy_last", "flow_extrap",
                                                                  "model", "model+deblur"}
    flow = next(r for r in table if r["method"] == "flow_extrap" and r["frame"] == "1")
    metrics = json.loads((out / "runs" / "l2" / "eval" / "metrics.json").read_text())
    assert flow["variant"] == "flow_extrap" and float(flow["psnr_seed"]) == pytest.approx(
        metrics["means"]["flow_extrap"]["psnr_seed"][0])
    assert float(table[1]["psnr_seed"]) == pytest.approx(summary["rows"][1]["means"]["psnr_seed"])
    assert "frame 1:" in stdout and "| two_d + deblur |" in stdout


def test_ablation_writes_pictures_plots_and_a_self_contained_report(ablation):
    from PIL import Image

    out, _ = ablation
    html = (out / "report.html").read_text()
    assert "<table>" in html and "copy last frame" in html and "<script" not in html
    assert html.count("<td>flow extrapolation</td>") == 2 + 2  # a row per frame, a GIF per clip
    assert html.count("<td>l2 &minus; flow_extrap</td>") == 2
    assert "http://" not in html and "https://" not in html
    sources = re.findall(r'src="([^"]+)"', html)
    assert sources and all((out / s).is_file() for s in sources), sources
    gifs = [s for s in sources if s.endswith(".gif")]
    plots = [s for s in sources if s.startswith("plots/")]
    grids = [s for s in sources if s.startswith("grid-")]
    assert len(gifs) == 6 and len(grids) == 2  # 2 clips x (2 variants + flow); a grid per clip
    assert sum(s.endswith("-flow_extrap.gif") for s in gifs) == 2
    assert {"plots/g_lp.png", "plots/g_adv.png", "plots/d_loss.png", "plots/d_acc.png"} <= set(plots)
    gif = Image.open(out / gifs[0])
    assert gif.n_frames == 4 + 2  # inputs, then the predictions
    grid = Image.open(out / grids[0])
    assert grid.size[0] > 5 * 40  # input 4 | l2 | two_d | flow extrapolation | ground truth


def _variants_from(out: Path, names: list[str]) -> list[dict]:
    """What :func:`sharpvid.fast.ablate.run_ablation` gives the tables and the report, read back
    from the ablation's folder (one seed)."""
    from sharpvid.fast.imageio import from_strict_json

    variants = []
    for name in names:
        run = out / "runs" / name
        metrics = from_strict_json(json.loads((run / "eval" / "metrics.json").read_text()))
        variants.append({"name": name, "metrics": metrics, "log": report.read_log(
                             run / "metrics.jsonl"),
                         "seeds": [{"seed": 0, "means": metrics["means"],
                                    "videos": metrics["videos"]}],
                         "samples": ablate.load_samples(run / "eval" / "samples.npz")})
    return variants


def _without_flow(variants: list[dict]) -> list[dict]:
    """``variants`` as an evaluation made before flow extrapolation left them."""
    import copy

    old = copy.deepcopy(variants)
    for v in old:
        v["metrics"]["methods"].remove("flow_extrap")
        for key in ("means", "counts"):
            del v["metrics"][key]["flow_extrap"]
        for run in v["seeds"]:
            run["means"].pop("flow_extrap", None)
            for video in run["videos"]:
                video["values"].pop("flow_extrap", None)
        for s in v["samples"]:
            del s["flow_extrap"]
    return old


def test_the_pictures_get_a_flow_extrapolation_column_and_animation(ablation, tmp_path):
    from PIL import Image

    out, _ = ablation
    variants = _variants_from(out, ["l2", "two_d"])
    new = report.write_pictures(variants, tmp_path / "new", crop=256)
    old = report.write_pictures(_without_flow(variants), tmp_path / "old", crop=256)
    assert [set(c["gifs"]) for c in new] == [{"l2", "two_d", report.FLOW_LABEL}] * 2
    assert [set(c["gifs"]) for c in old] == [{"l2", "two_d"}] * 2
    # one more column (40 px frames; the column is as wide as its label)
    wide, narrow = (Image.open(d / c[0]["grid"]).size for d, c in ((tmp_path / "new", new),
                                                                    (tmp_path / "old", old)))
    assert wide[1] == narrow[1] and wide[0] >= narrow[0] + 40
    # the flow GIF: the inputs, then flow extrapolation's predictions (red border)
    gif = Image.open(tmp_path / "new" / new[0]["gifs"][report.FLOW_LABEL])
    assert gif.n_frames == 4 + 2
    gif.seek(5)
    assert (np.asarray(gif.convert("RGB")) == (255, 0, 0)).all(-1).any()


def test_an_older_evaluation_without_flow_extrap_still_makes_the_tables_and_report(ablation,
                                                                                  tmp_path):
    out, _ = ablation
    old = _without_flow(_variants_from(out, ["l2", "two_d"]))
    rows = ablation_tables.summary_rows(old, 2)
    assert [r["label"] for r in rows if r["frame"] == 1] == [
        "copy last frame", "l2", "l2 + deblur", "two_d", "two_d + deblur"]
    assert ablation_tables.differences(old, 2, reference="flow_extrap") == []
    assert {d["reference"] for d in ablation_tables.baseline_differences(old, 2)} == {"copy_last"}
    summary = json.loads((out / "ablation.json").read_text())
    summary.update(rows=rows, baseline_differences=ablation_tables.baseline_differences(old, 2))
    path = report.write_report(summary, old, tmp_path)
    html = path.read_text()
    assert "<td>copy last frame</td>" in html and "<td>flow extrapolation</td>" not in html
    assert "&minus; copy_last" in html and "flow_extrap" not in html
    assert "| copy last frame |" in ablate.markdown(summary)


def test_an_evaluation_without_flow_extrap_is_evaluated_again(ablation, tmp_path):
    import shutil

    out, _ = ablation
    run = tmp_path / "l2"
    shutil.copytree(out / "runs" / "l2", run)
    meta = json.loads((run / "eval" / "metrics.json").read_text())
    args = dict(evaluation=json.loads((out / "ablation.json").read_text())["evaluation"],
                device="cpu", progress=False, train_config=meta["train_config"])
    assert ablate.evaluate_variant(run, 3, **args)[2] == "reused"  # complete: reused
    # an older evaluation's metrics.json, without the method
    meta["methods"].remove("flow_extrap")
    del meta["means"]["flow_extrap"]
    (run / "eval" / "metrics.json").write_text(json.dumps(meta))
    metrics, samples, status, _ = ablate.evaluate_variant(run, 3, **args)
    assert status == "evaluated" and "flow_extrap" in metrics["methods"]
    assert all("flow_extrap" in s for s in samples)
    # samples.npz written before the pictures kept flow extrapolation
    with np.load(run / "eval" / "samples.npz") as data:
        kept = {k: data[k] for k in data.files if not k.endswith("/flow_extrap")}
    np.savez_compressed(run / "eval" / "samples.npz", **kept)
    assert ablate.evaluate_variant(run, 3, **args)[2] == "evaluated"


def test_the_val_curves_draw_flow_extrapolation_beside_copy_last(tmp_path, monkeypatch):
    import matplotlib.axes

    old = [{"step": s, "kind": "val", "psnr_seed": 20.0 + s, "psnr_seed_copy_last": 19.0}
           for s in (1, 2)]
    new = [{**r, "psnr_seed_flow_extrap": 25.0 - r["step"]} for r in old]
    assert report.baseline_curves([old], "psnr_seed") == {"copy last frame": ([1, 2],
                                                                             [19.0, 19.0])}
    assert report.baseline_curves([old, new], "psnr_seed") == {
        "copy last frame": ([1, 2], [19.0, 19.0]), "flow extrapolation": ([1, 2], [24.0, 23.0])}
    drawn = []
    plot = matplotlib.axes.Axes.plot

    def spy(self, *args, **kwargs):
        drawn.append(kwargs.get("label"))
        return plot(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    for log, out in ((new, tmp_path / "new"), (old, tmp_path / "old")):
        drawn.clear()
        plots = report.write_plots([{"name": "gdl", "log": log}], out)
        assert [rel for _, rel in plots] == ["plots/val_psnr.png"]
        assert (out / "plots" / "val_psnr.png").is_file()
        assert drawn == ["gdl", "copy last frame"] + (["flow extrapolation"] if log is new
                                                      else [])


def test_rerun_reuses_and_a_new_variant_is_added(ablation):
    out, _ = ablation
    ckpt = out / "runs" / "l2" / "checkpoints" / "step-00000003.pt"
    before = ckpt.stat().st_mtime_ns
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "gdl,l2", *FAST, "--out", out)
    assert status == 0, err
    assert re.search(r"l2: training reused \(\d+ s\), evaluation reused \(\d+ s\)", stdout)
    assert "gdl: training trained" in stdout
    assert ckpt.stat().st_mtime_ns == before
    summary = json.loads((out / "ablation.json").read_text())
    assert [v["name"] for v in summary["variants"]] == ["gdl", "l2"]
    again = summary["variants"][1]  # l2: reused, with the seconds it took the first time
    first = json.loads((out / "runs" / "l2" / "ablation-timing.json").read_text())
    assert again["train_status"] == "reused" and again["train_seconds"] == first["train_seconds"]


def test_a_changed_evaluation_is_evaluated_again(ablation, tmp_path):
    out, _ = ablation
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--frames", "1",
                                  "--deblur", "none", "--out", out)
    assert status == 0, err
    assert "l2: training reused" in stdout and "evaluation evaluated" in stdout
    summary = json.loads((out / "ablation.json").read_text())
    assert [r["label"] for r in summary["rows"]] == ["copy last frame", "flow extrapolation",
                                                     "l2"]


def test_a_folder_with_another_config_is_refused_then_forced(tmp_path):
    out = tmp_path / "abl"
    assert run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--out", out)[0] == 0
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--p=1",
                                  "--out", out)
    assert status == 0 and "l2: training reused" in stdout, err  # l2 sets p itself
    status, _, err = run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--lam_lp=2",
                             "--out", out)
    assert status == 2 and "lam_lp: 1.0 -> 2.0" in err and "--force" in err
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--lam_lp=2",
                                  "--force", "--out", out)
    assert status == 0 and "l2: training trained" in stdout, err
    assert "evaluation evaluated" in stdout  # the old run's evaluation is not the new one's
    metrics = json.loads((out / "runs" / "l2" / "eval" / "metrics.json").read_text())
    assert metrics["train_config"]["lam_lp"] == 2.0
    # --force replaces another config's run only: the same config again is reused
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--lam_lp=2",
                                  "--force", "--out", out)
    assert status == 0 and "l2: training reused" in stdout and "evaluation reused" in stdout, err


def test_an_interrupted_ablation_resumes(tmp_path, monkeypatch):
    from sharpvid.fast.training.loop import Trainer

    out = tmp_path / "abl"
    stop_at = {"step": 2}
    monkeypatch.setattr(Trainer, "_stop_everywhere",
                        lambda self, requested: self.step_no >= stop_at["step"])
    status, _, err = run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--out", out)
    assert status == 130 and "rerun the same command to continue" in err
    assert not (out / "ablation.json").exists()
    monkeypatch.undo()
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--out", out)
    assert status == 0 and "l2: training resumed" in stdout, err


def test_without_matplotlib_the_report_says_how_to_get_plots(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    out = tmp_path / "abl"
    status, _, err = run_cli("ablate", "tiny", "--variants", "l2", *FAST, "--out", out)
    assert status == 0, err
    html = (out / "report.html").read_text()
    assert "pip install &#x27;sharpvid[plots]&#x27;" in html and not (out / "plots").exists()
    assert "sharpvid[plots]" in err and (out / "ablation.json").is_file()


def test_the_perceptual_variant_runs_with_a_weights_file(tmp_path):
    from test_train import _vgg_file

    vgg = _vgg_file(tmp_path / "vgg19.pth")
    out = tmp_path / "abl"
    status, stdout, err = run_cli("ablate", "tiny", "--variants", "adv_gdl_perc", *FAST,
                                  '--perc_layers=[["relu2_2", 1.0]]', "--vgg19_weights", vgg,
                                  "--deblur", "none", "--out", out)
    assert status == 0, err
    records = report.read_log(out / "runs" / "adv_gdl_perc" / "metrics.jsonl")
    assert all(r["g/perc"] > 0 for r in records if r["kind"] == "train")
    assert (out / "plots" / "g_perc.png").is_file()


@pytest.mark.parametrize("args, message", [
    (["tiny", "--variants", "adv_gdl_perc"], "variant adv_gdl_perc uses the perceptual loss"),
    (["tiny", "--variants", "l2,nope"], "unknown variant 'nope'"),
    (["tiny", "--variants", "adv_gdl_perc", "--vgg19_weights", "missing.pth"],
     "missing.pth: no such file"),
    (["tiny", "--steps", "0"], "--steps must be >= 1"),
    (["tiny", "--kernel-size", "4"], "--kernel-size must be an odd integer"),
    (["tiny", "--pictures", "0"], "--pictures must be >= 1"),
    (["tiny", "--stpes=3"], "did you mean 'steps'"),
    (["tiny", "--frame-range", "9:x"], "9:x"),
    ([], "give a CONFIG"),
])
def test_bad_input_is_one_line_and_trains_nothing(tmp_path, args, message):
    out = tmp_path / "abl"
    status, _, err = run_cli("ablate", *args, "--eval-data", EVAL, "--quiet", "--out", out)
    assert status == 2 and message in err and err.count("\n") == 1, err
    assert not (out / "runs").exists()


def test_bad_evaluation_data_stops_before_any_training(tmp_path):
    out = tmp_path / "abl"
    status, _, err = run_cli("ablate", "tiny", "--variants", "l2", "--quiet", "--eval-data",
                             tmp_path / "nosuch.mp4", "--out", out)
    assert status == 2 and "nosuch.mp4" in err and err.count("\n") == 1, err
    assert not (out / "runs").exists()


def test_a_config_without_validation_data_needs_eval_data(tmp_path):
    status, _, err = run_cli("ablate", "tiny", "--out", tmp_path / "a")
    assert status == 2 and "--eval-data" in err


def test_list_variants():
    status, out, _ = run_cli("ablate", "--list-variants")
    assert status == 0
    for name in ablate.VARIANTS:
        assert re.search(rf"^[* ] {name}\b", out, flags=re.M), name


def test_grey_video_gets_its_pictures(tmp_path):
    from PIL import Image

    grey = "synthetic:channels=1,seed=1,videos=2,frames=10,height=40,width=40"
    args = [a if a != EVAL else grey for a in FAST]
    out = tmp_path / "abl"
    status, _, err = run_cli("ablate", "tiny", "--variants", "l2", *args, "--net.channels=1",
                             "--data=synthetic:channels=1,videos=3,frames=12,height=40,width=40",
                             "--out", out)
    assert status == 0, err
    gif = Image.open(out / "gifs" / "synthetic-0000-l2.gif")
    assert gif.n_frames == 6
    gif.seek(5)  # a prediction: the red border of the colour panels drawn on grey frames
    frame = np.asarray(gif.convert("RGB"))
    assert (frame == (255, 0, 0)).all(-1).any()
