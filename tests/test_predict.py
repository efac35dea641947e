"""``sharpvid predict`` and :func:`sharpvid.fast.commands.predict.predict_video`: the files it
writes, the window it reads, the recursion, and one-line errors for every bad input; ``--all``
(:mod:`sharpvid.fast.sidebyside`: every window, the side-by-side MP4 and the CSV) and ``--method``
(a baseline as the predictor, no checkpoint)."""

import csv
import doctest
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from sharpvid.fast import cli, sidebyside
from sharpvid.fast.commands.predict import GIF_NAME, predict_video, window_start
from sharpvid.fast.evaluate import frame_metrics, predict_and_score
from sharpvid.fast.figures import to_uint8
from sharpvid.fast.flow import flow_extrapolate
from sharpvid.fast.video.clips import to_model
from runs import make_run
from videodata import moving_square, needs_av, write_frames, write_video

T, H, W, M = 6, 40, 48, 4  # 6 frames of 48x40; the tiny config's m = 4


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """``(run_dir, generator)``: a tiny untrained RGB generator in the real checkpoint format."""
    run_dir, g, cfg = make_run(tmp_path_factory.mktemp("run") / "run")
    assert cfg.m == M
    return run_dir, g


@pytest.fixture(scope="module")
def video():
    return moving_square(T, H, W)


@pytest.fixture(scope="module")
def frames_dir(tmp_path_factory, video):
    return write_frames(tmp_path_factory.mktemp("frames") / "clip", video)


def expected_png(g, frames_u8, n):
    """What pred_1 .. pred_n should hold: the generator on these m frames, through to_uint8."""
    x = to_model(torch.from_numpy(np.ascontiguousarray(frames_u8.transpose(0, 3, 1, 2)))[None])
    with torch.inference_mode():
        y = g.predict(x, n, pad=True)[0]
    return [to_uint8(f) for f in y]


def read_png(path):
    with Image.open(path) as img:
        return np.asarray(img)


def gif_info(path):
    with Image.open(path) as img:
        return img.n_frames, img.size


def predict(capsys, *args):
    status = cli.main(["predict", *map(str, args)])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


# ---------------------------------------------------------------------------------------------
# What it writes
# ---------------------------------------------------------------------------------------------


def test_frame_folder_gives_n_pngs_and_a_gif(run, frames_dir, video, tmp_path, capsys):
    run_dir, g = run
    out = tmp_path / "out"
    status, stdout, stderr = predict(capsys, run_dir, frames_dir, "--frames", 3, "--out", out,
                                     "--device", "cpu")
    assert status == 0, stderr
    names = [f"pred_{k}.png" for k in (1, 2, 3)] + [GIF_NAME]
    assert stdout.splitlines() == [str(out / name) for name in names]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no temporary files left
    assert "input frames 2..5 of 6" in stderr  # the last m frames by default
    for k, want in enumerate(expected_png(g, video[T - M :], 3), start=1):
        got = read_png(out / f"pred_{k}.png")
        assert got.shape == (H, W, 3) and np.array_equal(got, want)
    assert gif_info(out / GIF_NAME) == (M + 3, (W, H))
    with Image.open(out / GIF_NAME) as img:
        img.seek(M)  # the first prediction: red-bordered
        assert img.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
        assert img.info["duration"] == 250


@needs_av
def test_video_file_input(run, video, tmp_path, capsys):
    run_dir, g = run
    path = write_video(tmp_path / "clip.mkv", video, codec="ffv1")  # lossless: exact frames
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, run_dir, path, "--out", out, "--frames", 2,
                                "--gif-duration", 100, "--device", "cpu")
    assert status == 0, stderr
    want = expected_png(g, video[T - M :], 2)
    for k in (1, 2):
        assert np.array_equal(read_png(out / f"pred_{k}.png"), want[k - 1])
    assert gif_info(out / GIF_NAME) == (M + 2, (W, H))
    with Image.open(out / GIF_NAME) as img:
        assert img.info["duration"] == 100


