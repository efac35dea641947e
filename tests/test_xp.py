"""NumPy/CuPy selection: CPU always works, CUDA is detected, never crashed into."""

import numpy as np
import pytest
import torch

from sharpvid.fast import _xp


def test_cpu_is_numpy_and_round_trips_with_torch_without_copy():
    assert _xp.xp_for_device("cpu") is np
    t = torch.arange(6.0).reshape(2, 3)
    a = _xp.from_torch(t)
    assert isinstance(a, np.ndarray)
    a[0, 0] = 42.0  # shares memory
    assert t[0, 0] == 42.0
    assert _xp.to_torch(a).data_ptr() == t.data_ptr()
    assert _xp.array_module(a) is np
    np.testing.assert_array_equal(_xp.to_numpy(t), a)


def test_bad_device_is_a_clear_error():
    with pytest.raises(ValueError, match="device must be 'cpu' or 'cuda'"):
        _xp.xp_for_device("tpu")


@pytest.mark.skipif(_xp.cupy_available(), reason="checks the message shown without CuPy/GPU")
def test_cuda_without_cupy_is_a_clear_error():
    with pytest.raises(ValueError, match="needs CuPy and a CUDA GPU"):
        _xp.xp_for_device("cuda")


@pytest.mark.gpu
def test_cuda_round_trip_through_dlpack():
    if not _xp.cupy_available():
        pytest.skip("CuPy not installed")
    t = torch.arange(6.0, device="cuda")
    a = _xp.from_torch(t)
    assert _xp.array_module(a).__name__ == "cupy"
    a[0] = 7.0
    assert float(t[0]) == 7.0
    assert _xp.to_torch(a).data_ptr() == t.data_ptr()
