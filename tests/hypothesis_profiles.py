"""The suite's hypothesis profiles, registered and loaded by ``conftest.py`` (and importable by a
test that runs pytest on a file of its own).

- ``ci`` (the default; ``make test`` and CI): few examples, **derandomized** (every run draws the
  same examples, so a red CI is red again on the same example when rerun), no example database
  (a local ``.hypothesis/`` cannot change what runs), and the failing example's reproduction blob
  printed (``@reproduce_failure(...)``) beside the falsifying example.
- ``thorough`` (``make test-thorough``, ``pytest --hypothesis-profile thorough``): many examples,
  random exploration, the database on.
- ``mutants`` (``benchmarks/mutants.py``): ``ci`` without shrinking.
"""

import os

from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "ci", max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=True, database=None, print_blob=True,
)
# derandomize=False said outright: under CI=true hypothesis loads its own derandomized "ci"
# profile at import, and a profile registered without a parent inherits from the loaded one.
settings.register_profile(
    "thorough", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow],
    derandomize=False, print_blob=True,
)

# benchmarks/mutants.py: the ci profile's examples, without shrinking (a killed mutant needs the
# first failure, not the smallest: shrinking turned quick kills into time-outs)
settings.register_profile(
    "mutants", parent=settings.get_profile("ci"),
    phases=[Phase.explicit, Phase.reuse, Phase.generate], print_blob=False,
)


def load() -> None:
    settings.load_profile(os.environ.get("SHARPVID_HYPOTHESIS_PROFILE", "ci"))