def test_checkpoint_file_and_start_choose_the_window(run, frames_dir, video, tmp_path, capsys):
    run_dir, g = run
    ckpt = next((run_dir / "checkpoints").glob("*.pt"))
    want = expected_png(g, video[1 : 1 + M], 1)[0]
    for start in ("1", "-5"):  # -5 from the end of 6 frames is frame 1
        out = tmp_path / f"out{start}"
        status, _, stderr = predict(capsys, ckpt, frames_dir, "--start", start, "--out", out,
                                    "--device", "cpu")
        assert status == 0, stderr
        assert "input frames 1..4 of 6" in stderr
        assert np.array_equal(read_png(out / "pred_1.png"), want)
    assert not np.array_equal(want, expected_png(g, video[2:], 1)[0])  # the window matters


def test_grey_input_for_a_colour_model_is_repeated(run, video, tmp_path, capsys):
    run_dir, g = run
    grey = video[..., :1]
    folder = write_frames(tmp_path / "grey", grey)
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, run_dir, folder, "--out", out, "--device", "cpu")
    assert status == 0, stderr
    assert "grey input, repeated to RGB" in stderr
    want = expected_png(g, np.repeat(grey[T - M :], 3, axis=-1), 1)[0]
    assert np.array_equal(read_png(out / "pred_1.png"), want)
    assert gif_info(out / GIF_NAME) == (M + 1, (W, H))


