"""The embedded synthetic world: shapes, determinism (in and across processes), motion, errors."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sharpvid.fast.video import synthetic
from sharpvid.fast.video.synthetic import synthetic_frames, synthetic_video

ROOT = Path(__file__).resolve().parents[1]

# sha256 of synthetic_video(0, frames=8, height=32, width=48).tobytes().  It pins the world's
# bytes across machines, platforms and NumPy versions (checked equal under NumPy 1.26 and 2.4,
# with and without AVX2).  Any change to the world (draw order, shapes, textures, motion)
# changes it: update it deliberately, in the same commit, and say so.
GOLDEN_SHA256 = "e1ecd2164a6938224ba4fdb1f575cbada908c673194f2f70087a75ddbc9469c2"


def _sha(video: np.ndarray) -> str:
    return hashlib.sha256(video.tobytes()).hexdigest()


def _motion(video: np.ndarray) -> float:
    """Mean squared difference of consecutive frames, pixels in [-1, 1]."""
    x = video.astype(np.float64) * (2 / 255) - 1
    return float((np.diff(x, axis=0) ** 2).mean())


# ---------------------------------------------------------------- shape, dtype, values
@pytest.mark.parametrize(
    "frames, height, width, channels",
    [(1, 8, 8, 1), (5, 32, 48, 3), (3, 17, 23, 1), (2, 64, 64, 3), (2, 8, 100, 3)],
)
def test_shape_dtype_and_range(frames, height, width, channels):
    video = synthetic_video(7, frames, height, width, channels=channels)
    assert video.shape == (frames, height, width, channels)
    assert video.dtype == np.uint8
    assert int(video.max()) - int(video.min()) > 40  # not constant
    assert video.std() > 5


def test_ucf101_size():
    video = synthetic_video(1, frames=2, height=240, width=320)
    assert video.shape == (2, 240, 320, 3)
    assert video.std() > 5


def test_grey_is_the_same_scene():
    rgb = synthetic_video(3, 6).astype(np.float64)
    grey = synthetic_video(3, 6, channels=1)[..., 0].astype(np.float64)
    luma = rgb @ np.array([0.299, 0.587, 0.114])
    assert np.abs(grey - luma).mean() < 1.5  # rounding and clipping apart, the luma of the RGB


def test_many_and_no_objects():
    assert synthetic_video(2, 3, objects=12).shape == (3, 64, 64, 3)
    assert synthetic_video(2, 3, objects=0).std() > 0


# ---------------------------------------------------------------- determinism
def test_same_seed_same_video_different_seed_different_video():
    a = synthetic_video(5, 10, 40, 56)
    assert np.array_equal(a, synthetic_video(5, 10, 40, 56))
    assert not np.array_equal(a, synthetic_video(6, 10, 40, 56))


def test_golden_checksum():
    assert _sha(synthetic_video(0, frames=8, height=32, width=48)) == GOLDEN_SHA256


def test_same_hash_in_a_fresh_process():
    code = (
        "import hashlib; from sharpvid.fast.video.synthetic import synthetic_video; "
        "print(hashlib.sha256(synthetic_video(11, 6, 40, 56, channels=1).tobytes()).hexdigest())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == _sha(synthetic_video(11, 6, 40, 56, channels=1))


def test_shorter_video_is_a_prefix_and_frames_stream_matches():
    long = synthetic_video(4, 12, 32, 40)
    assert np.array_equal(synthetic_video(4, 5, 32, 40), long[:5])
    stream = synthetic_frames(4, 32, 40)
    for t in range(12):
        assert np.array_equal(next(stream), long[t])


# ---------------------------------------------------------------- motion
@pytest.mark.parametrize("seed", range(4))
def test_consecutive_frames_differ(seed):
    video = synthetic_video(seed, 16)
    assert all((video[t + 1] != video[t]).any() for t in range(15))


@pytest.mark.parametrize("seed", range(4))
def test_background_pans_with_much_less_motion_than_objects(seed):
    still = synthetic_video(seed, 16, objects=0)
    assert not np.array_equal(still[0], still[-1])  # the background moves
    assert _motion(synthetic_video(seed, 16, objects=4)) > 5 * _motion(still)


def test_a_moving_crop_passes_the_motion_threshold():
    # the TF reimplementation's test: Σ over 4 frame pairs of ‖ΔF‖² > 100 on 5x32x32x3 crops
    x = synthetic_video(0, 5).astype(np.float64) * (2 / 255) - 1
    energies = [
        (np.diff(x[:, y : y + 32, x0 : x0 + 32], axis=0) ** 2).sum()
        for y in (0, 16, 32)
        for x0 in (0, 16, 32)
    ]
    assert max(energies) > 100


def test_turns_change_the_future_not_the_scene():
    never = synthetic_video(8, 12, turn_prob=0.0)
    always = synthetic_video(8, 12, turn_prob=1.0)
    assert np.array_equal(never[0], always[0])  # same scene: the turn draws come after frame 0
    assert not np.array_equal(never[-1], always[-1])


def test_objects_turn_and_stay_in_the_frame():
    rng, tex_rng = np.random.default_rng(0), np.random.default_rng(1)
    obj = synthetic._make_object(rng, tex_rng, 64, 80, 3, 64.0)
    draws = np.random.default_rng(2).random((500, 3))
    directions = set()
    for d in draws:
        synthetic._step(obj, d, 0.05, 80, 64)
        assert 0 <= obj.x <= 80 and 0 <= obj.y <= 64
        assert np.hypot(obj.vx, obj.vy) == pytest.approx(obj.speed)
        directions.add((round(abs(obj.vx), 9), round(abs(obj.vy), 9)))
    assert len(directions) > 5  # turned several times (bounces alone keep |vx|, |vy|)


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "kwargs, shown",
    [
        (dict(frames=0), "0"),
        (dict(height=7), "7"),
        (dict(width=4), "4"),
        (dict(frames=2.5), "2.5"),
        (dict(channels=2), "2"),
        (dict(objects=-1), "-1"),
        (dict(turn_prob=1.5), "1.5"),
        (dict(turn_prob=-0.1), "-0.1"),
    ],
)
def test_bad_values_raise_a_one_line_error(kwargs, shown):
    with pytest.raises(ValueError, match=shown) as info:
        synthetic_video(0, **kwargs)
    assert "\n" not in str(info.value)


def test_frames_stream_checks_arguments_before_the_first_frame():
    with pytest.raises(ValueError, match="channels"):
        synthetic_frames(0, channels=4)
