"""The ablation runner behind ``sharpvid ablate``: does each addition to the paper's losses make the
predictions sharper without losing PSNR, on held-out real frames?

Every variant is the same training config (network, data, optimisers, steps, seed) with one set of
loss terms and critics switched on or off, trained with :class:`sharpvid.fast.training.loop.Trainer`
into ``OUT/runs/<variant>`` and evaluated as ``sharpvid evaluate`` does
(:func:`sharpvid.fast.evaluate.evaluate_checkpoint`) into ``OUT/runs/<variant>/eval``.  The
comparison (:func:`summary_rows`) goes to ``OUT/ablation.md``, ``OUT/ablation.csv`` and
``OUT/ablation.json``; the pictures and ``OUT/report.html`` come from :mod:`sharpvid.fast.report`.

What a variant sets (:func:`variant_overrides`)
-----------------------------------------------
Each variant sets every loss weight and every beyond-the-paper switch, so the chain
``l2 -> gdl -> adv_gdl -> adv_gdl_perc / two_d / ...`` adds one thing at a time whatever the
config says:

- ``lam_adv``, ``lam_gdl``, ``lam_perc``: a term the variant uses takes the config's weight (after
  your ``--key=value`` overrides) when it is non-zero, else :data:`DEFAULT_WEIGHTS` (the paper's
  0.05 and 1; 0.01 for the perceptual term); a term it does not use gets 0.  ``lam_lp`` and ``p``
  come from the config, except that ``l2`` and ``l1`` set ``p``.
- ``discriminators`` (1), ``blur_detector`` / ``blur_detector_fakes`` (off), ``adv_aggregate``
  (``mean``), ``label_smoothing`` (off), ``g_activation`` / ``d_activation`` (the network's): the
  paper's values unless the variant is about them; ``init_d2`` / ``freeze_d2`` are kept only by
  the variants with the blur detector.

Everything else is the config's, the same for every variant.  A variant's run is reused when its
folder holds the same config trained to the same step (and its evaluation when it was made with
the same arguments), resumed when it stopped early (Ctrl-C), and refused (``--force`` retrains)
when it holds another config: rerunning the command after an interruption, or with one more
variant, trains only what is missing.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sharpvid.fast.ablation_tables import (BASELINE_LABELS, CRITICS_NOTE, PAPER_SWITCHES,
                                           baseline_differences, critic_accuracy, describe,
                                           describe_critics, difference_table, differences,
                                           markdown_table, summary_rows, table_csv)

FORMAT = "sharpvid-ablate/1"

#: A term switched on by a variant takes the config's weight when non-zero, else this one.
DEFAULT_WEIGHTS = {"lam_adv": 0.05, "lam_gdl": 1.0, "lam_perc": 0.01}




class AblationError(ValueError):
    """An ablation that cannot run as asked (the user can fix it): one line."""


class Interrupted(Exception):
    """Training stopped early (Ctrl-C / SIGTERM); the run is saved and resumes next time."""


@dataclass(frozen=True)
class Variant:
    """One row of the ablation: the terms it uses and the switches it sets."""

    name: str
    adds: str
    terms: tuple[str, ...]  # of "adv", "gdl", "perc"
    switches: dict = field(default_factory=dict)


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("l2", "ℓ2 alone, no adversary (the paper's ℓ2 row)", (), {"p": 2.0}),
    Variant("l1", "ℓ1 alone, no adversary (the paper's ℓ1 row)", (), {"p": 1.0}),
    Variant("gdl", "ℓp + gradient difference loss (Eq. 5), no adversary", ("gdl",)),
    Variant("adv", "ℓp + adversarial D (Eqs. 3-4), no GDL (the paper's Adv)", ("adv",)),
    Variant("adv_gdl", "ℓp + GDL + adversarial D: the paper's model (Eq. 6)", ("adv", "gdl")),
    Variant("adv_gdl_perc", "adv_gdl + VGG19 perceptual loss (relu5_4; needs --vgg19_weights)",
            ("adv", "gdl", "perc")),
    Variant("two_d", "adv_gdl + blur detector D2 (real vs blurred real frames), D1 and D2 "
                     "averaged (the seed)", ("adv", "gdl"), {"blur_detector": True}),
    Variant("two_d_fakes", "two_d, D2 also calls G's frames blurry (the seed's next step)",
            ("adv", "gdl"), {"blur_detector": True, "blur_detector_fakes": True}),
    Variant("gman", "adv_gdl with two real/fake Ds, GMAN softmax-weighted (Durugkar et al. "
                    "2017)", ("adv", "gdl"), {"discriminators": 2, "adv_aggregate": "gman"}),
    Variant("leaky", "adv_gdl with leaky ReLU in G and D", ("adv", "gdl"),
            {"g_activation": "leaky_relu", "d_activation": "leaky_relu"}),
    Variant("smooth", "adv_gdl with label smoothing (the config's ranges; by default one-sided: "
                      "real U(0.7, 1), fake 0)",
            ("adv", "gdl"), {"label_smoothing": True}),
    Variant("adv_moving", "adv_gdl with G's adversarial gradient on the moving area only "
                          "(adv_region = moving; D still judges whole frames)",
            ("adv", "gdl"), {"adv_region": "moving"}),
    Variant("stabilised", "adv_gdl with leaky ReLU and label smoothing (the GAN hacks)",
            ("adv", "gdl"), {"g_activation": "leaky_relu", "d_activation": "leaky_relu",
                             "label_smoothing": True}),
)}

#: What ``sharpvid ablate`` runs without ``--variants`` (nothing that needs a file).
DEFAULT_VARIANTS = ("l2", "gdl", "adv_gdl", "two_d", "stabilised")


def parse_variants(text: str) -> list[str]:
    """``"l2,gdl,adv_gdl"`` -> the variant names, checked, in order, without repeats."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise AblationError("--variants names no variant; choose from " + ", ".join(VARIANTS))
    for name in names:
        if name not in VARIANTS:
            import difflib

            close = difflib.get_close_matches(name, VARIANTS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise AblationError(f"unknown variant {name!r}{hint} (choose from "
                                f"{', '.join(VARIANTS)})")
    if len(set(names)) != len(names):
        raise AblationError(f"--variants names a variant twice: {text}")
    return names


def variant_overrides(name: str, base) -> dict:
    """The config keys variant ``name`` sets on ``base`` (a
    :class:`sharpvid.fast.config.TrainConfig`): the weights of its terms (the config's when
    non-zero, else :data:`DEFAULT_WEIGHTS`; 0 for the others) and every switch of
    :data:`PAPER_SWITCHES` (the variant's or the paper's)."""
    v = VARIANTS[name]
    out: dict = {}
    for term, key in (("adv", "lam_adv"), ("gdl", "lam_gdl"), ("perc", "lam_perc")):
        value = getattr(base, key)
        out[key] = (value if value > 0 else DEFAULT_WEIGHTS[key]) if term in v.terms else 0.0
    out.update(PAPER_SWITCHES)
    out.update(v.switches)
    if not out["blur_detector"]:
        out.update(init_d2="", freeze_d2=False)
    return out


def variant_config(base, name: str):
    """``base`` with :func:`variant_overrides`, validated (a one-line ConfigError otherwise)."""
    from sharpvid.fast.config import ConfigError, with_overrides

    try:
        return with_overrides(base, variant_overrides(name, base))
    except ConfigError as exc:
        raise AblationError(f"variant {name}: {exc}") from None


def train_command(config: str, overrides: list[str], name: str, base, run_dir: Path) -> str:
    """The ``sharpvid train`` command that trains variant ``name`` alone, as the ablation does."""
    changes = variant_overrides(name, base)
    parts = ["sharpvid", "train", config, *overrides]
    for key, value in changes.items():
        if getattr(base, key) != value:
            text = str(value).lower() if isinstance(value, bool) else f"{value:g}" \
                if isinstance(value, float) else str(value)
            parts.append(f"--{key}={text}")
    parts += ["--out", str(run_dir)]
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# One variant: train (or reuse, or resume), then evaluate (or reuse)
# ---------------------------------------------------------------------------------------------


def train_variant(cfg, run_dir: Path, *, force: bool, progress: bool) -> tuple[str, float | None]:
    """Train ``cfg`` in ``run_dir`` to ``cfg.steps``: ``("reused", seconds it took then or
    None)`` when it is there, else ``("trained" | "resumed", seconds)``.  Raises
    :class:`Interrupted` after Ctrl-C (the run is saved) and :class:`AblationError` for a folder
    holding another run without ``force`` (with it, that run is replaced; a run of the same
    config is reused or resumed either way)."""
    from sharpvid.fast.checkpoint import list_checkpoints
    from sharpvid.fast.config import ConfigError, read_config
    from sharpvid.fast.training.loop import Trainer

    resume = False
    if (run_dir / "config.json").is_file():
        try:
            old = read_config(run_dir / "config.json").to_dict()
        except ConfigError as exc:
            if not force:
                raise AblationError(f"{run_dir}: {exc}; give --force to train it again") from None
            old = None
        new = cfg.to_dict()
        if old == new:
            done = max((s for s, _ in list_checkpoints(run_dir)), default=-1)
            if done == cfg.steps:
                return "reused", _timing(run_dir).get("train_seconds")
            resume = done >= 0
        elif not force:
            diff = ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in new
                             if old.get(k) != new.get(k))
            raise AblationError(f"{run_dir} holds a run of another config ({diff}); give --force "
                                f"to train it again, or another --out")
    start = time.monotonic()
    trainer = Trainer(cfg, run_dir, resume=resume, force=force and not resume, progress=progress)
    try:
        trainer.fit()
    finally:
        trainer.close()  # the run folder's lock goes with it
    if trainer.step_no < cfg.steps:
        raise Interrupted(f"stopped at step {trainer.step_no} of {run_dir} (saved)")
    seconds = time.monotonic() - start
    if not resume:  # a resumed run's time is only its last part: not recorded as the run's
        _record_timing(run_dir, train_seconds=seconds)
    return ("resumed" if resume else "trained"), seconds


