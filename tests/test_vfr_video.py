"""Sparse (variable-frame-rate) video files: frame i is the i-th decodable frame in presentation
order, one frame count everywhere, and ``sharpvid predict`` reads them without an error.

The files are made as the real one that showed the bug was: frames whose timestamps skip
(0, 11, 17, 24, ... in units of 1/fps), so an AVI's header counts every 1/fps step up to the last
timestamp (139 "frames" for 20 written) and an MP4's or MKV's duration implies as many.
"""

from fractions import Fraction

import numpy as np
import pytest

from sharpvid.fast import cli
from sharpvid.fast.commands import CommandError
from sharpvid.fast.commands.predict import _read_window
from sharpvid.fast.video.sources import ArrayVideo, open_source
from runs import make_run
from videodata import moving_square, needs_av, write_video

pytestmark = needs_av

N, H, W, FPS = 20, 40, 48, 25  # 20 frames of 48x40; the tiny config's m = 4
STEPS = (11, 6, 7, 5, 9, 4, 8)  # gaps between timestamps, in frames: 0, 11, 17, 24, 29, ...
TIMES = [sum(STEPS[k % len(STEPS)] for k in range(t)) for t in range(N)]
LEVELS = 10 + 12 * np.arange(N)  # frame t is the constant grey LEVELS[t]: told apart after loss

# name, codec, pix_fmt, gop, B-frames; exact (lossless) or compared by mean intensity
FORMATS = {
    "cinepak.avi": ("cinepak", "rgb24", None, 0),  # the real file's codec and container
    "mpeg4.avi": ("mpeg4", "yuv420p", 6, 2),  # AVI: decoding timestamps only
    "ffv1.mkv": ("ffv1", "bgr0", 5, 0),  # lossless: exact frames
    "h264.mp4": ("libx264", "yuv420p", 6, 2),
}