def test_grey_model_writes_grey_pngs(tmp_path, video, capsys):
    run_dir, g, _ = make_run(tmp_path / "grey-run", ["net.channels=1"])
    folder = write_frames(tmp_path / "grey", video[..., :1])
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, run_dir, folder, "--out", out, "--device", "cpu")
    assert status == 0, stderr
    with Image.open(out / "pred_1.png") as img:
        assert img.mode == "L" and img.size == (W, H)
        want = expected_png(g, video[T - M :, ..., :1], 1)[0][..., 0]
        assert np.array_equal(np.asarray(img), want)


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["predict", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "sharpvid predict runs/" in text and "--gif-duration" in text


# ---------------------------------------------------------------------------------------------
# The library function: the window and the recursion
# ---------------------------------------------------------------------------------------------


def test_predict_video_recursion_feeds_back_the_float_prediction(run, video):
    _, g = run
    y = predict_video(g, video, 2, start=0)  # frames 0..3 -> predictions 4, 5
    assert y.dtype == torch.float32 and y.shape == (2, 3, H, W)
    x = to_model(torch.from_numpy(np.ascontiguousarray(video[:M].transpose(0, 3, 1, 2))))
    with torch.inference_mode():
        first = g.predict(x[None], 1, pad=True)[0, 0]
        window = torch.cat([x[1:], first[None]])  # frames 1..3 and the first prediction, unrounded
        second = g.predict(window[None], 1, pad=True)[0, 0]
    torch.testing.assert_close(y[0], first, rtol=0, atol=0)
    torch.testing.assert_close(y[1], second, rtol=1e-6, atol=1e-6)
    # the last m frames by default; negative start counts from the end
    torch.testing.assert_close(predict_video(g, video, 1), predict_video(g, video, 1, -M))


def test_predict_video_leaves_the_generator_mode_and_grad_state(run, video):
    _, g = run
    g.train()
    try:
        y = predict_video(g, video, 1)
        assert g.training and not y.requires_grad
    finally:
        g.eval()


@pytest.mark.parametrize(
    "frames, n, start, message",
    [
        (np.zeros((3, 8, 8, 3), np.uint8), 1, None, "has 3 frame(s), but the model needs 4"),
        (np.zeros((6, 8, 8, 3), np.uint8), 0, None, "--frames must be an integer >= 1"),
        (np.zeros((6, 8, 8, 3), np.uint8), 1, 3, "must be in 0 .. 2"),
        (np.zeros((6, 8, 8, 2), np.uint8), 1, None, "2-channel frames"),
        (np.zeros((6, 8, 8, 3), np.float32), 1, None, "must be uint8"),
    ],
)
def test_predict_video_bad_arguments(run, frames, n, start, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        predict_video(run[1], frames, n, start)


def test_window_start():
    assert [window_start(6, 4, s) for s in (None, 0, 2, -4, -6)] == [2, 0, 2, 2, 0]
    for bad in (3, -7):
        with pytest.raises(ValueError, match="out of range"):
            window_start(6, 4, bad)


# ---------------------------------------------------------------------------------------------
# Every bad input: exit status 2 and one line on stderr
# ---------------------------------------------------------------------------------------------


@pytest.fixture()
def bad_inputs(tmp_path, video):
    """Named paths for the error table."""
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"PK\x03\x04 not really a checkpoint")
    broken = tmp_path / "broken"
    write_frames(broken, video)
    (broken / "frame3.png").write_bytes(b"\x89PNG truncated")
    two = tmp_path / "two"
    write_frames(two / "a", video)
    write_frames(two / "b", video)
    short = write_frames(tmp_path / "short", video[:3])
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    (tmp_path / "empty").mkdir()
    return dict(tmp=tmp_path, corrupt=corrupt, broken=broken, two=two, short=short,
                blocker=blocker, empty=tmp_path / "empty")


@pytest.mark.parametrize(
    "case, message",
    [
        ("missing checkpoint", "no such checkpoint file or run folder"),
        ("corrupt checkpoint", "corrupt.pt: not a readable checkpoint"),
        ("run folder without checkpoints", "no checkpoint in"),
        ("missing input", "nothing: no such file or folder"),
        ("unreadable frame", "frame3.png: cannot read as an image"),
        ("empty folder", "empty: folder is empty"),
        ("two videos", "two: holds 2 videos; predict takes one"),
        ("too few frames", "short: has 3 frame(s), but the model needs 4 input frames"),
        ("start too late", "--start 3 is out of range: with 6 frames and 4 input frames it must "
                           "be in 0 .. 2 (or -6 .. -4 from the end)"),
        ("start too early", "--start -7 is out of range"),
        ("frames 0", "--frames must be an integer >= 1, got 0"),
        ("gif duration", "--gif-duration must be >= 10 ms"),
        ("cuda absent", "this machine has no CUDA device"),
        ("bad device", "device must be auto, cpu, cuda or cuda:K, got 'tpu'"),
        ("out not writable", "file/out: cannot write the output folder"),
        ("colour input for a grey model", "has 3-channel frames, but the model was trained on "
                                          "1-channel frames"),
    ],
)
def test_bad_input_is_one_line_and_status_2(case, message, run, frames_dir, bad_inputs, capsys):
    run_dir, _ = run
    b = bad_inputs
    out = b["tmp"] / "out"
    ckpt, inp, extra = run_dir, frames_dir, ["--device", "cpu"]
    if case == "missing checkpoint":
        ckpt = b["tmp"] / "no-run"
    elif case == "corrupt checkpoint":
        ckpt = b["corrupt"]
    elif case == "run folder without checkpoints":
        ckpt = b["empty"]
    elif case == "missing input":
        inp = b["tmp"] / "nothing"
    elif case == "unreadable frame":
        inp = b["broken"]
    elif case == "empty folder":
        inp = b["empty"]
    elif case == "two videos":
        inp = b["two"]
    elif case == "too few frames":
        inp = b["short"]
    elif case == "start too late":
        extra += ["--start", "3"]
    elif case == "start too early":
        extra += ["--start", "-7"]
    elif case == "frames 0":
        extra += ["--frames", "0"]
    elif case == "gif duration":
        extra += ["--gif-duration", "5"]
    elif case == "cuda absent":
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        extra = ["--device", "cuda"]
    elif case == "bad device":
        extra = ["--device", "tpu"]
    elif case == "out not writable":
        out = b["blocker"] / "out"
    elif case == "colour input for a grey model":
        ckpt = make_run(b["tmp"] / "grey-run", ["net.channels=1"])[0]
    status, stdout, stderr = predict(capsys, ckpt, inp, "--out", out, *extra)
    assert status == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("sharpvid: error: "), stderr
    assert message in stderr
    assert not out.exists() or not any(out.iterdir())


# ---------------------------------------------------------------------------------------------
# --all: every window, the side-by-side MP4 and the CSV; --method: a baseline as the predictor
# ---------------------------------------------------------------------------------------------

T8, H8, W8 = 8, 32, 48  # the --all tests' video: 8 frames of 48x32


@pytest.fixture(scope="module")
def clip8():
    return moving_square(T8, H8, W8, seed=1)


@pytest.fixture(scope="module")
def clip8_dir(tmp_path_factory, clip8):
    return write_frames(tmp_path_factory.mktemp("clip8") / "clip", clip8)


def read_mp4(path):
    """Every frame of an MP4, decoded with PyAV: uint8 (T, H, W, 3)."""
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def panels(frame):
    """The four panels (input, prediction, truth, |error|) of a side-by-side frame of 48x32."""
    top = sidebyside.HEADER
    return [frame[top : top + H8, i * (W8 + sidebyside.SEP) : i * (W8 + sidebyside.SEP) + W8]
            for i in range(4)]


def closest_frame(panel, frames):
    """The frame of the video that a (lossy, chroma-subsampled) panel shows: the nearest in
    grey level."""
    grey = panel.astype(float).mean(axis=-1)
    return int(np.argmin([np.abs(grey - f.astype(float).mean(axis=-1)).mean() for f in frames]))


def model_clip(frames_u8):
    """uint8 (T, H, W, C) -> (1, T, C, H, W) in [-1, 1]."""
    return to_model(torch.from_numpy(np.ascontiguousarray(frames_u8.transpose(0, 3, 1, 2)))[None])


def test_sidebyside_doctests():
    assert doctest.testmod(sidebyside, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


@needs_av
def test_all_writes_the_mp4_and_the_csv(run, clip8_dir, clip8, tmp_path, capsys):
    run_dir, g = run
    out = tmp_path / "out"
    n = 2
    status, stdout, stderr = predict(capsys, run_dir, clip8_dir, "--all", "--frames", n,
                                     "--batch", 2, "--out", out, "--device", "cpu")
    assert status == 0, stderr
    windows = T8 - M - n + 1  # 3: frames 0..5, 1..6, 2..7
    assert sorted(p.name for p in out.iterdir()) == [sidebyside.CSV_NAME, sidebyside.MP4_NAME]
    video = read_mp4(out / sidebyside.MP4_NAME)
    assert video.shape == (windows * n, *sidebyside.frame_layout(H8, W8), 3)
    assert video.shape[2] == 4 * W8 + 3 * sidebyside.SEP  # four panels side by side
    # frame 3 = window 1, 2 frames ahead: its last input is frame 4, its truth frame 6
    last, _, truth, _ = panels(video[3])
    assert closest_frame(last, clip8) == 4 and closest_frame(truth, clip8) == 6
    rows = read_csv(out / sidebyside.CSV_NAME)
    assert len(rows) == windows * n * 3
    assert [(r["start"], r["frame"], r["ahead"], r["method"]) for r in rows[:6]] == [
        ("0", "4", "1", "model"), ("0", "4", "1", "copy_last"), ("0", "4", "1", "flow_extrap"),
        ("0", "5", "2", "model"), ("0", "5", "2", "copy_last"), ("0", "5", "2", "flow_extrap")]
    assert list(rows[0]) == ["start", "frame", "ahead", "method", *sidebyside.SCORE_COLUMNS]
    assert "predict 6/6" in stderr and "frames/s" in stderr  # the progress line
    lines = stdout.splitlines()
    assert lines[-1] == f"wrote {out / sidebyside.MP4_NAME}, {out / sidebyside.CSV_NAME}"
    assert any(line.startswith("model - flow_extrap") for line in lines)


@needs_av
def test_all_scores_are_frame_metrics_of_each_method_on_one_window(run, clip8_dir, clip8,
                                                                   tmp_path, capsys):
    """The CSV of window 1 equals evaluate's predict_and_score (model, copy_last, flow_extrap)
    on that window alone, and flow_extrap's equals frame_metrics of flow_extrapolate."""
    run_dir, g = run
    out = tmp_path / "out"
    n = 2
    status, _, stderr = predict(capsys, run_dir, clip8_dir, "--all", "--frames", n, "--out", out,
                                "--device", "cpu", "--batch", 3)
    assert status == 0, stderr
    rows = [r for r in read_csv(out / sidebyside.CSV_NAME) if r["start"] == "1"]
    x = model_clip(clip8[1 : 1 + M + n])  # (1, m + n, C, H, W)
    with torch.inference_mode():
        _, scores = predict_and_score(g, x, M, n)
        inputs, targets = x[:, :M], x[:, M:]
        prev = torch.cat([inputs[:, -1:], targets[:, :-1]], dim=1)
        direct = frame_metrics(flow_extrapolate(inputs, n), targets, prev)
    for c in sidebyside.SCORE_COLUMNS:
        torch.testing.assert_close(scores["flow_extrap"][c], direct[c])
    assert len(rows) == n * 3
    for r in rows:
        k = int(r["ahead"]) - 1
        for c in sidebyside.SCORE_COLUMNS:
            want = float(scores[r["method"]][c][0, k])
            assert float(r[c]) == pytest.approx(want, rel=1e-5, abs=1e-6), (r["method"], c)
    # the scores differ between methods, so a mixed-up method column would fail above
    flow = {r["ahead"]: float(r["psnr_seed"]) for r in rows if r["method"] == "flow_extrap"}
    copy = {r["ahead"]: float(r["psnr_seed"]) for r in rows if r["method"] == "copy_last"}
    assert flow != copy


@needs_av
def test_method_flow_extrap_all_needs_no_checkpoint(clip8, tmp_path, capsys):
    path = write_video(tmp_path / "clip.mkv", clip8, codec="ffv1")  # a video file, unprepared
    out = tmp_path / "out"
    status, stdout, stderr = predict(capsys, "--method", "flow_extrap", path, "--all", "--out",
                                     out, "--device", "cpu")
    assert status == 0, stderr
    windows = T8 - M - 1 + 1
    assert read_mp4(out / sidebyside.MP4_NAME).shape[0] == windows
    rows = read_csv(out / sidebyside.CSV_NAME)
    assert [r["method"] for r in rows] == ["flow_extrap", "copy_last"] * windows
    assert [r["start"] for r in rows[::2]] == [str(s) for s in range(windows)]
    assert "flow_extrap - copy_last" in stdout and "no model" in stderr


def test_predict_all_panels_are_the_inputs_predictions_truth_and_heat_map(clip8):
    """The frames handed to the writer, exactly (the MP4 is lossy): window by window, frame
    ahead by frame ahead, the panels in order."""

    class Frames(list):
        write = list.append

    from sharpvid.fast.video.base import ArrayVideo

    n, frames = 2, Frames()
    result = sidebyside.predict_all(ArrayVideo(clip8), sidebyside.baseline_predictor(
        "flow_extrap"), M, n, range(0, 3), batch=2, writer=frames)
    assert result["starts"] == [0, 1, 2] and result["methods"] == ["flow_extrap", "copy_last"]
    assert len(frames) == 3 * n
    x = model_clip(clip8[1 : 1 + M + n])  # window 1
    pred = flow_extrapolate(x[:, :M], n)[0]
    for k in range(n):
        last, shown, truth, heat = panels(frames[n + k])
        assert np.array_equal(last, clip8[M])  # the window's last input, frame 4
        assert np.array_equal(truth, clip8[1 + M + k])
        assert np.array_equal(shown, to_uint8(pred[k]))
        assert np.array_equal(heat, sidebyside.error_heatmap(pred[k], x[0, M + k]))
    assert not np.array_equal(panels(frames[n])[1], panels(frames[n + 1])[1])


def test_error_heatmap_has_a_fixed_scale():
    truth = np.zeros((1, 4, 4))
    small, large = np.full((1, 4, 4), 0.05), np.full((1, 4, 4), 0.5)
    # per-frame normalisation would make both white
    assert sidebyside.error_heatmap(small, truth)[0, 0].tolist() == [77, 0, 0]  # 0.3 x 255
    assert sidebyside.error_heatmap(large, truth)[0, 0].tolist() == [255, 255, 255]
    assert sidebyside.error_heatmap(np.full((3, 2, 2), 3.0), -np.ones((3, 2, 2)))[0, 0].tolist() \
        == [255, 255, 255]  # clipped to [-1, 1] first: an error of 2


@needs_av
def test_all_start_and_windows_and_odd_sizes(run, tmp_path, capsys):
    """--start and --windows choose the windows; an odd height is padded to an even frame; a
    size not divisible by the coarsest scale is padded inside the network (said on stderr)."""
    run_dir, _ = run
    folder = write_frames(tmp_path / "odd", moving_square(T8, 31, 45, seed=2))
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, run_dir, folder, "--all", "--start", 1, "--windows", 2,
                                "--out", out, "--device", "cpu")
    assert status == 0, stderr
    assert "45x31 is not a multiple of" in stderr
    rows = read_csv(out / sidebyside.CSV_NAME)
    assert sorted({r["start"] for r in rows}) == ["1", "2"]
    video = read_mp4(out / sidebyside.MP4_NAME)
    assert video.shape == (2, sidebyside.HEADER + 31 + 1, 4 * 45 + 3 * sidebyside.SEP, 3)


@needs_av
def test_all_interrupted_leaves_the_files_as_they_were(clip8_dir, tmp_path, capsys,
                                                       monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    for name in (sidebyside.MP4_NAME, sidebyside.CSV_NAME):
        (out / name).write_text("old")
    calls = []
    real = sidebyside.score_frames

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) > 2:  # after the first batch (two methods) went into the MP4
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sidebyside, "score_frames", interrupted)
    status, stdout, stderr = predict(capsys, "--method", "copy_last", clip8_dir, "--all",
                                     "--batch", 1, "--out", out, "--device", "cpu")
    assert status == 130 and "interrupted" in stderr
    assert len(calls) == 3
    assert sorted(p.name for p in out.iterdir()) == [sidebyside.CSV_NAME, sidebyside.MP4_NAME]
    assert all((out / name).read_text() == "old"
               for name in (sidebyside.MP4_NAME, sidebyside.CSV_NAME))


