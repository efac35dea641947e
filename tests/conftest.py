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


@pytest.fixture(scope="module")
def one_torch_thread():
    """Small convolutions: one intra-op thread is as fast, and immune to oversubscription (two
    OpenMP threads on two busy cores made each small conv up to ~100x slower).  Modules of
    tiny-network tests use it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
