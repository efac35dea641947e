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


@pytest.fixture(autouse=True)
def cpu_without_native_bf16(monkeypatch):
    """Every test sees a CPU without native bf16, whatever CPU runs the suite: ``fast_math =
    "auto"`` then means float32 (channels_last) here as on the CI machine, so the float32
    tolerances hold on an AVX512-BF16 or AMX CPU too.  The bf16 path is tested explicitly
    (``fast_math=True`` on the networks, or a test that patches the flags back in:
    tests/test_fast_math.py).  Subprocesses (the DDP and CLI-in-a-subprocess tests) see the
    real CPU."""
    import sharpvid.fast.devices

    monkeypatch.setattr(sharpvid.fast.devices, "cpu_flags",
                        lambda path="/proc/cpuinfo": frozenset({"fma", "avx2"}))