@pytest.mark.parametrize("method", ["copy_last", "flow_extrap"])
def test_method_without_all_predicts_after_the_last_m_frames(method, clip8, clip8_dir, tmp_path,
                                                             capsys):
    out = tmp_path / "out"
    status, stdout, stderr = predict(capsys, "--method", method, clip8_dir, "--frames", 2,
                                     "--out", out, "--device", "cpu")
    assert status == 0, stderr
    assert f"input frames {T8 - M}..{T8 - 1} of {T8}" in stderr
    x = model_clip(clip8[T8 - M :])
    want = x[0, -1:].expand(2, -1, -1, -1) if method == "copy_last" else \
        flow_extrapolate(x, 2)[0]
    for k in (1, 2):
        assert np.array_equal(read_png(out / f"pred_{k}.png"), to_uint8(want[k - 1]))
    assert gif_info(out / GIF_NAME) == (M + 2, (W8, H8))
    if method == "flow_extrap":  # it is not copy-last under another name
        assert not np.array_equal(read_png(out / "pred_1.png"), clip8[-1])


def test_method_m_chooses_the_window(clip8, clip8_dir, tmp_path, capsys):
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, "--method", "flow_extrap", clip8_dir, "--m", 3,
                                "--start", 0, "--out", out, "--device", "cpu")
    assert status == 0, stderr
    assert "input frames 0..2 of 8" in stderr
    want = flow_extrapolate(model_clip(clip8[:3]), 1)[0, 0]
    assert np.array_equal(read_png(out / "pred_1.png"), to_uint8(want))
    assert gif_info(out / GIF_NAME)[0] == 3 + 1