TIMING = "ablation-timing.json"


def _timing(run_dir: Path) -> dict:
    """What ``run_dir/ablation-timing.json`` recorded (seconds of training and evaluation when
    they ran), or {} when absent or damaged."""
    try:
        value = json.loads((run_dir / TIMING).read_text())
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def _record_timing(run_dir: Path, **values) -> None:
    from sharpvid.fast.imageio import atomic_write

    text = json.dumps({**_timing(run_dir), **values}) + "\n"
    atomic_write(run_dir / TIMING, lambda tmp: Path(tmp).write_text(text))


SAMPLE_KEYS = ("inputs", "targets", "model", "flow_extrap", "model+deblur")


def save_samples(result: dict, path: Path) -> None:
    """The evaluation's picture clips as 8-bit arrays (``name``, ``inputs``, ``targets``,
    ``model``, ``flow_extrap`` and ``model+deblur`` of each), for the report; written
    atomically.  (Copy-last is the last input: not stored.)"""
    from sharpvid.fast.figures import to_bytes
    from sharpvid.fast.imageio import atomic_write

    arrays = {}
    for i, s in enumerate(result["samples"]):
        arrays[f"{i}/name"] = np.array(s["name"])
        for key in SAMPLE_KEYS:
            if key in s:
                arrays[f"{i}/{key}"] = to_bytes(s[key])

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    atomic_write(path, write)


