"""Shared test configuration: hypothesis profiles and the CUDA skip."""

import os

import pytest
from hypothesis import HealthCheck, settings

# CI: few examples so the whole suite stays within minutes on 2 cores.
settings.register_profile(
    "ci", max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# Local, thorough: `pytest --hypothesis-profile thorough` (or `make test-thorough`).
settings.register_profile(
    "thorough", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("SHARPVID_HYPOTHESIS_PROFILE", "ci"))


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def pytest_collection_modifyitems(config, items):
    if _cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