@pytest.mark.parametrize(
    "case, message",
    [
        ("video shorter than m + n", "short: has 5 frame(s), fewer than the m + n = 4 + 2 = 6"),
        ("out not writable", "file/out: cannot write the output folder"),
        ("method with a checkpoint", "--method flow_extrap predicts without a model: give INPUT "
                                     "alone"),
        ("no checkpoint and no method", "no CHECKPOINT: give a run folder or checkpoint file"),
        ("unknown method", "--method must be copy_last or flow_extrap (a baseline; a trained "
                           "model is given as CHECKPOINT), got 'optical_flow'"),
        ("m below 2", "--m must be >= 2"),
        ("m of another model", "--m 3: the model of"),
        ("fps without --all", "--fps applies to --all"),
        ("batch 0", "--batch must be > 0, got 0"),
        ("start out of range", "--start 3 is out of range: with 8 frames and windows of 6"),
        ("frames too small", "tiny: frames of 8x8 are smaller than the 11x11"),
        ("colour video for a grey model", "has 3-channel frames, but the model was trained on "
                                          "1-channel frames"),
        ("no PyAV", "writing the MP4 needs PyAV (the 'video' extra): pip install "
                    "'sharpvid[video]'"),
    ],
)
def test_bad_input_to_all_and_method_is_one_line(case, message, run, clip8, clip8_dir, tmp_path,
                                                 capsys, monkeypatch):
    run_dir, _ = run
    out = tmp_path / "out"
    args = [run_dir, clip8_dir, "--all", "--frames", 2]
    if case == "video shorter than m + n":
        args[1] = write_frames(tmp_path / "short", clip8[:5])
    elif case == "out not writable":
        (tmp_path / "file").write_text("a file, not a folder")
        out = tmp_path / "file" / "out"
    elif case == "method with a checkpoint":
        args = ["--method", "flow_extrap", *args]
    elif case == "no checkpoint and no method":
        args = args[1:]
    elif case == "unknown method":
        args = ["--method", "optical_flow", *args[1:]]
    elif case == "m below 2":
        args = ["--method", "copy_last", *args[1:], "--m", 1]
    elif case == "m of another model":
        args += ["--m", 3]
    elif case == "fps without --all":
        args = [run_dir, clip8_dir, "--fps", 5]
    elif case == "batch 0":
        args += ["--batch", 0]
    elif case == "start out of range":
        args += ["--start", 3]
    elif case == "frames too small":
        args[1] = write_frames(tmp_path / "tiny", moving_square(8, 8, 8, side=3))
    elif case == "colour video for a grey model":
        args[0] = make_run(tmp_path / "grey-run", ["net.channels=1"])[0]
    elif case == "no PyAV":
        monkeypatch.setitem(sys.modules, "av", None)  # import av raises ImportError
    status, stdout, stderr = predict(capsys, *args, "--out", out, "--device", "cpu")
    assert status == 2
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("sharpvid: error: "), stderr
    assert message in stderr
    assert not out.exists() or not any(out.iterdir())