def load_samples(path: Path) -> list[dict]:
    """What :func:`save_samples` wrote: a list of dicts of uint8 arrays (and ``name``)."""
    with np.load(path) as data:
        count = len({k.split("/")[0] for k in data.files})
        return [{k.split("/", 1)[1]: (str(data[k]) if k.endswith("/name") else data[k])
                 for k in data.files if k.split("/")[0] == str(i)} for i in range(count)]


def evaluate_variant(run_dir: Path, step: int, evaluation: dict, *, device: str,
                     progress: bool, train_config: dict | None = None
                     ) -> tuple[dict, list[dict], str, float | None]:
    """Evaluate the run's step-``step`` checkpoint as ``sharpvid evaluate`` does, into
    ``run_dir/eval`` (reused when made from that checkpoint, of a run of ``train_config``, with
    the same ``evaluation`` arguments, scoring every baseline of
    :data:`~sharpvid.fast.ablation_tables.BASELINE_LABELS` and holding the pictures of every
    method it scored: an evaluation made before flow extrapolation is made again).  Returns the
    metrics (``means``, ``counts``, ``videos``, ``n``, ``methods``), the picture clips,
    ``"evaluated" | "reused"`` and the seconds it took (then, when reused)."""
    from sharpvid.fast.checkpoint import checkpoint_path
    from sharpvid.fast.evaluate import evaluate_checkpoint
    from sharpvid.fast.imageio import from_strict_json

    out = run_dir / "eval"
    ckpt = checkpoint_path(run_dir, step)
    meta_path, samples_path = out / "metrics.json", out / "samples.npz"
    if meta_path.is_file() and samples_path.is_file():
        try:
            old = json.loads(meta_path.read_text())
            same = old.get("step") == step and Path(old.get("checkpoint", "")).name == ckpt.name \
                and all(old["evaluation"].get(k) == v for k, v in evaluation.items()) \
                and (train_config is None or old.get("train_config") == train_config)
            samples = load_samples(samples_path) if same else []
            complete = all(b in old["methods"] for b in BASELINE_LABELS) and all(
                k in s for s in samples for k in SAMPLE_KEYS[2:] if k in old["methods"])
            if same and complete:
                return (from_strict_json(old), samples, "reused",
                        _timing(run_dir).get("eval_seconds"))
        except (OSError, ValueError, KeyError, TypeError):
            pass  # damaged: evaluate again
    if not ckpt.is_file():
        raise AblationError(f"{ckpt}: missing (the run's step-{step} checkpoint); give --force to "
                            f"train it again")
    start = time.monotonic()
    result, _ = evaluate_checkpoint(ckpt, device=device, out=out, progress=progress, **evaluation)
    save_samples(result, samples_path)
    seconds = time.monotonic() - start
    _record_timing(run_dir, eval_seconds=seconds)
    return result, load_samples(samples_path), "evaluated", seconds


