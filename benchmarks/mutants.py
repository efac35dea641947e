"""Mutation testing of the oracle's core and its twins: do the tests fail when the code is wrong?

Each mutant is one small change to one of the six modules below (an operator swapped, a
comparison flipped, a number changed, ``max`` for ``min``, ...), made in a copy of the package;
the tests that cover that module then run against the copy with ``-x``.  A mutant is *killed*
when a test fails (or the run exceeds its time limit), and *survives* when every test passes.
Then the hand-made **shared** mutants: the same wrong constant written into the oracle *and* its
twin (SSIM's C2, GDL's α, PSNR's data range, ...), the misunderstanding the equivalence tests
cannot see, since oracle and twin still agree; only an independent value catches them (values
computed by hand, scikit-image).  Every one of those must be killed.

    python benchmarks/mutants.py              # everything (``make mutants``)
    python benchmarks/mutants.py --list       # the mutants, without running them
    python benchmarks/mutants.py --only reference/losses.py --limit 5

Prints each survivor with its place and change, the score (killed / all) per module and in
all, and the time; exits 1 when a shared mutant survives.  ``--stride 3`` (what ``make mutants``
runs) takes every third mutant: all 876 take about three times as long.

mutmut 3 was considered (not tried): it copies the tree into ``mutants/`` and runs the tests
there, but the editable install maps ``sharpvid.fast`` to ``fast/`` by path, so the tests would
import the unmutated package unless the copy were put on ``sys.path`` by hand.  This script does
that, and saves the start-up: it forks one already-warm Python (torch, NumPy, SciPy, pytest
imported once) per mutant, two at a time, each importing its own mutated copy of the package.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# the tests that cover each module (the oracle's by-hand values, the equivalence registry, the
# gradients, the independent references), fastest killers first; the registry in float64 only
# (the float32 cases double the time and check rounding, which no mutant here is about)
_TWINS = ["tests/test_equivalence.py::test_twin_matches_oracle",
          "tests/test_equivalence.py::test_twins_mirror_the_oracles_signatures",
          "tests/test_equivalence.py::test_warp_rejects_a_flow_of_another_shape",
          "tests/test_equivalence.py::test_a_2d_frame_is_one_grey_frame",
          "tests/test_equivalence.py::test_moving_mask_is_strictly_above_the_threshold"]
_LOSSES = ["tests/test_reference_losses.py",
           "tests/test_doctests.py::test_doctests[sharpvid.reference.losses]",
           "tests/test_fast_losses_grad.py", *_TWINS,
           "-k", "(loss or bce or aggregate or doctests or gradcheck or test_reference or mirror)"
                 " and not f32"]
_METRICS = ["tests/test_reference_metrics.py",
            "tests/test_doctests.py::test_doctests[sharpvid.reference.metrics]", *_TWINS,
            "-k", "(psnr or sharpness or ssim or luma or moving or doctests or test_reference"
                  " or mirror or grey) and not f32"]
_PYRAMID = ["tests/test_reference_pyramid_blur_data.py",
            "tests/test_doctests.py::test_doctests[sharpvid.reference.pyramid]",
            "tests/test_fast_losses_grad.py", *_TWINS,
            "-k", "(pyramid or upsample or laplacian or copy or warp or shrink or doctests"
                  " or test_reference or by_hand or bad_input or mirror) and not f32"]
MODULES = {
    "reference/losses.py": _LOSSES, "fast/losses.py": _LOSSES,
    "reference/metrics.py": _METRICS, "fast/metrics.py": _METRICS,
    "reference/pyramid.py": _PYRAMID, "fast/pyramid.py": _PYRAMID,
}

# ------------------------------------------------------------------------- the mutation operators
_BINOPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
           ast.Pow: ast.Mult, ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv}
_COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
            ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn,
            ast.NotIn: ast.In}
_NAMES = {"maximum": "minimum", "minimum": "maximum", "max": "min", "min": "max",
          "amax": "amin", "amin": "amax", "clamp_min": "clamp_max", "floor": "ceil",
          "ceil": "floor", "sum": "mean", "mean": "sum", "abs": "negative", "log10": "log",
          "log": "log10", "tanh": "sin"}


@dataclass
class Mutant:
    module: str   # path relative to the root
    line: int
    change: str   # what was changed, for the report
    source: str   # the mutated module's whole text (or, for a shared mutant, unused)
    edits: tuple = ()  # shared mutants: ((path, old, new), ...)


def _skipped(tree: ast.AST) -> set[int]:
    """ids of nodes not to mutate: docstrings, annotations, error messages (f-strings, raise)."""
    skip = set()
    for node in ast.walk(tree):
        parts = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            parts += [node.returns] + [a.annotation for a in node.args.args + node.args.kwonlyargs
                                       + node.args.posonlyargs]
        if isinstance(node, ast.AnnAssign):
            parts.append(node.annotation)
        if isinstance(node, (ast.JoinedStr, ast.Raise)):
            parts.append(node)
        for part in parts:
            if part is not None:
                skip.update(id(n) for n in ast.walk(part))
    return skip


def _number_variants(value):
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value + 1] if value != 0 else [1]
    if isinstance(value, float):
        return [value * 2] if value != 0 else [1.0]
    return []


def mutants_of(path: str) -> list[Mutant]:
    """Every single-site mutant of the module at ``path``, one per operator and site."""
    text = (ROOT / path).read_text()
    tree = ast.parse(text)
    skip = _skipped(tree)
    found = []

    def emit(node, change, mutate):
        mutated = copy.deepcopy(tree)
        target = next(n for n in ast.walk(mutated) if _same(n, node))
        mutate(target)
        found.append(Mutant(path, node.lineno, change, ast.unparse(mutated)))

    # a node is found again in the copy by its position and type
    def _same(a, b):
        return (type(a) is type(b) and getattr(a, "lineno", None) == b.lineno
                and getattr(a, "col_offset", None) == b.col_offset
                and getattr(a, "end_col_offset", None) == b.end_col_offset)

    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "lineno"):
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            new = _BINOPS[type(node.op)]
            emit(node, f"{type(node.op).__name__} -> {new.__name__}",
                 lambda n, new=new: setattr(n, "op", new()))
        elif isinstance(node, ast.Compare):
            for i, op in enumerate(node.ops):
                if type(op) in _COMPARE:
                    new = _COMPARE[type(op)]

                    def flip(n, i=i, new=new):
                        n.ops[i] = new()
                    emit(node, f"{type(op).__name__} -> {new.__name__}", flip)
        elif isinstance(node, ast.BoolOp):
            new = ast.Or if isinstance(node.op, ast.And) else ast.And
            emit(node, f"{type(node.op).__name__} -> {new.__name__}",
                 lambda n, new=new: setattr(n, "op", new()))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
            def drop(n):  # -x -> +x, not x -> x
                n.op = ast.UAdd() if isinstance(n.op, ast.USub) else ast.UAdd()
            if isinstance(node.op, ast.Not):
                emit(node, "not x -> x", lambda n: setattr(n, "op", ast.UAdd()))
            elif not isinstance(node.operand, ast.Constant):
                emit(node, "-x -> x", drop)
        elif isinstance(node, ast.Constant) and not isinstance(node.value, str):
            for v in _number_variants(node.value):
                emit(node, f"{node.value!r} -> {v!r}", lambda n, v=v: setattr(n, "value", v))
        elif isinstance(node, ast.Attribute) and node.attr in _NAMES:
            new = _NAMES[node.attr]
            emit(node, f".{node.attr} -> .{new}", lambda n, new=new: setattr(n, "attr", new))
    return found


# --------------------------------------------- shared misunderstandings: oracle and twin together
def _shared(change: str, *edits) -> Mutant:
    return Mutant(edits[0][0], 0, change, "", tuple(edits))


SHARED = [
    _shared("SSIM's C2 = (0.02 L)² instead of (0.03 L)² in oracle and twin",
            ("reference/metrics.py", "c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2",
             "c2 = (0.01 * 255.0) ** 2, (0.02 * 255.0) ** 2"),
            ("fast/metrics.py", "c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2",
             "c2 = (0.01 * 255.0) ** 2, (0.02 * 255.0) ** 2")),
    _shared("SSIM's C1 = (0.03 L)² (K1 and K2 swapped) in oracle and twin",
            ("reference/metrics.py", "c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2",
             "c1, c2 = (0.03 * 255.0) ** 2, (0.01 * 255.0) ** 2"),
            ("fast/metrics.py", "c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2",
             "c1, c2 = (0.03 * 255.0) ** 2, (0.01 * 255.0) ** 2")),
    _shared("SSIM's window σ = 1.0 instead of 1.5 in oracle and twin",
            ("reference/metrics.py", "window = gaussian_window(11, 1.5)",
             "window = gaussian_window(11, 1.0)"),
            ("fast/metrics.py", "window = gaussian_window(11, 1.5, device",
             "window = gaussian_window(11, 1.0, device")),
    _shared("SSIM with the sample covariance (N / (N - 1), N = 121) in oracle and twin",
            ("reference/metrics.py", "cov = filt(a * b) - mu_a * mu_b",
             "cov = (filt(a * b) - mu_a * mu_b) * 121 / 120\n    var_a, var_b = var_a * 121 / 120, "
             "var_b * 121 / 120"),
            ("fast/metrics.py", "var_a, var_b, cov = aa - mu_a**2, bb - mu_b**2, ab - mu_a * mu_b",
             "var_a, var_b, cov = ((aa - mu_a**2) * 121 / 120, (bb - mu_b**2) * 121 / 120, "
             "(ab - mu_a * mu_b) * 121 / 120)")),
    _shared("SSIM on [0, 1] (L = 1) instead of 0-255 in oracle and twin",
            ("reference/metrics.py", "c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2",
             "c1, c2 = (0.01 * 255.0) ** 2 / 255.0 ** 2, (0.03 * 255.0) ** 2 / 255.0 ** 2"),
            ("fast/metrics.py", "c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2",
             "c1, c2 = (0.01 * 255.0) ** 2 / 255.0 ** 2, (0.03 * 255.0) ** 2 / 255.0 ** 2")),
    _shared("SSIM's authors convention with 'same' instead of 'full' positions (pad 5, not 10)",
            ("reference/metrics.py", 'mode = "valid" if convention == "seed" else "full"',
             'mode = "valid" if convention == "seed" else "same"'),
            ("fast/metrics.py", "padding = 0 if convention == \"seed\" else 10",
             "padding = 0 if convention == \"seed\" else 5")),
    _shared("luma with BT.709 weights instead of BT.601 in oracle and twin",
            ("reference/metrics.py", "np.array([0.299, 0.587, 0.114])",
             "np.array([0.2126, 0.7152, 0.0722])"),
            ("fast/metrics.py", "torch.tensor([0.299, 0.587, 0.114]",
             "torch.tensor([0.2126, 0.7152, 0.0722]")),
    _shared("PSNR's default data range 1 instead of 2 in oracle and twin",
            ("reference/metrics.py", "def psnr(y_hat, y, data_range: float = 2.0,",
             "def psnr(y_hat, y, data_range: float = 1.0,"),
            ("fast/metrics.py", "def psnr(y_hat, y, data_range: float = 2.0,",
             "def psnr(y_hat, y, data_range: float = 1.0,")),
    _shared("the authors' PSNR rescales the MSE by 127.5² instead of 128² in oracle and twin",
            ("reference/metrics.py", "np.maximum(128.0**2 * mse, AUTHORS_EPS)",
             "np.maximum(127.5**2 * mse, AUTHORS_EPS)"),
            ("fast/metrics.py", "(128.0**2 * mse).clamp_min(AUTHORS_EPS)",
             "(127.5**2 * mse).clamp_min(AUTHORS_EPS)")),
    _shared("the authors' sharpness divides by the interior pixels, not all C H W",
            ("reference/metrics.py", "count = c * h * w if m is None",
             "count = c * (h - 2) * (w - 2) if m is None"),
            ("fast/metrics.py", "count = c * h * w if m is None",
             "count = c * (h - 2) * (w - 2) if m is None")),
    _shared("GDL's default α = 2 instead of 1 in oracle and twin",
            ("reference/losses.py", "def gdl_loss(y_hat: np.ndarray, y: np.ndarray, alpha: float = 1)",
             "def gdl_loss(y_hat: np.ndarray, y: np.ndarray, alpha: float = 2)"),
            ("fast/losses.py", "def gdl_loss(y_hat: torch.Tensor, y: torch.Tensor, alpha: float = 1)",
             "def gdl_loss(y_hat: torch.Tensor, y: torch.Tensor, alpha: float = 2)")),
    _shared("GDL summed instead of averaged (the TF reimplementation) in oracle and twin",
            ("reference/losses.py", "return float((terms_i.sum() + terms_j.sum()) / (terms_i.size + terms_j.size))",
             "return float(terms_i.sum() + terms_j.sum())"),
            ("fast/losses.py", "return (terms_i.sum() + terms_j.sum()) / (terms_i.numel() + terms_j.numel())",
             "return terms_i.sum() + terms_j.sum()")),
    _shared("BCE with log10 (the TF reimplementation) in oracle and twin",
            ("reference/losses.py", "log_p = np.log(np.maximum(p, BCE_EPS))\n    log_1mp = np.log(",
             "log_p = np.log10(np.maximum(p, BCE_EPS))\n    log_1mp = np.log10("),
            ("fast/losses.py", "log_p = torch.log(p.clamp_min(BCE_EPS))\n    log_1mp = torch.log(",
             "log_p = torch.log10(p.clamp_min(BCE_EPS))\n    log_1mp = torch.log10(")),
    _shared("BCE's clip at 1e-7 (Keras's epsilon) instead of 1e-12, shared by both",
            ("reference/losses.py", "BCE_EPS = 1e-12", "BCE_EPS = 1e-07")),
    _shared("the paper's λ_adv default 0.5 instead of 0.05 in oracle and twin",
            ("reference/losses.py", "lam_adv: float = 0.05,", "lam_adv: float = 0.5,"),
            ("fast/losses.py", "lam_adv: float = 0.05,", "lam_adv: float = 0.5,")),
    _shared("ℓp summed instead of averaged in oracle and twin",
            ("reference/losses.py", "return float(np.mean(np.abs(y_hat - y) ** p))",
             "return float(np.sum(np.abs(y_hat - y) ** p))"),
            ("fast/losses.py", "return (diff * diff).mean()\n    return diff.abs().pow(p).mean()",
             "return (diff * diff).sum()\n    return diff.abs().pow(p).sum()")),
    _shared("bilinear upsampling with corners aligned (align_corners=True), shared weights",
            ("reference/pyramid.py", "src = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5",
             "src = np.arange(n_out) * ((n_in - 1) / max(n_out - 1, 1))")),
    _shared("downsampling by max pooling instead of average in oracle and twin",
            ("reference/pyramid.py", "return blocks.mean(axis=(-3, -1))",
             "return blocks.max(axis=(-3, -1))"),
            ("fast/pyramid.py", "out = F.avg_pool2d(flat, factor)", "out = F.max_pool2d(flat, factor)")),
    _shared("the Laplacian step without tanh by default (the paper's equation) in both",
            ("reference/pyramid.py", "squash: bool = True,\n) -> np.ndarray:\n    \"\"\"Sec. 2.1, combining",
             "squash: bool = False,\n) -> np.ndarray:\n    \"\"\"Sec. 2.1, combining"),
            ("fast/pyramid.py", "squash: bool = True,\n) -> torch.Tensor:\n    \"\"\"Fast twin of :func:`sharpvid.reference.pyramid.laplacian_step`",
             "squash: bool = False,\n) -> torch.Tensor:\n    \"\"\"Fast twin of :func:`sharpvid.reference.pyramid.laplacian_step`")),
    _shared("the warp reads from x - v instead of x + v (forward, not backward) in both",
            ("reference/pyramid.py", "x = np.clip(np.arange(w) + flow[..., 0, :, :], 0.0, w - 1)\n    y = np.clip(np.arange(h)[:, None] + flow[",
             "x = np.clip(np.arange(w) - flow[..., 0, :, :], 0.0, w - 1)\n    y = np.clip(np.arange(h)[:, None] - flow["),
            ("fast/pyramid.py", "x = (xs + flow[..., 0, :, :]).clamp(0, w - 1)  # where each pixel reads from\n    y = (ys + flow[",
             "x = (xs - flow[..., 0, :, :]).clamp(0, w - 1)  # where each pixel reads from\n    y = (ys - flow[")),
]


# ------------------------------------------------------------------------------------ the runner
def _copy_tree(dest: Path) -> Path:
    """The package as ``dest/sharpvid`` (root, fast/, reference/), no bytecode."""
    pkg = dest / "sharpvid"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "sharpvid", pkg, ignore=ignore)
    shutil.copytree(ROOT / "fast", pkg / "fast", ignore=ignore)
    shutil.copytree(ROOT / "reference", pkg / "reference", ignore=ignore)
    return pkg


class _FirstFailure:
    """A pytest plugin that writes the first failing test's id to a file."""

    def __init__(self, path: str):
        self.path = path

    def pytest_runtest_logreport(self, report):
        if report.failed and not os.path.exists(self.path):
            Path(self.path).write_text(report.nodeid)


