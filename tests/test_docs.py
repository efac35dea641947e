"""The documentation cannot drift from the code: the generated CLI reference equals what
``docs/gen_cli.py`` writes now, every relative link and every ``reference.…``/``fast.…`` name in
the docs resolves, every module and every oracle equation function is on its page, and the
figures and defaults the pages quote are the code's."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@functools.lru_cache(maxsize=None)
def _generator():
    return _load_generator()


def _load_generator():
    """``docs/gen_cli.py`` as a module, from its path (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("sharpvid_gen_cli", DOCS / "gen_cli.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _prose(text: str) -> str:
    """Markdown without fenced code blocks and inline code (where a link is not a link)."""
    text = re.sub(r"^(```|~~~).*?^\1\s*$", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors of a Markdown page (duplicates get -1, -2, ...)."""
    gen = _generator()
    seen: dict[str, int] = {}
    out = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", _strip_fences(text), flags=re.M):
        slug = gen._anchor(heading.replace("`", ""))
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def _strip_fences(text: str) -> str:
    return re.sub(r"^(```|~~~).*?^\1\s*$", "", text, flags=re.M | re.S)


def _resolve(dotted: str):
    """``sharpvid.fast.training.loop.Trainer.step`` -> the object (longest importable module, then
    attributes)."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


# ---------------------------------------------------------------------------------------------
# docs/cli.md is generated
# ---------------------------------------------------------------------------------------------


def test_cli_md_is_what_gen_cli_writes():
    gen = _load_generator()
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == gen.render(), (
        "docs/cli.md is stale: run `python docs/gen_cli.py` after changing a command")


def _subcommands(parser) -> dict:
    import argparse

    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def _subcommand(parser, name: str):
    return _subcommands(parser)[name]


def test_cli_md_names_every_command_and_option():
    from sharpvid.fast.cli import build_parser

    text = _read("cli.md")
    commands = _subcommands(build_parser())
    assert commands, "sharpvid has commands"
    for name, sub in commands.items():
        assert f"### `sharpvid {name}`" in text, name
        for action in sub._actions:
            for option in action.option_strings:
                assert f"`{option}" in text or f", {option}" in text, (name, option)


def test_gen_cli_is_deterministic_and_check_fails_on_a_stale_page(tmp_path, monkeypatch, capsys):
    gen = _load_generator()
    text = gen.render()
    for columns in ("40", "250"):  # the terminal's width does not matter
        monkeypatch.setenv("COLUMNS", columns)
        assert gen.render() == text
    stale = tmp_path / "cli.md"
    stale.write_text(text.replace("sharpvid train", "sharpvid trian", 1))
    monkeypatch.setattr(gen, "OUT", stale)
    assert gen.main(["--check"]) == 1
    assert "stale" in capsys.readouterr().err
    assert gen.main([]) == 0 and stale.read_text() == text
    assert gen.main(["--check"]) == 0


# ---------------------------------------------------------------------------------------------
# Links and names
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_point_to_existing_files_and_headings(page):
    text = page.read_text(encoding="utf-8")
    links = re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", _prose(text))
    for target in links:
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        assert file.exists(), f"{page.name}: link to {target}: no such file"
        if anchor and file.suffix == ".md":
            assert anchor in _anchors(file.read_text(encoding="utf-8")), (
                f"{page.name}: link to {target}: no such heading in {file.name}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_code_names_in_the_docs_exist(page):
    """Every `reference.…` / `fast.…` a page names is a module, class, function or attribute."""
    text = page.read_text(encoding="utf-8")
    names = set(re.findall(r"`((?:reference|fast)\.[A-Za-z_][\w.]*\w)`", text))
    missing = []
    for name in sorted(names):
        try:
            _resolve(name)
        except (ImportError, AttributeError):
            missing.append(name)
    assert not missing, f"{page.name} names what the code does not have: {missing}"


def test_architecture_lists_every_module():
    text = _read("architecture.md")
    missing = []
    for package in ("reference", "fast"):
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = ("sharpvid", *path.relative_to(ROOT).with_suffix("").parts)
            dotted = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if dotted != f"sharpvid.{package}" and f"`{dotted}`" not in text:  # packages head tables
                missing.append(dotted)
    assert not missing, f"docs/architecture.md has no line for {missing}: add one to its tables"


def test_equations_md_has_a_row_for_every_oracle_function():
    text = _read("equations.md")
    missing = []
    modules = sorted((ROOT / "reference").glob("*.py")) + sorted(
        (ROOT / "reference" / "deblur").glob("*.py"))
    for path in modules:
        if path.name.startswith("_"):
            continue
        dotted = ".".join(("sharpvid", *path.relative_to(ROOT).with_suffix("").parts))
        module = importlib.import_module(dotted)
        for name, obj in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != dotted:
                continue
            # the full name, or the short name in backticks on a page that names the module
            if f"`{dotted}.{name}`" not in text and not (
                    f"`{name}`" in text and f"{dotted}." in text):
                missing.append(f"{dotted}.{name}")
    assert not missing, f"docs/equations.md has no row for {missing}"


# ---------------------------------------------------------------------------------------------
# What the pages state equals what the code does
# ---------------------------------------------------------------------------------------------


def test_conventions_psnr_scales_are_the_metrics():
    """conventions.md: authors = seed − 0.034 dB, TF = seed − 6.02 dB, the 88.13 dB cap."""
    from sharpvid.reference.metrics import AUTHORS_EPS, psnr, sharpness_difference

    text = _read("conventions.md")
    for quoted in ("`psnr_seed` − 0.034 dB", "`psnr_seed` − 6.02 dB", "`sharp_seed` − 6.02 dB",
                   "88.13 dB = 10 log10(255² / 1e-4)"):
        assert quoted in text, quoted
    rng = np.random.default_rng(0)
    y = rng.uniform(-1, 1, (3, 16, 16))
    y_hat = np.clip(y + rng.normal(0, 0.1, y.shape), -1, 1)
    seed = psnr(y_hat, y)
    assert round(psnr(y_hat, y, convention="authors") - seed, 3) == -0.034
    assert round(psnr(y_hat, y, data_range=1.0) - seed, 2) == -6.02
    assert round(sharpness_difference(y_hat, y, data_range=1.0) - sharpness_difference(y_hat, y),
                 2) == -6.02
    assert AUTHORS_EPS == 1e-4 and round(psnr(y, y, convention="authors"), 2) == 88.13


def test_conventions_defaults_are_the_codes():
    import torch

    from sharpvid.fast.cli import build_parser
    from sharpvid.fast.evaluate import frame_metrics
    from sharpvid.fast.metrics import moving_mask as fast_mask
    from sharpvid.fast.video.clips import ClipConfig, to_model
    from sharpvid.reference.blur import gaussian_kernel
    from sharpvid.reference.data import scene_cuts
    from sharpvid.reference.losses import BCE_EPS
    from sharpvid.reference.metrics import moving_mask

    text = _read("conventions.md")
    # the moving area's threshold, everywhere it is a default
    assert "max_c |Y − Y_prev| > 0.05" in text
    for fn in (moving_mask, fast_mask):
        assert inspect.signature(fn).parameters["threshold"].default == 0.05
    assert inspect.signature(frame_metrics).parameters["mask_threshold"].default == 0.05
    assert _subcommand(build_parser(), "evaluate").get_default("mask_threshold") == 0.05
    # the motion threshold scaled to the clip's shape
    assert "`100 · (T−1)·C·H·W / (4·3·32·32)` (400 for 64×64 crops)" in text
    assert ClipConfig().motion_threshold(3, 32, 32) == 100.0
    assert ClipConfig().motion_threshold(3, 64, 64) == 400.0
    # BCE's clip
    assert "kept ≥ 1e-12 (`BCE_EPS`)" in text and BCE_EPS == 1e-12
    # 8-bit -> model: x · 2/255 − 1
    assert "`x · 2/255 − 1`" in text
    out = to_model(torch.tensor([0, 128, 255], dtype=torch.uint8)).double()
    assert torch.allclose(out, torch.tensor([-1.0, 128 * 2 / 255 - 1, 1.0], dtype=torch.float64),
                          atol=1e-6)
    # "variance 5" taken literally: σ = √5
    assert "σ = √5" in text
    r = np.arange(5) - 2
    g = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * math.sqrt(5.0) ** 2))
    np.testing.assert_allclose(gaussian_kernel(5, 5.0), g / g.sum())
    # scene cuts: d_t > 0.2 and > 3 x the lower median of 10 neighbours (5 a side)
    assert "d_t > 0.2 and d_t > 3 × the lower median of the 10 neighbouring d" in text
    defaults = inspect.signature(scene_cuts).parameters
    assert (defaults["threshold"].default, defaults["ratio"].default,
            defaults["window"].default) == (0.2, 3.0, 5)


def _table_rows(text: str, header: str) -> list[list[str]]:
    """The body rows of the first Markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split(" | ")])
    return rows


def _value(text: str):
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.strip().strip("`"))  # 1,000,000
    try:
        return float(text)
    except ValueError:
        return text.lower()


def test_reproducing_paper_config_table_is_paper_toml():
    from sharpvid.fast.config import load_config

    cfg = load_config("paper")
    rows = _table_rows(_read("reproducing.md"), "| key | value | source |")
    checked = 0
    for keys_cell, value_cell, _ in rows:
        keys = re.findall(r"`(\w+)`", keys_cell)
        values = value_cell.split(", ") if len(keys) > 1 else [re.split(r"[:(]", value_cell)[0]]
        assert len(values) == len(keys), keys_cell
        for key, value in zip(keys, values):
            expected = getattr(cfg, key)
            expected = float(expected) if isinstance(expected, (int, float)) else expected.lower()
            assert _value(value) == expected, (key, value, expected)
            checked += 1
    assert checked >= 20


def test_reproducing_cpu_times_are_the_benchmark_results():
    """Each CPU row's steps/s is in benchmarks/RESULTS.md and its time is 100,000 / steps/s."""
    results = (ROOT / "benchmarks" / "RESULTS.md").read_text(encoding="utf-8")
    section = results[results.index("## Training speed"):]
    measured = {(r[0], r[1], r[2]): float(r[4]) for r in
                _table_rows(section, "| config | λ_adv | batch |")}
    rows = _table_rows(_read("reproducing.md"), "| config | λ_adv | batch | steps/s |")
    assert len(rows) >= 4
    for config, lam, batch, steps_per_s, time in rows:
        assert measured[(config, lam, batch)] == float(steps_per_s), (config, lam, batch)
        seconds = float(re.match(r"[\d,]+", time).group().replace(",", ""))
        assert seconds == pytest.approx(1e5 / float(steps_per_s), rel=0.01), (config, time)
    assert "not yet measured" in _read("reproducing.md")


def test_reproducing_test_split_is_the_authors_379_videos():
    from sharpvid.fast.video.ucf101 import AUTHORS_TEST_STRIDE, TESTLIST01_SIZE

    assert "379" in _read("reproducing.md")
    assert len(range(0, TESTLIST01_SIZE, AUTHORS_TEST_STRIDE)) == 379


def test_architecture_step_order_and_light_cli(tmp_path, monkeypatch):
    """architecture.md: the D step runs before the G step; `sharpvid --help` loads no torch."""
    import sharpvid.fast.training.step as step
    from sharpvid.fast.config import load_config
    from sharpvid.fast.training.loop import Trainer

    calls = []  # the order one training step really calls the two steps in

    def recorded(name, fn):
        def call(*args, **kwargs):
            calls.append(name)
            return fn(*args, **kwargs)
        return call

    monkeypatch.setattr(step, "discriminator_step", recorded("D", step.discriminator_step))
    monkeypatch.setattr(step, "generator_step", recorded("G", step.generator_step))
    cfg = load_config("tiny", ["data=synthetic:videos=2,frames=8,height=32,width=32", "steps=1",
                               "batch=2", "sample_every=0", "val_every=0"])
    trainer = Trainer(cfg, tmp_path / "run", progress=False)
    trainer.step()
    trainer.close()
    assert calls == ["D", "G"]
    text = _read("architecture.md")
    assert text.index("**D step**") < text.index("**G step**") < text.index("**Guard, log")
    probe = ("import sys, sharpvid.fast.cli; sharpvid.fast.cli.build_parser(); "
             "print('torch' in sys.modules or 'sharpvid.fast.networks' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", "the CLI's parser must not import torch"