def markdown(summary: dict) -> str:
    """``ablation.md``: the command, what each variant sets, one table per predicted frame."""
    rows, n = summary["rows"], summary["n"]
    ev = summary["evaluation"]
    lines = [f"# Ablation: {summary['config']}, {summary['steps']} steps per variant", "",
             f"`{summary['command']}`", "",
             f"Evaluated on {ev['data']}" + (f" frames {ev['frame_range']}" if ev["frame_range"]
                                              else "")
             + f" ({summary['videos']} videos, {summary['m']} inputs -> {n} frames; "
             f"{summary['seeds']} seed(s) per variant; seed convention, `docs/evaluation.md`; "
             "higher is better everywhere). Each cell is the mean ± the half-width of its 95 % "
             "interval (Student's t over every seed and video); a value is bold only where its "
             "interval lies above the next best's. The baselines come first, the same frames for "
             "every variant (no learning, no seed; intervals over the videos): copy last frame, "
             "and flow extrapolation (the last input moved one more step along the optical flow "
             "between the last two, at constant velocity).", ""]
    for j in range(1, n + 1):
        lines += [f"## Frame {j}", "", markdown_table(rows, j), ""]
        if summary.get("baseline_differences"):
            lines += ["Difference from the baselines (each variant's model minus copy-last and "
                      "minus flow extrapolation, paired by seed and video; bold where the "
                      "interval excludes 0):", "",
                      difference_table(summary["baseline_differences"], j), ""]
        if summary.get("differences"):
            lines += ["Difference from `gdl` (paired by seed and video; bold where the "
                      "interval excludes 0):", "", difference_table(summary["differences"], j), ""]
    lines += ["## Variants", "", "Every variant also sets the others of "
              + ", ".join(f"`{k}`" for k in ("lam_adv", "lam_gdl", "lam_perc", *PAPER_SWITCHES))
              + " to 0 or the paper's value (`sharpvid ablate --list-variants`).", "",
              CRITICS_NOTE, "",
              "| variant | what it adds | sets | critics' accuracy | train it alone |",
              "| --- | --- | --- | --- | --- |"]
    for v in summary["variants"]:
        lines.append(f"| {v['name']} | {v['adds']} | {describe(v['overrides'])} | "
                     f"{describe_critics(v['critics'])} | `{v['train_command']}` |")
    lines.append("")
    return "\n".join(lines)


