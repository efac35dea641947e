"""Training clips: shapes and ranges, the motion filter, scene cuts, the oracle's crop search,
counter-based determinism (seeds, ranks, workers, resume) and full-frame clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import sharpvid.reference.data
from sharpvid.fast.video.clips import (ClipConfig, ClipLoader, ClipSampler, fixed_clip_start,
                                       frame_differences_u8, sample_clip, shots, test_clip,
                                       to_model)
from sharpvid.fast.video.sources import ArrayVideo, DataError, Source, open_source, synthetic_source
from videodata import moving_square, needs_samples

SMALL = ClipConfig(size=16)


def still_with_square(frames=10, size=64):
    """A still background with a moving square in the top-left 24x24 corner only."""
    rng = np.random.default_rng(3)
    video = np.repeat(rng.integers(0, 255, (1, size, size, 3), dtype=np.uint8), frames, axis=0)
    for t in range(frames):
        video[t, 4:12, 2 + 2 * t % 14 : 10 + 2 * t % 14] = 255
    return video


def test_batch_shape_dtype_and_model_range():
    sampler = ClipSampler(synthetic_source(videos=3, frames=16, height=32, width=32), SMALL)
    batch = sampler.batch(0, 6)
    assert batch.shape == (6, 5, 3, 16, 16) and batch.dtype == np.uint8
    x = to_model(batch)
    assert x.dtype == torch.float32 and x.shape == (6, 5, 3, 16, 16)
    assert x.min() >= -1 and x.max() <= 1
    np.testing.assert_allclose(x.numpy(), batch.astype(float) * 2 / 255 - 1, atol=1e-6)  # authors


def test_crop_search_is_the_oracles():
    """On a one-shot video, the same generator gives the oracle's crop, kept or not."""
    video = moving_square(8, 40, 48)
    as_model = video.transpose(0, 3, 1, 2) * (2 / 255) - 1
    for seed in range(40):
        for keep in (0.0, 0.5):
            cfg = ClipConfig(size=16, threshold=30.0, max_tries=12, keep_anyway=keep)
            ours = sample_clip(video, seed, cfg, [(0, 8)])
            oracle = sharpvid.reference.data.sample_patch_clip(as_model, 16, rng=seed, threshold=30.0,
                                                       max_tries=12, keep_anyway=keep)
            np.testing.assert_allclose(ours.clip * (2 / 255) - 1, oracle, atol=1e-12)
            motion = (np.diff(oracle, axis=0) ** 2).sum()
            assert ours.motion == pytest.approx(motion, rel=1e-9)


def test_motion_filter_takes_moving_crops_and_rejects_still_ones():
    video = still_with_square()
    cfg = ClipConfig(size=24, keep_anyway=0.0)
    samples = [sample_clip(video, seed, cfg) for seed in range(30)]
    assert all(s.moved for s in samples)
    assert all(s.row <= 11 and s.col <= 25 for s in samples)  # every crop overlaps the square
    # a still video: nothing moves, the last try is returned flagged as not moved
    still = np.repeat(video[:1], 10, axis=0)
    s = sample_clip(still, 0, cfg)
    assert not s.moved and s.motion == 0.0


def test_synthetic_world_crops_move_but_its_background_alone_barely():
    from sharpvid.fast.video.synthetic import synthetic_video

    cfg = ClipConfig(keep_anyway=0.0, max_tries=1)
    with_objects = np.stack([synthetic_video(s, 8, 64, 64) for s in range(4)])
    backgrounds = np.stack([synthetic_video(s, 8, 64, 64, objects=0) for s in range(4)])
    moved = [sample_clip(v, seed, cfg).moved for v in with_objects for seed in range(10)]
    still = [sample_clip(v, seed, cfg).moved for v in backgrounds for seed in range(10)]
    assert np.mean(moved) > 0.6 and np.mean(still) < 0.3


def test_scene_cut_in_synthetic_video_is_found_and_never_crossed():
    from sharpvid.fast.video.synthetic import synthetic_video

    video = np.concatenate([synthetic_video(1, 12, 48, 48), synthetic_video(2, 9, 48, 48)])
    assert shots(video) == [(0, 12), (12, 21)]
    for seed in range(30):
        s = sample_clip(video, seed, ClipConfig(size=16))
        assert s.frame + 5 <= 12 or s.frame >= 12
    assert shots(synthetic_video(1, 21, 48, 48)) == [(0, 21)]


def test_u8_differences_equal_the_twin():
    import sharpvid.fast.data

    video = moving_square(20, cut_at=11)
    as_model = torch.from_numpy(video).permute(0, 3, 1, 2).double() * (2 / 255) - 1
    np.testing.assert_allclose(frame_differences_u8(video, chunk=3),
                               sharpvid.fast.data.frame_differences(as_model).numpy(), rtol=1e-12)
    assert shots(video) == [(0, 11), (11, 20)]


@needs_samples
def test_scene_cuts_of_bikes():
    bikes = open_source("samples:bikes")[0].read()
    assert shots(bikes) == [(0, 30), (30, 76), (76, 137), (137, 187), (187, 242), (242, 250)]


def test_no_shot_long_enough_is_an_error():
    video = moving_square(8, cut_at=4)
    with pytest.raises(DataError, match=r"no shot of 5 frames .* shots: \[4, 4\]"):
        sample_clip(video, 0, SMALL)