def test_help_shows_the_baselines_and_all(capsys):
    from sharpvid.fast.commands import predict as command
    from sharpvid.fast.evaluate import BASELINES

    assert command.METHODS == BASELINES  # spelt out in the command (no torch in the parser)
    with pytest.raises(SystemExit):
        cli.main(["predict", "--help"])
    text = capsys.readouterr().out
    assert "[CHECKPOINT] INPUT" in text
    assert "sharpvid predict --method flow_extrap clip.mp4 --all --out pred/" in text
    assert "sharpvid predict runs/demo clip.mp4 --all --out pred/" in text


def test_options_may_stand_between_checkpoint_and_input(run, clip8_dir, tmp_path, capsys):
    run_dir, _ = run
    out = tmp_path / "out"
    status, _, stderr = predict(capsys, run_dir, "--frames", 2, clip8_dir, "--out", out,
                                "--device", "cpu")
    assert status == 0, stderr
    assert sorted(p.name for p in out.iterdir()) == ["inputs_and_predictions.gif", "pred_1.png",
                                                     "pred_2.png"]
    with pytest.raises(SystemExit) as exit_:  # argparse's own error, as for any command
        predict(capsys, run_dir, clip8_dir, "extra", "--out", tmp_path / "o2")
    assert exit_.value.code == 2
    assert "unrecognized arguments: extra" in capsys.readouterr().err


@needs_av
def test_all_on_a_truncated_file_predicts_the_windows_it_has(tmp_path, capsys):
    path = write_video(tmp_path / "clip.avi", moving_square(30, 32, 32), quality=2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) * 6 // 10])  # the header still says 30 frames
    out = tmp_path / "out"
    status, stdout, stderr = predict(capsys, "--method", "copy_last", path, "--all", "--out", out,
                                     "--batch", 16, "--device", "cpu")
    assert status == 0, stderr
    warnings = [line for line in stderr.splitlines() if line.startswith("sharpvid: warning: ")]
    assert len(warnings) == 1 and "header says 30 frames" in warnings[0]
    rows = read_csv(out / sidebyside.CSV_NAME)
    starts = sorted({int(r["start"]) for r in rows})
    assert 1 <= len(starts) < 30 - M and starts == list(range(len(starts)))
    assert len(rows) == 2 * len(starts)
    assert read_mp4(out / sidebyside.MP4_NAME).shape[0] == len(starts)
    assert f"predicted {len(starts)} window(s)" in stdout
