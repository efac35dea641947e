"""Shared test configuration: hypothesis profiles and the CUDA skip."""

import pytest

import hypothesis_profiles

# CI: few derandomized examples (see hypothesis_profiles); `make test-thorough` explores at random.
hypothesis_profiles.load()


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