def write_sparse(path, times=TIMES, fps=FPS):
    """Constant-grey frames ``LEVELS[t]`` at presentation timestamps ``times`` (units of 1/fps)."""
    import av

    codec, pix_fmt, gop, b_frames = FORMATS[path.name]
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        stream.codec_context.time_base = Fraction(1, fps)
        if gop:
            stream.codec_context.gop_size = gop
        if b_frames:
            stream.codec_context.max_b_frames = b_frames
        if codec == "mpeg4":
            stream.codec_context.qscale = 2  # its default bitrate blurs the greys by up to 12
        for t, pts in enumerate(times):
            frame = av.VideoFrame.from_ndarray(np.full((H, W, 3), LEVELS[t], np.uint8),
                                               format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def probe(path):
    """What an ffprobe would say: the header's frame count, the duration in frames, and the
    packets' timestamps in frames (sorted)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.guessed_rate == FPS
        duration = container.duration / 1e6 * FPS
        step = stream.time_base * FPS
        times = sorted(round((p.pts if p.pts is not None else p.dts) * step)
                       for p in container.demux(stream) if p.size)
        return stream.frames, duration, times


def check_levels(frames, want):
    """Frames ``(T, H, W, 3)`` are the constant greys ``want`` (T of them), within codec loss."""
    assert frames.shape == (len(want), H, W, 3)
    np.testing.assert_allclose(frames.reshape(len(want), -1).mean(axis=1), want, atol=3)


@pytest.fixture(scope="module", params=sorted(FORMATS))
def sparse(request, tmp_path_factory):
    return write_sparse(tmp_path_factory.mktemp("vfr") / request.param)


def test_the_files_really_are_sparse(sparse):
    header, duration, times = probe(sparse)
    assert len(times) == N
    assert times[-1] - times[0] > 5 * N  # 20 frames spread over ~130 steps of 1/fps
    assert duration > 5 * N  # the container's duration implies ~130 frames at 25 fps
    if sparse.suffix == ".avi":
        assert header > 5 * N  # an AVI's header counts every 1/fps step, as the real file's


def test_sparse_file_has_its_decodable_frames(sparse, monkeypatch):
    import sharpvid.fast.video.files as files

    clip = open_source(str(sparse))[0]
    assert clip.num_frames == N and clip.shape == (N, H, W, 3)
    full = clip.read()
    check_levels(full, LEVELS)  # all of them, in order
    if sparse.suffix == ".mkv":
        np.testing.assert_array_equal(full, np.broadcast_to(LEVELS[:, None, None, None].astype(
            np.uint8), full.shape))
    seeks = []
    decode = files.VideoFile._decode
    monkeypatch.setattr(files.VideoFile, "_decode",
                        lambda self, a, b, seek: seeks.append(seek) or decode(self, a, b, seek))
    for a, b in [(0, 3), (1, 5), (7, 11), (12, 13), (16, N)]:
        seeks.clear()
        part = clip.read(a, b)
        check_levels(part, LEVELS[a:b])
        np.testing.assert_array_equal(part, full[a:b])
        assert seeks[0] == (a > 0)  # a middle range seeks ...
        if sparse.name != "mpeg4.avi":  # ... and lands before its first frame
            assert len(seeks) == 1
        # MPEG-4 Part 2 with B-frames makes open GOPs: the B-frames shown before a key frame
        # need the one before it, so a seek to that key frame cannot show them and the read
        # decodes from the start instead (as for a constant-frame-rate file)
    assert clip.num_frames == N and clip.problems == []


def test_regular_files_are_not_demuxed_at_open(tmp_path, monkeypatch):
    """AVI and MP4 index every frame: a regular one is checked from the index alone."""
    import av

    import sharpvid.fast.video.files as files

    if not hasattr(av.VideoStream, "index_entries"):
        pytest.skip("PyAV < 14 has no index_entries: every file is demuxed once")
    video = moving_square(12, H, W)
    paths = [write_video(tmp_path / "clip.avi", video),
             write_video(tmp_path / "clip.mp4", video, gop=4, b_frames=2)]

    def refuse(*_):
        raise AssertionError("demuxed")

    monkeypatch.setattr(files, "_packet_times", refuse)
    for path in paths:
        assert open_source(str(path))[0].num_frames == 12


def test_truncated_regular_file_keeps_its_problem(tmp_path):
    """Fewer frames than the header says, on the regular grid: truncated, not sparse."""
    path = write_video(tmp_path / "clip.avi", moving_square(60, 64, 64), quality=2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    clip = open_source(str(path))[0]
    assert clip.num_frames == 60  # the header's count, until reading finds the end
    frames = clip.read()
    assert 5 <= len(frames) < 60 and clip.num_frames == len(frames)
    assert len(clip.problems) == 1 and "header says 60 frames (truncated?)" in clip.problems[0]


# ---------------------------------------------------------------------------------------------
# sharpvid predict
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return make_run(tmp_path_factory.mktemp("run") / "run")[0]


def predict(capsys, *args):
    status = cli.main(["predict", *map(str, args), "--device", "cpu"])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("name", ["cinepak.avi", "ffv1.mkv"])
def test_predict_on_a_sparse_file(name, run_dir, tmp_path, capsys):
    path = write_sparse(tmp_path / name)
    out = tmp_path / "out"
    status, stdout, stderr = predict(capsys, run_dir, path, "--frames", 3, "--out", out)
    assert status == 0, stderr
    assert "error" not in stderr and "warning" not in stderr
    assert f"input frames {N - 4}..{N - 1} of {N} " in stderr
    assert len(stdout.splitlines()) == 4  # pred_1..3 and the GIF
    status, stdout, stderr = predict(capsys, run_dir, path, "--start", 100, "--out", out)
    assert status == 2 and stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("sharpvid: error: ")
    assert f"--start 100 is out of range: with {N} frames" in stderr
    assert stderr.count(str(path)) == 1


def test_predict_warns_once_per_problem_of_a_truncated_file(run_dir, tmp_path, capsys):
    path = write_video(tmp_path / "clip.avi", moving_square(60, 64, 64), quality=2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])
    status, stdout, stderr = predict(capsys, run_dir, path, "--out", tmp_path / "out")
    assert status == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("sharpvid: warning: ")]
    assert len(warnings) == 1 and "error" not in stderr
    assert warnings[0].count(str(path)) == 1 and "header says 60 frames" in warnings[0]


class _ShortVideo(ArrayVideo):
    """A video that never gives all the frames asked for, and says why."""

    def _read(self, start, stop):
        self.problems.append(f"{self.source}: decoding stopped at frame {start}")
        self.num_frames = max(self.num_frames - 1, 0)
        return self.frames[start : stop - 1]


def test_unreadable_window_is_one_error_naming_the_input_once():
    video = _ShortVideo(moving_square(8, H, W), source="clip.avi")
    with pytest.raises(CommandError) as exc:
        _read_window(video, "clip.avi", 4, None)
    message = str(exc.value)
    assert message.count("clip.avi") == 1
    assert message == ("clip.avi: decoding stopped at frame 4; decoding stopped at frame 3")

