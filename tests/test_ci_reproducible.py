"""CI failures can be reproduced: under the ``ci`` hypothesis profile a broken property fails on
the same example every run, with the blob that replays it, and ``.ci/run`` ends with the names of
the failing tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

BROKEN = '''
import zlib

import hypothesis_profiles
from hypothesis import given, strategies as st

hypothesis_profiles.load()


@given(st.lists(st.integers(0, 10**6), min_size=3, max_size=8))
def test_broken(xs):
    # fails on about half of all lists, in no pattern a shrinker can follow to one minimum:
    # under random exploration, runs end on different examples
    assert zlib.crc32(repr(xs).encode()) % 2 == 0  # [0, 0, 0], the simplest list, passes
'''


def _run_broken(tmp_path: Path, profile: str) -> str:
    (tmp_path / "test_broken_property.py").write_text(BROKEN)
    env = {**os.environ, "SHARPVID_HYPOTHESIS_PROFILE": profile,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(tmp_path), str(tmp_path / "test_broken_property.py")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc.stdout


def _example(out: str) -> str:
    match = re.search(r"(?:Falsifying example|Failing test case): test_broken\(.*?xs=(\[.*?\])",
                      out, re.S)
    assert match, out[-2000:]
    return match.group(1)


def test_a_broken_property_fails_on_the_same_example_every_run_with_its_blob(tmp_path):
    runs = [_run_broken(tmp_path, "ci") for _ in range(3)]
    assert len({_example(out) for out in runs}) == 1
    assert all("@reproduce_failure(" in out for out in runs)


def test_the_ci_profile_is_derandomized_and_reads_no_database():
    from hypothesis import settings

    ci = settings.get_profile("ci")
    assert ci.derandomize and ci.database is None and ci.print_blob
    assert not settings.get_profile("thorough").derandomize


def test_ci_output_ends_with_the_names_of_the_failing_tests(tmp_path):
    (tmp_path / "test_some.py").write_text(
        "def test_fine():\n    pass\n\n"
        "def test_wrong():\n    assert 1 == 2\n\n"
        "def test_also_wrong():\n    raise ValueError\n")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "--rootdir", str(tmp_path),
                          "-o", "cache_dir=" + str(tmp_path / "cache"), "test_some.py"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 1
    printed = subprocess.run([sys.executable, str(ROOT / ".ci" / "failed_tests.py"),
                              str(tmp_path / "cache")], capture_output=True, text=True, check=True)
    assert printed.stdout.rstrip().splitlines()[-2:] == [
        "FAILED test_some.py::test_also_wrong", "FAILED test_some.py::test_wrong"]
    ci_run = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci_run and ".ci/failed_tests.py" in ci_run
