"""Every docstring example in the oracle runs and holds."""

import doctest
import importlib
import pkgutil

import pytest

import sharpvid.reference

# every public module (the private helpers, ``_checks`` and ``deblur._validate``, have no examples)
MODULES = sorted(m.name for m in pkgutil.walk_packages(sharpvid.reference.__path__,
                                                      "sharpvid.reference.")
                 if not m.ispkg and not m.name.rsplit(".", 1)[-1].startswith("_"))
# the fast path's modules with examples of their own
MODULES += [f"sharpvid.fast.{name}" for name in ("video.synthetic", "config", "devices", "figures",
                                                 "blur_detector", "commands.predict", "networks",
                                                 "blur")]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0, result  # a module with no example: 0 ran