def summary_json(summary: dict) -> str:
    from sharpvid.fast.imageio import strict_json

    return json.dumps(strict_json({"format": FORMAT, **summary}), indent=1,
                      allow_nan=False) + "\n"


def write_tables(summary: dict, out: Path) -> list[Path]:
    """``ablation.md``, ``ablation.csv``, then ``ablation.json`` (last: it says the ablation is
    complete), each atomically."""
    from sharpvid.fast.imageio import atomic_write

    texts = {out / "ablation.md": markdown(summary), out / "ablation.csv": table_csv(
        summary["rows"]), out / "ablation.json": summary_json(summary)}
    for path, text in texts.items():
        atomic_write(path, lambda tmp, text=text: Path(tmp).write_text(text))
    return list(texts)


# ---------------------------------------------------------------------------------------------
# The whole ablation
# ---------------------------------------------------------------------------------------------


def _total(seconds) -> float | None:
    """The sum of recorded times (None if any is unknown)."""
    seconds = list(seconds)
    return None if any(x is None for x in seconds) else float(sum(seconds))


def _mean_critics(per_seed: list[dict]) -> dict:
    """Each critic's accuracies and loss, averaged over the seeds that logged them."""
    out: dict = {}
    for critics in per_seed:
        for prefix, values in critics.items():
            for key, value in values.items():
                out.setdefault(prefix, {}).setdefault(key, []).append(value)
    return {p: {k: sum(v) / len(v) for k, v in values.items()} for p, values in out.items()}


def _log(message: str) -> None:
    print(message, flush=True)


def seed_run_dir(out: Path, name: str, base_seed: int, k: int) -> Path:
    """Where seed ``base_seed + k`` of variant ``name`` trains: ``runs/NAME`` for the first seed
    (as before seeds existed), ``runs/NAME-seedS`` for the others."""
    return out / "runs" / (name if k == 0 else f"{name}-seed{base_seed + k}")