def test_same_seed_same_stream_other_seed_or_rank_another():
    source = synthetic_source(videos=4, frames=16, height=32, width=32)
    a, b = ClipSampler(source, SMALL), ClipSampler(source, SMALL)
    np.testing.assert_array_equal(a.batch(3, 4, seed=7), b.batch(3, 4, seed=7))
    assert not np.array_equal(a.batch(3, 4, seed=7), a.batch(3, 4, seed=8))
    assert not np.array_equal(a.batch(3, 4, seed=7, rank=0), a.batch(3, 4, seed=7, rank=1))
    # batch k holds clips kB ... kB + B - 1 of the stream
    np.testing.assert_array_equal(a.batch(1, 4, seed=7)[2], a.clip(7, 0, 6))


def test_loader_is_the_same_with_workers_and_resumes_exactly():
    source = synthetic_source(videos=3, frames=12, height=32, width=32)
    sampler = ClipSampler(source, SMALL)
    plain = [x for x in ClipLoader(sampler, 4, seed=1, batches=6)]
    workers = [x for x in ClipLoader(sampler, 4, seed=1, batches=6, workers=2)]
    for x, y in zip(plain, workers, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    first = ClipLoader(sampler, 4, seed=1, batches=6)
    seen = []
    for x in first:
        seen.append(x)
        if len(seen) == 2:
            break
    state = first.state_dict()
    assert state["next_batch"] == 2
    resumed = ClipLoader(sampler, 4, seed=1, batches=6)
    resumed.load_state_dict(state)
    for x, y in zip(seen + list(resumed), plain, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)
    with pytest.raises(DataError, match="seed=1"):
        ClipLoader(sampler, 4, seed=2).load_state_dict(state)


def test_lazy_reading_gives_clips_of_the_window():
    source = synthetic_source(videos=2, frames=40, height=32, width=32)
    lazy = ClipSampler(source, ClipConfig(size=16, window=8), in_memory=False)
    for i in range(10):
        s = lazy.draw(np.random.default_rng([0, 0, i]))
        full = source[s.video].read()
        np.testing.assert_array_equal(
            s.clip, full[s.frame : s.frame + 5, s.row : s.row + 16, s.col : s.col + 16]
            .transpose(0, 3, 1, 2))


def test_full_frame_clips_and_test_offsets():
    source = synthetic_source(videos=2, frames=10, height=24, width=40)
    batch = ClipSampler(source, ClipConfig(size=None)).batch(0, 3)
    assert batch.shape == (3, 5, 3, 24, 40)
    assert fixed_clip_start([(0, 12), (12, 30), (30, 33)], 5) == 12 + (18 - 5) // 2
    with pytest.raises(DataError, match="longest shot has 3 frames"):
        fixed_clip_start([(0, 3)], 5)
    video = ArrayVideo(moving_square(20, cut_at=6))  # shots 0:6 and 6:20: the clip is 10:15
    start, clip = test_clip(video, ClipConfig(size=None))
    assert start == 6 + (14 - 5) // 2
    np.testing.assert_array_equal(clip, video.read()[start : start + 5].transpose(0, 3, 1, 2))
    mixed = Source("mixed", [ArrayVideo(np.zeros((6, 20, 20, 3), np.uint8)),
                             ArrayVideo(np.zeros((6, 24, 20, 3), np.uint8))])
    with pytest.raises(DataError, match="one frame size"):
        ClipSampler(mixed, ClipConfig(size=None))


def test_bad_clip_inputs():
    short = Source("short", [ArrayVideo(np.zeros((3, 40, 40, 3), np.uint8), source="short.avi")])
    with pytest.raises(DataError, match="short.avi: 3 frames, fewer than the 5"):
        ClipSampler(short, SMALL)
    small = Source("small", [ArrayVideo(np.zeros((9, 8, 40, 3), np.uint8), source="tiny.avi")])
    with pytest.raises(DataError, match="tiny.avi: frames of 40x8 are smaller than the 16x16"):
        ClipSampler(small, SMALL)
    with pytest.raises(DataError, match="m=0"):
        ClipConfig(m=0)
    with pytest.raises(DataError, match="batch_size=0"):
        ClipLoader(None, 0)


def test_threshold_scales_with_the_clip_shape():
    assert ClipConfig().motion_threshold(3, 32, 32) == 100.0  # the TF value, as set for 5x32x32x3
    assert ClipConfig(size=64).motion_threshold(3, 64, 64) == 400.0
    assert ClipConfig(m=8).motion_threshold(3, 32, 32) == 200.0
    assert ClipConfig(threshold=7.0).motion_threshold(1, 5, 5) == 7.0


def test_a_still_source_is_refused_with_the_threshold_and_best_motion():
    still = Source("still", [ArrayVideo(np.repeat(still_with_square()[:1], 9, axis=0))])
    with pytest.raises(DataError, match=r"no crop passes the motion filter \(threshold 25, best "
                                        r"motion found 0 in 400 tries\)"):
        ClipSampler(still, SMALL)


@pytest.mark.gpu
def test_loader_on_cuda_converts_on_the_device_and_matches_the_cpu():
    sampler = ClipSampler(synthetic_source(videos=2, frames=12, height=32, width=32), SMALL)
    on_gpu = list(ClipLoader(sampler, 4, device="cuda", workers=1, batches=2))
    on_cpu = list(ClipLoader(sampler, 4, batches=2))
    assert all(x.is_cuda and x.dtype == torch.float32 for x in on_gpu)
    for x, y in zip(on_gpu, on_cpu, strict=True):
        torch.testing.assert_close(x.cpu(), y, rtol=0, atol=0)