@dataclass
class Job:
    name: str             # for the report
    writes: dict          # module path -> mutated text
    selection: list       # pytest arguments
    limit: float          # seconds
    mutant: Mutant | None = None


def _fork_pytest(copy_dir: str, selection: list, limit: float, record: str) -> int:
    """Run pytest on ``selection`` in a forked child of this warm process, importing sharpvid
    from ``copy_dir``; returns the child's pid (exit 0: every test passed)."""
    pid = os.fork()
    if pid == 0:  # the child: quiet, bounded, its exit status the verdict
        try:
            signal.alarm(int(limit))
            sys.path.insert(0, copy_dir)
            os.environ["PYTHONPATH"] = copy_dir
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            import pytest

            code = pytest.main(["-x", "-q", "-p", "no:cacheprovider", "--no-header", *selection],
                               plugins=[_FirstFailure(record)])
            os._exit(0 if code == 0 else 1)
        except BaseException:
            os._exit(1)
    return pid


def run_jobs(jobs: list[Job], tmp: Path, workers: int, report) -> None:
    """Run the jobs, ``workers`` at a time, each worker on its own copy of the package; calls
    ``report(job, result, killer)`` with result "killed", "survived" or "timeout" (a kill)."""
    slots = []
    for k in range(workers):
        _copy_tree(tmp / f"w{k}")
        slots.append(tmp / f"w{k}")
    free, running, queue = list(range(workers)), {}, list(jobs)
    while queue or running:
        while queue and free:
            job, k = queue.pop(0), free.pop()
            originals = {}
            for path, text in job.writes.items():
                target = slots[k] / "sharpvid" / path
                originals[target] = target.read_text()
                target.write_text(text)
            record = str(slots[k] / "first-failure")
            if os.path.exists(record):
                os.remove(record)
            pid = _fork_pytest(str(slots[k]), job.selection, job.limit, record)
            running[pid] = (job, k, originals, record)
        pid, status = os.wait()
        job, k, originals, record = running.pop(pid)
        for target, text in originals.items():  # the copy back as it was
            target.write_text(text)
        if os.WIFSIGNALED(status):
            result = "timeout" if os.WTERMSIG(status) == signal.SIGALRM else "killed"
        else:
            result = "survived" if os.WEXITSTATUS(status) == 0 else "killed"
        killer = Path(record).read_text() if os.path.exists(record) else ""
        free.append(k)
        report(job, result, killer)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=sorted(MODULES),
                        help="mutate only this module (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="at most this many mutants a module")
    parser.add_argument("--stride", type=int, default=1,
                        help="every STRIDE-th mutant only (a sample; 1: all)")
    parser.add_argument("--workers", type=int, default=2, help="mutants run at once (default 2)")
    parser.add_argument("--no-shared", action="store_true", help="skip the shared mutants")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--again", metavar="FILE",
                        help="only the mutants a previous run printed as SURVIVED (or TIMEOUT) "
                             "in FILE")
    opts = parser.parse_args(argv)

    modules = opts.only or list(MODULES)
    mutants = {m: mutants_of(m)[:: opts.stride][: opts.limit or None] for m in modules}
    if opts.again:
        names = {line.split(" ", 1)[1].strip() for line in Path(opts.again).read_text().splitlines()
                 if line.startswith(("SURVIVED ", "TIMEOUT "))}
        mutants = {m: [x for x in ms if f"{m}:{x.line}: {x.change}" in names]
                   for m, ms in mutants.items()}
    shared = [] if opts.no_shared else SHARED
    if opts.list:
        for m, ms in mutants.items():
            for x in ms:
                print(f"{m}:{x.line}: {x.change}")
        for x in shared:
            print(f"shared: {x.change}")
        print(f"{sum(map(len, mutants.values()))} mutants, {len(shared)} shared", file=sys.stderr)
        return 0

    # warm the parent: what every child would otherwise import again (not sharpvid itself)
    import hypothesis  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import scipy.signal  # noqa: F401
    import skimage.metrics  # noqa: F401
    import torch  # noqa: F401

    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.environ["SHARPVID_HYPOTHESIS_PROFILE"] = "mutants"  # ci's examples, no shrinking
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sharpvid-mutants-") as tmp:
        tmp = Path(tmp)
        # the tests as they are now (edits made while it runs do not mix in), run from there
        shutil.copytree(ROOT / "tests", tmp / "tree" / "tests",
                        ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
        shutil.copy(ROOT / "pyproject.toml", tmp / "tree")
        os.chdir(tmp / "tree")
        # the unmutated copy must pass; its time sets each selection's limit
        selections = sorted({tuple(MODULES[m]) for m in modules})
        clean, limits = {}, {}
        t0 = time.perf_counter()
        run_jobs([Job(f"clean {i}", {}, list(sel), 1800) for i, sel in enumerate(selections)],
                 tmp / "clean", 1, lambda job, result, killer: clean.update({job.name: (result, killer, time.perf_counter())}))
        previous = t0
        for i, sel in enumerate(selections):
            result, killer, done = clean[f"clean {i}"]
            if result != "survived":
                print(f"the tests fail without any mutant ({killer}): fix them first", file=sys.stderr)
                return 2
            # generous: a loaded machine must not turn a survivor into a "timeout" kill
            limits[sel] = 5 * (done - previous) + 120
            previous = done
        print(f"clean runs: {', '.join(f'{(v - 120) / 5:.0f} s' for v in limits.values())}",
              file=sys.stderr, flush=True)

        jobs = []
        for module, ms in mutants.items():
            for mutant in ms:
                jobs.append(Job(f"{module}:{mutant.line}: {mutant.change}", {module: mutant.source},
                                MODULES[module], limits[tuple(MODULES[module])], mutant))
        for mutant in shared:
            writes = {}
            for path, old, new in mutant.edits:
                text = writes.get(path) or (ROOT / path).read_text()
                assert old in text, f"shared mutant out of date: {old!r} not in {path}"
                writes[path] = text.replace(old, new)
            # the independent checks only: oracle and twin agree, so the registry cannot see it
            selection = sorted({a for p in writes for a in MODULES[p]
                                if a.startswith("tests/") and "test_equivalence" not in a})
            keywords = " or ".join(sorted({f"({MODULES[p][-1]})" for p in writes}))
            limit = max(limits.get(tuple(MODULES[p]), 600) for p in writes)
            jobs.append(Job(f"shared: {mutant.change}", writes, [*selection, "-k", keywords], limit))

        score = {m: [0, len(ms)] for m, ms in mutants.items()}
        survivors, shared_failed, done = [], [], [0]

        def report(job, result, killer):
            done[0] += 1
            if job.mutant is None:  # a shared mutant
                caught = result != "survived"
                print(f"{'caught' if caught else 'MISSED'} {job.name}"
                      + (f"  <- {killer}" if killer else ""), flush=True)
                if not caught:
                    shared_failed.append(job)
                return
            if result == "survived":
                survivors.append(job)
                print(f"SURVIVED {job.name}", flush=True)
            else:
                if result == "timeout":  # counted as killed; listed, to be looked at
                    print(f"TIMEOUT {job.name}", flush=True)
                score[job.mutant.module][0] += 1
            print(f"  {done[0]}/{len(jobs)} {result} {job.name} {killer}", file=sys.stderr,
                  flush=True)

        run_jobs(jobs, tmp, opts.workers, report)

    elapsed = time.perf_counter() - start
    print()
    print("| module | mutants | killed | survived | score |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for module, (killed, n) in score.items():
        print(f"| {module} | {n} | {killed} | {n - killed} | {killed / max(n, 1):.1%} |")
    total_k = sum(k for k, _ in score.values())
    total_n = sum(n for _, n in score.values())
    print(f"| all six | {total_n} | {total_k} | {total_n - total_k} | "
          f"{total_k / max(total_n, 1):.1%} |")
    print(f"shared mutants caught: {len(shared) - len(shared_failed)} of {len(shared)}")
    print(f"time: {elapsed:.0f} s ({elapsed / 60:.1f} min), {opts.workers} at once")
    return 1 if shared_failed else 0


if __name__ == "__main__":
    sys.exit(main())