def run_ablation(config: str, names: list[str], out: Path, *, overrides: list[str],
                 evaluation: dict, command: str, force: bool = False, progress: bool = True,
                 crop: int = 256, seeds: int = 1) -> dict:
    """Train and evaluate every variant of ``names`` on ``config`` (with ``overrides``, the same
    for all), then write the tables, the pictures and ``report.html`` into ``out``.

    ``evaluation``: the arguments of :func:`sharpvid.fast.evaluate.evaluate_checkpoint` (``data``,
    ``frame_range``, ``frames``, ``every``, ``videos``, ``batch``, ``deblur``, ``kernel_size``,
    ``pictures``, ``mask_threshold``).  ``seeds``: each variant is trained with seeds ``seed``
    ... ``seed + seeds - 1`` (the pictures and curves show the first).  Returns the summary
    written to ``ablation.json``.
    Raises AblationError, Interrupted and the parts' one-line errors.
    """
    from sharpvid.fast import report
    from sharpvid.fast.config import load_config
    from sharpvid.fast.evaluate import TestClips
    from sharpvid.fast.report import read_log
    from sharpvid.fast.video.sources import parse_frame_range

    base = load_config(config, overrides)
    configs = {name: variant_config(base, name) for name in names}
    for name, cfg in configs.items():  # what would stop a later variant stops now
        if cfg.lam_perc > 0 and not cfg.vgg19_weights:
            raise AblationError(f"variant {name} uses the perceptual loss: give torchvision's "
                                f"VGG19 weights with --vgg19_weights FILE (vgg19-dcbb9e9d.pth)")
        if cfg.vgg19_weights and cfg.lam_perc > 0 and not Path(cfg.vgg19_weights).is_file():
            raise AblationError(f"{cfg.vgg19_weights}: no such file (--vgg19_weights)")
    span = evaluation["frame_range"]  # the evaluation data opens (metadata only) before training
    TestClips(evaluation["data"], base.m, evaluation["frames"],
              frame_range=parse_frame_range(span) if span else None,
              every=evaluation["every"], videos=evaluation["videos"])
    device = base.device
    variants = []
    started = time.monotonic()
    for k, name in enumerate(names, 1):
        runs = []
        for i in range(seeds):
            cfg = dataclasses.replace(configs[name], seed=base.seed + i)
            run_dir = seed_run_dir(out, name, base.seed, i)
            what = f"{name}" + (f" seed {cfg.seed}" if seeds > 1 else "")
            _log(f"[{k}/{len(names)}] {what}: {VARIANTS[name].adds}; {cfg.steps} steps in "
                 f"{run_dir}")
            status, train_s = train_variant(cfg, run_dir, force=force, progress=progress)
            metrics, samples, eval_status, eval_s = evaluate_variant(
                run_dir, cfg.steps, evaluation, device=device, progress=progress,
                train_config=cfg.to_dict())
            _log(f"[{k}/{len(names)}] {what}: training {status}"
                 + (f" ({train_s:.0f} s)" if train_s is not None else "")
                 + f", evaluation {eval_status}" + (f" ({eval_s:.0f} s)" if eval_s is not None
                                                    else ""))
            log = read_log(run_dir / "metrics.jsonl")  # the critics' accuracy and the curves
            runs.append({"seed": cfg.seed, "run": str(run_dir), "train_status": status,
                         "train_seconds": train_s, "eval_status": eval_status,
                         "eval_seconds": eval_s, "metrics": metrics, "samples": samples,
                         "log": log, "critics": critic_accuracy(log, cfg.steps)})
        first = runs[0]
        variants.append({"name": name, "adds": VARIANTS[name].adds,
                         "overrides": variant_overrides(name, base), "run": first["run"],
                         "train_command": train_command(config, overrides, name, base,
                                                        Path(first["run"])),
                         "train_status": first["train_status"],
                         "train_seconds": _total(r["train_seconds"] for r in runs),
                         "eval_status": first["eval_status"],
                         "eval_seconds": _total(r["eval_seconds"] for r in runs),
                         "metrics": {k2: first["metrics"][k2] for k2 in ("m", "n", "methods",
                                                                         "means", "counts")},
                         "seeds": [{"seed": r["seed"], "means": r["metrics"]["means"],
                                    "videos": r["metrics"]["videos"]} for r in runs],
                         "video_names": [v["name"] for v in first["metrics"]["videos"]],
                         "log": first["log"], "samples": first["samples"],
                         "critics": _mean_critics([r["critics"] for r in runs])})
    # every run of every seed: same data, same clips (a changed source would make rows unequal)
    names_seen = {tuple(video["name"] for video in run["videos"])
                  for v in variants for run in v["seeds"]}
    if len(names_seen) > 1:
        raise AblationError(f"the variants' evaluations cover different videos (did the "
                            f"evaluation data change?); remove {out / 'runs'}/*/eval and rerun")
    n, m = variants[0]["metrics"]["n"], variants[0]["metrics"]["m"]
    summary = {
        "config": config, "overrides": overrides, "command": command,
        "steps": base.steps, "seed": base.seed, "seeds": seeds, "data": base.data,
        "frame_range": base.frame_range, "device": device, "evaluation": evaluation,
        "m": m, "n": n, "videos": len(variants[0]["video_names"]),
        "video_names": variants[0]["video_names"],
        "seconds": time.monotonic() - started,
        "variants": [{k2: v[k2] for k2 in ("name", "adds", "overrides", "run", "train_command",
                                           "train_status", "train_seconds", "eval_status",
                                           "eval_seconds", "critics")} for v in variants],
        "rows": summary_rows(variants, n),
        "differences": differences(variants, n),
        "baseline_differences": baseline_differences(variants, n),
    }
    out.mkdir(parents=True, exist_ok=True)
    report.write_report(summary, variants, out, crop=crop)  # pictures first, tables last
    write_tables(summary, out)
    return summary
