"""Every docstring example in the oracle runs and holds."""

import doctest
import importlib
import pkgutil

import pytest

import reference

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(reference.__path__, "reference.") if not m.ispkg
)
# the fast path's modules with examples of their own
MODULES += ["fast.video.synthetic", "fast.config", "fast.devices", "fast.figures",
            "fast.blur_detector", "fast.commands.predict", "fast.networks"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
